# Every target installs what it needs: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOG ?= .test-models/catalog.json

.PHONY: help venv demo test lint typecheck pytest bench ssh-deps shell-deps schema clean

help:
	@echo "make demo   register the four test models in $(CATALOG) and show the catalog"
	@echo "make test   install everything the tests need, then lint, type-check and run all tests"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make lint   ruff format --check and ruff check"
	@echo "make schema regenerate .specs/catalog.schema.json"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The remote tests start their own sshd processes; Debian's package provides /usr/sbin/sshd.
ssh-deps:
	@if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then \
		echo "installing openssh-server and openssh-client (needed by the remote tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; \
	fi

# The completion tests run rbee-hive's completion scripts in real bash and zsh.
shell-deps:
	@if ! command -v zsh >/dev/null; then \
		echo "installing zsh (needed by the shell completion tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends zsh >/dev/null; \
	fi

# Registers the four test models in $(CATALOG) (relative to the repository) and shows the
# catalog; a second run reports all four as skipped and changes nothing.
demo: $(STAMP)
	$(BIN)/rbee-hive --catalog $(CATALOG) models register --from examples/test-models.toml
	$(BIN)/rbee-hive --catalog $(CATALOG) models catalog

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) ssh-deps shell-deps
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP) ssh-deps
	$(BIN)/python -m bench

schema: $(STAMP)
	$(BIN)/python -m rbee.catalog.schema > .specs/catalog.schema.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
