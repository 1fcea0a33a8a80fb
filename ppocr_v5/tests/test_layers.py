"""The package's layers import one way: pure code and types at the bottom, HTTP and the CLI on top.

A module may import from its own subpackage and from layers below its own, never from a layer beside
or above it (README "Layout"). Checked on the source, so a late import inside a function counts too.
"""

import ast
import pathlib

import ocr_backend

PACKAGE = pathlib.Path(ocr_backend.__file__).parent

# Rank of each top-level part of the package; a module imports only parts of a lower rank.
RANKS = {
    "types": 0,
    "errors": 0,
    "core": 1,
    "settings": 2,
    "redaction": 2,
    "images": 3,
    "ocr": 3,
    "labelstudio": 4,
    "service": 5,
    "web": 6,
    "cli": 6,
}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_every_part_of_the_package_has_a_rank():
    parts = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert parts == set(RANKS), "add the new module or subpackage to RANKS (and to README's Layout)"


def test_imports_run_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts)
        own = _part(module)
        if not own or own == "__init__":
            continue
        for line, target in _imports(path):
            if not target.startswith("ocr_backend.") and target != "ocr_backend":
                continue
            other = _part(target)
            if other and other != own and RANKS[other] >= RANKS[own]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({own}) imports {target} ({other})")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_relative_imports_are_not_used():
    """Absolute imports everywhere: a module's layer is visible in each import line."""
    relative = [
        f"{p.relative_to(PACKAGE.parent)}:{n.lineno}"
        for p in PACKAGE.rglob("*.py")
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.ImportFrom) and n.level
    ]
    assert not relative, relative
