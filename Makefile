# The two set-up commands of README.md: `make test` and `sudo make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test lint demo demo-down sandbox-packages schemas

$(BIN)/gpuctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/gpuctl

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy gpuctl
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy gpuctl

schemas: install
	$(BIN)/gpuctl schema --write schemas
	$(BIN)/gpuctl schema --write gpuctl/schemas

# The Debian packages of the sandbox, installed (as root) only when one of its programs is missing.
SANDBOX_PACKAGES := docker.io openssh-server openssh-client docker-registry busybox-static iproute2 python3-venv
sandbox-packages:
	@for program in dockerd docker-registry busybox ip ssh-keygen /usr/sbin/sshd; do \
	    command -v $$program >/dev/null 2>&1 || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        $(SANDBOX_PACKAGES) >/dev/null; fi

# `sudo make demo`: a 3-host sandbox (H100, Ascend 910B, CPU); the example specs validated, planned and
# applied to it, what runs, a request to a deployed endpoint, then destroyed (scripts/demo.sh).
demo: sandbox-packages install
	GPUCTL=$(BIN)/gpuctl scripts/demo.sh

demo-down: install
	$(BIN)/gpuctl sandbox down
