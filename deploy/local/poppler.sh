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

say "pdftoppm or pdftotext is missing: installing Debian's poppler-utils package"
"$(dirname "${BASH_SOURCE[0]}")/apt.sh" poppler-utils
command -v pdftoppm >/dev/null || die "the poppler-utils package is installed but pdftoppm is missing"
say "installed: $(pdftoppm -v 2>&1 | head -n1)"
