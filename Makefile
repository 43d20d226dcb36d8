# Conveniences over the README's two commands; they never replace them.
.DEFAULT_GOAL := help

.PHONY: help run test race lint bench fuzz ci

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

run: ## go run ./cmd/nurture serve (embedded PostgreSQL under ./.nurture)
	go run ./cmd/nurture serve

test: ## go test ./...
	go test ./...

race: ## all tests under the race detector
	go test -race ./...

lint: ## gofmt check and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...

bench: ## benchmarks with their same-run baselines (import vs raw COPY, API upserts)
	go test -run '^$$' -bench . -benchtime 1x ./engine/lead/ ./web/

fuzz: ## fuzz the CSV reader for a minute
	go test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./engine/leadcsv/

ci: ## what CI runs
	.ci/run
