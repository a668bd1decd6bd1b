# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/default.yaml
SEEDS ?= 10
DEMO ?= runs/demo
REPORT ?= reports/decision_report.html

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# The main job: every plan in the library on the default scenario, then the decision report.
demo: $(VENV)/.installed
	$(BIN)/lti batch $(SCENARIO) --seeds $(SEEDS) --out $(DEMO)
	$(BIN)/lti report $(DEMO) --out $(REPORT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(VENV)/.installed
	for b in engine plans ingest batch; do $(BIN)/python benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) runs reports build *.egg-info .pytest_cache .ruff_cache
