#!/usr/bin/env bash
# Installs what the end-to-end suite needs beside the backend's .venv:
#   .venv-ls   Label Studio (its own venv: its Django/SDK pins must not touch the backend's)
#              plus Python Playwright, which drives the browser from a helper script run there
#   chromium   Debian's build (Playwright's own browser download needs a host we cannot reach)
# Idempotent: each step is skipped while what it installed is present at the pinned version,
# so a warm re-run takes about a second.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
LS_VERSION="${LS_VERSION:-1.23.2}"
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.2}"
VENV_LS="${VENV_LS:-$root/.venv-ls}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$VENV_LS/.e2e-deps-$LS_VERSION-$PLAYWRIGHT_VERSION"

if [[ ! -f "$stamp" ]]; then
  [[ -x "$VENV_LS/bin/python" ]] || "$PYTHON" -m venv "$VENV_LS"
  "$VENV_LS/bin/python" -m pip install -q --disable-pip-version-check \
    "label-studio==$LS_VERSION" "playwright==$PLAYWRIGHT_VERSION"
  # Fail here, not halfway through the suite, if the install is unusable.
  "$VENV_LS/bin/python" - "$LS_VERSION" <<'EOF'
import sys
from importlib.metadata import version
import playwright.sync_api  # noqa: F401
assert version("label-studio") == sys.argv[1], version("label-studio")
EOF
  touch "$stamp"
fi

if [[ ! -x /usr/bin/chromium ]]; then
  if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null; then
    echo "e2e: /usr/bin/chromium is missing; install Debian's chromium package as root" >&2
    exit 1
  fi
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
echo "e2e deps ok: label-studio $LS_VERSION, playwright $PLAYWRIGHT_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -1)"
