# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/default.yaml
SEEDS ?= 10
DEMO ?= runs/demo
REPORT ?= reports/decision_report.html
CONSTRAINTS := constraints.txt
INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)

.PHONY: demo test lint format bench constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed at the tested versions in constraints.txt.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(INSTALL) -e ".[test]"
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

# Rewrite constraints.txt with the newest releases that pyproject.toml's bounds allow, resolved in
# a scratch environment; then run `make clean test` on them before committing the file.
constraints:
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	$(PYTHON) -m venv "$$scratch" && \
	"$$scratch/bin/python" -m pip install --quiet --upgrade pip && \
	"$$scratch/bin/python" -m pip install --quiet -e ".[test]" && \
	{ sed -n '/^#/p' $(CONSTRAINTS) && "$$scratch/bin/python" -m pip freeze --exclude-editable; } \
		> $(CONSTRAINTS).new && \
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && \
	echo "$(CONSTRAINTS) rewritten; run make clean test before committing it"

clean:
	rm -rf $(VENV) runs reports build *.egg-info .pytest_cache .ruff_cache
