#!/usr/bin/env python3
"""Reads the dependency locks (requirements.lock, requirements-test.lock) and checks a Python
environment against them. Standard library only: it runs in the image, in CI and in `make lock`.

  check_lock.py [--test] [--allow NAME ...]   this interpreter's installed set equals the lock
                                              (with --test: the runtime and the test lock);
                                              exit 1 listing what is missing, differs or is extra
  check_lock.py --digest                      sha256 of the requirements*.txt the locks come from
  check_lock.py --pins LOCK                   LOCK as plain name==version lines (uv constraints)

The locks are written by tools/lock.sh (`make lock`); docs/docker.md says how they are used.
"""

import argparse
import hashlib
import importlib.metadata
import re
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent  # ppocr_v5/
RUNTIME_LOCK = HERE / "requirements.lock"
TEST_LOCK = HERE / "requirements-test.lock"
DIGEST_PREFIX = "# inputs-sha256: "
# Installed next to the locked set on purpose: pip is the installer (the Dockerfile and the
# venv pin it), ppocr-v5 is this project, installed from the checkout with --no-deps.
ALWAYS_ALLOWED = ("pip", "ppocr-v5")

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_COMMENT = re.compile(r"(^|\s)#.*$")


def normalize(name):
    """PEP 503 name: what pip, uv and importlib.metadata agree on."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(path):
    """{normalized name: (version, [sha256, ...])} of a hashed requirements file."""
    pins, current = {}, None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            current = normalize(match.group(1))
            if current in pins:
                raise ValueError(f"{path}: {current} pinned twice")
            pins[current] = (match.group(2), [])
        elif not line.startswith((" ", "\t")):
            current = None  # a new entry or a comment: the hashes of the last pin are over
        if current:
            pins[current][1].extend(_HASH.findall(line))
    return pins


def recorded_digest(path):
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].strip()
    return None


def inputs_digest(folder=HERE):
    """One sha256 over the requirements of every requirements*.txt, in name order: comments and
    blank lines (pip's rule: `#` at the start or after whitespace) do not change it."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("requirements*.txt")):
        lines = (_COMMENT.sub("", line).strip() for line in path.read_text(encoding="utf-8").splitlines())
        digest.update(path.name.encode() + b"\n" + "\n".join(line for line in lines if line).encode() + b"\n")
    return digest.hexdigest()


def installed():
    """{normalized name: version} of this interpreter's environment (pip freeze --all).

    Only the environment's site-packages folders are read, not all of sys.path: a package that puts
    its own vendored copies on sys.path once imported (setuptools, imported by Paddle's
    cpp_extension) would otherwise show them as installed packages."""
    folders = list(dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib")))
    found = {}
    for dist in importlib.metadata.distributions(path=folders):
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def differences(locked, present, allowed=()):
    """Lines describing how `present` differs from `locked`; empty when they agree."""
    allowed = {normalize(n) for n in (*ALWAYS_ALLOWED, *allowed)}
    out = []
    for name, (version, _) in sorted(locked.items()):
        if name not in present:
            out.append(f"missing: {name}=={version}")
        elif present[name] != version:
            out.append(f"differs: {name}=={present[name]} (lock: {version})")
    out += [f"not in the lock: {n}=={v}" for n, v in sorted(present.items()) if n not in locked and n not in allowed]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", action="store_true", help="the test lock is installed too")
    parser.add_argument("--allow", action="append", default=[], help="a package allowed beside the lock")
    parser.add_argument("--digest", action="store_true", help="print the requirements files' digest")
    parser.add_argument("--pins", metavar="LOCK", help="print LOCK as name==version lines")
    args = parser.parse_args(argv)
    if args.digest:
        print(inputs_digest())
        return 0
    if args.pins:
        for name, (version, _) in sorted(parse_lock(args.pins).items()):
            print(f"{name}=={version}")
        return 0
    locked = parse_lock(RUNTIME_LOCK)
    if args.test:
        locked.update(parse_lock(TEST_LOCK))
    problems = differences(locked, installed(), args.allow)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{len(problems)} difference(s) from the lock (run scripts/install-deps.sh)", file=sys.stderr)
        return 1
    print(f"environment equals the lock: {len(locked)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
