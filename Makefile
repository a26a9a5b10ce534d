# Ancrage: `make run` starts the service with demo data, `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
FUZZ_EXAMPLES ?= 200
FUZZ_LIVE_EXAMPLES ?= 20

.PHONY: run test lint fmt check fuzz bench loadtest demo-map report-picture clean help translations messages

help:
	@echo "make run    start the API on http://$(HOST):$(PORT)/ with its worker and demo data (SQLite by default)"
	@echo "make test   lint, Django checks, migrations check, OpenAPI validation, pytest (DATABASE_URL for PostgreSQL)"
	@echo "make fuzz   the schemathesis contract runs, in process and live, much longer (CONTRACT_MAX_EXAMPLES=$(FUZZ_EXAMPLES), LIVE_CONTRACT_MAX_EXAMPLES=$(FUZZ_LIVE_EXAMPLES))"
	@echo "make fmt    format the code"
	@echo "make messages  extract every app's strings into its locale/fr/LC_MESSAGES/django.po (needs GNU gettext)"
	@echo "make bench  run the benchmarks and write docs/benchmarks.md"
	@echo "make loadtest  load-test the portal queries on a local gunicorn (locust, 60 s per scenario)"
	@echo "make demo-map  regenerate the README's map (docs/img/demo-map-epci.png) from the demo data"
	@echo "make report-picture  regenerate docs/img/report.png, the README's picture of the HTML report (needs chromium)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.runtime $@

# The apps' .po catalogues compiled into the .mo files Django reads, in pure Python (no GNU gettext needed); only
# the catalogues changed since their last compilation are rewritten.
translations: $(VENV)/.runtime
	$(PY) -m api.translations

# A developer's command, after adding or changing a translatable string: refreshes each app's French catalogue from
# the code (GNU gettext's xgettext and msgmerge: Debian's `gettext` package). Then translate the new or fuzzy
# entries; the completeness test (tests/api/test_i18n_catalogues.py) fails until every one is done.
I18N_APPS := api offers audiences matching
messages: $(VENV)/.runtime
	@command -v xgettext >/dev/null || { echo "make messages needs GNU gettext (apt-get install gettext)" >&2; exit 1; }
	@for app in $(I18N_APPS); do \
		mkdir -p $$app/locale; \
		(cd $$app && DJANGO_SETTINGS_MODULE=api.settings_test ../$(PY) ../manage.py makemessages --locale fr \
			--add-location file --no-obsolete) || exit 1; \
	done

run: export DJANGO_DEBUG ?= true
run: $(VENV)/.runtime translations
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo ""
	@echo "Ancrage is starting on http://$(HOST):$(PORT)/ (Ctrl+C stops the API and its worker)"
	@echo "  Swagger UI  http://$(HOST):$(PORT)/api/docs/"
	@echo "  Redoc       http://$(HOST):$(PORT)/api/redoc/"
	@echo "  API root    http://$(HOST):$(PORT)/api/v1/"
	@echo "  Admin       http://$(HOST):$(PORT)/admin/   (login admin / ancrage-demo)"
	@echo ""
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py db_worker --queue-name '*' --interval 0.5 --no-reload --no-startup-delay & \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: export DJANGO_SETTINGS_MODULE = api.settings_test
check: $(VENV)/.dev
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

test: lint check translations
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) -m pytest

fuzz: $(VENV)/.dev translations
	HYPOTHESIS_PROFILE=fuzz CONTRACT_MAX_EXAMPLES=$(FUZZ_EXAMPLES) LIVE_CONTRACT_MAX_EXAMPLES=$(FUZZ_LIVE_EXAMPLES) CONTRACT_SEED= \
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) -m pytest tests/api/test_contract.py tests/api/test_contract_live.py

# Locust has its own virtualenv: its dependencies (gevent, Flask...) stay out of the service's and the tests'.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements-bench.txt
	@touch $@

loadtest: $(VENV)/.runtime $(BENCH_VENV)/.installed
	$(PY) bench/load_portal.py --locust $(BENCH_VENV)/bin/locust

# The quick benchmarks; bench_matching, bench/bench_matching_workers.py and loadtest take longer (docs/benchmarks.md).
BENCH_OFFERS ?= 100000
bench: $(VENV)/.dev
	$(PY) bench/eval_matching.py > bench/results/eval_matching.md
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) bench/bench_survey_upload.py
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) bench/bench_territories_load.py
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) bench/bench_report_html.py
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) bench/offers_portal.py --offers $(BENCH_OFFERS)

demo-map: $(VENV)/.runtime
	$(PY) bench/demo_map.py --level epci

# The README's picture: the demo's report document, first page, taken with headless Chromium.
report-picture: $(VENV)/.dev
	DJANGO_SETTINGS_MODULE=api.settings_test $(PY) bench/report_picture.py --output docs/img/report.png

clean:
	rm -rf $(VENV) $(BENCH_VENV) var .pytest_cache .ruff_cache
