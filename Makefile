# Two commands for a newcomer: `make run` and `make test`. Both create .venv from uv.lock first.
PYTHON ?= python3
UV_VERSION ?= 0.13.9
VENV := .venv
UV := $(PYTHON) -m uv
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

# The default experiment: offline-to-online on a dynamics-shifted Pendulum (data cached in runs/data/).
run: install
	$(VENV)/bin/python experiments/offline_to_online/run.py --out runs/default --data-dir runs/data

test: install
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup -q

# Ours vs rejax and d3rlpy (peer venvs made on first use from benchmarks/peers/*.txt), then seed scaling.
bench: install
	$(VENV)/bin/python benchmarks/peers.py --out benchmarks/results
	$(VENV)/bin/python benchmarks/scaling.py --out benchmarks/results

# ruff, then the layer, engine, argv and no-cycle contracts in .importlinter (CI runs this too).
lint: install
	$(VENV)/bin/ruff check jaxrl_hybrid tests benchmarks experiments
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache
