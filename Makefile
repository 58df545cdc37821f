# Every target installs what it needs: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
CATALOG ?= .test-models/catalog.json

.PHONY: help venv demo test lint typecheck pytest bench crosscheck system-deps schema clean

help:
	@echo "make demo   register the four test models in $(CATALOG) and show the catalog"
	@echo "make test   install everything the tests need, then lint, type-check and run all tests"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make crosscheck  rbee.fit against llama.cpp's own buffers (installs llama-cpp-python; slow)"
	@echo "make lint   ruff format --check and ruff check"
	@echo "make schema regenerate .specs/catalog.schema.json"

# Two steps: `make demo` needs only rbee and its runtime dependencies (`pip install -e .`);
# the test toolchain (the `dev` extra: pytest, mypy, ruff, gguf, ...) comes with `make test`.
$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests need, installed only when missing (CI and fresh machines run as root):
# openssh-server/-client for the remote tests' own sshd hosts, zsh for the completion tests,
# cargo (any: PATH, rustup's ~/.cargo/bin or Debian's) and Debian's serde crates for
# tests/rust_compat, which compiles the original plan's Rust catalog types offline against them.
CRATES := /usr/share/cargo/registry
system-deps:
	@missing=""; \
	[ -x /usr/sbin/sshd ] || missing="$$missing openssh-server"; \
	command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || missing="$$missing openssh-client"; \
	command -v zsh >/dev/null || missing="$$missing zsh"; \
	command -v cargo >/dev/null || [ -x "$$HOME/.cargo/bin/cargo" ] || [ -x /usr/bin/cargo ] || missing="$$missing cargo"; \
	compgen -G "$(CRATES)/serde-1.*/Cargo.toml" >/dev/null || missing="$$missing librust-serde-dev"; \
	compgen -G "$(CRATES)/serde_derive-1.*/Cargo.toml" >/dev/null || missing="$$missing librust-serde-derive-dev"; \
	compgen -G "$(CRATES)/serde_json-1.*/Cargo.toml" >/dev/null || missing="$$missing librust-serde-json-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (needed by the tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# `make demo` registers the four test models in the default catalog, as the original plan did.
# Idempotent: a second run skips all four and leaves the file untouched.
demo: $(RUNTIME_STAMP)
	$(BIN)/rbee-hive --catalog $(CATALOG) models register --from examples/test-models.toml
	$(BIN)/rbee-hive --catalog $(CATALOG) models catalog

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP) system-deps
	$(BIN)/python -m bench

# rbee.fit's memory estimate against llama.cpp's own log (docs/fleet.md). Not in CI: the first
# run installs llama-cpp-python into the venv, which compiles llama.cpp for many minutes.
crosscheck: $(STAMP)
	$(BIN)/python -c 'import llama_cpp' 2>/dev/null || $(BIN)/python -m pip install llama-cpp-python==0.3.36
	$(BIN)/python -m bench.crosscheck_fit

schema: $(STAMP)
	$(BIN)/python -m rbee.catalog.schema > .specs/catalog.schema.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
