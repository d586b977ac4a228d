# Each target creates .venv and installs the project (pinned by constraints.txt) on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: test test-slow bench bench-full lint perf check gpu-check clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(VENV)/bin/mibench bench --preset quick --out results

bench-full: $(STAMP)
	$(VENV)/bin/mibench bench --preset full --out results/full

lint: $(STAMP)
	$(VENV)/bin/ruff check mibench tasks estimators tests tools
	$(VENV)/bin/lint-imports  # the layering of mibench/ and the plug-ins' public-API rule (pyproject.toml)

perf: $(STAMP)
	$(PY) -m pytest tests/perf -m perf --benchmark-enable -p no:cacheprovider -s

check: $(STAMP)
	$(VENV)/bin/mibench check

# on a machine with a CUDA GPU (<= 5 min): KSG CUDA vs CPU, neural bounds and MIENF on CUDA; writes results/gpu/
gpu-check: $(STAMP)
	$(PY) tools/gpu_check.py results/gpu

clean:
	rm -rf $(VENV) build *.egg-info
