/*
 * The query language of `ls --where`: parse the input, match it against
 * a fixed run; the input is also tried as a field key and a sort key.
 */
#include "fuzz.h"

static struct mlp_run *fixed[2];

static void set(struct mlp_map *m, const char *key, const char *val)
{
	struct mlp_value v;
	mlp_value_parse(&v, val, strlen(val));
	mlp_map_set(m, key, &v);
}

static void setup(void)
{
	struct mlp_value v;

	for (int i = 0; i < 2; i++) {
		struct mlp_run *r = mlp_run_new();
		memcpy(r->id, i ? "fedcba9876543210fedcba9876543210" : "0123456789abcdef0123456789abcdef",
		       MLP_ID_HEXSZ + 1);
		r->name = mlp_strdup(i ? "brave-otter" : "calm-heron");
		r->experiment = mlp_strdup("mnist");
		r->status = i ? MLP_STATUS_RUNNING : MLP_STATUS_FINISHED;
		r->started = 1700000000000 + i;
		r->ended = i ? 0 : 1700000060000;
		r->has_exit_code = !i;
		r->host = mlp_strdup("box");
		r->user = mlp_strdup("ana");
		r->branch = i ? NULL : mlp_strdup("main");
		set(&r->params, "lr", i ? "0.01" : "0.1");
		set(&r->params, "model", "cnn");
		set(&r->params, "optimizer.name", "adam");
		set(&r->params, "flag", "true");
		memset(&v, 0, sizeof(v));
		mlp_map_set(&r->params, "none", &v);
		set(&r->tags, "stage", "prod");
		set(&r->tags, "val loss", "x");
		for (int s = 0; s < 5; s++) {
			mlp_run_add_point(r, "acc", s, 0.5 + 0.1 * s, 1700000000000 + s);
			mlp_run_add_point(r, "loss", s, s == 3 && i ? 0.0 / 0.0 : 1.0 / (s + 1), 1700000000000 + s);
			mlp_run_add_point(r, "acc.min", s, 7, 1700000000000 + s);
		}
		mlp_run_summarize(r);
		fixed[i] = r;
	}
}

static int view_match(const struct mlp_run *run, const struct mlp_query *q, int *m)
{
	struct mlp_buf rec[3] = { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT };
	struct mlp_run_view v;
	int err;

	mlp_record_encode_run(&rec[0], run);
	mlp_record_encode_params(&rec[1], &run->params);
	mlp_record_encode_summary(&rec[2], run);
	memset(&v, 0, sizeof(v));
	v.id = run->id;
	v.name = run->name;
	v.name_len = run->name ? strlen(run->name) : 0;
	v.status = run->status;
	v.base = run->base;
	v.dirty = run->dirty;
	v.started = run->started;
	for (int f = 0; f < 3; f++) {
		v.rec[f] = rec[f].buf;
		v.len[f] = rec[f].len;
	}
	err = mlp_query_match_view(q, &v, m);
	for (int f = 0; f < 3; f++)
		mlp_buf_release(&rec[f]);
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = fuzz_cstr(data, size);
	struct mlp_query *q = NULL;
	struct mlp_value v;
	int err, match, found;

	if (!fixed[0])
		setup();
	err = mlp_query_parse(&q, expr);
	fuzz_check_error(err);
	if (err < 0 && mlp_query_error_column() > size)
		__builtin_trap();
	if (!err) {
		for (int i = 0; i < 2; i++) {
			int e1 = mlp_query_match(q, fixed[i], &match);
			fuzz_check_error(e1);
			/* the index's way, from the records' bytes, agrees */
			if (mlp_query_view_ok(q)) {
				int vm = -1, e2 = view_match(fixed[i], q, &vm);
				if (e2 != e1 || vm != match)
					__builtin_trap();
			}
		}
	}
	mlp_query_free(q);

	err = mlp_run_field(fixed[0], expr, &v, &found);
	fuzz_check_error(err);
	mlp_value_clear(&v);

	if (size && size < 4096) {
		struct mlp_run_list list = MLP_RUN_LIST_INIT;
		const char *keys[1] = { expr };
		list.runs = fixed;
		list.nr = 2;
		fuzz_check_error(mlp_run_list_sort(&list, keys, 1));
	}
	free(expr);
	return 0;
}
