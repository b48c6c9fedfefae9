# The two commands of README.md: `make demo` (the main job) and `make test`.
SHELL := /bin/bash
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export TEST_AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/
ROUNDS ?= 1

.PHONY: setup demo run test test-fast bench before-tree faults lint docs check-compose

setup:
	@bash scripts/setup.sh

demo: setup  ## start the platform and show it doing a day's work
	$(UV) run --frozen python -m sihha_runner.demo $(DEMO_ARGS)

run: setup  ## start every service; Ctrl-C stops them
	$(UV) run --frozen sihha-run

test: setup  ## the whole suite: unit, service integration, cross-service, contracts, compose
	$(UV) run --frozen pytest -q $(PYTEST_ARGS)

# the code before issue 12 (commit 6f70d65 of main, branch before-12 where it exists),
# measured beside this tree's in the same run when a checkout of it is there
# (`make before-tree` makes one)
BEFORE_TREE ?= ../before-12
BEFORE_COMMIT ?= 6f70d65
BENCH_BEFORE ?= $(wildcard $(BEFORE_TREE)/.venv)

bench: setup  ## benchmarks with their same-run baselines and ratios (and the code before, if checked out)
	$(UV) run --frozen python -m bench all $(if $(BENCH_BEFORE),--before $(BEFORE_TREE)) $(BENCH_ARGS)

before-tree:  ## a worktree of main before issue 12 (6f70d65) at $(BEFORE_TREE) with its own environment
	test -d $(BEFORE_TREE) || git worktree add --detach $(BEFORE_TREE) $(BEFORE_COMMIT)
	cd $(BEFORE_TREE) && bash scripts/setup.sh

faults: setup  ## the fault matrix: each fault while the demo's traffic plays, one row each (ROUNDS=3, FAULTS_ARGS="--fast")
	$(UV) run --frozen python -m bench faults --rounds $(ROUNDS) $(FAULTS_ARGS)

lint:
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy libs/contracts/src libs/kit/src
	$(UV) run --frozen lint-imports --no-cache --no-logo

docs:  ## regenerate the event JSON Schemas and the AsyncAPI document
	$(UV) run --frozen python -m sihha_contracts.export

check-compose: setup  ## docker-compose.yml against the Compose Specification, the Dockerfiles through hadolint, the project's cross-checks
	$(UV) run --frozen check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(UV) run --frozen hadolint services/*/Dockerfile
	$(UV) run --frozen pytest -q tests/containers
