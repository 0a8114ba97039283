# The two commands of the README: `make run` and `make test`.
.PHONY: run test build fuzz clean

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

clean:
	rm -f berriz
