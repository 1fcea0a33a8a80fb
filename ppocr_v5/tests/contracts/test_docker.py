"""The Docker files, checked without a Docker engine: hadolint lints the Dockerfile and
docker-compose 1.29.2 resolves both compose files exactly as `docker-compose up` would.

Both tools live in the repo's .venv-tools (tools/install-tools.sh, `make tools`), apart from the
backend's .venv whose pins they conflict with. Missing tools fail the run: a skip would let CI
pass without ever checking the Docker files.
"""

import functools
import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest

from ocr_backend.settings import GUNICORN_SETTINGS, SETTINGS, env_text

from tests.support.launcher import PPOCR_DIR

HERE = PPOCR_DIR
REPO = os.path.dirname(HERE)
TOOLS_BIN = os.path.join(os.environ.get("TOOLS_VENV", os.path.join(REPO, ".venv-tools")), "bin")
DOCKERFILE = os.path.join(HERE, "Dockerfile")
GPU_COMPOSE = os.path.join(HERE, "docker-compose.yml")
CPU_COMPOSE = os.path.join(HERE, "docker-compose.cpu.yml")

# Which variables each compose file takes from the host (the others keep the image's defaults).
# Their defaults are not listed here: they are the declarations' (ocr_backend/settings/) but
# for the deliberate container defaults below.
FORWARDED = (
    "MODEL_VARIANT",
    "OCR_LANG",
    "DEVICE",
    "INFERENCE_ENGINE",
    "SCORE_THRESHOLD",
    "DET_SCORE_THRESHOLD",
    "DET_BOX_THRESHOLD",
    "OUTPUT_TYPE",
    "INCLUDE_TRANSCRIPTION",
    "USE_DOC_ORIENTATION",
    "USE_DOC_UNWARPING",
    "USE_TEXTLINE_ORIENTATION",
    "LABEL_STUDIO_URL",
    "LABEL_STUDIO_API_KEY",
    "WORKERS",
    "THREADS",
    "LOG_LEVEL",
    "BASIC_AUTH_USER",
    "BASIC_AUTH_PASS",
)
DECLARED = {s.env: env_text(s.default) for s in SETTINGS + GUNICORN_SETTINGS}
# Deliberate container defaults that differ from the declarations: the GPU flavour runs the
# server models on Paddle on the first GPU; the CPU flavour spells out what `auto` picks on CPU.
FLAVOUR_DEFAULTS = {
    "gpu": {"DEVICE": "gpu:0", "INFERENCE_ENGINE": "paddle", "MODEL_VARIANT": "server"},
    "cpu": {"INFERENCE_ENGINE": "onnxruntime"},
}
# Label Studio on the Docker host, as the container reaches it (extra_hosts below).
COMPOSE_DEFAULTS = {"LABEL_STUDIO_URL": "http://host.docker.internal:8080"}


def expected_default(name, flavour, compose=False):
    return {**DECLARED, **(COMPOSE_DEFAULTS if compose else {}), **FLAVOUR_DEFAULTS[flavour]}[name]


# Fixed inside the container (the volume's mount point), not taken from the host.
FIXED = {"MODEL_DIR": "/models", "PADDLE_PDX_CACHE_HOME": "/models/.paddlex"}
# Host variables the compose files interpolate besides the table; cleared so the host's own
# environment cannot leak into the "defaults" runs.
EXTRA_VARS = ("CUDA_VERSION", "BAKE_MODELS", "MODEL_VOLUME", "HOST_PORT")
COMPOSE_FILES = [pytest.param(GPU_COMPOSE, id="gpu"), pytest.param(CPU_COMPOSE, id="cpu")]
FLAVOUR = {GPU_COMPOSE: "gpu", CPU_COMPOSE: "cpu"}


def tool(name):
    path = os.path.join(TOOLS_BIN, name)
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} is missing: run `make tools` (tools/install-tools.sh) to install "
            "hadolint and docker-compose into .venv-tools",
            pytrace=False,
        )
    return path


@functools.cache
def _compose_config(compose_file, env_items):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in DECLARED
        and k not in FIXED
        and k not in EXTRA_VARS
        and not k.startswith("COMPOSE_")
        and not k.startswith("DOCKER_")
    }
    env.update(env_items)
    compose = tool("docker-compose")
    # An empty env file, so a user's ppocr_v5/.env cannot change what is checked.
    with tempfile.NamedTemporaryFile(suffix=".env") as env_file:
        proc = subprocess.run(
            [compose, "--env-file", env_file.name, "-f", compose_file, "config"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert proc.returncode == 0, f"docker-compose config rejected {compose_file}:\n{proc.stderr}"
    # Parse with the tools venv's PyYAML so this test needs nothing from the backend's venv.
    conv = subprocess.run(
        [tool("python"), "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
        input=proc.stdout,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(conv.stdout)


def compose_config(compose_file, **env):
    """`docker-compose config` of one file as a dict, with only `env` set from the table."""
    return _compose_config(compose_file, tuple(sorted(env.items())))


def service(config):
    (svc,) = config["services"].values()
    return svc


def environment(svc):
    env = svc["environment"]
    return env if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


@functools.cache
def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    out, buf = [], ""
    with open(DOCKERFILE, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if not buf and (not stripped or stripped.startswith("#")):
                continue
            if buf and stripped.startswith("#"):
                continue
            if stripped.endswith("\\"):
                buf += stripped[:-1] + " "
                continue
            buf += stripped
            keyword, _, args = buf.partition(" ")
            out.append((keyword.upper(), args.strip()))
            buf = ""
    return out


def instructions(keyword):
    return [args for kw, args in dockerfile_instructions() if kw == keyword]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- Dockerfile -----------------------------------------------------------------------------


def test_hadolint_passes():
    proc = subprocess.run([tool("hadolint"), "--no-color", DOCKERFILE], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"hadolint findings:\n{proc.stdout}{proc.stderr}"


def test_dockerfile_installs_through_the_make_script():
    """No second copy of the install logic: the image runs the script `make` runs, on the
    requirement files it reads, and pip appears nowhere else but for pinning pip itself."""
    runs = instructions("RUN")
    installs = [r for r in runs if "scripts/install-deps.sh" in r]
    assert len(installs) == 2, "the Dockerfile must install with scripts/install-deps.sh: deps, then the package"
    assert "--package" not in installs[0] and "install-deps.sh --package" in installs[1]
    assert "scripts/install-deps.sh" in read(os.path.join(REPO, "Makefile"))
    for r in runs:
        for cmd in re.findall(r"pip install[^&;]*", r):
            assert re.fullmatch(r"pip install -q pip==[\d.]+", cmd.strip()), f"ad-hoc pip install: {cmd}"
    copies = " ".join(instructions("COPY"))
    assert "requirements*.txt" in copies and "requirements.lock" in copies and "scripts/" in copies
    # Every file install-deps.sh reads is in the build context (not excluded): the image installs
    # the runtime lock, exactly as `make` does.
    script = read(os.path.join(HERE, "scripts", "install-deps.sh"))
    needed = set(re.findall(r"requirements[\w-]*\.(?:txt|lock)", script))
    assert {"requirements.lock", "requirements-test.lock"} <= needed
    ignored = read(os.path.join(HERE, ".dockerignore")).split()
    assert not any(p.startswith(("requirements", "scripts")) for p in ignored)


def test_the_image_is_checked_against_the_lock_after_everything_is_installed():
    """The last install step ends with scripts/check_lock.py, which fails the build when the
    image holds anything outside the lock (e.g. a package installed while provisioning)."""
    runs = instructions("RUN")
    last_install = max(i for i, r in enumerate(runs) if "install-deps.sh" in r or "provision_models.py" in r)
    assert "python scripts/check_lock.py" in runs[last_install]
    assert last_install == len(runs) - 1


def test_only_the_steps_that_reach_pypi_get_the_build_secrets():
    """A proxy's CA and pip.conf reach a build as secrets mounted into one RUN step each, never
    by COPY or ENV: they must not land in a layer (docs/docker.md)."""
    mounts = "--mount=type=secret,id=pip_conf --mount=type=secret,id=pip_ca"
    for run in instructions("RUN"):
        reaches_pypi = "install-deps.sh" in run and "--package" not in run or "provision_models.py" in run
        assert (mounts in run) == reaches_pypi, run[:120]
        if reaches_pypi:
            assert "PIP_CONFIG_FILE=/run/secrets/pip_conf" in run
    for args in instructions("COPY") + instructions("ENV") + instructions("ARG"):
        assert "pip.conf" not in args and "pip_ca" not in args and "PIP_CERT" not in args


def test_gpu_paddle_matches_cpu_pin_and_index():
    pin = re.search(r"^paddlepaddle==([\d.]+)", read(os.path.join(HERE, "requirements.txt")), re.M)
    assert pin, "requirements.txt lost its paddlepaddle pin"
    versions = [a.split("=", 1)[1] for a in instructions("ARG") if a.startswith("PADDLE_VERSION=")]
    assert versions and set(versions) == {pin.group(1)}, (versions, pin.group(1))
    envs = " ".join(instructions("ENV"))
    assert "PADDLE_SPEC=paddlepaddle-gpu==${PADDLE_VERSION}" in envs
    assert "PADDLE_INDEX_BASE=https://www.paddlepaddle.org.cn/packages/stable" in " ".join(instructions("ARG"))
    for tag in ("cu118", "cu126"):
        assert f"PADDLE_INDEX=${{PADDLE_INDEX_BASE}}/{tag}/" in envs


def test_dockerfile_has_a_base_stage_per_flavour():
    stages = {
        m.group(2): m.group(1) for m in (re.fullmatch(r"(\S+) AS (\S+)", a, re.I) for a in instructions("FROM")) if m
    }
    assert stages["base-cpu"].startswith("debian:bookworm")
    assert stages["base-cuda11.8"].startswith("nvidia/cuda:11.8")
    assert stages["base-cuda12.6"].startswith("nvidia/cuda:12.6")
    assert instructions("FROM")[-1] == "base-${CUDA_VERSION}"
    assert "CUDA_VERSION=cuda11.8" in instructions("ARG")  # the GPU default


def test_dockerfile_runs_non_root_gunicorn_with_healthcheck():
    user = instructions("USER")[-1].split(":")[0]
    assert user not in ("root", "0"), "the container must not run as root"
    assert re.search(rf"useradd .*--uid {user}\b", " ".join(instructions("RUN")))
    (health,) = instructions("HEALTHCHECK")
    assert "/health" in health and "CMD" in health
    (cmd,) = instructions("CMD")
    argv = json.loads(cmd)
    assert argv[:3] == ["gunicorn", "--config", "gunicorn.conf.py"] and argv[-1] == "_wsgi:app"
    assert "--preload" not in argv  # CUDA does not survive fork
    assert "9090" in instructions("EXPOSE")
    envs = " ".join(instructions("ENV"))
    for setting in (
        "MODEL_DIR=/models",
        "PADDLE_PDX_CACHE_HOME=/models/.paddlex",
        "WORKERS=1",
        "THREADS=8",
        "PORT=9090",
    ):
        assert setting in envs


def test_models_folder_belongs_to_the_app_user_and_can_be_baked():
    runs = " ".join(instructions("RUN"))
    assert "chown -R app:app /models" in runs
    assert "BAKE_MODELS=false" in instructions("ARG")
    # The one provisioner with its pins (scripts/weights.json, copied with scripts/), v5 set.
    assert "scripts/provision_models.py" in runs and "--set v5 --dest /models" in runs
    assert os.path.isfile(os.path.join(HERE, "scripts", "weights.json"))


def env_by_stage():
    """{stage: {variable: value}} of the Dockerfile's ENV lines ("final" for the unnamed last stage)."""
    stages, stage = {}, None
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            match = re.fullmatch(r"\S+ AS (\S+)", args, re.I)
            stage = match.group(1) if match else "final"
        elif keyword == "ENV":
            stages.setdefault(stage, {}).update(item.split("=", 1) for item in shlex.split(args))
    return stages


def test_no_dockerfile_env_contradicts_a_declaration():
    stages = env_by_stage()
    assert set(stages) == {"base-cpu", "base-cuda11.8", "base-cuda12.6", "final"}
    for stage, env in stages.items():
        flavour = "cpu" if stage == "base-cpu" else "gpu" if stage.startswith("base-cuda") else None
        if flavour:  # each flavour's deliberate defaults are really set by its base stage
            assert FLAVOUR_DEFAULTS[flavour].items() <= env.items(), stage
        for name, value in env.items():
            if name in FIXED:
                assert value == FIXED[name], f"{stage}: ENV {name}={value}"
            elif name in DECLARED:
                expected = expected_default(name, flavour) if flavour else DECLARED[name]
                assert value == expected, f"{stage}: ENV {name}={value} contradicts {expected!r}"


def test_dockerignore_keeps_junk_out_of_the_context():
    patterns = set(read(os.path.join(HERE, ".dockerignore")).split())
    for p in ("**/__pycache__", "**/.pytest_cache", ".venv*", "tests", "models", "**/*.onnx", "**/*.pdiparams", ".git"):
        assert p in patterns, f".dockerignore should exclude {p}"


# --- compose files --------------------------------------------------------------------------


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_compose_file_is_valid_and_builds_this_dockerfile(compose_file):
    svc = service(compose_config(compose_file))
    assert svc["build"]["context"] == HERE
    assert "ppocr-v5-backend" in svc["image"]
    assert any(p["target"] == 9090 and p["published"] == 9090 for p in svc["ports"])
    assert svc["extra_hosts"] == ["host.docker.internal:host-gateway"]


def test_gpu_build_arg_defaults_to_cuda118_and_follows_cuda_version():
    default = service(compose_config(GPU_COMPOSE))
    assert default["build"]["args"]["CUDA_VERSION"] == "cuda11.8"
    assert default["image"].endswith(":cuda11.8")
    cuda126 = service(compose_config(GPU_COMPOSE, CUDA_VERSION="cuda12.6"))
    assert cuda126["build"]["args"]["CUDA_VERSION"] == "cuda12.6"
    assert cuda126["image"].endswith(":cuda12.6")  # a new tag, so `up` builds it


@pytest.mark.parametrize("env", [{}, {"CUDA_VERSION": "cuda12.6"}], ids=["unset", "cuda12.6"])
def test_cpu_build_arg_is_cpu_whatever_cuda_version_says(env):
    svc = service(compose_config(CPU_COMPOSE, **env))
    assert svc["build"]["args"]["CUDA_VERSION"] == "cpu"
    assert "deploy" not in svc


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_every_setting_has_its_documented_default(compose_file):
    env = environment(service(compose_config(compose_file)))
    for name in FORWARDED:
        assert name in env, f"{os.path.basename(compose_file)} does not pass {name}"
        default = expected_default(name, FLAVOUR[compose_file], compose=True)
        assert str(env[name]) == default, f"{name}: {env[name]!r} != documented {default!r}"
    for name, value in FIXED.items():
        assert str(env[name]) == value, f"{name}: {env[name]!r} != {value!r}"
    unknown = set(env) - set(DECLARED) - set(FIXED)
    assert not unknown, f"{os.path.basename(compose_file)} passes variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_no_compose_default_contradicts_a_declaration(compose_file):
    """Every `${VAR:-default}` of a declared variable, forwarded or not, read from the file itself."""
    found = dict(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-([^}]*)\}", read(compose_file)))
    declared = {name: value for name, value in found.items() if name in DECLARED}
    assert set(FORWARDED) <= set(declared)
    for name, value in declared.items():
        expected = expected_default(name, FLAVOUR[compose_file], compose=True)
        assert value == expected, f"{os.path.basename(compose_file)}: ${{{name}:-{value}}} contradicts {expected!r}"


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_every_setting_is_taken_from_the_host(compose_file):
    sentinels = {name: f"from-host-{i}" for i, name in enumerate(sorted(FORWARDED))}
    env = environment(service(compose_config(compose_file, **sentinels)))
    for name, value in sentinels.items():
        assert env[name] == value, f"{name} ignores the host's value"
    for name, value in FIXED.items():
        assert env[name] == value


def test_gpu_compose_reserves_an_nvidia_gpu():
    devices = service(compose_config(GPU_COMPOSE))["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_models_live_on_a_named_volume_or_a_mounted_folder(compose_file):
    config = compose_config(compose_file)
    (mount,) = service(config)["volumes"]
    source, target = mount.split(":")[:2]
    assert target == "/models" and source in config["volumes"], "weights must survive `down`"
    mounted = service(compose_config(compose_file, MODEL_VOLUME="/srv/ocr-models"))["volumes"]
    assert mounted[0].startswith("/srv/ocr-models:/models")


def test_bake_models_build_arg():
    assert service(compose_config(GPU_COMPOSE))["build"]["args"]["BAKE_MODELS"] == "false"
    assert service(compose_config(CPU_COMPOSE))["build"]["args"]["BAKE_MODELS"] == "true"
    baked = service(compose_config(GPU_COMPOSE, BAKE_MODELS="true"))
    assert baked["build"]["args"]["BAKE_MODELS"] == "true"
