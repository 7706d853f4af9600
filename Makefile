# The two commands a user needs: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint install install-dev clean bench bench-circulation backup restore

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.dev-installed

## run: set up everything and start web, Celery worker and beat (Ctrl-C stops all three)
run: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=ctc_portal.settings.local $(BIN)/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=ctc_portal.settings.local $(BIN)/python manage.py load_demo_data
	@echo
	@echo "  CTC Contact Directory: http://127.0.0.1:$(PORT)/   (Ctrl-C stops web, worker and beat)"
	@echo
	DJANGO_SETTINGS_MODULE=ctc_portal.settings.local $(BIN)/honcho -f Procfile.dev start

## test: the whole suite on throwaway PostgreSQL and Redis servers, with headless Chromium
test: $(VENV)/.dev-installed
	bash scripts/test.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

## backup: database (pg_dump, or SQLite's online backup) and stored files into backups/ctc-<time>/
backup: $(VENV)/.installed
	bash scripts/backup.sh

## restore: make restore BACKUP=backups/ctc-<time> (replaces the current data; stop the portal first)
restore: $(VENV)/.installed
	bash scripts/restore.sh "$(BACKUP)"

clean:
	rm -rf var

## bench: pages and API at sizes S and L against a trivial view, exports and the edition files, then
## circulation of one edition to 10,000 subscribers (one worker instance, then two) and to 100,000
bench: $(VENV)/.dev-installed
	bash scripts/bench.sh benchmarks/pages.py --sizes S,L
	bash scripts/bench.sh benchmarks/exports.py --sizes S,L
	bash scripts/bench.sh benchmarks/circulation.py -n 10000 --workers 1
	bash scripts/bench.sh benchmarks/circulation.py -n 10000 --workers 2
	bash scripts/bench.sh benchmarks/circulation.py -n 100000 --workers 1

## bench-circulation: one edition to 10,000 subscribers through one worker vs. a plain smtplib loop
## (RECIPIENTS=100000 and WORKERS=2 change the size and the number of worker instances)
bench-circulation: $(VENV)/.dev-installed
	bash scripts/bench.sh benchmarks/circulation.py -n $${RECIPIENTS:-10000} --workers $${WORKERS:-1}
