# Two commands: `make report` (regenerate every report) and `make test`.
# Each bootstraps a local virtual environment (.venv) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: report test lab data lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e '.[test,dask]'
	touch $@

$(VENV)/.installed-docs: pyproject.toml constraints.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --progress-bar off -c constraints.txt -e '.[docs]'
	touch $@

report: $(VENV)/.installed
	$(BIN)/research report run

test: $(VENV)/.installed-test $(VENV)/.installed-docs
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --notebook-dir=.

data: $(VENV)/.installed
	$(BIN)/research data build --raw ../shared/data/raw

# API docs and user guide into site/, offline; any warning fails the build.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: $(VENV)/.installed-test
	$(BIN)/ruff check research tests benchmarks

clean:
	rm -rf $(VENV)
