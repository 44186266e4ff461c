# The shop's commands. `make run` and `make test` are all a newcomer needs.

GO          ?= go
SQLC_VERSION = v1.31.1
BIN          = $(CURDIR)/.bin
SQLC         = $(BIN)/sqlc-$(SQLC_VERSION)
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/shop?sslmode=disable

.PHONY: run stop-db test bench bench-quick faults security stale-check differential build generate check-generated vet fmt-check lint seed migrate clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# WITH_DB runs a command on a PostgreSQL that answers: DATABASE_URL when
# set, else the local one, else a private one (scripts/dev-postgres starts
# it, and prints its URL, which may name another port than 5432).
WITH_DB = url=$$(./scripts/dev-postgres) && DATABASE_URL=$$url

run: ## set up the database (a private PostgreSQL when none is usable; create, migrate, seed when empty) and serve on :8080
	@$(WITH_DB) $(GO) run ./cmd/shop serve --setup

stop-db: ## stop the private PostgreSQL that `make run` started (and nothing else)
	@./scripts/dev-postgres stop

test: check-generated vet fmt-check ## the whole suite, with the race detector
	$(GO) test -race -count=1 -timeout 30m ./...

stale-check: ## the stale-read checker for a minute (STALECHECK_DURATION=5m for longer), Redis and tiered; the differential check, 10,000 writes per store (STALECHECK_WRITES): memory, Redis, tiered, memcached, a Redis Cluster, memcached with servers frozen and thawed, tiered instances frozen, cut off and killed (hours; three stores at a time, so that their shops stay within PostgreSQL's 100 connections)
	STALECHECK_DURATION=$(or $(STALECHECK_DURATION),60s) $(GO) test -race -count=1 -timeout 60m -run 'TestStaleReadChecker' -v ./internal/web
	STALECHECK_WRITES=$(or $(STALECHECK_WRITES),10000) $(GO) test -race -count=1 -parallel 3 -timeout 600m -run 'TestDifferential' -v ./internal/web ./cmd/shop

differential: ## cached pages against a cache-off shop after 300 writes per store, as in make test (STALECHECK_WRITES for more): memory, Redis, tiered, memcached
	STALECHECK_WRITES=$(or $(STALECHECK_WRITES),300) $(GO) test -race -count=1 -parallel 4 -timeout 30m -run 'TestDifferential' ./internal/web

bench: build ## measure what each cache layer buys (SCALE=1); updates bench/results/ and the README
	./bin/shopbench --scale $(or $(SCALE),1) --readme README.md

bench-quick: build ## a two-minute benchmark: off and memory, shorter steps
	./bin/shopbench --quick --scale $(or $(SCALE),1)

faults: ## the fault tests, long versions (Redis down 30 s, …), each saying what it tried and found
	FAULTS_LONG=1 $(GO) test -race -count=1 -timeout 30m -run 'TestFault' -v ./internal/web ./cmd/shop

SECURITY_TESTS = 'TestSearchBadQueries|TestSearchFlood|TestWebCacheDeception|TestCachePoisoning|TestNoCrossUserLeak|TestSecurityHeaders|TestEveryFormRefusesCrossSitePosts|TestLoginThrottling|TestInjectionPayloads|TestBadQueries|TestBadInputGets4xxAndWritesNothing|TestAccessControl|TestSessions|TestBrowserJourney|TestSessionsFailClosed|TestIdleSessionsExpire'
FUZZTIME ?= 30s
security: ## the attack tests, long versions, and each fuzz target for FUZZTIME (30s)
	FAULTS_LONG=1 $(GO) test -race -count=1 -timeout 30m -run $(SECURITY_TESTS) -v ./internal/web ./internal/accounts
	$(GO) test -run '^$$' -fuzz '^FuzzPage$$' -fuzztime $(FUZZTIME) ./internal/params
	$(GO) test -run '^$$' -fuzz '^FuzzID$$' -fuzztime $(FUZZTIME) ./internal/params
	$(GO) test -run '^$$' -fuzz '^FuzzPageKey$$' -fuzztime $(FUZZTIME) ./internal/cache
	$(GO) test -run '^$$' -fuzz '^FuzzKey$$' -fuzztime $(FUZZTIME) ./internal/cache
	$(GO) test -run '^$$' -fuzz '^FuzzParseSearch$$' -fuzztime $(FUZZTIME) ./internal/catalog

build: ## build the shop and its benchmark (shopbench) into ./bin
	$(GO) build -o bin/shop ./cmd/shop
	$(GO) build -o bin/shopbench ./cmd/shopbench

seed: ## reseed the database (SCALE=1 by default; destroys its data)
	@$(WITH_DB) $(GO) run ./cmd/shop seed --reset --scale $(or $(SCALE),1)

migrate: ## apply pending migrations
	@$(WITH_DB) $(GO) run ./cmd/shop migrate up

generate: $(SQLC) ## regenerate internal/db from db/queries and db/migrations
	$(SQLC) generate

check-generated: $(SQLC) ## fail when internal/db is not what sqlc generates
	@$(SQLC) diff || (echo "internal/db is out of date: run 'make generate' and commit the result" >&2; exit 1)

vet: ## go vet
	$(GO) vet ./...

fmt-check: ## fail when a file is not gofmt-ed
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:" $$out >&2; exit 1; fi

lint: vet fmt-check check-generated ## every static check

# sqlc is installed into .bin/ at the pinned version; the first build takes
# a few minutes (it compiles PostgreSQL's parser), later ones are cached.
$(SQLC):
	@mkdir -p $(BIN)
	@echo "installing sqlc $(SQLC_VERSION) into .bin/ (the first build takes a few minutes)"
	GOBIN=$(BIN) $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	mv $(BIN)/sqlc $(SQLC)

clean: ## remove builds and installed tools (not the private database)
	rm -rf bin .bin
