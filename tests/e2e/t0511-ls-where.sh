#!/bin/sh
test_description='git mlp ls --where: the query language end to end, its errors and exit codes'
. "$(dirname "$0")/../lib.sh"

. "$TEST_DIRECTORY/history.sh"
# check_cases FILE: each line is `EXPR<TAB>EXPECTED NAMES` (the names that
# `ls --all --where EXPR` lists, newest first); report every mismatch.
check_cases() {
	cc_bad_=0
	while IFS='	' read -r cc_expr_ cc_want_; do
		test -z "$cc_expr_" && continue
		if ! cc_got_=$(names --all --where "$cc_expr_" 2>cc-err); then
			echo "FAIL: --where \"$cc_expr_\" exited non-zero:" && cat cc-err
			cc_bad_=1
		elif test "$cc_got_" != "$cc_want_"; then
			echo "FAIL: --where \"$cc_expr_\": want [$cc_want_], got [$cc_got_]"
			cc_bad_=1
		else
			echo "ok: $cc_expr_"
		fi
	done <"$1"
	return $cc_bad_
}

cat >cases-bool <<'EOF'
metrics.acc > 0.7 and params.model = 'rnn'	f2 b2
metrics.acc > 0.7 or params.lr >= 0.5	bad m1 f2 t1 b2
not (metrics.acc > 0.7 or params.lr >= 0.5)	f1 b1 a1
name = 'a1' or name = 'b1' and metrics.acc > 0.9	a1
(name = 'a1' or name = 'b1') and metrics.acc > 0.6	b1
not name = 'a1' and not name = 'b1' and metrics.acc < 0.75	f1 b2
((name = 'f1'))	f1
metrics.acc >= 0.8 AND NOT name = 'm1'	f2
name = 'zz' OR name = 'a1'	a1
not not name = 'a1'	a1
EOF

cat >cases-match <<'EOF'
params.model LIKE 'c%'	m1 b1 a1
params.model NOT LIKE 'c%'	bad f2 f1 b2
params.model LIKE '_nn'	m1 f2 f1 b2 b1 a1
name ILIKE 'F%'	f2 f1
name LIKE 'F%'	
name IN ('a1', 'f2', 'zz')	f2 a1
name NOT IN ('a1', 'f2')	bad m1 t1 f1 b2 b1
params.lr IN (0.05, 1)	bad b2 b1
tags.stage = 'prod'	b2
tags.stage ILIKE 'PR%'	b2
tags.stage IN ('prod', 'dev')	t1 b2
`params.model` = 'cnn'	m1 b1 a1
params.`lr` < 0.06	m1 b2 b1
params.lr = 1	bad
params.lr = 1.0	bad
EOF

cat >cases-attr <<'EOF'
attributes.status = 'FINISHED'	m1 f2 t1 f1 b2 b1 a1
status = 'failed'	bad
status != 'finished'	bad
experiment = 'exp2'	f2 f1 b2
attributes.experiment = 'exp1' and status = 'finished'	m1 b1 a1
experiment IS NULL	t1
branch = 'feature'	f2 f1
branch LIKE 't%'	t1
attributes.name = 'm1'	m1
run_name = 'm1'	m1
exit_code = 3	bad
started >= '2000-01-01' and duration >= 0	bad m1 f2 t1 f1 b2 b1 a1
EOF

cat >cases-agg <<'EOF'
metrics.loss < 0.35	m1
metrics.loss.last < 0.35	m1
metrics.loss.min < 0.35	m1
metrics.loss.min <= 0.35	m1 f2
metrics.loss.max >= 0.7	m1 t1 a1
metrics.loss.first = 0.7	m1
metrics.loss.first = 0.35	f2
metrics.loss.count = 2	m1 f2
EOF

cat >cases-absent <<'EOF'
params.layers = 2	b2
params.layers != 2	
not params.layers = 2	bad m1 f2 t1 f1 b1 a1
params.layers IS NULL	bad m1 f2 t1 f1 b1 a1
params.layers IS NOT NULL	b2
metrics.acc <= 1	m1 f2 f1 b2 b1 a1
metrics.acc > 0 or metrics.acc <= 0	m1 f2 f1 b2 b1 a1
metrics.acc NOT IN (0.5)	m1 f2 f1 b2 b1
tags.stage NOT LIKE 'p%'	t1
params.nosuch = 'x' or params.nosuch != 'x'	
EOF

test_expect_success 'setup' '
	scenario
'

test_expect_success 'and, or, not, parentheses and precedence' '
	check_cases cases-bool
'

test_expect_success 'LIKE, ILIKE, IN, tags, backquoted keys, int/float equality' '
	check_cases cases-match
'

test_expect_success 'attributes: status, experiment, branch, name, exit_code, times' '
	check_cases cases-attr
'

test_expect_success 'metric aggregates: .min, .max, .last, .first, .count' '
	check_cases cases-agg
'

test_expect_success 'absent keys compare false (never as zero); IS NULL tests absence' '
	check_cases cases-absent
'

test_expect_success '--where applies within the default scope without --all' '
	git -C repo checkout -q topic &&
	names --where "metrics.loss > 0.5" >actual &&
	git -C repo checkout -q main &&
	echo "t1 a1" >expect &&
	test_cmp expect actual
'

test_expect_success '--where combines with --experiment and --branch' '
	names --all --experiment exp2 --where "metrics.acc > 0.65" >actual &&
	echo "f2 b2" >expect &&
	test_cmp expect actual &&
	names --all --branch main --where "params.model = '\''cnn'\''" >actual &&
	echo "m1 b1 a1" >expect &&
	test_cmp expect actual
'

test_expect_success 'an empty --where matches every run' '
	names --all --where "" >actual &&
	echo "bad m1 f2 t1 f1 b2 b1 a1" >expect &&
	test_cmp expect actual
'

test_expect_success 'parse error: message, the expression and a caret under the column, exit 129' '
	test_expect_code 129 git -C repo mlp ls --all --where "(name = '\''a1'\''" >out 2>err &&
	test_must_be_empty out &&
	cat >expect <<-\EOF &&
	error: expected '\''and'\'', '\''or'\'' or '\'')'\'' to close the '\''('\'' at column 0, found the end of the expression at column 12
	    (name = '\''a1'\''
	                ^
	EOF
	test_cmp expect err
'

test_expect_success 'a type error known at parse time (metric vs string) shows the caret, exit 129' '
	test_expect_code 129 git -C repo mlp ls --all --where "metrics.acc > '\''x'\''" >out 2>err &&
	test_must_be_empty out &&
	cat >expect <<-\EOF &&
	error: metrics.acc is a number; cannot compare it with '\''x'\'' at column 14
	    metrics.acc > '\''x'\''
	                  ^
	EOF
	test_cmp expect err
'

test_expect_success 'more parse errors: each exits 129 with a caret line' '
	for e in "metrics.acc >" "name = '\''a1'\'' )" "metrics.acc > 0.5 and and" \
		"params.model LIKE 1" "metrics.acc LIKE '\''x%'\''" "status = 1" \
		"name = " "metrics.acc BETWEEN 1 AND 2" "name == '\''a1'\''" "bogus = 1"
	do
		test_expect_code 129 git -C repo mlp ls --all --where "$e" >out 2>err &&
		test_must_be_empty out &&
		test_line_count = 3 err &&
		head -n 1 err | test_grep "^error: " - &&
		sed -n 2p err >line2 &&
		printf "    %s\n" "$e" >expect2 &&
		test_cmp expect2 line2 &&
		sed -n 3p err | test_grep "^ *\^$" - || return 1
	done
'

test_expect_success 'a param type mismatch (found at match time) fails, naming the key' '
	test_must_fail git -C repo mlp ls --all --where "params.model > 1" >out 2>err &&
	test_must_be_empty out &&
	test_grep "params\.model" err &&
	test_grep "string" err
'

test_expect_success 'a param type mismatch exits 128 and prints no caret' '
	test_expect_code 128 git -C repo mlp ls --all --where "params.model > 1" >out 2>err &&
	test_line_count = 1 err &&
	test_grep "^fatal: params.model is a string; cannot compare it with 1$" err
'

test_expect_success 'a type error behind a false and is never reached (short-circuit)' '
	names --all --where "name = '\''zz'\'' and params.model > 1" >actual &&
	echo "" >expect &&
	test_cmp expect actual &&
	test_must_fail git -C repo mlp ls --all --where "name = '\''m1'\'' and params.model > 1" 2>err &&
	test_grep "params\.model" err
'

test_expect_success 'an absent param is never a type error' '
	names --all --where "params.layers > 1" >actual &&
	echo "b2" >expect &&
	test_cmp expect actual
'

test_done
