# Helpers shared by the t05xx scripts (ls, diff, compare, log, index):
# metric.sh, a deterministic commit clock, commits and runs on it, and
# the scripted history with branches, a merge and a rebase (scenario).
# Sourced after tests/lib.sh, inside the test's trash directory.
cat >metric.sh <<'SCRIPT'
for kv in "$@"; do
	k=${kv%%=*} v=${kv#*=}
	echo "{\"$k\": $v}" >>"$MLP_METRICS"
done
SCRIPT

# tick: the next fixed commit date, so that history order is deterministic.
tick() {
	t=$(($(cat .tick 2>/dev/null || echo 1700000000) + 60)) &&
	echo $t >.tick &&
	GIT_COMMITTER_DATE="@$t +0000" &&
	GIT_AUTHOR_DATE="@$t +0000" &&
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

# mk_commit NAME: a commit adding file NAME; its id goes to c-NAME.
mk_commit() {
	tick &&
	echo "$1" >"repo/$1" &&
	git -C repo add "$1" &&
	git -C repo commit -q -m "$1" &&
	git -C repo rev-parse HEAD >"c-$1"
}

# mk_run NAME ARGS...: `git mlp run -n NAME ARGS...`; its id goes to id-NAME.
mk_run() {
	mr_name_=$1
	shift
	git -C repo mlp run -n "$mr_name_" "$@" 2>"err-$mr_name_" &&
	mlp_run_of "err-$mr_name_" -C repo >"id-$mr_name_"
}

# names [LS-ARGS]: the names `git mlp ls` lists, one line, space-separated.
names() {
	git -C repo mlp ls --format=tsv "$@" >names.tsv &&
	awk -F '\t' 'NR > 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }' names.tsv
}

# History (commit dates increase in this order):
#
#   A --- B ---------- M        main (M merges feature)
#    \     \          /
#     \     T1       /          topic
#      F1 ------ F2              feature
#
# Runs, newest first: bad@M (failed), m1@M, f2@F2, t1@T1, f1@F1, b2 b1@B, a1@A.
scenario() {
	git init -q -b main repo &&
	git -C repo config mlp.system.interval 0 &&
	git -C repo mlp init >/dev/null &&
	mk_commit A &&
	mk_run a1 -e exp1 -p lr=0.1 -p model=cnn -- sh ../metric.sh loss=0.9 acc=0.5 &&
	mk_commit B &&
	mk_run b1 -e exp1 -p lr=0.05 -p model=cnn -- sh ../metric.sh loss=0.5 acc=0.7 &&
	mk_run b2 -e exp2 -p lr=0.05 -p model=rnn -p layers=2 -- sh ../metric.sh loss=0.45 acc=0.72 &&
	git -C repo checkout -q -b feature "$(cat c-A)" &&
	mk_commit F1 &&
	mk_run f1 -e exp2 -p lr=0.2 -p model=rnn -- sh ../metric.sh loss=0.6 acc=0.6 &&
	git -C repo checkout -q -b topic "$(cat c-B)" &&
	mk_commit T1 &&
	mk_run t1 -p lr=0.5 -- sh ../metric.sh loss=0.8 &&
	git -C repo checkout -q feature &&
	mk_commit F2 &&
	mk_run f2 -e exp2 -p lr=0.3 -p model=rnn -- sh ../metric.sh loss=0.35 loss=0.4 acc=0.8 &&
	git -C repo checkout -q main &&
	tick &&
	git -C repo merge -q --no-edit feature &&
	git -C repo rev-parse HEAD >c-M &&
	mk_run m1 -e exp1 -p lr=0.01 -p model=cnn -- sh ../metric.sh loss=0.7 loss=0.3 acc=0.85 &&
	test_expect_code 3 git -C repo mlp run -n bad -e exp1 -p lr=1 -p model=mlp -- sh -c "exit 3" 2>err-bad &&
	mlp_run_of err-bad -C repo >id-bad &&
	git -C repo mlp log tag --run b2 stage=prod 2>/dev/null &&
	git -C repo mlp log tag --run t1 stage=dev 2>/dev/null
}
