#!/usr/bin/env bash
# Installs what `make image-test` needs to build and run the CPU image without a Docker engine:
# Debian's buildah (build), podman with runc (run), debootstrap (the debian:bookworm-slim base,
# which no registry here serves). Needs root and apt (as on the developers' machines and CI).
# Idempotent: does nothing when every tool is already there.
set -euo pipefail
need=()
for pair in buildah:buildah podman:podman runc:runc debootstrap:debootstrap; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if ((${#need[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "image-setup: needs root to apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends buildah podman runc debootstrap \
    containers-storage conmon slirp4netns ca-certificates >/dev/null
fi
buildah --version
podman --version
runc --version | head -1
