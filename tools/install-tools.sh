#!/usr/bin/env bash
# Creates .venv-tools at the repo root with hadolint and docker-compose (pins in
# requirements-tools.txt), used by ppocr_v5/tests/contracts/test_docker.py and tools/image.sh, and uv,
# used by `make lock` (tools/lock.sh). A separate venv because
# docker-compose 1.29.2 needs old PyYAML/jsonschema that the backend's .venv must not get.
# Idempotent: a stamp holding the hash of the pins and this script makes a re-run a no-op.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${TOOLS_VENV:-$root/.venv-tools}"
reqs="$root/tools/requirements-tools.txt"
stamp="$venv/.tools-installed"
want="$(cat "$reqs" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -x "$venv/bin/hadolint" && -x "$venv/bin/docker-compose" && -x "$venv/bin/uv" ]]; then
  exit 0
fi

py="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
rm -f "$stamp"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
pin() { grep -E "^$1==" "$reqs"; }

# PyYAML 5.4.1 must be built from source: against the pinned pre-3 Cython, without build
# isolation (an isolated build would fetch Cython 3 and fail in setup.py).
"${pip[@]}" "$(pin Cython)" "$(pin setuptools)" "$(pin wheel)"
"${pip[@]}" --no-build-isolation "$(pin PyYAML)"
"${pip[@]}" -r "$reqs"

"$venv/bin/hadolint" --version
"$venv/bin/docker-compose" version --short
"$venv/bin/uv" --version
echo "$want" > "$stamp"
