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

say "Chromium is missing: installing Debian's chromium package (or set BERRIZ_CHROMIUM to a Chromium of your own)"
"$(dirname "${BASH_SOURCE[0]}")/apt.sh" chromium
[[ -x /usr/bin/chromium ]] || die "the chromium package is installed but /usr/bin/chromium is missing"
say "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
