# The two set-up commands of README.md: `make test` and `sudo make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo demo-down schemas

$(BIN)/gpuctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/gpuctl

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

schemas: install
	$(BIN)/gpuctl schema --write schemas
	$(BIN)/gpuctl schema --write gpuctl/schemas
