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

bench: ## benchmarks with their same-run baselines (see README, Development)
	go test -run '^$$' -bench Import -benchtime 1x ./cmd/nurture/
	go test -run '^$$' -bench APIUpserts -benchtime 5000x ./web/
	go test -run '^$$' -bench Send -benchtime 1x ./engine/mail/
	go test -run '^$$' -bench Pixel -benchtime 60000x ./web/
	go test -run '^$$' -bench Flow -benchtime 1x ./engine/flow/
	go test -run '^$$' -bench EventToStage -benchtime 1x ./engine/flow/
	go test -run '^$$' -bench ScoreBulk -benchtime 1x -timeout 2h ./engine/score/

fuzz: ## fuzz the CSV reader, email check, tokens, the scenario parser, YAML depth, the expr budget, the render cache and template limits, a minute each
	go test -run '^$$' -fuzz FuzzReader -fuzztime 60s ./engine/leadcsv/
	go test -run '^$$' -fuzz FuzzCheckEmail -fuzztime 60s ./engine/lead/
	go test -run '^$$' -fuzz FuzzVerify -fuzztime 60s ./engine/track/
	go test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime 60s ./engine/scenario/
	go test -run '^$$' -fuzz FuzzParseDepth -fuzztime 60s ./engine/scenario/
	go test -run '^$$' -fuzz FuzzExprBudget -fuzztime 60s ./engine/scenario/
	go test -run '^$$' -fuzz FuzzCheck -fuzztime 60s ./engine/yamldepth/
	go test -run '^$$' -fuzz FuzzRenderCache -fuzztime 60s ./engine/message/
	go test -run '^$$' -fuzz FuzzTemplateBounds -fuzztime 60s ./engine/message/

ci: ## what CI runs
	.ci/run
