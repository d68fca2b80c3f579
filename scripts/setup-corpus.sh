#!/usr/bin/env bash
# Real-world corpus for cap-scan: installs Debian's packaged sources of ten popular crates (and their
# dependencies) into /usr/share/cargo/registry, then makes a workspace depending on them whose Cargo.lock
# cargo resolves offline against that directory.
#
#   scripts/setup-corpus.sh [OUT_DIR]          (default /tmp/cap-scan-realworld)
#
# Idempotent: installed packages are not touched; the workspace's template files and Cargo.lock are
# rewritten, nothing else in OUT_DIR is. Prints the number of packages in the Cargo.lock.
# CAP_SCAN_CORPUS_REGISTRY=DIR uses another crate directory (then nothing is installed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-/tmp/cap-scan-realworld}"
registry="${CAP_SCAN_CORPUS_REGISTRY:-/usr/share/cargo/registry}"
packages=(
  librust-reqwest-dev librust-tokio-dev librust-clap-dev librust-git2-dev librust-tempfile-dev
  librust-walkdir-dev librust-which-dev librust-rayon-dev librust-regex-dev librust-serde-json-dev
  # not dependencies of the workspace: crates the precision tests check on their own
  librust-byteorder-dev librust-humantime-dev
)

die() { echo "setup-corpus: $*" >&2; exit 1; }

if [ -z "${CAP_SCAN_CORPUS_REGISTRY:-}" ]; then
  missing=()
  for p in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} some other way"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || die "need root to install: ${missing[*]}"
      sudo="sudo"
    fi
    echo "setup-corpus: installing ${missing[*]}" >&2
    # Update the package lists only when the install cannot find a candidate.
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
      $sudo apt-get update >&2
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
  fi
fi

[ -d "$registry" ] || die "$registry does not exist"
command -v cargo >/dev/null || die "cargo not found on PATH (needed for cargo generate-lockfile)"

mkdir -p "$out/src" "$out/.cargo"
cp "$here/realworld/Cargo.toml" "$out/Cargo.toml"
cp "$here/realworld/src/lib.rs" "$out/src/lib.rs"
sed "s#^directory = .*#directory = \"$registry\"#" "$here/realworld/.cargo/config.toml" > "$out/.cargo/config.toml"
rm -f "$out/Cargo.lock"

(cd "$out" && cargo generate-lockfile --offline --quiet) || die "cargo generate-lockfile --offline failed in $out"

count="$(grep -c '^\[\[package\]\]$' "$out/Cargo.lock")"
echo "$count packages in $out/Cargo.lock"
