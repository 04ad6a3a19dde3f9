#!/bin/sh
# fetch-ab.sh DIR BEFORE AFTER [ROUNDS]: plain `git fetch` of the run refs
# of DIR/bare into a fresh DIR/dst, against `git mlp fetch` with the
# git-mlp of build directory BEFORE and of AFTER, interleaved: ROUNDS
# (default 6) rounds of the three, the order rotated each round, so that
# the load drifting on a shared machine weighs on all three alike
# (hyperfine runs one command's runs before the next one's).  DIR/bare is
# made by, for example:
#
#	sh tests/bench/gen-repo.sh DIR/src 10000 100
#	git init -q --bare DIR/bare && git -C DIR/src mlp push --all DIR/bare
#
# Prints "<what> <wall s> <user s> <sys s>" per fetch, then means and
# medians.  Figures go to docs/benchmarks.md by hand.
set -e
dir=$(cd "$1" && pwd) before=$(cd "$2" && pwd) after=$(cd "$3" && pwd) rounds=${4:-6}
export GIT_CONFIG_NOSYSTEM=1
times=$dir/fetch-ab.times
: >"$times"
one() {
	rm -rf "$dir/dst" && git init -q "$dir/dst" && sync
	case $1 in
	git)	/usr/bin/time -a -o "$times" -f "git %e %U %S" \
			git -C "$dir/dst" fetch -q --no-write-fetch-head "$dir/bare" 'refs/mlp/runs/*:refs/mlp/runs/*' ;;
	*)	eval "b=\$$1"
		PATH=$b:$PATH /usr/bin/time -a -o "$times" -f "$1 %e %U %S" \
			git -C "$dir/dst" mlp fetch "$dir/bare" >/dev/null 2>&1 ;;
	esac
}
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ $i -lt "$rounds" ]; do
	case $((i % 3)) in
	0) order="git before after" ;;
	1) order="before after git" ;;
	*) order="after git before" ;;
	esac
	for c in $order; do one $c; done
	i=$((i + 1))
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$times"
python3 - "$times" <<'PY'
import statistics as st, sys
d = {}
for line in open(sys.argv[1]):
    k, e, u, s = line.split()
    d.setdefault(k, []).append((float(e), float(u) + float(s)))
g = d["git"]
for k in ("git", "before", "after"):
    w = [x[0] for x in d[k]]
    c = [x[1] for x in d[k]]
    print("%-6s wall mean %.2f s median %.2f s (%.2f / %.2f of git), user+sys mean %.2f s" % (
        k, st.mean(w), st.median(w), st.mean(w) / st.mean([x[0] for x in g]),
        st.median(w) / st.median([x[0] for x in g]), st.mean(c)))
PY
