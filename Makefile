# Two commands: `make run` and `make test`. Everything else is a helper for those two.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
FER2013_PATH ?= ../shared/data/fer2013/fer2013.npz
export FER2013_PATH

.PHONY: run prod test install install-dev migrate lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	$(PY) manage.py migrate --noinput

## make run: install, migrate, collect static files, build galleries when FER-2013 is found,
## then serve HTTP + WebSocket on $(HOST):$(PORT) (uvicorn, as make prod) and run one Celery worker
## with beat (housekeeping); Ctrl-C stops both.
run: migrate
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@if [ -f "$(FER2013_PATH)" ]; then \
		if [ ! -d media/galleries ]; then $(PY) manage.py build_galleries --data "$(FER2013_PATH)"; fi; \
	else echo "FER-2013 not found at $(FER2013_PATH): the gallery pages will say how to build them."; fi
	@$(VENV)/bin/celery -A fer_site worker -B --pool=solo --concurrency=1 --loglevel=info & worker=$$!; \
	$(PY) -m fer_site.asgi_server --host $(HOST) --port $(PORT) & web=$$!; \
	trap 'kill $$worker $$web 2>/dev/null; wait' INT TERM; \
	sleep 3; echo; echo "  Moodlens is running: http://$(HOST):$(PORT)/   (Ctrl-C stops the server and the worker)"; echo; \
	wait

## make prod: the production layout on this machine (nginx on $$PORT, default 8080, in front of
## $$WEB_WORKERS ASGI processes, a training worker and a housekeeping worker with beat), on
## DATABASE_URL (PostgreSQL) and REDIS_URL, which must be set; Ctrl-C stops it all. docs/deployment.md.
prod: install
	$(PY) deploy/run_prod.py

## make test: lint, then the whole suite.
test: install-dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev
	$(PY) manage.py bench_pipeline --json var/bench_pipeline.json

clean:
	rm -rf staticfiles var .pytest_cache .ruff_cache
