#!/bin/sh
test_description='git mlp run: params from -p, from argv flags, odd keys'
. "$(dirname "$0")/../lib.sh"

cat >train.sh <<'SCRIPT'
exit 0
SCRIPT

# params ERRFILE: the params of the run recorded in ERRFILE as JSON, from
# params.mp decoded here (raw.json) and by git mlp cat (params.json).
# params.mp is {"v": 1, "params": {key: value}}.
params () {
	id=$(mlp_run_of "$1" -C repo) &&
	mlp_blob "$id" params.mp -C repo >params.mp &&
	mlp_py -c '
import json, mlptest
d = mlptest.load_mp("params.mp", strict=False)
assert d["v"] == 1, d
json.dump(mlptest.to_jsonable(d["params"]), open("raw.json", "w"))
' &&
	git -C repo mlp cat "$id" params.mp >cat.json &&
	json_get "d[\"params\"]" cat.json >params.json
}

test_expect_success 'setup' '
	mlp_new_repo repo &&
	git -C repo mlp init
'

test_expect_success '-p values are typed: int, float, bool, string' '
	git -C repo mlp run -p epochs=10 -p neg=-5 -p lr=0.01 -p whole=2.0 -p sci=1e-3 \
		-p on=true -p off=false -p model=cnn -p ver=1.2.3 -p expr=a=b -p empty= \
		-- true 2>err &&
	params err &&
	for f in raw.json params.json; do
		json_check "d == {\"epochs\": 10, \"neg\": -5, \"lr\": 0.01, \"whole\": 2.0, \"sci\": 0.001, \"on\": True, \"off\": False, \"model\": \"cnn\", \"ver\": \"1.2.3\", \"expr\": \"a=b\", \"empty\": \"\"}" $f &&
		json_check "type(d[\"epochs\"]) is int and type(d[\"neg\"]) is int" $f &&
		json_check "type(d[\"lr\"]) is float and type(d[\"whole\"]) is float and type(d[\"sci\"]) is float" $f &&
		json_check "d[\"on\"] is True and d[\"off\"] is False" $f || return 1
	done
'

test_expect_success 'a -p without = is refused' '
	mlp_runs -C repo >before &&
	test_must_fail git -C repo mlp run -p novalue -- true 2>err &&
	mlp_runs -C repo >after &&
	test_cmp before after
'

test_expect_success 'argv flags of the command become params' '
	git -C repo mlp run -- sh ../train.sh data.csv --lr 0.01 --epochs=3 --verbose --model cnn --dry-run 2>err &&
	params err &&
	for f in raw.json params.json; do
		json_check "d == {\"lr\": 0.01, \"epochs\": 3, \"verbose\": True, \"model\": \"cnn\", \"dry-run\": True}" $f || return 1
	done
'

test_expect_success '--no-args-params keeps argv flags out of params' '
	git -C repo mlp run --no-args-params -p kept=1 -- sh ../train.sh --lr 0.01 --verbose 2>err &&
	params err &&
	json_check "d == {\"kept\": 1}" raw.json
'

test_expect_success '-p wins over an argv flag' '
	git -C repo mlp run -p lr=0.5 -- sh ../train.sh --lr 0.01 --epochs 2 2>err &&
	params err &&
	json_check "d == {\"lr\": 0.5, \"epochs\": 2}" raw.json
'

test_expect_success 'the command keeps its own argv, flags included' '
	git -C repo mlp run -- sh -c "printf \"<%s>\" \"\$@\"" arg0 --lr 0.01 "two words" --x=y >out 2>err &&
	printf "<--lr><0.01><two words><--x=y>" >expect &&
	test_cmp expect out &&
	id=$(mlp_run_of err -C repo) &&
	mlp_blob "$id" run.mp -C repo >run.mp &&
	json_check "d[\"cmd\"][-4:] == [\"--lr\", \"0.01\", \"two words\", \"--x=y\"]" run.mp
'

test_expect_success 'odd but valid UTF-8 keys round-trip exactly' '
	tab=$(printf "\t") &&
	git -C repo mlp run -p "a b=1" -p "q\"uote=2" -p "back\\slash=3" -p "tab${tab}key=4" \
		-p "λr=5" -p "opt/lr=6" -p "model.depth=7" -p "%41=8" -p "-dash=9" -- true 2>err &&
	params err &&
	for f in raw.json params.json; do
		json_check "d == {\"a b\": 1, \"q\\\"uote\": 2, \"back\\\\slash\": 3, \"tab\\tkey\": 4, \"\\u03bbr\": 5, \"opt/lr\": 6, \"model.depth\": 7, \"%41\": 8, \"-dash\": 9}" $f || return 1
	done
'

test_expect_success 'a key that is not UTF-8 is kept byte for byte or refused cleanly' '
	key=$(printf "k\377ey") &&
	if git -C repo mlp run -p "$key=1" -- true 2>err
	then
			params err &&
		json_check "d == {\"k\\udcffey\": 1}" raw.json
	else
		rc=$? &&
		echo "refused with exit $rc" &&
		test $rc = 1 || test $rc = 128 || test $rc = 129
	fi
'

test_expect_success 'params from -p show up in ls and show' '
	git -C repo mlp run -n typed -p lr=0.25 -p model=mlp -- true 2>err &&
	git -C repo mlp show --format=json typed >show.json &&
	json_check "d[\"params\"] == {\"lr\": 0.25, \"model\": \"mlp\"}" show.json &&
	git -C repo mlp ls --all --format=json >ls.json &&
	json_check "[r[\"params\"] for r in d if r[\"name\"] == \"typed\"] == [{\"lr\": 0.25, \"model\": \"mlp\"}]" ls.json
'

test_done
