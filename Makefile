# facegate: `make run` starts the main job, `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint typecheck unit compliance release-results frontdoor bench clean browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[eval,rcnn,audit,postgres,test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/facegate serve --demo

test: $(VENV)/.installed-test lint typecheck frontdoor unit compliance

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# The store's tests also run on a throw-away PostgreSQL server the script starts (and
# installs, as browser-deps does, when it can; otherwise those tests skip).
unit: $(VENV)/.installed-test browser-deps
	bash .ci/with-postgres $(BIN)/pytest

# Debian's Chromium (driven by Playwright with executable_path) and a CJK font for the browser
# tests; a no-op when already installed. `playwright install` cannot work offline here.
BROWSER_PACKAGES := chromium chromium-driver fonts-wqy-zenhei
# apt-get needs root: as root nothing, otherwise sudo when there is one.
SUDO := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo))
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then \
		( $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
			$(BROWSER_PACKAGES) ) || echo "WARNING: could not install $(BROWSER_PACKAGES):" \
			"the browser tests will be skipped"; \
	fi

# The R-01…R-33 matrix from the test run just made and a freshly built demo site.
COMPLIANCE_DATA := artifacts/compliance/demo-data
compliance: $(VENV)/.installed-test
	rm -rf $(COMPLIANCE_DATA)
	FACEGATE_DATA_DIR=$(COMPLIANCE_DATA) $(BIN)/facegate demo > /dev/null
	FACEGATE_DATA_DIR=$(COMPLIANCE_DATA) $(BIN)/facegate compliance report --site demo
	$(BIN)/facegate compliance verify-release

# At release time, after the full test run (`make unit`): freeze its rule results into the
# package, hashed, for the compliance report of a deployed site that has no test run.
release-results: $(VENV)/.installed-test
	$(BIN)/facegate compliance freeze

# `make run` on a fresh venv with the core install only (no extras): the README's first command.
frontdoor:
	bash .ci/front-door

bench: $(VENV)/.installed-test
	$(BIN)/facegate bench verification --engine sface --engine dlib --baseline \
		--pairs ../shared/data/lfw_deepfunneled_subset/pairs.txt \
		--labelled ../shared/data/lfw_deepfunneled_subset \
		--pairs-csv ../shared/data/deepface_unit_testset/pairs.csv \
		--labelled ../shared/data/deepface_unit_testset \
		--out artifacts/bench

clean:
	rm -rf $(VENV) .venv-core artifacts .facegate
