# Two commands on a fresh machine: `make run` and `make test`. Everything else follows.
SHELL := /bin/bash
UV ?= uv
LANDING ?= data/sample/landing
WAREHOUSE ?= warehouse
export DAGSTER_HOME ?= $(CURDIR)/$(WAREHOUSE)/.dagster
export FOLLOWUP_WAREHOUSE_DIR ?= $(CURDIR)/$(WAREHOUSE)
export FOLLOWUP_LANDING_DIR ?= $(CURDIR)/$(LANDING)

.PHONY: install prepare browser sample run test dev bench clean

# --compile-bytecode: the installed packages' .pyc are written once, here. Without them every
# process compiles dagster, dbt and GX from source on import (PYTHONDONTWRITEBYTECODE is set
# on some machines, this one included), which cost a national night about 10 s
# (start-up 20 s -> 15 s, the first ingest step with GX's import 8 s -> 4 s).
install:
	@command -v $(UV) >/dev/null || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode

# dbt's manifest, parsed again only when the dbt project changed (orchestration/defs/project.py).
prepare: install
	$(UV) run --frozen python -c "import orchestration.defs.project"

$(LANDING)/manifest.json: | install
	$(UV) run --frozen followup sample --out $(LANDING)

sample: $(LANDING)/manifest.json

run: prepare sample
	$(UV) run --frozen followup run --landing $(LANDING) --warehouse $(WAREHOUSE)

# Debian's Chromium, for the test that renders the cohort report headless.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

test: prepare browser
	$(UV) run --frozen pytest

# Benchmarks (not tests): regions of 20k, 200k and 1.2M firms, cached outside git; see bench/.
bench: prepare
	$(UV) run --frozen python -m bench $(BENCH_ARGS)

dev: prepare sample
	mkdir -p $(DAGSTER_HOME)
	$(UV) run --frozen python -c "from pathlib import Path; from orchestration.cli import write_dagster_yaml; write_dagster_yaml(Path('$(DAGSTER_HOME)'))"
	$(UV) run --frozen dagster dev -m orchestration.definitions

clean:
	rm -rf $(WAREHOUSE)/*.duckdb $(WAREHOUSE)/work $(WAREHOUSE)/.dagster $(WAREHOUSE)/logs dbt_project/target
