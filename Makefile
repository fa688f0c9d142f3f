# Two commands for a new user: `make demo` (or `make run`) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev,fast,bench]'  # bench: the smoke runs in make test plot too
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/tatap serve

demo: $(STAMP)
	$(BIN)/tatap demo

test: $(STAMP)
	$(BIN)/ruff check services signaling media tests
	$(BIN)/ruff format --check services signaling media tests
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check services signaling media tests
	$(BIN)/ruff format --check services signaling media tests
	$(BIN)/pytest -q tests/test_layers.py  # the layer contract (make test runs it with the rest)

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .pytest_cache
