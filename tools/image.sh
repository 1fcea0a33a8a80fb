#!/usr/bin/env bash
# Builds the CPU image of ppocr_v5/Dockerfile, runs it as docker-compose.cpu.yml does and checks
# it for real (tools/image_checks.py): `make image` builds, `make image-test` builds and checks,
# `make image-clean` removes the image store. docs/docker.md has the figures and the why.
#
# With a Docker engine (`docker info` answers): plain `docker build` / `docker run`.
# Without one (these machines, CI): Debian's buildah builds, podman + runc runs, and debootstrap
# makes the debian:bookworm-slim base that no reachable registry serves. Everything lives under
# IMAGE_WORK (default /var/tmp/ppocr-image): the image store, the base root, the logs.
#   IMAGE_ENGINE=docker|podman   force one; IMAGE_KEEP=1 leaves the container running afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
action="${1:-test}"
work="${IMAGE_WORK:-/var/tmp/ppocr-image}"
tag="${IMAGE_TAG:-ppocr-v5-backend:cpu}"  # docker-compose.cpu.yml's image name
base=docker.io/library/debian:bookworm-slim
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ca="${IMAGE_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
min_free_gb="${IMAGE_MIN_FREE_GB:-12}"
container=ppocr-v5-image-test

log() { printf '[image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

engine="${IMAGE_ENGINE:-}"
if [[ -z "$engine" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi

mkdir -p "$work"
if [[ "$engine" == podman ]]; then
  # Our own store and settings, so nothing of the machine's (or a user's) podman is touched.
  # runc and cgroupfs: this sandbox refuses crun and has no systemd; the file events backend
  # needs no journald.
  cat > "$work/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
  export CONTAINERS_STORAGE_CONF="$work/storage.conf"
  podman=(podman --runtime runc --cgroup-manager cgroupfs --events-backend file)
  # Within the hard limits this sandbox allows (it refuses to raise them).
  ulimits=(--ulimit nofile=20000:20000 --ulimit nproc=8192:8192)
fi

image_exists() {
  if [[ "$engine" == docker ]]; then docker image inspect "$1" >/dev/null 2>&1; else "${podman[@]}" image exists "$1"; fi
}

check_disk() {
  local free_gb
  free_gb=$(df -P -BG "$work" | awk 'NR == 2 {sub("G", "", $4); print $4}')
  df -h "$work" >&2
  if ((free_gb < min_free_gb)); then
    log "only ${free_gb} GB free under $work, the build needs about ${min_free_gb} GB: free some (make image-clean)"
    exit 1
  fi
}

# debian:bookworm-slim from Debian's own archive: a minbase root with the image's apt sources
# (release, updates, security) and the slim image's rule of installing no docs, man pages or
# translations.
make_base() {
  image_exists "$base" && return 0
  log "making $base with debootstrap ($mirror)"
  local rootfs="$work/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/*/changelog* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | "${podman[@]}" import --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
}

build() {
  check_disk
  local secrets=() pipconf="$work/pip.conf" started=$SECONDS
  # Builds here reach PyPI through a TLS-intercepting egress: its CA and a pip.conf naming it are
  # mounted into the RUN steps that use pip as build secrets (RUN --mount in the Dockerfile), so
  # neither lands in a layer. Without them (elsewhere) pip uses its own CA bundle.
  if [[ -f "$ca" ]]; then
    printf '[global]\ncert = /run/secrets/pip_ca\n' > "$pipconf"
    secrets=(--secret "id=pip_conf,src=$pipconf" --secret "id=pip_ca,src=$ca")
  fi
  local args=(--build-arg CUDA_VERSION=cpu --build-arg BAKE_MODELS=true -t "$tag" "${secrets[@]}")
  if [[ "$engine" == docker ]]; then
    DOCKER_BUILDKIT=1 docker build "${args[@]}" "$root/ppocr_v5"
  else
    "$root/tools/image-setup.sh" >&2
    make_base
    log "buildah bud (log: $work/build.log)"
    # --format docker: OCI images drop SHELL and HEALTHCHECK (docs/docker.md).
    buildah --storage-driver overlay --root "$work/storage" --runroot "$work/run" \
      bud --isolation chroot --pull=never --format docker --layers "${args[@]}" "$root/ppocr_v5" \
      >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
  fi
  log "built $tag in $((SECONDS - started)) s"
  image_size
}

image_size() {
  local bytes
  if [[ "$engine" == docker ]]; then
    bytes=$(docker image inspect --format '{{.Size}}' "$tag")
  else
    bytes=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
  fi
  log "image size: $((bytes / 1000000)) MB"
}

# The container as docker-compose.cpu.yml runs it: its environment (as `docker-compose config`
# resolves it with no .env), its named volume on /models (a fresh one starts as a copy of the
# baked weights), its extra host. Host networking instead of the port mapping (this sandbox has
# no bridge), so the server listens on a free port given by PORT.
start() {
  local port="$1" envs=() line compose="$root/.venv-tools/bin/docker-compose"
  [[ -x "$compose" ]] || PYTHON="${PYTHON:-python3}" "$root/tools/install-tools.sh" >&2
  local empty_env="$work/empty.env"
  : > "$empty_env"
  while IFS= read -r line; do envs+=(-e "$line"); done < <(
    env -i PATH="$PATH" "$compose" --env-file "$empty_env" -f "$root/ppocr_v5/docker-compose.cpu.yml" config \
      | "$root/.venv-tools/bin/python" -c '
import sys, yaml
(svc,) = yaml.safe_load(sys.stdin)["services"].values()
env = svc["environment"]
items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
print("\n".join(f"{k}={v if v is not None else str()}" for k, v in items))')
  envs+=(-e "PORT=$port")
  stop
  if [[ "$engine" == docker ]]; then
    docker volume rm -f "$container-models" >/dev/null 2>&1 || true
    docker run -d --name "$container" --network host --add-host host.docker.internal:127.0.0.1 \
      -v "$container-models:/models" "${envs[@]}" "$tag" >/dev/null
  else
    "${podman[@]}" volume rm -f "$container-models" >/dev/null 2>&1 || true
    "${podman[@]}" run -d --name "$container" --network host --add-host host.docker.internal:127.0.0.1 \
      "${ulimits[@]}" -v "$container-models:/models" "${envs[@]}" "$tag" >/dev/null
  fi
}

stop() {
  if [[ "$engine" == docker ]]; then
    docker rm -f "$container" >/dev/null 2>&1 || true
  else
    "${podman[@]}" rm -f "$container" >/dev/null 2>&1 || true
  fi
}

run_checks() {
  local port
  port=$("$root/.venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  start "$port"
  local engine_cmd run_args="--network host --no-healthcheck"
  if [[ "$engine" == docker ]]; then
    engine_cmd=docker
  else
    engine_cmd="${podman[*]}"
    run_args+=" ${ulimits[*]}"
  fi
  local rc=0
  IMAGE_URL="http://127.0.0.1:$port" IMAGE_TAG="$tag" IMAGE_CONTAINER="$container" IMAGE_ENGINE_CMD="$engine_cmd" \
    IMAGE_RUN_ARGS="$run_args" \
    PATH="$root/.venv/bin:$PATH" "$root/.venv/bin/python" -m pytest -p no:cacheprovider -o addopts=-ra -v -s \
    "$root/tools/image_checks.py" || rc=$?
  if ((rc)); then
    log "container log (last 60 lines):"
    $engine_cmd logs --tail 60 "$container" >&2 || true
  fi
  [[ -n "${IMAGE_KEEP:-}" ]] || stop
  return "$rc"
}

clean() {
  stop
  if [[ "$engine" == podman && -d "$work/storage" ]]; then
    "${podman[@]}" volume rm -f "$container-models" >/dev/null 2>&1 || true
    buildah --storage-driver overlay --root "$work/storage" --runroot "$work/run" rm --all >/dev/null 2>&1 || true
    "${podman[@]}" rmi --all --force >/dev/null 2>&1 || true
    # Overlay mounts an interrupted build may have left under the store.
    awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  fi
  rm -rf "$work"
  log "removed $work"
}

case "$action" in
  build) build ;;
  test) build && run_checks ;;
  check) run_checks ;;
  clean) clean ;;
  *) echo "usage: $0 [build|test|check|clean]" >&2; exit 2 ;;
esac
