# zhongnao: `make run` starts the demo town live; `make test` sets everything up and tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One more pytest worker than cores: the browser tests mostly wait on their pages, so a
# third worker fills the gaps (2 cores: 574 s with 3 workers against 679-693 s with 2).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup run test test-services lint bench screenshots browser-deps db-deps proxy-deps sentinel-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

run: setup                        ## the demo town, live, on http://127.0.0.1:8050
	$(BIN)/zhongnao run

browser-deps:                     ## Debian's chromium, chromium-driver and CJK fonts, if missing
	@tools/ensure_browser.sh

db-deps:                          ## Debian's postgresql (the fault tests start their own), if missing
	@tools/ensure_postgres.sh

proxy-deps:                       ## Debian's nginx (the multi-process tests start their own), if missing
	@tools/ensure_nginx.sh

sentinel-deps:                    ## Debian's redis-sentinel (the failover tests start their own), if missing
	@tools/ensure_sentinel.sh

lint: setup                       ## ruff, the import contract (import-linter), types (mypy)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

test: setup browser-deps db-deps proxy-deps sentinel-deps lint  ## the whole suite: unit, integration, browser, faults
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

test-services: setup db-deps proxy-deps sentinel-deps ## DB and Redis tests against DATABASE_URL / REDIS_URL
	$(BIN)/python -m pytest -n auto --dist worksteal -m "not browser"

bench: setup browser-deps proxy-deps sentinel-deps ## intake throughput, the HTTP report door, publish→screen latency (500 buses, 10 screens), 20/50/200 scripted walls, a 10-minute soak, bus ingest per door, 10,000 fuzzed inputs per door, Redis failover
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/door.py --rate 100
	$(BIN)/python bench/smart_intake.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/dispatch_latency.py
	$(BIN)/python bench/bus_ingest.py
	$(BIN)/python bench/resources.py
	$(BIN)/python bench/gate.py
	$(BIN)/python bench/boarding.py
	$(BIN)/python bench/parent.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/multiprocess.py
	$(BIN)/python bench/failover.py --rounds 3
	$(BIN)/python bench/fanout.py --walls 20,50,200 --vehicles 500 --reports 30
	SOAK_SECONDS=600 $(BIN)/python bench/soak.py

screenshots: setup browser-deps   ## docs/ screenshots of the wall and the tablet view
	$(BIN)/python tools/make_screenshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
