# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint venv clean bench bench-cohort-page bench-install bench-web bench-import bench-report bench-pages bench-soak bench-interop bench-federation axe

# The demo needs only the runtime dependencies (no Spark, Playwright or test tools). Byte code
# is compiled by Python as modules are first imported, not ahead for every installed file.
$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $(RUNTIME)

# `make test` adds the extras: spark (PySpark for the engine tests) and dev (test tools), and
# compiles the byte code once: where PYTHONDONTWRITEBYTECODE is set, every process the tests
# start (CLI runs, site servers) would otherwise compile pandas, scipy and ibis afresh.
$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $(STAMP)

venv: $(STAMP)

# `make demo NO_SERVE=1` stops after writing the report instead of serving the web app.
demo: $(RUNTIME)
	$(BIN)/alsrwe demo
	$(BIN)/alsrwe analyze --out report
ifeq ($(NO_SERVE),)
	$(BIN)/alsrwe serve
endif

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

# axe-core (the accessibility checker the browser tests inject) from the npm registry, without
# node: the release tarball, checked against its SHA-256, unpacked into the venv (never the repo).
AXE_VERSION := 4.14.1
AXE_SHA256 := e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE := $(VENV)/axe/package/axe.min.js

$(AXE):
	mkdir -p $(VENV)/axe
	curl -fsSL https://registry.npmjs.org/axe-core/-/axe-core-$(AXE_VERSION).tgz -o $(VENV)/axe/axe-core.tgz
	echo "$(AXE_SHA256)  $(VENV)/axe/axe-core.tgz" | sha256sum -c --quiet -
	tar -xzf $(VENV)/axe/axe-core.tgz -C $(VENV)/axe package/axe.min.js
	rm $(VENV)/axe/axe-core.tgz

axe: $(AXE)

# Two runs: Playwright's sync API keeps an event loop running in its process, which the
# async web tests (anyio) cannot share, so the browser tests get a process of their own.
test: lint $(CHROMIUM) $(AXE)
	$(BIN)/python -m pytest -n 2 --dist loadgroup --ignore=tests/browser
	$(BIN)/python -m pytest tests/browser

# Benchmarks (not tests): results and commands are recorded in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_lmm_compare.py --groups 1000 10000 100000 \
	  --contenders duckdb-scan alsrwe-sql alsrwe-engine alsrwe-pandas lme4

# Bytes over the wire and time to the first chart of a patient page, with and without
# compression (Playwright in Debian's Chromium).
bench-pages: $(STAMP) $(CHROMIUM)
	$(BIN)/python benchmarks/bench_pages.py --runs 5 --compare-uncompressed --mbps 0 20

bench-import: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py --patients 300 3000 --repeat 5
	$(BIN)/python benchmarks/bench_import.py --patients 3000 --repeat 5 \
	  --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

# The web cohort page on the demo registry: the first view (every analysis) and a cached one.
bench-cohort-page: $(STAMP)
	$(BIN)/python benchmarks/bench_cohort_page.py --patients 300 --repeat 5

# The light install: .venv's size after `make demo` on a fresh clone of HEAD.
bench-install:
	$(PYTHON) benchmarks/bench_install.py

# The whole report (`alsrwe analyze`) on the demo registry and on 8,400 patients.
bench-report: $(RUNTIME)
	$(BIN)/python benchmarks/bench_report.py --patients 300 --repeat 5
	$(BIN)/python benchmarks/bench_report.py --patients 8400 --repeat 5

# FHIR and REDCap import rates and the OMOP export rate, 10,000 patients, SQLite and PostgreSQL.
bench-interop: $(STAMP)
	$(BIN)/python benchmarks/bench_interop.py --patients 10000 --backends sqlite postgres

# The exact federated mixed model, 10 sites × 1,000 simulated patients in one process (the
# 100 × 10,000 command is in docs/benchmarks.md, "Federated mixed model").
bench-federation: $(RUNTIME)
	$(BIN)/python benchmarks/bench_federation.py --sites 10 --patients 1000 --repeat 3 --profile

# The web load benchmark drives the app with wrk (C; Debian package) on the local PostgreSQL.
WRK := /usr/bin/wrk

$(WRK):
	apt-get update -qq && apt-get install -y -qq wrk

bench-web: $(STAMP) $(WRK)
	$(BIN)/python benchmarks/bench_web.py --workers 2 --duration 20

# 50 clients for 10 minutes against PostgreSQL on loopback (docs/reliability.md, "Load and soak").
bench-soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --clients 50 --duration 600 --workers 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache alsrwe.db report
