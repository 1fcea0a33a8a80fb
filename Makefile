# Two commands for users: `make serve` and `make test`. Both set up .venv and the model weights
# first; re-running is fast because each step is skipped while its inputs are unchanged.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
VPY := $(VENV)/bin/python
MODEL_DIR ?= $(CURDIR)/models
PORT ?= 9090
WORKERS ?= 1
THREADS ?= 8
export MODEL_DIR

REQS := $(wildcard ppocr_v5/requirements*.txt ppocr_v5/requirements*.lock) ppocr_v5/scripts/install-deps.sh \
	ppocr_v5/pyproject.toml
DEPS_STAMP := $(VENV)/.deps-installed
MODELS_STAMP := $(MODEL_DIR)/.provisioned

.PHONY: venv deps models models-v6 cli tools e2e-deps e2e serve lint test test-fast bench bench-deps load clean \
	lock image image-test image-clean

# pip itself: the Dockerfile's version (the locks hold everything it installs).
$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check pip==26.3

# The locked dependencies (ppocr_v5/requirements*.lock, hashed), then the package itself
# (editable: the `ppocr-v5` command and `import ocr_backend` run this checkout's code).
$(DEPS_STAMP): $(VPY) $(REQS)
	PYTHON=$(VPY) ppocr_v5/scripts/install-deps.sh --test
	PYTHON=$(VPY) ppocr_v5/scripts/install-deps.sh --package --editable
	touch $@

deps: $(DEPS_STAMP)
venv: deps

# The pinned weights are data (weights.json), read by one provisioner: v5 (with the two orientation
# classifiers and their pinned inference.yml files, scripts/model_configs/) here, v6 below.
PROVISION := ppocr_v5/scripts/provision_models.py ppocr_v5/scripts/weights.json \
	$(wildcard ppocr_v5/scripts/model_configs/*/inference.yml)
$(MODELS_STAMP): $(DEPS_STAMP) $(PROVISION)
	PATH=$(VENV)/bin:$$PATH $(VPY) ppocr_v5/scripts/provision_models.py --set v5 --dest $(MODEL_DIR)
	touch $@

models: $(MODELS_STAMP)

# PP-OCRv6 tiny/small ONNX weights (PPOCR_VERSION=v6), verified like the v5 ones.
MODELS_V6_STAMP := $(MODEL_DIR)/.provisioned-v6
$(MODELS_V6_STAMP): $(DEPS_STAMP) $(PROVISION)
	$(VPY) ppocr_v5/scripts/provision_models.py --set v6 --dest $(MODEL_DIR)
	touch $@

models-v6: $(MODELS_V6_STAMP)

# The `ppocr-v5` command (annotate whole projects, export PaddleOCR training data) is the
# package's console script, installed by `deps`; `cli` stays as a name for it.
cli: deps

# Lint/validation tools for the Docker files, in their own venv (their pins clash with ours).
tools:
	PYTHON=$(PYTHON) tools/install-tools.sh

# Regenerates ppocr_v5/requirements.lock and requirements-test.lock from requirements*.txt with
# uv (in .venv-tools); UPGRADE=1 lets every pin move to its newest allowed release. Needs PyPI.
lock: tools
	PYTHON=$(PYTHON) UPGRADE=$(UPGRADE) tools/lock.sh

# The CPU image (docker-compose.cpu.yml's), built with docker where an engine runs, else with
# Debian's buildah/podman/debootstrap (installed by tools/image-setup.sh; needs root). image-test
# starts it as the compose file does and checks it for real (tools/image_checks.py, docs/docker.md).
image: tools
	tools/image.sh build

image-test: deps tools
	tools/image.sh test

image-clean:
	tools/image.sh clean

# Label Studio 1.23.2 (own venv, .venv-ls) + Playwright + Debian chromium for the end-to-end suite.
e2e-deps:
	e2e/setup.sh

serve: deps models cli
	cd ppocr_v5 && exec $(VENV)/bin/gunicorn --config gunicorn.conf.py _wsgi:app

# ruff (lint + format check) over the repository, mypy on the package (settings: ruff.toml and
# ppocr_v5/pyproject.toml). `ruff check --fix . && ruff format .` repairs most findings.
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd ppocr_v5 && $(VENV)/bin/mypy

test: deps models models-v6 cli tools e2e-deps lint
	PATH=$(VENV)/bin:$$PATH $(VPY) -m pytest --durations=25 $(PYTEST_ARGS)

# The fast lane: unit and golden tests, no server, no model weights opened (ppocr_v5/tests/support/fast_lane.py);
# no lint. A check while editing, never instead of `make test`.
test-fast: deps models models-v6 tools
	PATH=$(VENV)/bin:$$PATH $(VPY) -m pytest --fast ppocr_v5/tests $(PYTEST_ARGS)

# The RapidOCR yardsticks of make bench only (bench/requirements.txt says why --no-deps).
BENCH_DEPS_STAMP := $(VENV)/.bench-deps-installed
$(BENCH_DEPS_STAMP): $(DEPS_STAMP) bench/requirements.txt
	$(VPY) -m pip install --disable-pip-version-check -q --no-deps -r bench/requirements.txt
	$(VPY) -c "import importlib.metadata as m, cv2, rapidocr; print('bench deps ok: rapidocr', m.version('rapidocr'), 'cv2', cv2.__version__)"
	touch $@

bench-deps: $(BENCH_DEPS_STAMP)

# Speed and accuracy over HTTP, with the yardsticks in the same run (RapidOCR on our weights and
# as shipped, in turn with ours; the ppocr example's configuration): on the clean corpus, then on
# its scanned copy (accuracy and the RapidOCR ratios only). BENCH_ARGS goes to every run; the
# later ones keep their corpus, output, no peer and no throughput phases. Then the photographed
# pages and a 300-dpi copy of the clean corpus (bench/make_300dpi.py writes it under bench/results/),
# each with orientation off (ours) and on (a second server, in turn); the 300-dpi pages also in
# turn with their 150-dpi twins (time ratio, F1 of both) and detected at every pixel (DET_AUTO_SCALE=false).
DEGRADED_CORPUS ?= ../shared/corpus/public-degraded
PHOTO_CORPUS ?= ../shared/corpus/public-photo
HIRES_CORPUS := bench/results/corpora/public-300dpi
ORIENTATION_ON := orientation on:USE_DOC_ORIENTATION=true,USE_TEXTLINE_ORIENTATION=true
# run_bench.py starts the backend with the tests' launcher (tests.support, in ppocr_v5/).
BENCH_RUN := PATH=$(VENV)/bin:$$PATH PYTHONPATH=$(CURDIR)/ppocr_v5 $(VPY) bench/run_bench.py
bench: deps models bench-deps
	$(BENCH_RUN) $(BENCH_ARGS)
	$(BENCH_RUN) $(BENCH_ARGS) --corpus $(DEGRADED_CORPUS) \
		--peer-pages 0 --no-throughput --out bench/results/latest-degraded.json
	$(BENCH_RUN) $(BENCH_ARGS) --corpus $(PHOTO_CORPUS) \
		--peer-pages 0 --no-throughput --variant "$(ORIENTATION_ON)" --out bench/results/latest-photo.json
	$(VPY) bench/make_300dpi.py --dest $(HIRES_CORPUS)
	$(BENCH_RUN) $(BENCH_ARGS) --corpus $(HIRES_CORPUS) \
		--twin ../shared/corpus/public --rapidocr none --peer-pages 0 --no-throughput \
		--variant "$(ORIENTATION_ON)" --variant "every pixel:DET_AUTO_SCALE=false" \
		--out bench/results/latest-300dpi.json

# Load (8 clients x 50, two worker layouts) and a 500-prediction RSS soak; prints a table.
# load.py drives the server with the test suite's harness (tests.support: PYTHONPATH=ppocr_v5).
load: deps models
	PYTHONPATH=$(CURDIR)/ppocr_v5 $(VPY) bench/load.py $(LOAD_ARGS)

# Only the end-to-end suite (real Label Studio and browser).
e2e: deps models models-v6 cli e2e-deps
	PATH=$(VENV)/bin:$$PATH $(VPY) -m pytest e2e $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(MODEL_DIR) $(CURDIR)/.venv-tools $(CURDIR)/.venv-ls $(CURDIR)/.cache/e2e
