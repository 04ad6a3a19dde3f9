#!/bin/sh
# tests/fuzz/run.sh [TARGET...]: run the libFuzzer targets built by
# `make fuzz-build` (build/fuzz/fuzz_<name>), each for FUZZ_SECONDS
# (default 60), FUZZ_JOBS at a time (default 1), starting from the seeds
# in tests/fuzz/corpus/<name>/.  `make fuzz FUZZ_SECONDS=N` builds and
# calls this.  The seeds are never written: each target grows its own
# corpus in build/fuzz/corpus/<name>/ (kept between runs), crashes go to
# build/fuzz/crashes/<name>/, the log to build/fuzz/logs/<name>.log.
# Prints one line per target (execs, execs/s, coverage, crashes) and exits
# 1 when any target crashed.  FUZZ_FLAGS adds libFuzzer options.
#
# -malloc_limit_mb: no single allocation may exceed it.  Inputs are small,
# so anything near it is an allocation driven by a length the input
# claims, which is what the bounded decoders exist to prevent.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
out=$root/build/fuzz
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}

if test $# = 0; then
	set --
	for src in "$here"/fuzz_*.c; do
		name=${src##*/fuzz_}
		set -- "$@" "${name%.c}"
	done
fi

# Internal: one target.
if test "${1-}" = --one; then
	name=$2
	bin=$out/fuzz_$name
	corpus=$out/corpus/$name
	crashes=$out/crashes/$name
	log=$out/logs/$name.log
	mkdir -p "$corpus" "$crashes" "$out/logs"
	if ! test -x "$bin"; then
		echo "$name: not built (make fuzz-build)" >"$out/logs/$name.summary"
		exit 1
	fi
	# The private temp directory of file-reading targets goes with the run.
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-fuzz-run.XXXXXX")
	start=$(date +%s)
	TMPDIR=$tmp "$bin" -max_total_time="$seconds" -print_final_stats=1 \
		-malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$crashes/" ${FUZZ_FLAGS-} \
		"$corpus" "$here/corpus/$name" >"$log" 2>&1
	rc=$?
	rm -rf "$tmp"
	secs=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	units=$(ls "$corpus" | wc -l)
	found=$(ls "$crashes" | wc -l)
	printf '%-12s %4ss %10s execs %7s/s  cov %5s  ft %6s  corpus %5s  crashes %s%s\n' \
		"$name" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "$found" \
		"$(test "$rc" = 0 || echo "  (exit $rc: see $log)")" >"$out/logs/$name.summary"
	test "$rc" = 0 && test "$found" = 0
	exit $?
fi

status=0
printf '%s\n' "$@" | xargs -n 1 -P "$jobs" sh "$0" --one || status=1
for name in "$@"; do
	cat "$out/logs/$name.summary"
done
exit $status
