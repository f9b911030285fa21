# Two entry points for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each does its own setup: a virtualenv with meshops installed, and Debian's Prometheus when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Root installs packages directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup prometheus demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian's package does not start the service here; tests and the demo start the binary themselves.
prometheus:
	@command -v prometheus >/dev/null 2>&1 || { \
	  echo "installing Debian's prometheus package"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

demo: setup prometheus
	$(BIN)/meshops demo --fast

test: setup prometheus
	$(BIN)/python -m pytest -q

bench: setup prometheus
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
