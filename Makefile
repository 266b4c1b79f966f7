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

# System packages the test peers need (Zebra, yaz-client, yaz-ztest); root on Debian.
system-deps:
	@if command -v yaz-client >/dev/null && command -v zebrasrv >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yaz idzebra-2.0 >/dev/null; \
	else echo "need yaz and idzebra-2.0: run 'sudo apt-get install yaz idzebra-2.0'"; exit 1; fi

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
	@echo "Done. Try: $(U) search 'dc.title=history and dc.date>=2000' --format json"

test: venv system-deps
	$(BIN)/python -m mypy unioncat
	$(BIN)/python -m ruff check unioncat tests bench examples
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

clean:
	rm -rf $(VENV) examples/demo/var .pytest_cache build *.egg-info
