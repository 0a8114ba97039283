#!/usr/bin/env bash
# `make test`: sets up everything the tests need on a fresh Debian machine,
# then runs every test of the module against real services:
#   PostgreSQL (started or installed by postgres.sh), a MinIO server of its
#   own (built and started by minio.sh, stopped at exit), Debian's Chromium,
#   axe-core from npm (chromium.sh, axe.sh), and poppler-utils for the PDF
#   label checks (poppler.sh).
# BERRIZ_TEST_REQUIRE_SERVICES=1 turns every "service missing" skip into a
# failure, so nothing is silently left out.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "test.sh: $*"; }

say "go $(go env GOVERSION) on $(go env GOOS)/$(go env GOARCH), $(nproc) cores"
deploy/local/postgres.sh
deploy/local/chromium.sh
deploy/local/axe.sh
deploy/local/poppler.sh

state=$(mktemp -t berriz-minio-state.XXXXXX)
cleanup() { deploy/local/minio.sh stop "$state" || true; }
trap cleanup EXIT
deploy/local/minio.sh start "$state"
# shellcheck disable=SC1090
. "$state"

export BERRIZ_TEST_DATABASE_URL=${BERRIZ_TEST_DATABASE_URL:-postgres://berriz:berriz@127.0.0.1:5432/berriz?sslmode=disable}
export BERRIZ_TEST_REQUIRE_SERVICES=1

say "go vet ./..."
go vet ./...
unformatted=$(gofmt -l cmd internal migrations storage web)
if [ -n "$unformatted" ]; then
	echo "test.sh: gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

say "go test ./... (PostgreSQL $BERRIZ_TEST_DATABASE_URL, MinIO $BERRIZ_TEST_S3_ENDPOINT)"
go test -count=1 -timeout 30m ./...

# A short run of every fuzz target on top of its seed corpus (which the run
# above already replayed). FUZZTIME=0 skips this. Go's fuzz coordinator can
# end with "context deadline exceeded" when the machine is busy, although it
# found nothing; that run is retried once. A real finding ("Failing input")
# always fails.
fuzztime=${FUZZTIME:-10s}
fuzz() { # package, target
	local log
	log=$(mktemp)
	if go test -run='^$' -fuzz="^$2\$" -fuzztime="$fuzztime" -parallel=2 "./$1" >"$log" 2>&1; then
		tail -n 2 "$log"
		rm -f "$log"
		return 0
	fi
	cat "$log"
	if grep -q "context deadline exceeded" "$log" && ! grep -q "Failing input" "$log"; then
		rm -f "$log"
		return 2
	fi
	rm -f "$log"
	return 1
}
if [ "$fuzztime" != 0 ]; then
	for target in $(grep -rl --include='*_test.go' '^func Fuzz' cmd internal storage | xargs -n1 dirname | sort -u); do
		for fn in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$target"/*_test.go | sed 's/^func //'); do
			say "fuzzing $fn in ./$target for $fuzztime"
			rc=0
			fuzz "$target" "$fn" || rc=$?
			if [ "$rc" = 2 ]; then
				say "$fn: the fuzz coordinator timed out without a finding; running it again"
				fuzz "$target" "$fn" || exit 1
			elif [ "$rc" != 0 ]; then
				exit 1
			fi
		done
	done
fi
say "all tests passed"
