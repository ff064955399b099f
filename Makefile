# Two commands do all the set-up on a fresh machine (Python 3.11+ with venv):
#   make demo   - create .venv, install the bridge, run it against the built-in simulated Sisumaker
#   make test   - create .venv, install the bridge with its test tools, run lint, types and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bridge demo

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check bridge tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP)
	$(BIN)/pytest tests/integration -q

bench: $(STAMP)
	$(BIN)/python bench/first_sync.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
