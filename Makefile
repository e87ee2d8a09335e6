# civitrack: `make run` serves the app, `make test` runs the whole suite.
# Both bootstrap .venv from the lock files on a fresh clone.

VENV := .venv
PY := $(VENV)/bin/python
export DEBUG ?= true

.PHONY: run test lint format bench lock clean

$(VENV)/.base-installed: requirements.lock
	@test -x $(PY) || $$(scripts/find-python) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

$(VENV)/.dev-installed: requirements-dev.lock $(VENV)/.base-installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	@touch $@

run: $(VENV)/.base-installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_local
	PY=$(PY) scripts/run-local

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.dev-installed
	$(PY) bench/run_all.py

# Re-pin after editing pyproject.toml dependencies (needs uv: pip install uv).
lock:
	uv pip compile --python-version 3.12 pyproject.toml -o requirements.lock
	uv pip compile --python-version 3.12 pyproject.toml --extra dev -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
