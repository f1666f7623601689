# LinkFlow: the Makefile is the only entry point. `make help` lists the targets.
SHELL := /bin/bash
export CHECKPOINT_DISABLE := 1
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/linkflow
export REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: help setup install generate services tools up down migrate api executor key rotate-secrets lint typecheck test test-unit test-int build ci bench coverage

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

install: ## npm install (not npm ci: bullmq's optional platform packages are not all on the registry, so npm ci calls the lockfile out of sync)
	npm install --no-audit --no-fund

generate: ## generate the Prisma client (offline)
	npx prisma generate

setup: install generate ## install dependencies and generate code

services: ## make sure Postgres and Redis are running
	./scripts/ensure-services.sh

tools: ## install promtool (Debian package prometheus) for the metrics tests, if missing
	./scripts/ensure-promtool.sh

migrate: services ## apply migrations to $$DATABASE_URL (creates the database)
	npx prisma migrate deploy

up: setup services migrate ## install, start Postgres/Redis if needed, migrate, start API + executor, print an admin key
	./scripts/up.sh

down: ## stop the API and executor started by `make up`
	./scripts/down.sh

api: ## run the API in the foreground
	node --import tsx --import ./apps/api/src/instrumentation.ts apps/api/src/main.ts

executor: ## run one executor in the foreground
	node --max-old-space-size=$${EXECUTOR_HEAP_MB:-384} --import tsx --import ./apps/executor/src/instrumentation.ts apps/executor/src/main.ts

key: ## create an API key: make key TENANT=acme SCOPES=executions:write,executions:read
	@TENANT="$(TENANT)" SCOPES="$(SCOPES)" npx tsx scripts/create-key.ts

rotate-secrets: ## re-encrypt every credential under LINKFLOW_SECRETS_KEY (reads old values with LINKFLOW_SECRETS_KEY_PREVIOUS; resumable; BATCH=100)
	npx tsx scripts/rotate-secrets.ts

lint: ## eslint
	npx eslint .

typecheck: ## tsc --noEmit over the workspace
	npx tsc -p tsconfig.json --noEmit

test-unit: ## unit tests (no network)
	npx vitest run --project unit

test-int: services ## integration tests against real Postgres and Redis
	npx vitest run --project integration

test: services ## the whole suite: unit + integration against the real services
	npx vitest run

coverage: services ## coverage of the whole suite with the gates: libs/domain >= 95% lines, libs/nodes >= 85%
	npx vitest run --coverage

build: typecheck ## type-check (the apps run from source with tsx)

ci: lint typecheck test ## what CI runs

bench: services migrate ## run the benchmarks (see bench/RESULTS.md)
	npx tsx bench/run.ts
