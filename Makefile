# The two commands of the README: `make run` and `make test`.
.PHONY: run test build fuzz bench clean

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

## run: start berriz on http://127.0.0.1:8080 with local PostgreSQL and files on disk,
## loading the demo territory (accounts printed) when the database is empty
run:
	deploy/local/postgres.sh
	go build -ldflags "$(LDFLAGS)" -o .cache/berriz ./cmd/berriz
	.cache/berriz migrate up
	.cache/berriz demo --if-empty
	.cache/berriz serve

## test: set up PostgreSQL, MinIO, Chromium and axe-core, then run every test
test:
	deploy/local/test.sh

## build: build the berriz binary
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o berriz ./cmd/berriz

## fuzz: longer fuzzing of every fuzz target (FUZZTIME=5m make fuzz)
fuzz:
	FUZZTIME=$${FUZZTIME:-2m} deploy/local/test.sh

## bench: the benchmarks of docs/benchmarks.md against local PostgreSQL (about 20 minutes with the
## observatory's million devices;
## BERRIZ_BENCH_DURATION, _ROUNDS, _CLIENTS, _RATE, _TARGETS tune the load test)
bench:
	deploy/local/postgres.sh
	BERRIZ_TEST_DATABASE_URL=$${BERRIZ_TEST_DATABASE_URL:-postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable} \
		go test -run '^$$' -bench '^BenchmarkTagLookup$$' -benchtime=1x -timeout 30m -v ./internal/server
	BERRIZ_TEST_DATABASE_URL=$${BERRIZ_TEST_DATABASE_URL:-postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable} \
		go test -run '^$$' -bench . -skip '^(BenchmarkTagLookup|BenchmarkDevicePage|BenchmarkObservatoryTotals)$$' -benchtime=5x -timeout 30m -v ./internal/...
	BERRIZ_TEST_DATABASE_URL=$${BERRIZ_TEST_DATABASE_URL:-postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable} \
		go test -run '^$$' -bench '^BenchmarkDevicePage$$' -benchtime=2000x -timeout 30m -v ./internal/server
	BERRIZ_TEST_DATABASE_URL=$${BERRIZ_TEST_DATABASE_URL:-postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable} \
		go test -run '^$$' -bench '^BenchmarkObservatoryTotals$$' -benchtime=1x -timeout 60m -v ./internal/server

clean:
	rm -f berriz
