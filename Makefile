# Two entry points, each of which sets everything up first (see README.md):
#   make book   installs into .venv, executes every chapter, builds the book in _build/html
#   make test   installs, lints, runs the tests and every chapter at the smoke profile,
#               builds the book, and checks every built page in headless Chromium
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_DATA ?= ../shared/data
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test install data web lint clean plain-install colab-parity

book: install data
	$(BIN)/jupyter-book build . --all -W -n --keep-going

test: install data web lint plain-install
	$(BIN)/pytest -m "not pages and not colab"
	$(MAKE) colab-parity
	$(MAKE) book
	$(BIN)/pytest -m pages

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The dataset root is data/. Seed it from the offline mirror when one lies beside the
# repository; elsewhere the library downloads what is missing.
data:
	@if [ -d "$(SHARED_DATA)" ]; then \
	  for d in "$(SHARED_DATA)"/*/; do \
	    name=$$(basename "$$d"); \
	    mkdir -p "data/$$name"; \
	    copied=$$(cp -Rnv "$$d." "data/$$name/" | wc -l); chmod -R u+w "data/$$name"; \
	    [ "$$copied" = 0 ] || echo "data/$$name: $$copied file(s) seeded from $(SHARED_DATA)"; \
	  done; \
	fi

# JavaScript the built pages load from a CDN, installed so the page check works offline.
web:
	@if command -v npm >/dev/null; then \
	  [ tests/web/node_modules/.package-lock.json -nt tests/web/package-lock.json ] || \
	    npm ci --prefix tests/web --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else \
	  echo "npm not found: the page check will not render maths and widgets offline"; \
	fi

# The library on a plain install, as `pip install gaaf` gives it: no extras, no papermill.
# `python -m gaaf train` must train and write its record there.
PLAIN := _build/plain
plain-install: data
	rm -rf $(PLAIN) && $(PYTHON) -m venv $(PLAIN)/venv
	$(PLAIN)/venv/bin/python -m pip install --quiet -e .
	! $(PLAIN)/venv/bin/python -c "import papermill" 2>/dev/null
	$(PLAIN)/venv/bin/python -m gaaf train --profile smoke --seeds 0 --device cpu --quiet \
	  --results $(PLAIN)/results
	test -n "$$(ls $(PLAIN)/results/mnist/*.json)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

colab-parity:
	$(BIN)/pytest -m colab tests/test_colab.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
