"""The package's layers import one way: pure code and types at the bottom, HTTP and the CLI on top.

A module may import from its own subpackage and from layers below its own, never from a layer beside
or above it (README "Layout"); above OCR, the engine protocol is the only interface to it. Checked on
the source, so a late import inside a function counts too.
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


# The layers above ocr/ and the deploy folder's entry points reach OCR through ocr/protocol.py alone.
ABOVE_OCR = {part for part, rank in RANKS.items() if rank > RANKS["ocr"]}
DEPLOY_FILES = ("model.py", "_wsgi.py", "gunicorn.conf.py")
PROTOCOL = "ocr_backend.ocr.protocol"
# Where the engine is built, the one concrete name those places may take from ocr/ besides the
# protocol (file relative to ppocr_v5/ -> "module:name"), each for its reason:
SETTLE = "ocr_backend.ocr.recognizers:settle_second_model"
BUILDS_THE_ENGINE = {
    # the worker's one engine, shared by its requests and built lazily (get_engine, a process-wide
    # cache), from the settings as settled where the process starts (SETTLE: which recognisers it has)
    "model.py": {"ocr_backend.ocr.engine:get_engine", SETTLE},
    # built at import, so a bad model folder stops start-up with a message
    "_wsgi.py": {"ocr_backend.ocr.engine:get_engine"},
    # the master checks the settings and model folders before any worker forks (a fresh engine,
    # unloaded), and settles the second recogniser for all of them
    "gunicorn.conf.py": {"ocr_backend.ocr.engine:OcrEngine", SETTLE},
    # settles the settings its workers' engines are built with, as the server does, before versioning
    "ocr_backend/cli/annotate.py": {SETTLE},
    # the commands' one engine builder: each worker's engine, and import-pdf's check of text layers
    "ocr_backend/cli/backend.py": {"ocr_backend.ocr.engine:OcrEngine"},
    # the PDF import's OCR check: the backend's line recogniser for this environment's settings
    "ocr_backend/cli/page_source.py": {"ocr_backend.ocr.check_recognizer:check_recognizer"},
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


def _ocr_imports(path: pathlib.Path):
    """(line, "module:name") of each import from ocr/; `from ocr_backend.ocr import x` names module x."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if node.module == "ocr_backend.ocr":
                    yield node.lineno, f"ocr_backend.ocr.{alias.name}:*"
                elif node.module.startswith("ocr_backend.ocr."):
                    yield node.lineno, f"{node.module}:{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ocr_backend.ocr" or alias.name.startswith("ocr_backend.ocr."):
                    yield node.lineno, f"{alias.name}:*"


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


def test_above_ocr_only_the_engine_protocol_is_used():
    """README: protocol.py is the only interface the layers above OCR use; the places that build the
    engine (BUILDS_THE_ENGINE) take its constructor and the settling of its settings too, and nothing
    else."""
    files = [p for part in sorted(ABOVE_OCR) for p in sorted((PACKAGE / part).rglob("*.py"))]
    files += [PACKAGE.parent / name for name in DEPLOY_FILES]
    wrong = []
    for path in files:
        rel = path.relative_to(PACKAGE.parent).as_posix()
        allowed = BUILDS_THE_ENGINE.get(rel, set())
        for line, target in _ocr_imports(path):
            if not target.startswith(PROTOCOL + ":") and target not in allowed:
                wrong.append(f"{rel}:{line} imports {target}")
    assert not wrong, "OCR reached other than through ocr/protocol.py:\n" + "\n".join(wrong)


def test_the_engine_builders_listed_exist_and_still_build_it():
    """An exception that no longer applies is dropped, not left to widen the rule."""
    unused = {
        rel: names - {target for _line, target in _ocr_imports(PACKAGE.parent / rel)}
        for rel, names in BUILDS_THE_ENGINE.items()
    }
    assert not {rel: names for rel, names in unused.items() if names}, unused
