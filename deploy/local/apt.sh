#!/usr/bin/env bash
# Installs the Debian packages named that are not installed yet:
#
#   deploy/local/apt.sh PACKAGE...
#
# The other helper scripts (chromium.sh, poppler.sh, axe.sh, postgres.sh) call it,
# so that "install with apt, as root or with sudo" is written once. Packages that
# are installed already are left alone (nothing runs, no root needed); the others
# get one `apt-get update` and one `apt-get install -y`, as root or through sudo.
# When it cannot install, it exits non-zero saying why and what to run by hand.
set -euo pipefail

say() { echo "apt.sh: $*"; }
die() { echo "apt.sh: error: $*" >&2; exit 1; }

if [[ $# -eq 0 ]]; then
	echo "usage: $0 PACKAGE..." >&2
	exit 2
fi
for p in "$@"; do
	# Debian's rule for package names; it also keeps an option (-o ...) from
	# reaching apt-get as a package.
	[[ "$p" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "'$p' is not a Debian package name"
done

installed() {
	command -v dpkg-query >/dev/null &&
		[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for p in "$@"; do
	installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	say "installed already: $*"
	exit 0
fi
list="${missing[*]}"

command -v apt-get >/dev/null || die "$list missing and apt-get is not available (not a Debian system?): install $list by hand"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
	command -v sudo >/dev/null || die "installing $list needs root: run 'apt-get update && apt-get install -y $list' as root, or install sudo"
	sudo=(sudo)
fi

say "installing $list: ${sudo[*]:+sudo }apt-get update && ${sudo[*]:+sudo }apt-get install -y $list"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
	die "apt-get update failed (network, or a broken source in /etc/apt?)"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" ||
	die "apt-get install -y $list failed"
for p in "${missing[@]}"; do
	installed "$p" || die "apt-get finished but $p is still not installed"
done
say "installed $list"
