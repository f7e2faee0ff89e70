# The project's commands. `make run` and `make test` are the two a newcomer needs (see README).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := true

.PHONY: setup run update backfill trace test ui docs dashboard screenshot bench sample clean

setup: $(VENV)/.installed

# uv lives in its own small venv (.uv) and installs the locked stack into .venv.
$(VENV)/.installed: pyproject.toml uv.lock
	@test -x .uv/bin/uv || ($(PYTHON) -m venv .uv && .uv/bin/pip install --quiet uv==$(UV_VERSION))
	UV_PROJECT_ENVIRONMENT=$(VENV) .uv/bin/uv sync --frozen --quiet --compile-bytecode --python $(PYTHON)
	@touch $@

run: setup   ## set up, write the sample inbox if absent, run the whole pipeline, publish
	$(PY) -m orchestration.cli run

update: setup ## run what the inbox sensor would for files new since the last run (affected months and assets only)
	$(PY) -m orchestration.cli update

backfill: setup ## rebuild and publish a range of report months: make backfill FROM=2024-01 TO=2024-03
	$(PY) -m orchestration.cli backfill --from $(FROM) --to $(or $(TO),$(FROM))

trace: setup ## one published figure back to its source cells: make trace ARGS="marts.fct_center_month center_code=GA-DC-003 month=2025-03 pue"
	$(PY) -m orchestration.cli trace $(ARGS)

test: setup  ## set up, then lint and the whole test suite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

ui: setup    ## Dagster UI on http://127.0.0.1:3000 (runs of `make run` show there too)
	DAGSTER_HOME=$$($(PY) -m orchestration.cli dagster-home) $(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

docs: setup  ## dbt docs with the lineage graph, as one static page: warehouse/docs/index.html
	$(PY) -m orchestration.docs

dashboard: setup ## rebuild warehouse/dashboard/index.html from the published file alone
	$(PY) -m orchestration.cli dashboard

# The README's picture is of the sample inbox's publication: run the sample (never a DCW_INBOX), then render.
screenshot: setup ## refresh docs/dashboard.png (needs Debian's chromium and fonts-noto-cjk)
	env -u DCW_INBOX -u DCW_WAREHOUSE -u DCW_WORKING_DB $(PY) -m orchestration.cli run > /dev/null
	env -u DCW_WAREHOUSE $(PY) -m orchestration.cli screenshot --png docs/dashboard.png

bench: setup ## benchmark at several scales: bench/results/latest.json
	$(PY) bench/run.py

sample: setup ## (re)write the sample inbox into sample_inbox/
	rm -rf sample_inbox && $(PY) -m ingestion.sample --out sample_inbox

clean:
	rm -rf warehouse sample_inbox dbt_project/target dbt_project/logs
