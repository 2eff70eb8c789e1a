#!/usr/bin/env bash
# Turns the single `gitgen` crate into a workspace whose crates are the layers
# (`crates/gitgen-*`, listed lowest first in scripts/split-workspace/crates.txt), with the
# use cases and the binary left in the `gitgen` package at the root.
#
# Mechanical and re-runnable on any tree whose `src/lib.rs` still declares the modules the
# table names: it applies the small patches beside it (`git apply --3way`: a patch that no
# longer fits stops the script and leaves conflict markers to resolve and commit), moves the
# files with `git mv`, rewrites `crate::<module>` paths, writes each crate's manifest from
# the packages its code names, and refreshes the workspace entries of Cargo.lock (no other
# package changes version). It stops before moving anything when a moved module refers to
# one that stays at the root, or when the crates would form a circle, prints the
# references responsible and puts the tree back as it was: edit crates.txt (or the code)
# and run it again.
#
# Usage: scripts/split-workspace.sh      (at the repo root, on a clean work tree)
# Then:  cargo build --locked && cargo clippy --locked --all-targets
#        cargo test --locked
#        cargo run --locked --quiet -- render   # the renderer fingerprint names new paths
set -euo pipefail
cd "$(dirname "$0")/.."
here=scripts/split-workspace

if [ -n "$(git status --porcelain)" ]; then
  echo "split-workspace: the work tree has changes; commit or stash them first" >&2
  exit 2
fi
# The tree was clean: whatever stops the split after the patches (a reference
# to a module left at the root, a circle, a failed command) leaves it as it was.
restore() {
  git reset -q --hard HEAD
  rm -rf crates
  echo "split-workspace: stopped; the work tree is as it was" >&2
}
trap restore ERR
for patch in "$here"/*.patch; do
  [ -e "$patch" ] || continue
  if git apply --reverse --check "$patch" 2>/dev/null; then
    continue # applied already, by hand after a conflict
  fi
  if ! git apply --3way "$patch"; then
    echo "split-workspace: $patch does not fit this tree: resolve the conflict markers it left, commit, and run again" >&2
    exit 2
  fi
done
python3 "$here/split.py"
cargo update --workspace --offline --quiet
trap - ERR
echo "split-workspace: done; review with \`git status\` and build with \`cargo build --locked\`" >&2
