#!/bin/sh
test_description='git mlp report --format=md: ranges, runs, exact output, Mermaid charts, the size cap'
. "$(dirname "$0")/../lib.sh"

# curve.sh SCALE ACC0 ACCSTEP: steps 1-5 of loss = SCALE/step and acc = ACC0 + step*ACCSTEP
cat >curve.sh <<'SCRIPT'
i=1
while [ $i -le 5 ]; do
	awk -v i=$i -v s="$1" -v a="$2" -v d="$3" \
		'BEGIN { printf "{\"step\":%d,\"loss\":%.4f,\"acc\":%.3f}\n", i, s / i, a + i * d }' >>"$MLP_METRICS"
	i=$((i + 1))
done
SCRIPT

# many.sh: 500 goal metrics at 3 steps
cat >many.sh <<'SCRIPT'
for step in 1 2 3; do
	awk -v s=$step 'BEGIN { printf "{\"step\":%d", s; for (k = 0; k < 500; k++) printf ",\"val_loss_%03d\":%.6f", k, 1 / (s + k); print "}" }' >>"$MLP_METRICS"
done
SCRIPT

tick() {
	t=$(($(cat .tick 2>/dev/null || echo 1700000000) + 60)) &&
	echo $t >.tick &&
	GIT_COMMITTER_DATE="@$t +0000" &&
	GIT_AUTHOR_DATE="@$t +0000" &&
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

mk_commit() {
	tick &&
	echo "$1" >"repo/$1" &&
	git -C repo add "$1" &&
	git -C repo commit -q -m "$1" &&
	git -C repo rev-parse HEAD >"c-$1"
}

mk_run() {
	mr_name_=$1
	shift
	git -C repo -c mlp.system.interval=0 mlp run -n "$mr_name_" "$@" 2>"err-$mr_name_" &&
	mlp_run_of "err-$mr_name_" -C repo >"id-$mr_name_"
}

# subst_ids FILE: @rN@ -> 8-hex id of run rN, %CN% -> 7-hex commit CN.
subst_ids() {
	for n in r1 r2 r3 r4; do
		if test -f id-$n; then echo "s/@$n@/$(cut -c1-8 id-$n)/g"; fi
	done >subst.sed &&
	for c in C1 F1 F2; do
		if test -f c-$c; then echo "s/%$c%/$(cut -c1-7 c-$c)/g"; fi
	done >>subst.sed &&
	sed -f subst.sed "$1"
}

# mermaid_check FILE: every ```mermaid block follows the xychart-beta
# grammar the report uses, all lines of a chart have the same length; prints
# "<blocks> <lines per block...>".
mermaid_check() {
	python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"```mermaid\n(.*?)\n```\n", text, re.S)
num = r"-?\d+(\.\d+)?"
out = [str(len(blocks))]
for b in blocks:
    lines = b.split("\n")
    assert re.fullmatch(r'%%\{init: \{"themeVariables": \{"xyChart": \{"plotColorPalette": "#[0-9a-f]{6}(, #[0-9a-f]{6})*"\}\}\}\}%%', lines[0]), lines[0]
    assert lines[1] == "xychart-beta", lines[1]
    assert re.fullmatch(r'    title "[^"\n]*"', lines[2]), lines[2]
    assert re.fullmatch(r'    x-axis "step" (%s --> %s|\["%s"\])' % (num, num, num), lines[3]), lines[3]
    assert re.fullmatch(r'    y-axis "[^"\n]*" %s --> %s' % (num, num), lines[4]), lines[4]
    lens = set()
    for l in lines[5:]:
        m = re.fullmatch(r"    line \[(%s(, %s)*)\]" % (num, num), l)
        assert m, l
        lens.add(len(m.group(1).split(", ")))
    assert len(lens) == 1 and lens.pop() <= 50, b
    out.append(str(len(lines) - 5))
print(" ".join(out))
PY
}

# main: C1 with r1.  feature (from C1): F1 with r2, then F2 with no run.
test_expect_success 'setup' '
	git init -q -b main repo &&
	mk_commit C1 &&
	mk_run r1 -p lr=0.1 -p opt=sgd -- sh ../curve.sh 1 0.5 0.05 &&
	git -C repo checkout -q -b feature &&
	mk_commit F1 &&
	mk_run r2 -p lr=0.2 -p opt=sgd -- sh ../curve.sh 0.8 0.5 0.04 &&
	mk_run r3 -p lr=0.3 -p opt=adam -- sh ../curve.sh 0.9 0.4 0.1
'

test_expect_success 'main...feature: exact output (base run vs newest finished run of the tip)' '
	git -C repo mlp report main...feature >actual &&
	cat >template <<-\EOF &&
	<!-- git-mlp report -->
	### Experiment report: main...feature

	**base** r1 (`@r1@`) at `%C1%` → **head** r3 (`@r3@`) at `%F1%`

	#### Params

	| param | r1 (base) | r3 (head) |
	| --- | --- | --- |
	| lr | 0.1 | 0.3 |
	| opt | sgd | adam |

	#### Metrics

	| metric | r1 (base) | r3 (head) | change | change % |  |
	| --- | ---: | ---: | ---: | ---: | --- |
	| acc | 0.75 | 0.9 | +0.15 | +20.0% | ✅ better |
	| loss | 0.2 | 0.18 | -0.02 | -10.0% | ✅ better |

	#### acc

	```mermaid
	%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f77b4, #ff7f0e"}}}}%%
	xychart-beta
	    title "acc"
	    x-axis "step" 1 --> 5
	    y-axis "acc" 0.5 --> 0.9
	    line [0.55, 0.6, 0.65, 0.7, 0.75]
	    line [0.5, 0.6, 0.7, 0.8, 0.9]
	```

	🟦 r1 (`@r1@`) · 🟧 r3 (`@r3@`)  
	x: step 1–5, 5 points

	#### loss

	```mermaid
	%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f77b4, #ff7f0e"}}}}%%
	xychart-beta
	    title "loss"
	    x-axis "step" 1 --> 5
	    y-axis "loss" 0 --> 1
	    line [1, 0.5, 0.3333, 0.25, 0.2]
	    line [0.9, 0.45, 0.3, 0.225, 0.18]
	```

	🟦 r1 (`@r1@`) · 🟧 r3 (`@r3@`)  
	x: step 1–5, 5 points
	EOF
	subst_ids template >expect &&
	test_cmp expect actual
'

test_expect_success 'the Mermaid blocks follow the xychart-beta grammar' '
	git -C repo mlp report main...feature >out &&
	echo "2 2 2" >expect &&
	mermaid_check out >actual &&
	test_cmp expect actual
'

test_expect_success '--pick chooses the tip run; A..B takes A itself' '
	git -C repo mlp report --pick "min metrics.acc" main...feature >out &&
	test_grep "\*\*head\*\* r2 " out &&
	git -C repo mlp report --pick "min params.lr" main..feature >out &&
	test_grep "\*\*base\*\* r1 .* \*\*head\*\* r2 " out
'

test_expect_success 'a tip without runs: the nearest commit of the range that has one, with a warning' '
	git -C repo checkout -q feature &&
	mk_commit F2 &&
	git -C repo mlp report main...feature >out 2>err &&
	test_grep "tip commit $(cut -c1-7 c-F2) has no runs; using the run of $(cut -c1-7 c-F1)" err &&
	test_grep "\*\*head\*\* r3 " out &&
	git -C repo mlp report main...HEAD >out2 2>/dev/null &&
	tail -n +3 out >body && tail -n +3 out2 >body2 &&
	test_cmp body body2 &&
	git -C repo mlp report main... >out3 2>/dev/null &&
	tail -n +3 out3 >body3 &&
	test_cmp body body3
'

test_expect_success 'runs listed: each column, best value in bold, no change column' '
	git -C repo mlp report r1 r2 r3 >out &&
	test_grep "^| metric | r1 | r2 | r3 |$" out &&
	test_grep "^| acc | 0.75 | 0.7 | \*\*0.9\*\* |$" out &&
	test_grep "^| loss | 0.2 | \*\*0.16\*\* | 0.18 |$" out &&
	echo "2 3 3" >expect &&
	mermaid_check out >actual &&
	test_cmp expect actual
'

test_expect_success '--metric picks the charts; -o writes a file and nothing to stdout' '
	git -C repo mlp report --metric loss -o ../r.md r1 r2 >out &&
	test_must_be_empty out &&
	echo "1 2" >expect &&
	mermaid_check r.md >actual &&
	test_cmp expect actual &&
	test_grep "^#### loss$" r.md &&
	test_grep ! "^#### acc$" r.md
'

test_expect_success 'no argument: like diff, the newest run of HEAD against an earlier one' '
	git -C repo checkout -q "$(cat c-F1)" &&
	git -C repo mlp report >out &&
	git -C repo checkout -q feature &&
	test_grep "\*\*base\*\* r2 .* \*\*head\*\* r3 " out
'

test_expect_success 'usage errors: one run, an unknown format' '
	test_expect_code 129 git -C repo mlp report r1 >out 2>err &&
	test_must_be_empty out &&
	test_grep "two or more runs" err &&
	test_expect_code 129 git -C repo mlp report --format=pdf r1 r2 2>err &&
	test_grep "pdf" err
'

test_expect_success 'a base without runs, an unknown revision: exit 1' '
	git init -q -b main empty &&
	echo x >empty/x && git -C empty add x && git -C empty commit -q -m x &&
	test_expect_code 1 git -C empty mlp report main...HEAD >out 2>err &&
	test_must_be_empty out &&
	test_grep "no run" err &&
	test_expect_code 1 git -C repo mlp report nosuch...HEAD 2>err &&
	test_grep "nosuch" err
'

test_expect_success 'hostile names cannot open HTML or links in the comment' '
	git -C repo checkout -q -b hostile main &&
	mk_run h1 -p "<b>p</b>=[x](javascript:alert(1))" -- sh ../curve.sh 1 0.5 0.05 &&
	git -C repo -c mlp.system.interval=0 mlp run -n "<img src=x onerror=alert(1)>" -- sh ../curve.sh 2 0.5 0.05 2>/dev/null &&
	git -C repo mlp report r1 h1 "<img src=x onerror=alert(1)>" >out &&
	test_grep ! "<img" out &&
	test_grep ! "<b>" out &&
	test_grep "&lt;img src=x onerror=alert(1)&gt;" out &&
	test_grep "&lt;b&gt;p&lt;/b&gt;" out
'

test_expect_success '500 goal metrics: at most 4 charts by default, and under 65,000 characters with all charted' '
	git -C repo checkout -q -b many main &&
	mk_run m1 -- sh ../many.sh &&
	mk_run m2 -- sh ../many.sh &&
	git -C repo mlp report m1 m2 >out &&
	test $(wc -c <out) -lt 65000 &&
	test $(grep -c "^\`\`\`mermaid" out) = 4 &&
	metrics=$(awk "BEGIN { for (k = 0; k < 500; k++) printf \" --metric val_loss_%03d\", k }") &&
	git -C repo mlp report $metrics m1 m2 >all &&
	test $(wc -c <all) -lt 65000 &&
	n=$(grep -c "^\`\`\`mermaid" all) &&
	test $n -gt 10 && test $n -lt 500 &&
	test_grep "^\*\*Left out\*\* to stay under 65000 characters: $((500 - n)) charts (" all &&
	mermaid_check all >/dev/null &&
	git -C repo mlp report --max-chars 5000 $metrics m1 m2 >tight &&
	test $(wc -c <tight) -lt 5000 &&
	test_grep "500 charts (.*; [0-9]* of 500 metric rows" tight
'

test_done
