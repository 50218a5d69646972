# linkpatrol: the commands the README names.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install bytecode system-deps run test lint profile bench bench-large bench-verdicts bench-check bench-huge bench-wanted bench-bombs bench-recheck bench-render clean

# requirements-dev.txt: the runtime pins (requirements.txt, all the Docker image has) and the test and lint tools.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The project itself (editable, its dependencies are the pins above): the `linkpatrol` command.
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) bytecode

## bytecode: the project's own modules compiled (python -m compileall, what pip does for a package it
## installs; it rewrites only what changed). An editable install gets no bytecode written when
## PYTHONDONTWRITEBYTECODE is set, as on the CI machines, and then every process (each crawler, each
## command, each test's subprocess) compiled about 150 modules as it started: 0.06-0.09 s of every check.
bytecode: $(STAMP)
	$(PY) -m compileall -q crawler linkpatrol web bench tests > /dev/null

## run: Redis (embedded unless REDIS_URL is set), a crawler, the web app and the mail worker
run: $(STAMP) bytecode
	$(PY) -m linkpatrol.cli.launcher

## system-deps: Debian's chromium (browser tests), iproute2 (network-namespace tests) and python3.11-doc
## (a real site of big index pages, tests/crawler/test_python_docs.py), as root
system-deps:
	@if command -v chromium >/dev/null && command -v ip >/dev/null && [ -f /usr/share/doc/python3.11/html/genindex-all.html ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium iproute2 python3.11-doc >/dev/null; \
	else echo "note: without chromium, iproute2 and python3.11-doc (apt-get install chromium iproute2 python3.11-doc) the browser, netns and Python docs tests are skipped"; fi

## test: the whole suite (starts its own Redis, fixture sites, crawlers, SMTP server, browser), on
## TEST_WORKERS pytest-xdist workers (2: each test starts its own Redis and servers on free ports; most
## of a test's time is waiting on its processes, so two workers halve the suite's time on two cores)
test: $(STAMP) bytecode system-deps
	$(PY) -m pytest -n $${TEST_WORKERS:-2}

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy linkpatrol crawler web

## bench: 2000-page site, 1 and 2 crawler processes and linkpatrol check timed whole, in turns, against an in-memory
## Scrapy reference and linkinator (installed by npm into bench/.node/ when node is there)
bench: $(STAMP) bytecode
	$(PY) -m bench.crawl --pages $${PAGES:-2000}

## profile: where a crawler's time goes on the 2000-page site: py-spy (non-blocking) on one crawler, and any
## callable timed inside the crawlers with ARGS="--time module:Qualified.name" (python -m bench.profile --help)
profile: $(STAMP) bytecode
	$(PY) -m bench.profile --sample $${ARGS:-}

bench-large: $(STAMP) bytecode
	$(PY) -m bench.crawl --pages 20000

## bench-recheck: the 2000-page site (ETags) crawled, re-checked unchanged, then with 5% of its pages changed
bench-recheck: $(STAMP) bytecode
	$(PY) -m bench.recheck --pages $${PAGES:-2000}

## bench-verdicts: GET vs HEAD-first on links to another host; 1,000 links to a host that does not resolve
bench-verdicts: $(STAMP) bytecode
	$(PY) -m bench.verdicts

## bench-check: linkpatrol check on the 2000-page site, alone and through a running service: start-up cost
bench-check: $(STAMP) bytecode
	$(PY) -m bench.check

## bench-huge: one page of 560,000 links (16 MB), then 200,000: longest Redis command, crawler peak RSS
bench-huge: $(STAMP) bytecode
	$(PY) -m bench.huge_page --links 560000 --links 200000

## bench-wanted: 50,000 #fragments asked of one page before it is read: the longest Redis call settling them
bench-wanted: $(STAMP) bytecode
	$(PY) -m bench.wanted_anchors

## bench-bombs: gzip, deflate, br, zstd and nested bombs of 1 GB of zeros: crawler peak RSS and verdicts
bench-bombs: $(STAMP) bytecode
	$(PY) -m bench.bombs

## bench-render: a 200-page app crawled by one crawler that renders, render=always against auto, in turns:
## rendered pages/s, wall time, CPU, memory of the crawler and its browser (needs chromium: make system-deps)
bench-render: $(STAMP) bytecode system-deps
	$(PY) -m bench.render --pages $${PAGES:-200} --repeat $${REPEAT:-3}

clean:
	rm -rf $(VENV) state
