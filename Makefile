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

REQS := $(wildcard ppocr_v5/requirements*.txt) ppocr_v5/scripts/install-deps.sh ppocr_v5/pyproject.toml
DEPS_STAMP := $(VENV)/.deps-installed
MODELS_STAMP := $(MODEL_DIR)/.provisioned

.PHONY: venv deps models models-v6 cli tools e2e-deps e2e serve lint test bench bench-deps load clean

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check --upgrade pip

# The pinned dependencies, then the package itself (editable: the `ppocr-v5` command and
# `import ocr_backend` run this checkout's code).
$(DEPS_STAMP): $(VPY) $(REQS)
	PYTHON=$(VPY) ppocr_v5/scripts/install-deps.sh --test
	PYTHON=$(VPY) ppocr_v5/scripts/install-deps.sh --package --editable
	touch $@

deps: $(DEPS_STAMP)
venv: deps

# The pinned weights are data (weights.json), read by one provisioner: v5 here, v6 below.
PROVISION := ppocr_v5/scripts/provision_models.py ppocr_v5/scripts/weights.json
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
	PATH=$(VENV)/bin:$$PATH $(VPY) -m pytest $(PYTEST_ARGS)

# The RapidOCR yardsticks of make bench only (bench/requirements.txt says why --no-deps).
BENCH_DEPS_STAMP := $(VENV)/.bench-deps-installed
$(BENCH_DEPS_STAMP): $(DEPS_STAMP) bench/requirements.txt
	$(VPY) -m pip install --disable-pip-version-check -q --no-deps -r bench/requirements.txt
	$(VPY) -c "import importlib.metadata as m, cv2, rapidocr; print('bench deps ok: rapidocr', m.version('rapidocr'), 'cv2', cv2.__version__)"
	touch $@

bench-deps: $(BENCH_DEPS_STAMP)

# Speed and accuracy over HTTP, with the yardsticks in the same run (RapidOCR on our weights and
# as shipped, in turn with ours; the ppocr example's configuration): on the clean corpus, then on
# its scanned copy (accuracy and the RapidOCR ratios only). BENCH_ARGS goes to both runs; the
# second keeps its corpus, output, no peer and no throughput phases.
DEGRADED_CORPUS ?= ../shared/corpus/public-degraded
bench: deps models bench-deps
	PATH=$(VENV)/bin:$$PATH $(VPY) bench/run_bench.py $(BENCH_ARGS)
	PATH=$(VENV)/bin:$$PATH $(VPY) bench/run_bench.py $(BENCH_ARGS) --corpus $(DEGRADED_CORPUS) \
		--peer-pages 0 --no-throughput --out bench/results/latest-degraded.json

# Load (8 clients x 50, two worker layouts) and a 500-prediction RSS soak; prints a table.
# load.py drives the server with the test suite's helpers (corpus.py, live_server.py).
load: deps models
	PYTHONPATH=$(CURDIR)/ppocr_v5/tests $(VPY) bench/load.py $(LOAD_ARGS)

# Only the end-to-end suite (real Label Studio and browser).
e2e: deps models models-v6 cli e2e-deps
	PATH=$(VENV)/bin:$$PATH $(VPY) -m pytest e2e $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(MODEL_DIR) $(CURDIR)/.venv-tools $(CURDIR)/.venv-ls $(CURDIR)/.cache/e2e
