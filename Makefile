# botfleet: `make run` starts the demo, `make test` runs every test. `make help` lists targets.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export UV_LINK_MODE ?= copy

.PHONY: help install run run-control-plane run-data-plane test lint fmt format typecheck bench up down clean

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-20s %s\n", $$1, $$2}'

$(UV):
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv

install: $(UV) ## install dependencies (uv is installed with pip if missing)
	@$(UV) sync --frozen --quiet

run: install ## start the control plane and the demo tenant (web chat), print the URLs
	@$(UV) run botfleet demo

run-control-plane: install ## control plane only, on :8001 (or CP_PORT)
	@$(UV) run botfleet serve control-plane --port $(or $(CP_PORT),8001)

run-data-plane: install ## one data plane (TENANT_CONFIG_PATH=... or CP pull), on :8002 (or DP_PORT)
	@$(UV) run botfleet serve data-plane --port $(or $(DP_PORT),8002)

test: install ## run every test (PostgreSQL tests run when one is reachable)
	@$(UV) run pytest -q -p no:cacheprovider -n auto --maxprocesses=4 --dist worksteal

lint: install ## ruff (lint + format check) and mypy
	@$(UV) run ruff check src tests bench
	@$(UV) run ruff format --check src tests bench
	@$(UV) run mypy

typecheck: install ## mypy only
	@$(UV) run mypy

fmt: install ## format and autofix
	@$(UV) run ruff format src tests bench
	@$(UV) run ruff check --fix src tests bench

format: fmt ## the same as fmt (the spec's name)

bench: install ## benchmarks (figures go to docs/benchmarks.md)
	@$(UV) run python bench/run_all.py

up: ## full stack with Docker Compose (control plane + demo data plane + PostgreSQL)
	docker compose up -d --build

down: ## stop the Compose stack (keeps the database volume)
	docker compose down

clean: ## remove local state (and the Compose stack with its volumes, when Docker is there)
	-command -v docker >/dev/null 2>&1 && docker compose down -v
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
