# `make demo` and `make test` each create/refresh .venv themselves; nothing else is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_WORKERS ?= 2

.PHONY: venv demo test check-kernels bench train-synthetic clean

$(STAMP): pyproject.toml requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/acgpn demo-tryon --out outputs/demo   # unpaired try-on of new synthetic people, embedded model

test: $(STAMP)   # two pytest-xdist workers, one per core (tests/conftest.py: the schedule)
	$(PY) -m pytest -rs -n $(TEST_WORKERS) --dist worksteal tests

check-kernels: $(STAMP)   # the whole parity protocol on the portable CPU kernels (~1.5 min)
	ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default $(VENV)/bin/acgpn parity tests/data/parity_seed1.safetensors

train-synthetic: $(STAMP)
	$(PY) -m acgpn.recipes --out outputs/train-synthetic

bench: $(STAMP)
	$(PY) benchmarks/bench_inference.py $(if $(OFFICIAL),--official $(OFFICIAL)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) outputs .pytest_cache
