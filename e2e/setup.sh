#!/usr/bin/env bash
# Installs what the end-to-end suite needs beside the backend's .venv:
#   .venv-ls   e2e/requirements-ls.txt: Label Studio (own venv: its Django/SDK pins must not touch
#              the backend's) and Python Playwright, which browser_check.py runs under
#   chromium   Debian's build (Playwright's own browser download needs a host we cannot reach),
#              with CJK fonts so Chinese transcriptions render in screenshots
#   poppler    Debian's poppler-utils (pdftotext), the yardstick of the PDF text-layer tests
# Idempotent: .venv-ls is rebuilt only when requirements-ls.txt changes; a warm run takes < 1 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
reqs="$here/requirements-ls.txt"
VENV_LS="${VENV_LS:-$root/.venv-ls}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$VENV_LS/.e2e-deps-$(sha256sum "$reqs" | cut -c1-16)"

if [[ ! -f "$stamp" ]]; then
  echo "e2e: installing $reqs into $VENV_LS"
  [[ -x "$VENV_LS/bin/python" ]] || "$PYTHON" -m venv "$VENV_LS"
  "$VENV_LS/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs" 2> >(grep -v "^WARNING: Location" >&2)
  # Fail here, not halfway through the suite, if the install is unusable.
  "$VENV_LS/bin/python" - "$reqs" <<'PY'
import re, sys
from importlib.metadata import version
import playwright.sync_api  # noqa: F401
for name, want in re.findall(r"^([\w.-]+)==(\S+)", open(sys.argv[1]).read(), re.M):
    assert version(name) == want, f"{name} {version(name)} installed, {want} pinned"
PY
  rm -f "$VENV_LS"/.e2e-deps-*
  touch "$stamp"
fi

# Debian packages, installed when their command is missing (as root, or through sudo).
apt_install() {  # apt_install COMMAND PACKAGE...
  command -v "$1" >/dev/null && return 0
  local cmd="$1" sudo=""
  shift
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "e2e: $cmd is missing; as root: apt-get install $*" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "e2e: installing Debian $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
apt_install /usr/bin/chromium chromium fonts-noto-cjk
# poppler-utils: pdftotext/pdfinfo, the independent text-layer extraction the PDF tests score against.
apt_install pdftotext poppler-utils
echo "e2e deps ok: $(grep -E '^[a-z]' "$reqs" | tr '\n' ' ')$(/usr/bin/chromium --version 2>/dev/null | head -1)"
