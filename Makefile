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

.PHONY: book test install data web lint clean plain-install colab-parity repository

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
# repository, then download what is still missing of MNIST and Fashion-MNIST (and cache
# them): chapters below the full profile never download a dataset.
data: install
	@if [ -d "$(SHARED_DATA)" ]; then \
	  for d in "$(SHARED_DATA)"/*/; do \
	    name=$$(basename "$$d"); \
	    mkdir -p "data/$$name"; \
	    copied=$$(cp -Rnv "$$d." "data/$$name/" | wc -l); chmod -R u+w "data/$$name"; \
	    [ "$$copied" = 0 ] || echo "data/$$name: $$copied file(s) seeded from $(SHARED_DATA)"; \
	  done; \
	fi
	@[ "$$(ls data/MNIST/raw/*.gz data/FashionMNIST/raw/*.gz 2>/dev/null | wc -l)" = 8 ] || \
	  $(BIN)/python -c 'from gaaf import data; \
	  [data.load_split(n, s) for n in ("mnist", "fashion_mnist") for s in ("train", "test")]'

# JavaScript the built pages load from a CDN, installed so the page check works offline.
web:
	@if command -v npm >/dev/null; then \
	  [ tests/web/node_modules/.package-lock.json -nt tests/web/package-lock.json ] || \
	    npm ci --prefix tests/web --no-audit --no-fund --ignore-scripts --loglevel=error; \
	else \
	  echo "npm not found: the page check will not render maths and widgets offline"; \
	fi

# The library on a plain install (pip install -e .): PyTorch alone, no extras. GAAF runs
# forward and backward there, --help and --version work, and `python -m gaaf train` stops
# with one line naming the experiments extra (exit status 2, no traceback). With that
# extra `python -m gaaf train` must train and write its record; then, in the same fresh
# environment, the papermill extra must be enough to run a chapter (gaaf_derived: its
# widgets need ipywidgets), with the kernel it brings: no kernel of this machine's user.
PLAIN := _build/plain
NEEDS_EXTRA := ^error: train needs the experiments extra \([a-z]+ is not installed\): pip install -e '\.\[experiments\]' in a clone of gaaf's repository$$
plain-install: data
	rm -rf $(PLAIN) && $(PYTHON) -m venv $(PLAIN)/venv
	$(PLAIN)/venv/bin/python -m pip install --quiet -e .
	! $(PLAIN)/venv/bin/python -c "import numpy" 2>/dev/null
	$(PLAIN)/venv/bin/python -c 'import gaaf, torch; x = torch.linspace(-4, 4, 9, requires_grad=True); \
	  y = gaaf.GAAFTanh()(x); y.sum().backward(); t = torch.tanh(x.detach()); \
	  assert (y - t).abs().max() < 1e-3 and (x.grad > 1 - t**2).all(), x.grad'
	$(PLAIN)/venv/bin/python -m gaaf --version && $(PLAIN)/venv/bin/python -m gaaf --help >/dev/null
	status=0; $(PLAIN)/venv/bin/python -m gaaf train --profile smoke --seeds 0 --device cpu \
	  --quiet --results $(PLAIN)/results 2>$(PLAIN)/stderr || status=$$?; cat $(PLAIN)/stderr; \
	  [ $$status = 2 ] && [ "$$(wc -l <$(PLAIN)/stderr)" = 1 ] && \
	  grep -Eq "$(NEEDS_EXTRA)" $(PLAIN)/stderr && ! grep -q Traceback $(PLAIN)/stderr
	$(PLAIN)/venv/bin/python -m pip install --quiet -e '.[experiments]'
	! $(PLAIN)/venv/bin/python -c "import papermill" 2>/dev/null
	$(PLAIN)/venv/bin/python -m gaaf train --profile smoke --seeds 0 --device cpu --quiet \
	  --results $(PLAIN)/results
	test -n "$$(ls $(PLAIN)/results/mnist/*.json)"
	$(PLAIN)/venv/bin/python -m pip install --quiet -e '.[papermill]'
	JUPYTER_DATA_DIR=$(PLAIN)/jupyter JUPYTER_PATH= $(PLAIN)/venv/bin/python -m gaaf run-book \
	  --profile smoke --chapter gaaf_derived --device cpu --output $(PLAIN)/papermill
	test -s $(PLAIN)/papermill/gaaf_derived.smoke.ipynb

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff

# The repository's address, written into _config.yml and every copy of it (see README):
#   make repository URL=https://github.com/OWNER/REPO
repository: install
	@test -n "$(URL)" || { echo "usage: make repository URL=https://github.com/OWNER/REPO"; exit 2; }
	@$(BIN)/python -c 'import sys; from gaaf.book.chapter import set_repository; \
	  print(*set_repository(sys.argv[1]) or ["nothing to change"], sep="\n")' "$(URL)"

colab-parity:
	$(BIN)/pytest -m colab tests/test_colab.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
