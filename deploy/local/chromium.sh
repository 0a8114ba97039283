#!/usr/bin/env bash
# Ensures Debian's Chromium is installed: the browser tests (internal/browsertest)
# drive it headless through the DevTools protocol. Idempotent; safe to run on every
# `make test`. BERRIZ_CHROMIUM names another binary, which is then only checked.
set -euo pipefail

say() { echo "chromium.sh: $*"; }
die() { echo "chromium.sh: error: $*" >&2; exit 1; }

if [[ -n "${BERRIZ_CHROMIUM:-}" ]]; then
	[[ -x "$BERRIZ_CHROMIUM" ]] || die "BERRIZ_CHROMIUM=$BERRIZ_CHROMIUM is not an executable file"
	say "using $BERRIZ_CHROMIUM (from BERRIZ_CHROMIUM)"
	exit 0
fi

if [[ -x /usr/bin/chromium ]]; then
	say "/usr/bin/chromium is installed"
	exit 0
fi
if found=$(command -v chromium); then
	say "$found is installed"
	exit 0
fi

command -v apt-get >/dev/null || die "Chromium is missing and apt-get is not available: install Chromium by hand, or set BERRIZ_CHROMIUM to its path"

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
	command -v sudo >/dev/null || die "Chromium is missing; installing it needs root: run 'apt-get install -y chromium' as root, or install sudo"
	sudo=(sudo)
fi

say "installing Debian's chromium package: apt-get update && apt-get install -y chromium"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
[[ -x /usr/bin/chromium ]] || die "apt-get finished but /usr/bin/chromium is still missing"
say "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
