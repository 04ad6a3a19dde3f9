#!/bin/sh
test_description='live runs: `git mlp ls` shows a live run with its latest values (issue 3)

With checkpoints off, a run writes a point every 20 ms for 3.5 s.  `git mlp
ls` run twice meanwhile must show it "running" with a recent loss (from the
live summary, refreshed about every second: at least every point written
more than 1.5 s before the listing) although its ref has no metrics yet.'
. "$(dirname "$0")/../lib.sh"
. "$TEST_DIRECTORY/e2e/t1000-live-helpers.sh"

# recent_enough LOG TIME LS.JSON ID: the loss shown for run ID in LS.JSON is
# at least the last step LOG says was written 1.5 s before TIME, and no more
# than the last step written at all.
cat >recent.py <<'PY'
import json, sys
log, tfile, lsjson, rid = sys.argv[1:5]
t = float(open(tfile).read())
written = [(int(a), float(b)) for a, b in (l.split() for l in open(log) if l.strip())]
rows = [r for r in json.load(open(lsjson)) if r["id"] == rid]
if len(rows) != 1:
    sys.exit("want one row for %s, got %d" % (rid, len(rows)))
r = rows[0]
if r["status"] != "running":
    sys.exit("status %r, want running" % r["status"])
loss = r.get("metrics", {}).get("loss")
need = max([i for i, w in written if w < t - 1.5], default=-1)
print("shown loss %r; written: %d points; needed at least %d" % (loss, len(written), need))
if need < 0:
    sys.exit("bad test: nothing written 1.5 s before the listing")
if loss is None or loss["last"] < need or loss["last"] > written[-1][0]:
    sys.exit("the loss shown is not recent")
PY

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'ls shows the live run running with a recent loss, twice' '
	{ timeout -k 5 60 git -C repo -c mlp.checkpointInterval=0 mlp run -- python3 ../writer.py "$PWD/pid" "$PWD/log" 0.02 3.5 >out 2>err & } &&
	job=$! &&
	wait_started pid err $job &&
	id=$(live_id repo) &&
	sleep 2 &&
	now >t1 &&
	git -C repo mlp ls --format=json >ls1.json &&
	git -C repo mlp ls >ls1.out &&
	cp log log1 &&
	sleep 0.8 &&
	now >t2 &&
	git -C repo mlp ls --format=json >ls2.json &&
	cp log log2 &&
	test_must_fail git -C repo rev-parse -q --verify "refs/mlp/runs/$id:metrics" &&
	rc=0 &&
	{ wait $job || rc=$?; } &&
	test "$rc" = 0 &&
	python3 recent.py log1 t1 ls1.json "$id" &&
	python3 recent.py log2 t2 ls2.json "$id" &&
	json_check "[r[\"metrics\"][\"loss\"][\"count\"] for r in d][0] > 0" ls1.json &&
	cat ls1.out &&
	last=$(json_get "[r[\"metrics\"][\"loss\"][\"last\"] for r in d][0]" ls1.json) &&
	test_grep "^${id%????????????????????????}  .* running .* ${last%.0}\( \|\$\)" ls1.out
'

test_expect_success 'after the end ls shows it finished with its last value' '
	id=$(sed -n "s/^recorded run \([0-9a-f]\{8\}\) .*/\1/p" err) &&
	id=$(mlp_runs -C repo | grep "^$id") &&
	n=$(wc -l <log) &&
	git -C repo mlp ls --format=json >ls.json &&
	json_check "[(r[\"status\"], r[\"metrics\"][\"loss\"][\"last\"], r[\"metrics\"][\"loss\"][\"count\"]) for r in d if r[\"id\"] == \"$id\"] == [(\"finished\", $n - 1, $n)]" ls.json &&
	no_live_dirs repo
'

test_done
