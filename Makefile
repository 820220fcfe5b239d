PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
EXSTAMP := $(VENV)/.installed-examples

.PHONY: test lint bench demo install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip setuptools

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -e '.[test]'
	touch $(STAMP)

$(EXSTAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -e '.[examples]'
	touch $(EXSTAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.bench_distributed

demo: $(EXSTAMP)
	$(BIN)/python -m ember demo

clean:
	rm -rf $(VENV) build *.egg-info
