#!/usr/bin/env bash
# Ensures Debian's poppler-utils is installed: the label tests (internal/label)
# extract the text of generated PDF sheets with pdftotext and render them with
# pdftoppm to check that the QR codes are drawn right. Idempotent.
set -euo pipefail

say() { echo "poppler.sh: $*"; }
die() { echo "poppler.sh: error: $*" >&2; exit 1; }

if command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null; then
	say "poppler-utils is installed"
	exit 0
fi

command -v apt-get >/dev/null || die "poppler-utils is missing and apt-get is not available: install pdftoppm and pdftotext by hand"

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
	command -v sudo >/dev/null || die "poppler-utils is missing; installing it needs root: run 'apt-get install -y poppler-utils' as root, or install sudo"
	sudo=(sudo)
fi

say "installing Debian's poppler-utils package: apt-get update && apt-get install -y poppler-utils"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y poppler-utils
command -v pdftoppm >/dev/null || die "apt-get finished but pdftoppm is still missing"
say "installed: $(pdftoppm -v 2>&1 | head -n1)"
