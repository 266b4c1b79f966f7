# unioncat: `make demo` runs the main job on the bundled demo consortium,
# `make test` runs the tests.  Both build .venv from nothing on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := examples/demo/unioncat.toml
U      := $(BIN)/unioncat --config $(DEMO)

.PHONY: demo test test-slow bench system-deps venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv python3-pip && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# System packages the tests need: the test peers (Zebra, yaz-client, yaz-ztest), the browser
# tests' Debian chromium and chromium-driver, and PostgreSQL's server (the store tests run against
# a throwaway cluster the tests start and stop: tests/postgres.py); root on Debian.
system-deps:
	@if command -v yaz-client >/dev/null && command -v zebrasrv >/dev/null && \
	    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    yaz idzebra-2.0 chromium chromium-driver postgresql >/dev/null; \
	else echo "need yaz, idzebra-2.0, chromium, chromium-driver and postgresql: run" \
	  "'sudo apt-get install yaz idzebra-2.0 chromium chromium-driver postgresql'"; exit 1; fi

# axe-core for the accessibility checks in the browser tests (axe-selenium-python bundles a 2018 one).
AXE_VERSION := 4.11.4
$(VENV)/axe-core/axe.min.js: | venv
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	cd $(VENV) && npm pack axe-core@$(AXE_VERSION) --silent >/dev/null && mkdir -p axe-core && \
	  tar xzf axe-core-$(AXE_VERSION).tgz -C axe-core --strip-components=1 package/axe.min.js package/LICENSE && \
	  rm axe-core-$(AXE_VERSION).tgz

demo: venv
	@rm -rf examples/demo/var
	@echo "== The nightly job on the demo consortium's file drops ($(DEMO))"
	$(U) run
	@echo
	@echo "== Status"
	$(U) status
	@echo
	@echo "== One record from the CNMARC (GB18030) member"
	$(U) show UNIV.ENU00000001
	@echo
	@echo "== Why it was merged with the City Library's MARC 21 record of the same book"
	$(U) dedup explain CITY.00470353 UNIV.ENU00000001
	@echo
	@echo "== Tonight's status feeds from three members"
	$(U) availability load CITY examples/demo/data/city-status.csv
	$(U) availability load DIST examples/demo/data/riverside-status.csv
	$(U) availability load UNIV examples/demo/data/enu-status.json
	@echo
	@echo "== Where to borrow it, at every member that has it"
	$(U) holdings CITY.00470353 --cluster
	@echo
	@echo "== Searching the union catalogue: a Traditional-script title, and pinyin"
	$(U) search '連城訣'
	$(U) search 'hongloumeng or lianchengjue' --facet library
	@echo
	@echo "== For the consortium office: who holds what (also as staff pages with charts, and --json/--csv)"
	$(U) report overlap
	$(U) report unique
	@echo
	@echo "== The same over SRU, as a member OPAC asks it: on the shelf somewhere, ISO 20775 holdings"
	@$(U) serve --port 18765 2>/dev/null & pid=$$!; \
	  $(BIN)/python examples/demo/sru_request.py 'http://127.0.0.1:18765/sru?version=1.2&operation=searchRetrieve&recordSchema=isohold&query=dc.title%3D%22lian%20cheng%20jue%22%20and%20local.available%3Dtrue'; \
	  status=$$?; kill $$pid; exit $$status
	@echo
	@echo "== And over Z39.50, as a copy-cataloguing client or an older OPAC asks it: OPAC records"
	@$(U) serve --no-sru --z3950-port 18210 2>/dev/null & pid=$$!; \
	  $(BIN)/python examples/demo/z3950_request.py 127.0.0.1:18210/Default '@attr 1=4 "lian cheng jue"'; \
	  status=$$?; kill $$pid; exit $$status
	@echo
	@echo "Done. Try: $(U) search 'dc.title=history and dc.date>=2000' --format json"
	@echo "      or: $(U) serve, then http://127.0.0.1:8765/ (the web catalogue), /sru, /oai?verb=Identify"
	@echo "      and the staff console at /staff after: $(U) staff add NAME --role cataloguer"

test: venv system-deps $(VENV)/axe-core/axe.min.js
	$(BIN)/python -m mypy unioncat
	$(BIN)/python -m ruff check unioncat tests bench examples scripts
	$(BIN)/python -m pytest

# Long suites (all 200,000 LoC records); the benchmarks use the same marker.
test-slow: venv
	$(BIN)/python -m pytest -m slow

bench: venv
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/availability_bench.py
	$(BIN)/python bench/harvest_bench.py
	$(BIN)/python bench/dedup_eval.py
	$(BIN)/python bench/index_bench.py
	$(BIN)/python bench/nightly_bench.py
	$(BIN)/python bench/serve_during_run.py
	$(BIN)/python bench/pinyin_recall.py
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
	$(BIN)/python bench/sru_bench.py
	$(BIN)/python bench/web_bench.py
	$(BIN)/python bench/oai_bench.py
	$(BIN)/python bench/z3950_bench.py
	$(BIN)/python bench/federated_bench.py

clean:
	rm -rf $(VENV) examples/demo/var .pytest_cache build *.egg-info
