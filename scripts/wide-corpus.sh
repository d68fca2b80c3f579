#!/usr/bin/env bash
# Builds a wide real-world crate corpus for evaluating the indicators (and anything else) WITHOUT installing
# anything: `apt-get download`s Debian's librust-*-dev packages into DEST/debs and `dpkg -x`es each into
# DEST/root, so crate sources land in DEST/root/usr/share/cargo/registry/<name>-<version>/.
# /usr/share/cargo/registry (the benchmark corpus) is never touched.
#
# Usage:  scripts/wide-corpus.sh [DEST]            (default /tmp/wide-corpus; re-runnable, skips what it has)
#         LIMIT=300 scripts/wide-corpus.sh          (only the first 300 packages, in name order)
# Needs apt-get and dpkg (Debian/Ubuntu) and an apt cache (`apt-get update` if `apt-cache pkgnames` is empty).
# Then: node scripts/indicator-eval.mjs DEST/root/usr/share/cargo/registry
set -euo pipefail
dest=${1:-/tmp/wide-corpus}
limit=${LIMIT:-0}
command -v apt-get >/dev/null && command -v dpkg >/dev/null || { echo "needs apt-get and dpkg" >&2; exit 2; }
mkdir -p "$dest/debs" "$dest/root"
dest=$(cd "$dest" && pwd)

# every librust-<crate>-dev that is a real package (feature packages `librust-foo+bar-dev` are metapackages;
# purely virtual names have no candidate and are dropped by apt-cache show)
names=$(apt-cache pkgnames librust- | grep -- '-dev$' | grep -v '+' | LC_ALL=C sort -u)
[ -n "$names" ] || { echo "no librust-*-dev packages in the apt cache: run apt-get update" >&2; exit 2; }
# shellcheck disable=SC2086
pkgs=$(apt-cache show --no-all-versions $names 2>/dev/null | awk '/^Package: /{print $2}' | LC_ALL=C sort -u)
if [ "$limit" -gt 0 ]; then pkgs=$(printf '%s\n' "$pkgs" | head -n "$limit"); fi
echo "$(printf '%s\n' "$pkgs" | wc -l) packages" >&2

# download what is missing, 100 at a time; a failing batch is retried package by package
cd "$dest/debs"
missing=()
for p in $pkgs; do compgen -G "${p}_*.deb" >/dev/null || missing+=("$p"); done
echo "${#missing[@]} to download" >&2
for ((i = 0; i < ${#missing[@]}; i += 100)); do
  batch=("${missing[@]:i:100}")
  if ! apt-get download -q "${batch[@]}" >/dev/null 2>"$dest/download.err"; then
    for p in "${batch[@]}"; do apt-get download -q "$p" >/dev/null 2>>"$dest/download.err" || echo "download failed: $p" >&2; done
  fi
done

# unpack each .deb once (a marker per .deb)
mkdir -p "$dest/.unpacked"
for deb in *.deb; do
  [ -e "$dest/.unpacked/$deb" ] && continue
  dpkg -x "$deb" "$dest/root" && touch "$dest/.unpacked/$deb"
done

reg="$dest/root/usr/share/cargo/registry"
crates=$(find "$reg" -mindepth 1 -maxdepth 1 -type d | wc -l)
files=$(find "$reg" -type f | wc -l)
echo "$reg: $crates crates, $files files" >&2
