#!/usr/bin/env bash
# Ensures axe-core (the accessibility engine the browser tests inject into each
# page) is installed under .cache/axe at the repository root. It is fetched by npm
# at test time and never committed (.cache/ is in .gitignore). Idempotent.
set -euo pipefail

# Pinned: the latest 4.x that `npm view axe-core version` showed. Bump on purpose,
# since a new axe-core can report new violations.
AXE_VERSION=4.14.1

say() { echo "axe.sh: $*"; }
die() { echo "axe.sh: error: $*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prefix="$root/.cache/axe"
pkg="$prefix/node_modules/axe-core"

installed=""
if [[ -f "$pkg/axe.min.js" && -f "$pkg/package.json" ]]; then
	installed=$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n 1)
fi
if [[ "$installed" == "$AXE_VERSION" ]]; then
	say "axe-core $AXE_VERSION is installed in $pkg"
	exit 0
fi

if ! command -v npm >/dev/null; then
	say "npm is missing: installing Debian's npm package"
	"$(dirname "${BASH_SOURCE[0]}")/apt.sh" npm
	command -v npm >/dev/null || die "the npm package is installed but npm is not on PATH"
fi

if [[ -n "$installed" ]]; then
	say "found axe-core $installed, want $AXE_VERSION"
fi
say "npm install --prefix $prefix axe-core@$AXE_VERSION"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save "axe-core@$AXE_VERSION"
[[ -f "$pkg/axe.min.js" ]] || die "npm finished but $pkg/axe.min.js is missing"
say "installed axe-core $AXE_VERSION in $pkg"
