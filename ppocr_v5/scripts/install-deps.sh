#!/usr/bin/env bash
# Installs the backend's locked Python dependencies into the current Python environment.
# One script for `make` and the Dockerfile, so both install exactly the same set: the locks
# (requirements.lock, requirements-test.lock; `make lock` writes them from requirements*.txt)
# pin every package with its sha256, so pip installs them with --require-hashes and --no-deps
# (the lock already holds every dependency, and label-studio-ml must not get its stale pins).
#   install-deps.sh [--test]            the runtime lock (with --test: the test lock too)
#   PADDLE_SPEC="paddlepaddle-gpu==3.2.2" PADDLE_INDEX=https://... install-deps.sh
#                                        swaps the locked CPU paddlepaddle for another Paddle build
#                                        from its own index (the GPU images); that build and the
#                                        CUDA wheels it asks for are outside the lock
#   install-deps.sh --package [--editable]
#                                        the ppocr-v5 package itself (ocr_backend and the
#                                        `ppocr-v5` command), without dependencies: run after the
#                                        above (the Dockerfile does it once the code is copied)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python}"
pip=("$py" -m pip install --disable-pip-version-check -q)

if [[ "${1:-}" == "--package" ]]; then
  # Built with the locked setuptools already installed (pyproject.toml pins the same one), not
  # with a fresh, unhashed copy fetched for an isolated build.
  "${pip[@]}" --no-deps --no-build-isolation ${2:+"$2"} "$here"
  "$py" -c "import ocr_backend.cli.main; print('package ok: ocr_backend')"
  exit 0
fi

lock="$here/requirements.lock"
if [[ -n "${PADDLE_SPEC:-}" ]]; then
  # The lock without its paddlepaddle entry (the pin line and its indented hash lines).
  lock="$(mktemp)"
  awk '/^paddlepaddle==/ {skip = 1; next} skip && /^[ \t]/ {next} {skip = 0; print}' \
    "$here/requirements.lock" > "$lock"
fi
locks=("-r" "$lock")
[[ "${1:-}" == "--test" ]] && locks+=("-r" "$here/requirements-test.lock")
"${pip[@]}" --require-hashes --no-deps "${locks[@]}"
if [[ -n "${PADDLE_SPEC:-}" ]]; then
  "${pip[@]}" ${PADDLE_INDEX:+--index-url "$PADDLE_INDEX"} "$PADDLE_SPEC"
fi
"$py" -c "import cv2, paddlex, label_studio_sdk, label_studio_ml; print('deps ok: cv2', cv2.__version__)"
