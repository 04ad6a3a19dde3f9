#!/bin/sh
test_description='git mlp run: exit codes and final status of the run'
. "$(dirname "$0")/../lib.sh"

# run_status ID: print "status exit_code signal" from `git mlp ls --all --format=json`.
run_status () {
	git -C repo mlp ls --all --format=json >ls.json &&
	json_get "[\" \".join(str(r.get(k)) for k in (\"status\", \"exit_code\", \"signal\")) for r in d if r[\"id\"] == \"$1\"][0]" ls.json
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'exit 0: finished' '
	test_expect_code 0 git -C repo mlp run -- sh -c "exit 0" 2>err &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): finished" err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"status\"] == \"finished\"" run.mp &&
	run_status "$id" >actual &&
	echo "finished 0 None" >expect1 &&
	echo "finished 0 0" >expect2 &&
	{ test_cmp expect1 actual || test_cmp expect2 actual; }
'

test_expect_success 'a non-zero exit: failed, the code is kept and passed on' '
	test_expect_code 3 git -C repo mlp run -- sh -c "exit 3" 2>err &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): failed" err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"status\"] == \"failed\"" run.mp &&
	run_status "$id" >actual &&
	test_grep "^failed 3 " actual &&
	git -C repo log -1 --format=%s "refs/mlp/runs/$id" >subject &&
	test_grep ": failed" subject
'

test_expect_success 'exit codes above 128 from a normal exit are passed on' '
	test_expect_code 200 git -C repo mlp run -- sh -c "exit 200" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"status\"] == \"failed\"" run.mp
'

test_expect_success 'killed by SIGKILL: status killed, exit 137' '
	test_expect_code 137 git -C repo mlp run -- sh -c "kill -9 \$\$" 2>err &&
	test_grep "^recorded run [0-9a-f]\{8\} (.*): killed" err &&
	id=$(mlp_run_of err -C repo) &&
	run_status "$id" >actual &&
	test_grep "^killed .* 9$" actual
'

test_expect_success 'killed by SIGTERM: exit 143, output before the signal kept' '
	test_expect_code 143 git -C repo mlp run -- sh -c "echo before; kill -TERM \$\$; echo after" >out 2>err &&
	test_grep "^before$" out &&
	test_grep ! "^after$" out &&
	id=$(mlp_run_of err -C repo) &&
	run_status "$id" >actual &&
	test_grep "^killed .* 15$" actual &&
	echo before >expect &&
	mlp_blob "$id" logs/stdout -C repo >actual &&
	test_cmp expect actual
'

test_expect_success 'command not found: status failed, exit 127, message in logs/stderr' '
	test_expect_code 127 git -C repo mlp run -- no-such-command-xyzzy --flag 2>err &&
	test_grep "no-such-command-xyzzy" err &&
	id=$(mlp_run_of err -C repo) &&
	run_status "$id" >actual &&
	test_grep "^failed 127 " actual &&
	mlp_blob "$id" logs/stderr -C repo >logerr &&
	test_grep "no-such-command-xyzzy" logerr
'

test_expect_success 'a file that cannot be executed: status failed, exit 126, message in logs/stderr' '
	echo "echo hi" >repo/notexec &&
	test_expect_code 126 git -C repo mlp run -- ./notexec 2>err &&
	test_grep "^git-mlp: cannot run .\./notexec.: Permission denied$" err &&
	id=$(mlp_run_of err -C repo) &&
	run_status "$id" >actual &&
	test_grep "^failed 126 " actual &&
	mlp_blob "$id" logs/stderr -C repo >logerr &&
	echo "git-mlp: cannot run '\''./notexec'\'': Permission denied" >expect &&
	test_cmp expect logerr &&
	rm repo/notexec
'

test_expect_success 'a script without #! runs under /bin/sh, in PATH or by path, as from a shell' '
	mkdir bin &&
	printf "echo \"no shebang: \$*\"\n" >bin/noshebang &&
	chmod +x bin/noshebang &&
	PATH="$TRASH_DIRECTORY/bin:$PATH" git -C repo mlp run -- noshebang a "b c" >out 2>err &&
	echo "no shebang: a b c" >expect &&
	test_cmp expect out &&
	git -C repo mlp run -- "$TRASH_DIRECTORY/bin/noshebang" d >out 2>err &&
	echo "no shebang: d" >expect &&
	test_cmp expect out
'

# The command starts with the default action for SIGHUP, SIGINT, SIGPIPE
# and SIGTERM and no signal blocked, however git-mlp itself was started
# (nohup, a shell's background job, a service manager's mask).
test_expect_success 'the command gets default signal actions and an empty signal mask' '
	mlp_py - <<-\EOF
	import signal, subprocess
	sigs = (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGTERM)
	def prepare():
	    for s in sigs:
	        signal.signal(s, signal.SIG_IGN)
	    signal.pthread_sigmask(signal.SIG_BLOCK, sigs + (signal.SIGUSR1, signal.SIGCHLD))
	out = subprocess.run(["git", "-C", "repo", "mlp", "run", "--", "grep", "-E", "^Sig(Ign|Blk):",
	                      "/proc/self/status"], preexec_fn=prepare, capture_output=True, check=True)
	fields = dict(l.split(":\t") for l in out.stdout.decode().splitlines())
	ign, blk = int(fields["SigIgn"], 16), int(fields["SigBlk"], 16)
	assert not ign & sum(1 << (s - 1) for s in sigs), "ignored: %x" % ign
	assert blk == 0, "blocked: %x" % blk
	EOF
'

test_expect_success 'a metric logged before a failure is still recorded' '
	test_expect_code 1 git -C repo mlp run -- sh -c "echo \"{\\\"loss\\\": 0.75}\" >>\"\$MLP_METRICS\"; exit 1" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.75 and d[\"status\"] == \"failed\"" show.json
'

test_expect_success 'a metric logged before SIGKILL is still recorded' '
	test_expect_code 137 git -C repo mlp run -- sh -c "echo \"{\\\"loss\\\": 0.5}\" >>\"\$MLP_METRICS\"; kill -9 \$\$" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"last\"] == 0.5 and d[\"status\"] == \"killed\"" show.json
'

test_done
