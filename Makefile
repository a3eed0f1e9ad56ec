# Two commands a new user types: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE := data/sample
REPORT := report

.PHONY: demo test fuzz lint bench sample clean notebooks

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml or the compiled kernels change.
$(VENV)/.installed-base: pyproject.toml setup.py agreement/_kernels.c | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml setup.py agreement/_kernels.c | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-base

# The report prints the path of report.html on stdout (progress and timing go to stderr).
demo: $(VENV)/.installed-base
	$(VENV)/bin/agreement report $(SAMPLE)/batch1 --out $(REPORT) --n-jobs 2

test: $(VENV)/.installed-test
	$(PY) -m pytest

# A longer soak of the reader fuzz suite (2,000 examples per case instead of 30; ~5-10 min).
# Every failure it finds becomes a regression test in tests/test_hostile_inputs.py.
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=soak $(PY) -m pytest tests/test_fuzz_readers.py -p no:cacheprovider -q

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check agreement tests benchmarks scripts

bench: $(VENV)/.installed-base
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

sample: $(VENV)/.installed-base
	$(PY) scripts/make_sample.py --out $(SAMPLE)

clean:
	rm -rf $(VENV) $(REPORT) .pytest_cache build *.egg-info

# Regenerate notebooks/*.ipynb (outputs stripped) from scripts/make_notebooks.py.
notebooks: $(VENV)/.installed-test
	$(PY) scripts/make_notebooks.py
