# `make run`: set up and start the whole API on http://127.0.0.1:8080 (SQLite under var/).
# `make test`: set up and run the whole test suite (TEST_DB=mysql for MariaDB).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint bench clean

$(BIN)/mailapi: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The local demo's settings: API on, cookies over plain http, a fresh internal secret.
.env: .env.example
	sed -e "s/^INTERNAL_SECRET=.*/INTERNAL_SECRET=$$($(PYTHON) -c 'import secrets; print(secrets.token_hex(32))')/" \
	    -e 's/^ENABLE_RESTFUL_API=.*/ENABLE_RESTFUL_API=true/' \
	    -e 's/^SESSION_COOKIE_SECURE=.*/SESSION_COOKIE_SECURE=false/' .env.example > .env

run: $(BIN)/mailapi .env
	$(BIN)/honcho run mailapi init-db
	$(BIN)/honcho run mailapi create-admin admin@example.com --random-password --reset
	@echo "API: http://127.0.0.1:8080/api (log in with the admin above); Ctrl-C stops it."
	exec $(BIN)/honcho start

test: $(BIN)/mailapi
	$(BIN)/pytest -q

lint: $(BIN)/mailapi
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(BIN)/mailapi
	$(BIN)/python bench/gateway_bench.py

clean:
	rm -rf var .pytest_cache
