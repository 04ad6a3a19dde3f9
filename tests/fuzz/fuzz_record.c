/*
 * The msgpack records of a run tree (run.mp, params.mp, summary.mp,
 * metrics/<key>/<n>.mp), as fetched from someone else's repository:
 * every decoder, `git mlp cat`'s JSON form, and the renderers of
 * `git mlp show` over whatever decoded.  An input holding 0xc1 bytes
 * (a byte msgpack never uses) is also split there into run.mp,
 * params.mp and summary.mp and loaded as a whole run.
 */
#include "fuzz.h"
#include "internal.h"

static void render(const struct mlp_run *run)
{
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_render_opts o = { 0 };
	struct mlp_run_list list = MLP_RUN_LIST_INIT;

	mlp_render_run_json(&b, run, 1);
	mlp_render_show(&b, run, MLP_FMT_TEXT, &o);
	mlp_render_show(&b, run, MLP_FMT_JSON, &o);
	list.runs = (struct mlp_run **)&run;
	list.nr = 1;
	mlp_render_list(&b, &list, MLP_FMT_TABLE, &o);
	mlp_render_list(&b, &list, MLP_FMT_CSV, &o);
	mlp_buf_release(&b);
}

/* What the decoder found, the lookup without decoding finds the same. */
static void check_lookups(const struct mlp_map *params, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < params->nr; i++) {
		const struct mlp_kv *kv = &params->items[i];
		struct mlp_value v;
		int found = mlp_record_find_param(data, size, kv->key, strlen(kv->key), &v);
		if (found != 1 || v.type != kv->val.type)
			abort();
		if (v.type == MLP_STR && (v.u.str.len != kv->val.u.str.len ||
					  memcmp(v.u.str.s, kv->val.u.str.s, v.u.str.len)))
			abort();
		if ((v.type == MLP_INT && v.u.i != kv->val.u.i) || (v.type == MLP_BOOL && v.u.b != kv->val.u.b) ||
		    (v.type == MLP_FLOAT && memcmp(&v.u.f, &kv->val.u.f, sizeof(double))))
			abort();
	}
}

/*
 * A listing of the records' bytes as the index keeps them (views) reads
 * exactly as the listing of the run they decode to, or gives up (1).
 */
static void check_views(const struct mlp_run *run, const struct mlp_buf raw[3])
{
	struct mlp_run_view v[2];
	struct mlp_view_list views = { v, 2, 1, NULL };
	const struct mlp_run *two[2] = { run, run };
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_render_opts o = { .now_ms = 1700000000000 };
	struct mlp_buf a = MLP_BUF_INIT, b = MLP_BUF_INIT;

	memset(v, 0, sizeof(v));
	for (int k = 0; k < 2; k++) {
		v[k].id = run->id;
		v[k].name = run->name ? run->name : "";
		v[k].name_len = run->name ? strlen(run->name) : 0;
		v[k].status = run->status;
		v[k].base = run->base;
		v[k].dirty = run->dirty;
		v[k].started = run->started;
		for (int f = 0; f < 3; f++) {
			v[k].rec[f] = raw[f].buf;
			v[k].len[f] = raw[f].len;
		}
	}
	list.runs = (struct mlp_run **)two;
	list.nr = 2;
	if (run->status != MLP_STATUS_RUNNING && (!run->name || *run->name) &&
	    mlp_render_views(&a, &views, MLP_FMT_TABLE, &o) == 0) {
		mlp_render_list(&b, &list, MLP_FMT_TABLE, &o);
		if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
			abort();
	}
	mlp_buf_release(&a);
	mlp_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_map params = MLP_MAP_INIT;
	struct mlp_buf json = MLP_BUF_INIT;
	int err;

	err = mlp_record_decode_run(run, data, size);
	fuzz_check_error(err);
	if (!err)
		render(run);
	err = mlp_record_decode_params(&params, data, size);
	fuzz_check_error(err);
	if (!err)
		check_lookups(&params, data, size);
	{
		/* the lookups of the index's filter, on any bytes */
		struct mlp_value v;
		struct mlp_summary s;
		mlp_record_find_param(data, size, "lr", 2, &v);
		mlp_record_find_tag(data, size, "stage", 5, &v);
		mlp_record_find_summary(data, size, "loss", 4, &s);
	}
	err = mlp_record_decode_summary(run, data, size);
	fuzz_check_error(err);
	err = mlp_record_decode_chunk(run, "loss", data, size);
	fuzz_check_error(err);
	if (!err) {
		mlp_run_summarize(run);
		render(run);
	}
	err = mlp_record_to_json(&json, data, size);
	fuzz_check_error(err);
	mlp_buf_release(&json);
	mlp_map_clear(&params);
	mlp_run_free(run);

	/* run.mp 0xc1 params.mp 0xc1 summary.mp */
	if (memchr(data, 0xc1, size)) {
		struct mlp_buf raw[3] = { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT };
		const uint8_t *p = data, *end = data + size;
		for (int i = 0; i < 3 && p <= end; i++) {
			const uint8_t *sep = i < 2 ? memchr(p, 0xc1, (size_t)(end - p)) : NULL;
			size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);
			mlp_buf_add(&raw[i], p, n);
			p += n + 1;
			if (!sep)
				break;
		}
		run = NULL;
		err = mlp_run_from_records(&run, "0123456789abcdef0123456789abcdef",
					   "89abcdef0123456789abcdef0123456789abcdef", 1700000000, "", raw);
		fuzz_check_error(err);
		if (!err) {
			render(run);
			check_views(run, raw);
		}
		mlp_run_free(run);
		for (int i = 0; i < 3; i++)
			mlp_buf_release(&raw[i]);
	}
	return 0;
}
