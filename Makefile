# The two commands a fresh machine needs: `make run` and `make test`.
# Each creates .venv when missing and (re)installs when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=

SOAK_SECONDS ?= 600
FUZZ_EXAMPLES ?= 2000

.PHONY: run test lint format bench soak fuzz package icons clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/inspector $(ARGS)

test: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check inspector tests packaging
	$(BIN)/ruff format --check inspector tests packaging
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench.run_all --out bench-results \
		$(if $(filter-out 0,$(QUICK)),--quick) $(if $(PEERS),--peers $(PEERS))

format: $(VENV)/.installed-test
	$(BIN)/ruff format inspector tests packaging
	$(BIN)/ruff check --fix inspector tests packaging

soak: $(VENV)/.installed-test
	mkdir -p bench-results
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.soak.soak --seconds $(SOAK_SECONDS) --json bench-results/soak.json

# The suite replays the same Hypothesis examples on every run (the "ci"
# profile in tests/conftest.py); this explores: every test marked
# "hypothesis", on random inputs, FUZZ_EXAMPLES each where the test does not
# fix its own count. A failure it finds is fixed, then added to the test as
# an @example so the suite keeps checking it (until then the printed blob,
# and .hypothesis/, replay it).
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=explore INSPECTOR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) QT_QPA_PLATFORM=offscreen \
		$(BIN)/python -m pytest -m hypothesis --timeout=3600 $(PYTEST_ARGS)

package: $(VENV)/.installed-run
	PYTHON=$(BIN)/python packaging/build_deb.sh

icons: $(VENV)/.installed-run
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/make_icons.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
