#!/usr/bin/env python3
"""Install the `ppocr-v5` command into a virtual environment's bin/ (run by `make cli`).

The repository is not a pip-installable package, so the command is a small launcher that puts
ppocr_v5/ on sys.path and calls cli.main with the venv's own Python. Re-running rewrites it.
"""
import argparse
import os
import stat
import sys

LAUNCHER = '''#!{python}
# Written by ppocr_v5/scripts/install_cli.py; re-run `make cli` after moving the repository.
import os
import sys

if __name__ == "__main__":  # spawned worker processes re-import this file: only the parent runs main
    os.environ.setdefault("MODEL_DIR", {model_dir!r})  # what `make serve` gives the backend
    sys.path.insert(0, {source!r})
    from cli.main import main
    sys.exit(main())
'''


def install(venv: str, model_dir: str) -> str:
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    python = os.path.join(os.path.abspath(venv), "bin", "python")
    if not os.path.exists(python):
        raise SystemExit(f"install_cli: {python} not found; create the venv first (make deps)")
    target = os.path.join(os.path.abspath(venv), "bin", "ppocr-v5")
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(LAUNCHER.format(python=python, source=source, model_dir=os.path.abspath(model_dir)))
    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, target)
    return target


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", default=os.path.join(os.getcwd(), ".venv"))
    ap.add_argument("--model-dir", default=os.environ.get("MODEL_DIR", os.path.join(os.getcwd(), "models")),
                    help="MODEL_DIR the command uses when the environment sets none")
    args = ap.parse_args(argv)
    print(f"installed {install(args.venv, args.model_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
