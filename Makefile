# Loupe: `make run` starts the dashboard, `make test` runs the lint and type checks, then every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOUPE_DB ?= data/loupe.db
PORT ?= 8501

.PHONY: run test lint install install-dev chromium demo clean

run: $(VENV)/.installed
	@mkdir -p $(dir $(LOUPE_DB))
	LOUPE_DB=$(LOUPE_DB) $(PY) -m streamlit run app.py --server.port $(PORT) --server.address localhost

test: lint chromium
	$(PY) -m pytest

# ruff and mypy read their settings from pyproject.toml.
lint: $(VENV)/.installed-dev
	$(PY) -m ruff check store dashboard views tests bench app.py
	$(PY) -m mypy

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PY) -m pip install -r requirements-dev.txt
	@touch $@

# Browser tests drive Debian's Chromium; install it when missing and we may.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get install -y chromium || (apt-get update && apt-get install -y chromium); \
	elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		sudo apt-get install -y chromium || (sudo apt-get update && sudo apt-get install -y chromium); \
	else \
		echo "chromium is missing and cannot be installed here: browser tests will fail"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
