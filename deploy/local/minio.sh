#!/usr/bin/env bash
# Starts and stops a throwaway MinIO server for the test suite.
#
#   deploy/local/minio.sh start STATEFILE   start MinIO, write its address and credentials to STATEFILE
#   deploy/local/minio.sh stop  STATEFILE   stop it and remove its data and STATEFILE (idempotent)
#
# STATEFILE holds `export` lines (BERRIZ_TEST_S3_ENDPOINT, BERRIZ_TEST_S3_ACCESS_KEY,
# BERRIZ_TEST_S3_SECRET_KEY, MINIO_PID, MINIO_DATA_DIR) to be sourced before `go test`.
# Needs only Go and Debian's essential tools; curl and python3 are used when present, bash's
# /dev/tcp stands in for them otherwise.
set -euo pipefail

MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
START_TIMEOUT=60    # seconds for the server to answer its health check
BUILD_TIMEOUT=900   # seconds to wait for a build already running elsewhere

say() { echo "minio.sh: $*"; }
die() { echo "minio.sh: error: $*" >&2; exit 1; }

usage() { die "usage: $0 start|stop STATEFILE"; }

# ensure_binary prints the path of a minio binary, building it when missing.
# A build already running (e.g. started when the machine was provisioned) is
# waited for rather than duplicated: two builds would race on the same file.
ensure_binary() {
	local gobin bin waited=0
	gobin="$(go env GOBIN)"
	[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
	bin="$gobin/minio"
	while [[ ! -x "$bin" ]] && build_running; do
		if ((waited == 0)); then say "a minio build is already running, waiting for $bin" >&2; fi
		if ((waited >= BUILD_TIMEOUT)); then die "gave up waiting for the running minio build"; fi
		sleep 5
		waited=$((waited + 5))
	done
	if [[ ! -x "$bin" ]]; then
		say "building minio: go install $MINIO_MODULE (2-3 minutes the first time)" >&2
		go install "$MINIO_MODULE" >&2
	fi
	[[ -x "$bin" ]] || die "no minio binary at $bin after the build"
	echo "$bin"
}

# build_running reports whether a `go install` of minio runs. pgrep is in
# procps, which minimal Debian images lack, hence the /proc fallback.
build_running() {
	if command -v pgrep >/dev/null 2>&1; then
		pgrep -f "go install github.com/minio/minio" >/dev/null 2>&1
		return
	fi
	local f
	for f in /proc/[0-9]*/cmdline; do
		[[ "$(tr '\0' ' ' 2>/dev/null <"$f")" == "go install github.com/minio/minio"* ]] && return 0
	done
	return 1
}

# free_port prints a TCP port nothing listens on at 127.0.0.1. The kernel
# picks it (port 0), which is better than probing 9000 and up.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "found no free port"
}

# random_secret prints n alphanumeric characters from the kernel's CSPRNG.
random_secret() {
	local n="$1" s=""
	while ((${#s} < n)); do
		s+="$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')"
	done
	echo "${s:0:n}"
}

# http_status prints the HTTP status of a GET, or 000 when nothing answers.
http_status() {
	local host="$1" port="$2" path="$3"
	if command -v curl >/dev/null 2>&1; then
		curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$host:$port$path" || true
	else
		# Plain bash: enough for a health check on localhost.
		(
			exec 3<>"/dev/tcp/$host/$port" || exit 0
			printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\n\r\n' "$path" "$host" "$port" >&3
			head -n 1 <&3 | awk '{print $2}'
		) 2>/dev/null || true
	fi
}

start() {
	local state="$1" bin port console dir user password pid status
	if [[ -f "$state" ]]; then
		say "$state exists: stopping the previous server first"
		stop "$state"
	fi
	bin="$(ensure_binary)"
	port="$(free_port)"
	console="$(free_port)"
	while [[ "$console" == "$port" ]]; do console="$(free_port)"; done
	dir="$(mktemp -d "${TMPDIR:-/tmp}/berriz-minio.XXXXXX")"
	mkdir "$dir/data"
	user="berriz$(random_secret 8)"
	password="$(random_secret 32)"

	say "starting $bin on 127.0.0.1:$port (data and log in $dir)"
	# setsid detaches the server from this script's process group, so it
	# outlives the caller's shell and a Ctrl-C in it.
	MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$password" MINIO_BROWSER=off \
		MINIO_UPDATE=off MINIO_CI_CD=1 \
		setsid "$bin" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
		"$dir/data" >"$dir/minio.log" 2>&1 </dev/null &
	pid=$!

	# Write the state at once so that stop can clean up even if the start fails.
	write_state "$state" "$port" "$user" "$password" "$pid" "$dir"

	say "waiting for http://127.0.0.1:$port/minio/health/live (up to ${START_TIMEOUT}s)"
	local deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		status="$(http_status 127.0.0.1 "$port" /minio/health/live)"
		[[ "$status" == "200" ]] && break
		if ! alive "$pid"; then
			say "minio exited early; last lines of $dir/minio.log:" >&2
			tail -n 30 "$dir/minio.log" >&2 || true
			stop "$state"
			die "minio did not start"
		fi
		if ((SECONDS >= deadline)); then
			say "no answer after ${START_TIMEOUT}s; last lines of $dir/minio.log:" >&2
			tail -n 30 "$dir/minio.log" >&2 || true
			kill_wait "$pid" # our own child: no need to check what it is
			stop "$state"
			die "minio did not start"
		fi
		sleep 0.5
	done
	say "minio is up (pid $pid); state written to $state"
}

write_state() {
	local state="$1" port="$2" user="$3" password="$4" pid="$5" dir="$6"
	# The file holds credentials: readable by its owner only.
	(
		umask 077
		cat >"$state" <<-EOF
			export BERRIZ_TEST_S3_ENDPOINT=127.0.0.1:$port
			export BERRIZ_TEST_S3_ACCESS_KEY=$user
			export BERRIZ_TEST_S3_SECRET_KEY=$password
			export MINIO_PID=$pid
			export MINIO_DATA_DIR=$dir
		EOF
	)
}

stop() {
	local state="$1" pid="" dir=""
	if [[ ! -f "$state" ]]; then
		say "no state file $state: nothing to stop"
		return 0
	fi
	# Read the values instead of sourcing the file, so that a stale or edited
	# state file cannot run anything.
	pid="$(sed -n 's/^export MINIO_PID=\([0-9][0-9]*\)$/\1/p' "$state")"
	dir="$(sed -n 's/^export MINIO_DATA_DIR=\(.*\)$/\1/p' "$state")"
	if [[ -n "$pid" ]] && alive "$pid" && is_minio "$pid"; then
		kill_wait "$pid"
	else
		say "minio (pid ${pid:-unknown}) is not running"
	fi
	# Only remove what start created, never an arbitrary path from the file.
	if [[ -n "$dir" && -d "$dir" && "$(basename "$dir")" == berriz-minio.* ]]; then
		say "removing $dir"
		rm -rf -- "$dir"
	fi
	rm -f -- "$state"
	say "stopped"
}

# kill_wait terminates pid and waits for it to be gone. It cannot use
# `wait`: the server is not a child of this invocation.
kill_wait() {
	local pid="$1" i
	say "stopping minio (pid $pid)"
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		alive "$pid" || return 0
		sleep 0.1
	done
	say "pid $pid still running after 10s, sending KILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# alive reports whether pid runs; a zombie (exited, not yet reaped by a
# container's init) counts as gone.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local st
	st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
	[[ "$st" != "Z" ]]
}

# is_minio guards against killing an unrelated process that reused the pid
# after a reboot or a long pause.
is_minio() {
	local cmd
	cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || ps -o args= -p "$1" 2>/dev/null || true)"
	[[ "$cmd" == *minio* ]]
}

[[ $# -eq 2 ]] || usage
case "$1" in
start) start "$2" ;;
stop) stop "$2" ;;
*) usage ;;
esac
