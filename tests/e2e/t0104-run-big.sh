#!/bin/sh
test_description='git mlp run: big params, many params, many points, big logs'
. "$(dirname "$0")/../lib.sh"

# A JSON line with one 1 MiB string param, and one with 10,000 params.
python3 - <<'PY'
import json, random
random.seed(7)
alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \"\\/\t\u00e9\u4e2d"
big = "".join(random.choice(alphabet) for _ in range(1 << 20))
with open("big.json", "w", encoding="utf-8") as f:
    json.dump({"big": big}, f, ensure_ascii=False)
with open("big.jsonl", "w", encoding="utf-8") as f:
    f.write(json.dumps({"params": {"big": big}}, ensure_ascii=False) + "\n")
many = {}
for i in range(10000):
    many["p%05d" % i] = [i, i + 0.5, "s%d" % i, i % 2 == 0][i % 4]
with open("many.json", "w") as f:
    json.dump(many, f)
with open("many.jsonl", "w") as f:
    f.write(json.dumps({"params": many}) + "\n")
with open("many-args", "w") as f:
    for i in range(10000):
        f.write("-p\nq%05d=%d\n" % (i, i))
with open("points.jsonl", "w") as f:
    for i in range(70000):
        f.write('{"step": %d, "loss": %r}\n' % (i, i / 1024))
PY

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success 'a 1 MiB param value round-trips exactly' '
	git -C repo mlp run -- sh -c "cat ../big.jsonl >>\"\$MLP_METRICS\"" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	mlp_py -c "
import json, mlptest
want = json.load(open(\"big.json\", encoding=\"utf-8\"))
got = mlptest.load_mp(\"params.mp\", strict=False)[\"params\"]
assert got == want, \"params.mp differs: %d keys, len %d\" % (len(got), len(got.get(\"big\", \"\")))
" &&
	git -C repo mlp cat "$id" params.mp >params.json &&
	mlp_py -c "
import json
assert json.load(open(\"params.json\"))[\"params\"] == json.load(open(\"big.json\", encoding=\"utf-8\"))
"
'

test_expect_success '10,000 params from one JSON line round-trip exactly' '
	git -C repo mlp run -- sh -c "cat ../many.jsonl >>\"\$MLP_METRICS\"" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	mlp_py -c "
import json, mlptest
want = json.load(open(\"many.json\"))
got = mlptest.load_mp(\"params.mp\", strict=False)[\"params\"]
assert len(got) == 10000, len(got)
bad = [k for k in want if k not in got or got[k] != want[k] or type(got[k]) is not type(want[k])]
assert not bad, \"differ: %r\" % bad[:5]
" &&
	git -C repo mlp cat "$id" params.mp >params.json &&
	mlp_py -c "
import json
assert json.load(open(\"params.json\"))[\"params\"] == json.load(open(\"many.json\"))
"
'

test_expect_success '10,000 -p options round-trip exactly' '
	set -- $(cat many-args) &&
	test $# = 20000 &&
	git -C repo mlp run "$@" -- true 2>err &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	mlp_py -c "
import mlptest
got = mlptest.load_mp(\"params.mp\", strict=False)[\"params\"]
assert got == {\"q%05d\" % i: i for i in range(10000)}, len(got)
"
'

test_expect_success 'ls and show cope with a run of 10,000 params' '
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "sorted(len(r[\"params\"]) for r in d) == [1, 10000, 10000]" ls.json &&
	git -C repo mlp ls --all >table &&
	test_line_count -ge 4 table
'

test_expect_success '70,000 points of one metric span two chunks and are all kept' '
	git -C repo mlp run -- sh -c "cat ../points.jsonl >>\"\$MLP_METRICS\"" 2>err &&
	id=$(mlp_run_of err -C repo) &&
	git -C repo ls-tree --name-only "refs/mlp/runs/$id:metrics/loss" >chunks &&
	printf "%s\n" 000000.mp 000001.mp >expect &&
	test_cmp expect chunks &&
	git -C repo mlp cat "$id" metrics/loss/000000.mp >c0.json &&
	git -C repo mlp cat "$id" metrics/loss/000001.mp >c1.json &&
	mlp_py -c "
import json
c0, c1 = json.load(open(\"c0.json\")), json.load(open(\"c1.json\"))
assert len(c0[\"step\"]) == 65536, len(c0[\"step\"])
steps = c0[\"step\"] + c1[\"step\"]
values = c0[\"value\"] + c1[\"value\"]
assert steps == list(range(70000))
assert values == [i / 1024 for i in range(70000)]
" &&
	git -C repo mlp show --format=json "$id" >show.json &&
	json_check "d[\"metrics\"][\"loss\"][\"count\"] == 70000 and d[\"metrics\"][\"loss\"][\"step\"] == 69999" show.json
'

test_expect_success 'a few MB of stdout and stderr are teed and stored exactly' '
	python3 -c "
import sys
sys.stdout.buffer.write(bytes(range(256)) * 12000 + b\"\\n\")
" >big-out &&
	git -C repo mlp run -- sh -c "cat ../big-out; cat ../big-out >&2" >out 2>err &&
	cmp big-out out &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" logs/stdout -C repo >stored &&
	cmp big-out stored &&
	mlp_blob "$id" logs/stderr -C repo >stored-err &&
	cmp big-out stored-err
'

test_done
