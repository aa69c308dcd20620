#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time, one after another.
#
#   scripts/fuzz.sh                 # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh presentation wire
#
# Targets: the file names in fuzz/fuzz_targets/ (what each one decodes and
# checks is documented in fuzz/src/lib.rs). Arguments name a subset.
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 30)
#   FUZZ_SANITIZER address | none (default none: wallet-core forbids unsafe
#                  code, so the sanitizer adds little and halves the speed)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`, installed here if missing)
# and libFuzzer's nightly-only compiler flags: with the stable toolchain this
# script sets RUSTC_BOOTSTRAP=1 for the fuzz build only.
#
# The checked-in seeds in fuzz/corpus/<target>/ are read, never written: the
# corpus a run grows goes to fuzz/work/corpus/<target>/ (ignored by git).
# A crash stops that target, leaves its input in fuzz/artifacts/<target>/,
# and makes the script exit 1 after the remaining targets ran. Reproduce
# one with (from fuzz/):
#   RUSTC_BOOTSTRAP=1 cargo fuzz run -s none <target> artifacts/<target>/<file>
# The last line per target in fuzz/work/summary.txt gives its execution count.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do
    targets+=("$(basename "$f" .rs)")
  done
fi

# Build once, then run the binaries directly: every target fuzzes the same
# code, and a build failure is not mistaken for a crash.
cargo fuzz build -s "$sanitizer"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="target/$triple/release"

mkdir -p work
summary=work/summary.txt
: >"$summary"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "work/corpus/$t" "artifacts/$t"
  log="work/$t.log"
  echo "== $t: ${seconds}s"
  # Grown corpus first (libFuzzer writes new inputs to the first directory),
  # then the checked-in seeds.
  if "$bin_dir/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" \
    -print_final_stats=1 -max_len=65536 "work/corpus/$t" "corpus/$t" >"$log" 2>&1; then
    status=ok
  else
    status=CRASH
    failed+=("$t")
  fi
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
  echo "$t status=$status execs=${execs:-?} cov=${cov:-?}" | tee -a "$summary"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashes in: ${failed[*]} (see fuzz/artifacts/ and fuzz/work/<target>.log)" >&2
  exit 1
fi
