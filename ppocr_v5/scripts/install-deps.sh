#!/usr/bin/env bash
# Installs the backend's pinned Python dependencies into the current Python environment.
# One script for `make` and the Dockerfile, so both install exactly the same set.
#   install-deps.sh [--test]            CPU Paddle from PyPI (requirements.txt)
#   PADDLE_SPEC="paddlepaddle-gpu==3.2.2" PADDLE_INDEX=https://... install-deps.sh
#                                        swaps in another Paddle build (the GPU images)
#   install-deps.sh --package [--editable]
#                                        the ppocr-v5 package itself (ocr_backend and the
#                                        `ppocr-v5` command), without dependencies: run after the
#                                        above (the Dockerfile does it once the code is copied)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python}"
pip=("$py" -m pip install --disable-pip-version-check -q)

if [[ "${1:-}" == "--package" ]]; then
  "${pip[@]}" --no-deps ${2:+"$2"} "$here"
  "$py" -c "import ocr_backend.cli.main; print('package ok: ocr_backend')"
  exit 0
fi

main_reqs="$here/requirements.txt"
if [[ -n "${PADDLE_SPEC:-}" ]]; then
  # Everything but the CPU paddlepaddle pin; the requested build comes from its own index below.
  main_reqs="$(mktemp)"
  sed -e '/^paddlepaddle==/d' -e "s|^-r |-r $here/|" "$here/requirements.txt" > "$main_reqs"
fi
reqs=("-r" "$main_reqs")
[[ "${1:-}" == "--test" ]] && reqs+=("-r" "$here/requirements-test.txt")
(cd "$here" && "${pip[@]}" "${reqs[@]}")
if [[ -n "${PADDLE_SPEC:-}" ]]; then
  "${pip[@]}" ${PADDLE_INDEX:+--index-url "$PADDLE_INDEX"} "$PADDLE_SPEC"
fi
"${pip[@]}" --no-deps -r "$here/requirements-nodeps.txt"

# label-studio-sdk pulls opencv-python-headless, paddlex pulls opencv-contrib-python: both write
# the same cv2 package, and whichever was installed last wins file by file. Keep one: the contrib
# build PaddleX pins (a superset of the headless one that the SDK's image helpers also work with).
if "$py" -m pip show -q opencv-python-headless >/dev/null 2>&1; then
  "$py" -m pip uninstall -y -q opencv-python-headless
  "${pip[@]}" --force-reinstall --no-deps "$(grep '^opencv-contrib-python==' "$here/requirements.txt")"
fi
"$py" -c "import cv2, paddlex, label_studio_sdk, label_studio_ml; print('deps ok: cv2', cv2.__version__)"
