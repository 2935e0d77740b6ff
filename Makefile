# GreenLang developer tasks. `make help` lists them.
GO          ?= go
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
PG_URL      ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.PHONY: help run test test-integration lint tools bench fuzz build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build the greenlang binary into ./greenlang
	$(GO) build -o greenlang ./cmd/greenlang

run: ## run the platform on its embedded defaults (./greenlang-data, 127.0.0.1:8080)
	$(GO) run ./cmd/greenlang serve

test: ## run every test with the race detector (server tests run when GREENLANG_TEST_*_URL are set)
	$(GO) test -race -count=1 ./...

test-integration: ## run the tests against this machine's PostgreSQL
	GREENLANG_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test -race -count=1 ./...

tools: ## install the lint tools
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench: ## engine throughput on one core; bulk inserts beside their raw-engine baselines (PostgreSQL via PG_URL)
	$(GO) test -run '^$$' -bench Engine -cpu 1 -count 5 ./ghg/
	GREENLANG_TEST_POSTGRES_URL='$(PG_URL)' $(GO) test -run '^$$' -bench . -benchtime 20x -count 5 ./internal/store/...

fuzz: ## fuzz each parser of outside input for 30 s
	$(GO) test -run '^$$' -fuzz FuzzEconFiles -fuzztime 30s ./internal/calculation/
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./internal/activityfile/
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./internal/password/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/factors/epahub/
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./internal/factors/useeio/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/factors/desnz/
	$(GO) test -run '^$$' -fuzz FuzzRead -fuzztime 30s ./internal/factors/table/
	$(GO) test -run '^$$' -fuzz FuzzParseUnit -fuzztime 30s ./ghg/
	$(GO) test -run '^$$' -fuzz FuzzReadIPCC -fuzztime 30s ./ghg/gwpimport/
	$(GO) test -run '^$$' -fuzz FuzzParseKey -fuzztime 30s ./internal/secretbox/
	$(GO) test -run '^$$' -fuzz FuzzPathFromURL -fuzztime 30s ./internal/store/sqlitestore/
	$(GO) test -run '^$$' -fuzz FuzzLoadYAML -fuzztime 30s ./internal/config/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/stream/
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/stream/schemareg/
	$(GO) test -run '^$$' -fuzz FuzzHandle -fuzztime 30s ./internal/processor/anomaly/
	$(GO) test -run '^$$' -fuzz FuzzHandle -fuzztime 30s ./internal/processor/supplychain/
	$(GO) test -run '^$$' -fuzz '^FuzzParseMapping$$' -fuzztime 30s ./internal/erp/
	$(GO) test -run '^$$' -fuzz '^FuzzParseJournal$$' -fuzztime 30s ./internal/erp/
	$(GO) test -run '^$$' -fuzz '^FuzzReadFile$$' -fuzztime 30s ./internal/erp/spreadsheet/
	$(GO) test -run '^$$' -fuzz '^FuzzUpload$$' -fuzztime 30s ./internal/erp/spreadsheet/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePage$$' -fuzztime 30s ./internal/erp/sap/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePage$$' -fuzztime 30s ./internal/erp/oracle/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePurchaseOrder$$' -fuzztime 30s ./internal/erp/workday/
	$(GO) test -run '^$$' -fuzz '^FuzzParseGetWorkers$$' -fuzztime 30s ./internal/erp/workday/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePage$$' -fuzztime 30s ./internal/erp/dynamics/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePage$$' -fuzztime 30s ./internal/erp/netsuite/
	$(GO) test -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime 30s ./internal/erp/oauth1/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 30s ./internal/erp/oauth1/
	$(GO) test -run '^$$' -fuzz '^FuzzRecordsCSV$$' -fuzztime 30s ./internal/httpapi/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePending$$' -fuzztime 30s ./internal/oidclogin/
	$(GO) test -run '^$$' -fuzz '^FuzzParseSuite$$' -fuzztime 30s ./internal/quality/
	$(GO) test -run '^$$' -fuzz '^FuzzReadBackup$$' -fuzztime 30s ./internal/backup/
