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
	$(UV) sync --frozen --python $(PYTHON)
	@touch $(STAMP)

run: install
	$(VENV)/bin/jaxrl-hybrid train --algo sac --env gymnax:Pendulum-v1 --num-seeds 8 \
		--total-steps 10000 --eval-every 1000 --hidden-dims 64 64 --seed 0 \
		--out runs/default --overwrite

test: install
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup -q

bench: install
	$(VENV)/bin/python benchmarks/throughput.py --out benchmarks/results

lint: install
	$(VENV)/bin/ruff check jaxrl_hybrid tests benchmarks experiments

clean:
	rm -rf $(VENV) .pytest_cache
