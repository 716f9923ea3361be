# The project's commands. `make run` starts the example microservice,
# `make test` runs the whole suite with its quality gates.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := common networks saga cqrs
EDITABLES := $(foreach p,$(PACKAGES),-e packages/minos-microservice-$(p))
STAMP := $(VENV)/.installed
SOURCES := $(wildcard packages examples benchmarks tests testing)

.PHONY: install run run-kafka test lint bench clean

$(STAMP): requirements-dev.txt $(foreach p,$(PACKAGES),packages/minos-microservice-$(p)/pyproject.toml)
	$(PYTHON) -c 'import sys; sys.exit("minos needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(EDITABLES) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The exam example on the embedded default (SQLite + in-process broker).
run: install
	cd examples/exam && ../../$(BIN)/minos run . --config embedded.yml

# The exam example with the seed's config.yml: PostgreSQL and Kafka.
run-kafka: install
	cd examples/exam && ../../$(BIN)/minos run .

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/vermin --quiet --no-tips --violations --target=3.11- --eval-annotations --backport typing_extensions $(wildcard packages examples)

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bench .pytest_cache .ruff_cache
