# Two commands on a fresh machine:
#   make dist   builds every assignment into dist/ (creating .venv first if needed)
#   make test   runs the test suite (building dist/ first: the end-to-end tests grade it); the
#               slowest end-to-end matrices on one assignment only (tests/sampling.py)
#   make test-full   the same with every assignment in those matrices too
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BWRAP := /usr/bin/bwrap
CHROMIUM := /usr/bin/chromium

.PHONY: dist test test-full clean

$(STAMP): pyproject.toml constraints.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and alone: the pinned local CPU build, so nothing pulls the CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

# The sandbox's private file view (autograder/engine/jail/view.py) runs under Debian's bubblewrap.
# Without it (no root to install it) grading still works, without that view, and says so.
$(BWRAP):
	apt-get install -qq -y bubblewrap || (apt-get update -qq && apt-get install -qq -y bubblewrap) || \
		echo "bubblewrap not installed: sandboxes will run without a private file view"

dist: $(STAMP) $(BWRAP)
	$(PY) -m autograder build

# The staff report's browser test (tests/test_report.py) opens hostile data in Debian's headless
# Chromium; it fails without it (no fallback: that test is the evidence the report runs no script).
$(CHROMIUM):
	apt-get install -qq -y chromium || (apt-get update -qq && apt-get install -qq -y chromium)

test: dist $(CHROMIUM)
	$(PY) -m pytest -m "not slow"

test-full: dist $(CHROMIUM)
	$(PY) -m pytest

clean:
	rm -rf dist build
