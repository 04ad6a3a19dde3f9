/*
 * lib/record.c: the msgpack records of format v1.  Round trips of every
 * record, version handling, refusals, JSON output and metric key paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

#define RUN_ID "0123456789abcdef0123456789abcdef"
#define BASE "89abcdef0123456789abcdef0123456789abcdef"

/* ---- helpers ------------------------------------------------------------------ */

static int buf_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void set_str(struct mlp_map *m, const char *k, const char *v)
{
	struct mlp_value val;

	memset(&val, 0, sizeof(val));
	mlp_value_set_str(&val, v, strlen(v));
	mlp_map_set(m, k, &val);
}

static void set_int(struct mlp_map *m, const char *k, int64_t i)
{
	struct mlp_value val = { .type = MLP_INT };

	val.u.i = i;
	mlp_map_set(m, k, &val);
}

static void set_float(struct mlp_map *m, const char *k, double f)
{
	struct mlp_value val = { .type = MLP_FLOAT };

	val.u.f = f;
	mlp_map_set(m, k, &val);
}

static void set_bool(struct mlp_map *m, const char *k, int b)
{
	struct mlp_value val = { .type = MLP_BOOL };

	val.u.b = b;
	mlp_map_set(m, k, &val);
}

static void set_nil(struct mlp_map *m, const char *k)
{
	struct mlp_value val = { .type = MLP_NIL };

	mlp_map_set(m, k, &val);
}

static int same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void assert_str_or_null(const char *what, const char *a, const char *b)
{
	if (!a && !b)
		return;
	if (!a || !b || strcmp(a, b))
		fail_msg("%s: '%s' != '%s'", what, a ? a : "(null)", b ? b : "(null)");
}

static void assert_map_equal(const char *what, const struct mlp_map *a, const struct mlp_map *b)
{
	if (a->nr != b->nr)
		fail_msg("%s: %zu entries != %zu", what, a->nr, b->nr);
	for (size_t i = 0; i < a->nr; i++) {
		if (strcmp(a->items[i].key, b->items[i].key))
			fail_msg("%s: key %zu '%s' != '%s'", what, i, a->items[i].key, b->items[i].key);
		if (!mlp_value_equal(&a->items[i].val, &b->items[i].val))
			fail_msg("%s: value of '%s' differs", what, a->items[i].key);
		if (a->items[i].val.type == MLP_FLOAT &&
		    !same_double(a->items[i].val.u.f, b->items[i].val.u.f))
			fail_msg("%s: float '%s' not bit-exact", what, a->items[i].key);
	}
}

static void assert_run_equal(const struct mlp_run *a, const struct mlp_run *b)
{
	assert_string_equal(a->id, b->id);
	assert_str_or_null("name", a->name, b->name);
	assert_str_or_null("experiment", a->experiment, b->experiment);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->cmd_nr, b->cmd_nr);
	for (size_t i = 0; i < a->cmd_nr; i++)
		assert_str_or_null("cmd", a->cmd[i], b->cmd[i]);
	assert_str_or_null("cwd", a->cwd ? a->cwd : "", b->cwd);
	assert_string_equal(a->base, b->base);
	assert_str_or_null("branch", a->branch, b->branch);
	assert_int_equal(!!a->dirty, !!b->dirty);
	assert_true(a->started == b->started);
	assert_true(a->ended == b->ended);
	assert_int_equal(!!a->has_exit_code, !!b->has_exit_code);
	if (a->has_exit_code)
		assert_int_equal(a->exit_code, b->exit_code);
	assert_int_equal(a->signal, b->signal);
	assert_str_or_null("host", a->host, b->host);
	assert_str_or_null("user", a->user, b->user);
	assert_true(a->cpu_ms == b->cpu_ms);
	assert_true(a->maxrss_kb == b->maxrss_kb);
	assert_map_equal("env", &a->env, &b->env);
	assert_str_or_null("parent", a->parent, b->parent);
	assert_map_equal("tags", &a->tags, &b->tags);
	assert_str_or_null("note", a->note, b->note);
	assert_true(a->pid == b->pid);
	assert_true(a->pid_start == b->pid_start);
}

static struct mlp_run *full_run(void)
{
	struct mlp_run *run = mlp_run_new();
	static const char *const argv[] = {
		"python", "train.py", "--lr", "0.01", "a b", "", "ü", "tab\there",
		"new\nline", "\x01\x7f\xff\xfe", "quote\"'\\", "%zz",
	};

	memcpy(run->id, RUN_ID, sizeof(RUN_ID));
	run->name = mlp_strdup("brave-otter");
	run->experiment = mlp_strdup("exp/ü 1");
	run->status = MLP_STATUS_FAILED;
	run->cmd_nr = sizeof(argv) / sizeof(argv[0]);
	run->cmd = mlp_calloc(run->cmd_nr + 1, sizeof(char *));
	for (size_t i = 0; i < run->cmd_nr; i++)
		run->cmd[i] = mlp_strdup(argv[i]);
	run->cwd = mlp_strdup("sub/dir");
	memcpy(run->base, BASE, sizeof(BASE));
	run->branch = mlp_strdup("feature/x");
	run->dirty = 1;
	run->started = 1700000000123LL;
	run->ended = 1700000999456LL;
	run->has_exit_code = 1;
	run->exit_code = 137;
	run->signal = 9;
	run->host = mlp_strdup("host-1");
	run->user = mlp_strdup("alice");
	run->cpu_ms = 123456789012LL;
	run->maxrss_kb = 2097152;
	set_str(&run->env, "CUDA_VISIBLE_DEVICES", "0,1");
	set_str(&run->env, "PYTHONHASHSEED", "0");
	run->parent = mlp_strdup("fedcba9876543210fedcba9876543210");
	set_str(&run->tags, "team", "vision");
	set_str(&run->tags, "a b", "ü");
	set_str(&run->tags, "empty", "");
	run->note = mlp_strdup("a note\nwith two lines");
	run->pid = 4242;
	run->pid_start = 987654321;
	return run;
}

static struct mlp_run *roundtrip_run(const struct mlp_run *in)
{
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_run *out = mlp_run_new();
	int err;

	assert_int_equal(mlp_record_encode_run(&b, in), 0);
	err = mlp_record_decode_run(out, b.buf, b.len);
	if (err)
		fail_msg("decode_run: %d %s", err, mlp_error_message());
	mlp_buf_release(&b);
	return out;
}

/* ---- run.mp ----------------------------------------------------------------------- */

static void test_run_roundtrip_full(void **state)
{
	struct mlp_run *in = full_run(), *out;

	(void)state;
	out = roundtrip_run(in);
	assert_run_equal(in, out);
	mlp_run_free(in);
	mlp_run_free(out);
}

static void test_run_roundtrip_minimal(void **state)
{
	struct mlp_run *in = mlp_run_new(), *out;

	(void)state;
	memcpy(in->id, RUN_ID, sizeof(RUN_ID));
	in->status = MLP_STATUS_RUNNING;
	out = roundtrip_run(in);
	assert_run_equal(in, out);
	assert_null(out->name);
	assert_null(out->experiment);
	assert_null(out->branch);
	assert_null(out->host);
	assert_null(out->user);
	assert_null(out->parent);
	assert_null(out->note);
	assert_string_equal(out->base, "");
	assert_string_equal(out->cwd, "");
	assert_int_equal(out->cmd_nr, 0);
	assert_false(out->has_exit_code);
	assert_int_equal(out->signal, 0);
	assert_true(out->ended == 0);
	assert_int_equal(out->env.nr, 0);
	assert_int_equal(out->tags.nr, 0);
	mlp_run_free(in);
	mlp_run_free(out);
}

static void test_run_exit_codes(void **state)
{
	static const struct { int has, code, sig; } cases[] = {
		{ 1, 0, 0 }, { 1, 1, 0 }, { 1, 255, 0 }, { 1, 130, 2 }, { 0, 0, 15 }, { 1, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mlp_run *in = mlp_run_new(), *out;
		memcpy(in->id, RUN_ID, sizeof(RUN_ID));
		in->status = MLP_STATUS_KILLED;
		in->has_exit_code = cases[i].has;
		in->exit_code = cases[i].code;
		in->signal = cases[i].sig;
		out = roundtrip_run(in);
		assert_int_equal(out->has_exit_code, cases[i].has);
		assert_int_equal(out->exit_code, cases[i].has ? cases[i].code : 0);
		assert_int_equal(out->signal, cases[i].sig);
		assert_int_equal(out->status, MLP_STATUS_KILLED);
		mlp_run_free(in);
		mlp_run_free(out);
	}
}

static void test_run_every_status(void **state)
{
	(void)state;
	for (int s = MLP_STATUS_RUNNING; s <= MLP_STATUS_CRASHED; s++) {
		struct mlp_run *in = mlp_run_new(), *out;
		memcpy(in->id, RUN_ID, sizeof(RUN_ID));
		in->status = s;
		out = roundtrip_run(in);
		assert_int_equal(out->status, s);
		mlp_run_free(in);
		mlp_run_free(out);
	}
}

/* Decoding into a run that already has fields replaces them, leak-free. */
static void test_run_decode_twice(void **state)
{
	struct mlp_run *in = full_run(), *out = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	assert_int_equal(mlp_record_encode_run(&b, in), 0);
	assert_int_equal(mlp_record_decode_run(out, b.buf, b.len), 0);
	assert_int_equal(mlp_record_decode_run(out, b.buf, b.len), 0);
	assert_int_equal(out->cmd_nr, in->cmd_nr);
	assert_int_equal(out->tags.nr, in->tags.nr);
	mlp_buf_release(&b);
	mlp_run_free(in);
	mlp_run_free(out);
}

/* A run record holds exactly the keys of format v1, nothing trails it. */
static void test_run_record_well_formed(void **state)
{
	struct mlp_run *in = full_run();
	struct mlp_buf b = MLP_BUF_INIT;
	msgpack_unpacked u;
	size_t off = 0;

	(void)state;
	assert_int_equal(mlp_record_encode_run(&b, in), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, b.buf, b.len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	if (off != b.len)
		fail_msg("run.mp: the map ends at byte %zu of %zu (map of %u pairs)", off, b.len,
			 u.data.via.map.size);
	/* every key once */
	for (uint32_t i = 0; i < u.data.via.map.size; i++)
		for (uint32_t j = i + 1; j < u.data.via.map.size; j++) {
			msgpack_object_str *x = &u.data.via.map.ptr[i].key.via.str;
			msgpack_object_str *y = &u.data.via.map.ptr[j].key.via.str;
			assert_false(x->size == y->size && !memcmp(x->ptr, y->ptr, x->size));
		}
	msgpack_unpacked_destroy(&u);
	mlp_buf_release(&b);
	mlp_run_free(in);
}

static void test_run_to_json(void **state)
{
	struct mlp_run *in = full_run();
	struct mlp_buf b = MLP_BUF_INIT, j = MLP_BUF_INIT;
	int err;

	(void)state;
	assert_int_equal(mlp_record_encode_run(&b, in), 0);
	err = mlp_record_to_json(&j, b.buf, b.len);
	if (err)
		fail_msg("to_json of run.mp: %d %s", err, mlp_error_message());
	assert_non_null(strstr(j.buf, "\"v\":1"));
	assert_non_null(strstr(j.buf, "\"id\":\"" RUN_ID "\""));
	assert_non_null(strstr(j.buf, "\"status\":\"failed\""));
	assert_non_null(strstr(j.buf, "\"note\":\"a note\\nwith two lines\""));
	assert_non_null(strstr(j.buf, "\"rusage\":{\"cpu_ms\":123456789012,\"maxrss_kb\":2097152}"));
	mlp_buf_release(&b);
	mlp_buf_release(&j);
	mlp_run_free(in);
}

static void test_run_refusals(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	msgpack_packer pk;
	struct mlp_run *run;

	(void)state;
	/* no id */
	msgpack_packer_init(&pk, &b, buf_write);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "name"); pk_str(&pk, "x");
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);

	/* ids that are not 32 lowercase hex digits */
	static const char *const bad_ids[] = {
		"0123456789ABCDEF0123456789ABCDEF", "0123", "0123456789abcdef0123456789abcdef0",
		"0123456789abcdef0123456789abcdeg", "", "../../../../etc/passwd0123456789ab",
	};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		mlp_buf_reset(&b);
		msgpack_pack_map(&pk, 2);
		pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
		pk_str(&pk, "id"); pk_str(&pk, bad_ids[i]);
		run = mlp_run_new();
		assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
		mlp_run_free(run);
	}
	/* unknown status, bad base */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "status"); pk_str(&pk, "exploded");
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "base"); pk_str(&pk, "HEAD");
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);
	/* wrong types */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "started"); pk_str(&pk, "yesterday");
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "cmd"); msgpack_pack_array(&pk, 2); pk_str(&pk, "ok"); msgpack_pack_int(&pk, 3);
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);
	/* a NUL inside a string */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 3);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "name"); msgpack_pack_str(&pk, 3); msgpack_pack_str_body(&pk, "a\0b", 3);
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	mlp_run_free(run);
	/* not a map at all */
	mlp_buf_reset(&b);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 1);
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), MLP_ECORRUPT);
	assert_int_equal(mlp_record_decode_run(run, "", 0), MLP_ECORRUPT);
	mlp_run_free(run);
	mlp_buf_release(&b);
}

static void test_run_unknown_keys_skipped(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	msgpack_packer pk;
	struct mlp_run *run = mlp_run_new();

	(void)state;
	msgpack_packer_init(&pk, &b, buf_write);
	msgpack_pack_map(&pk, 7);
	pk_str(&pk, "future"); msgpack_pack_map(&pk, 2);
	pk_str(&pk, "x"); msgpack_pack_array(&pk, 3);
	msgpack_pack_nil(&pk); msgpack_pack_double(&pk, 1.5); msgpack_pack_bin(&pk, 2); msgpack_pack_bin_body(&pk, "ab", 2);
	pk_str(&pk, "y"); msgpack_pack_ext(&pk, 4, 9); msgpack_pack_ext_body(&pk, "abcd", 4);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "zzz"); msgpack_pack_uint64(&pk, UINT64_MAX);
	pk_str(&pk, "name"); pk_str(&pk, "n1");
	pk_str(&pk, "rusage"); msgpack_pack_map(&pk, 2);
	pk_str(&pk, "gpu_ms"); msgpack_pack_int(&pk, 5);
	pk_str(&pk, "cpu_ms"); msgpack_pack_int(&pk, 77);
	pk_str(&pk, "status"); pk_str(&pk, "finished");
	assert_int_equal(mlp_record_decode_run(run, b.buf, b.len), 0);
	assert_string_equal(run->id, RUN_ID);
	assert_string_equal(run->name, "n1");
	assert_true(run->cpu_ms == 77);
	assert_int_equal(run->status, MLP_STATUS_FINISHED);
	mlp_run_free(run);
	mlp_buf_release(&b);
}

/* Every strict prefix of a record is refused; nothing crashes. */
static void test_run_truncated(void **state)
{
	struct mlp_run *in = full_run();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	assert_int_equal(mlp_record_encode_run(&b, in), 0);
	for (size_t cut = 0; cut < b.len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		struct mlp_run *out = mlp_run_new();
		memcpy(copy, b.buf, cut);
		int err = mlp_record_decode_run(out, copy, cut);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("run.mp cut to %zu of %zu bytes: %d", cut, b.len, err);
		mlp_run_free(out);
		free(copy);
	}
	mlp_buf_release(&b);
	mlp_run_free(in);
}

/* ---- versions ------------------------------------------------------------------------ */

static void pack_versioned(struct mlp_buf *b, int with_v, int64_t v, int v_last)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, b, buf_write);
	msgpack_pack_map(&pk, with_v ? 4 : 3);
	if (with_v && !v_last) {
		pk_str(&pk, "v");
		msgpack_pack_int64(&pk, v);
	}
	pk_str(&pk, "id"); pk_str(&pk, RUN_ID);
	pk_str(&pk, "params"); msgpack_pack_map(&pk, 0);
	pk_str(&pk, "metrics"); msgpack_pack_map(&pk, 0);
	if (with_v && v_last) {
		pk_str(&pk, "v");
		msgpack_pack_int64(&pk, v);
	}
}

static void check_all_decoders(const struct mlp_buf *b, int want, const char *msg)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_buf j = MLP_BUF_INIT;
	int err;

	err = mlp_record_decode_run(run, b->buf, b->len);
	assert_int_equal(err, want);
	if (msg)
		assert_non_null(strstr(mlp_error_message(), msg));
	assert_int_equal(mlp_record_decode_params(&m, b->buf, b->len), want);
	if (msg)
		assert_non_null(strstr(mlp_error_message(), msg));
	assert_int_equal(mlp_record_decode_summary(run, b->buf, b->len), want);
	if (msg)
		assert_non_null(strstr(mlp_error_message(), msg));
	assert_int_equal(mlp_record_decode_chunk(run, "loss", b->buf, b->len), want);
	if (msg)
		assert_non_null(strstr(mlp_error_message(), msg));
	assert_int_equal(mlp_record_to_json(&j, b->buf, b->len), want);
	if (msg)
		assert_non_null(strstr(mlp_error_message(), msg));
	assert_int_equal(j.len, 0);
	assert_int_equal(run->series_nr, 0);
	mlp_buf_release(&j);
	mlp_map_clear(&m);
	mlp_run_free(run);
}

static void test_version_newer(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	pack_versioned(&b, 1, 2, 0);
	check_all_decoders(&b, MLP_EVERSION, "uses format 2; this git-mlp reads format 1");
	mlp_buf_reset(&b);
	pack_versioned(&b, 1, 2, 1);	/* "v" need not come first */
	check_all_decoders(&b, MLP_EVERSION, "uses format 2; this git-mlp reads format 1");
	mlp_buf_reset(&b);
	pack_versioned(&b, 1, 1000, 0);
	check_all_decoders(&b, MLP_EVERSION, "uses format 1000; this git-mlp reads format 1");
	mlp_buf_release(&b);

	/* a newer version is refused even when the rest would not decode as v1 */
	{
		msgpack_packer pk;
		msgpack_packer_init(&pk, &b, buf_write);
		msgpack_pack_map(&pk, 3);
		pk_str(&pk, "v"); msgpack_pack_int(&pk, 2);
		pk_str(&pk, "id"); msgpack_pack_int(&pk, 12);
		pk_str(&pk, "params"); msgpack_pack_array(&pk, 0);
		check_all_decoders(&b, MLP_EVERSION, "uses format 2");
		mlp_buf_release(&b);
	}
}

static void test_version_missing_or_bad(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	msgpack_packer pk;

	(void)state;
	pack_versioned(&b, 0, 0, 0);
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_reset(&b);
	pack_versioned(&b, 1, 0, 0);
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_reset(&b);
	pack_versioned(&b, 1, -1, 0);
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_reset(&b);
	msgpack_packer_init(&pk, &b, buf_write);
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "v"); pk_str(&pk, "1");
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "v"); msgpack_pack_double(&pk, 1.0);
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 0);
	check_all_decoders(&b, MLP_ECORRUPT, NULL);
	mlp_buf_release(&b);
}

static void test_record_size_limit(void **state)
{
	size_t len = MLP_MAX_RECORD_SIZE + 1;
	char *big = calloc(1, len);
	struct mlp_map m = MLP_MAP_INIT;

	(void)state;
	assert_non_null(big);
	big[0] = (char)0x80;
	assert_int_equal(mlp_record_decode_params(&m, big, len), MLP_ELIMIT);
	free(big);
}

/* ---- params.mp --------------------------------------------------------------------------- */

static void roundtrip_params(const struct mlp_map *in, struct mlp_map *out)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	assert_int_equal(mlp_record_encode_params(&b, in), 0);
	err = mlp_record_decode_params(out, b.buf, b.len);
	if (err)
		fail_msg("decode_params: %d %s", err, mlp_error_message());
	mlp_buf_release(&b);
}

static void test_params_types(void **state)
{
	struct mlp_map in = MLP_MAP_INIT, out = MLP_MAP_INIT;
	struct mlp_value v;

	(void)state;
	set_int(&in, "int", 3);
	set_int(&in, "int.neg", -7);
	set_int(&in, "int.max", INT64_MAX);
	set_int(&in, "int.min", INT64_MIN);
	set_float(&in, "float", 0.01);
	set_float(&in, "float.neg0", -0.0);
	set_float(&in, "float.tiny", 4.9e-324);
	set_float(&in, "float.big", DBL_MAX);
	set_float(&in, "float.nan", NAN);
	set_float(&in, "float.inf", -INFINITY);
	set_float(&in, "float.whole", 2.0);	/* stays a float */
	set_bool(&in, "bool.t", 1);
	set_bool(&in, "bool.f", 0);
	set_nil(&in, "nil");
	set_str(&in, "str", "cnn");
	set_str(&in, "str.empty", "");
	set_str(&in, "str.num", "3");	/* a string that looks like a number */
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, "nul\0inside", 10);
	mlp_map_set(&in, "str.nul", &v);
	set_str(&in, "a b", "space");
	set_str(&in, "ü", "umlaut");
	set_str(&in, "x/y", "slash");
	set_str(&in, "%", "percent");
	set_str(&in, "\x01\x7f", "control");
	roundtrip_params(&in, &out);
	assert_map_equal("params", &in, &out);
	assert_int_equal(mlp_map_get(&out, "float.whole")->type, MLP_FLOAT);
	assert_int_equal(mlp_map_get(&out, "str.num")->type, MLP_STR);
	assert_int_equal(mlp_map_get(&out, "str.nul")->u.str.len, 10);
	mlp_map_clear(&in);
	mlp_map_clear(&out);
}

static void test_params_big_string(void **state)
{
	struct mlp_map in = MLP_MAP_INIT, out = MLP_MAP_INIT;
	size_t len = 1 << 20;
	char *s = malloc(len);
	struct mlp_value v;

	(void)state;
	for (size_t i = 0; i < len; i++)
		s[i] = (char)(' ' + i % 90);
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, s, len);
	mlp_map_set(&in, "config", &v);
	roundtrip_params(&in, &out);
	assert_int_equal(out.nr, 1);
	assert_int_equal(out.items[0].val.type, MLP_STR);
	assert_int_equal(out.items[0].val.u.str.len, len);
	assert_memory_equal(out.items[0].val.u.str.s, s, len);
	free(s);
	mlp_map_clear(&in);
	mlp_map_clear(&out);
}

static void test_params_many(void **state)
{
	struct mlp_map in = MLP_MAP_INIT, out = MLP_MAP_INIT;
	char key[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "p%05d", (i * 7919) % 10000);
		if (i % 3 == 0)
			set_int(&in, key, i);
		else if (i % 3 == 1)
			set_float(&in, key, i / 3.0);
		else
			set_str(&in, key, key);
	}
	assert_int_equal(in.nr, 10000);
	roundtrip_params(&in, &out);
	assert_map_equal("params", &in, &out);
	mlp_map_clear(&in);
	mlp_map_clear(&out);
}

static void test_params_limits(void **state)
{
	struct mlp_map in = MLP_MAP_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	char key[MLP_MAX_KEY_LEN + 2];

	(void)state;
	/* empty key */
	set_int(&in, "", 1);
	assert_int_equal(mlp_record_encode_params(&b, &in), MLP_EINVALID);
	mlp_map_clear(&in);
	/* key at and over the limit */
	memset(key, 'k', MLP_MAX_KEY_LEN);
	key[MLP_MAX_KEY_LEN] = '\0';
	set_int(&in, key, 1);
	assert_int_equal(mlp_record_encode_params(&b, &in), 0);
	mlp_buf_reset(&b);
	key[MLP_MAX_KEY_LEN] = 'k';
	key[MLP_MAX_KEY_LEN + 1] = '\0';
	set_int(&in, key, 1);
	assert_int_equal(mlp_record_encode_params(&b, &in), MLP_ELIMIT);
	mlp_map_clear(&in);
	mlp_buf_release(&b);
}

static void test_params_decode_refusals(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_map m = MLP_MAP_INIT;
	msgpack_packer pk;

	(void)state;
	msgpack_packer_init(&pk, &b, buf_write);
	/* empty key */
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "params"); msgpack_pack_map(&pk, 1); pk_str(&pk, ""); msgpack_pack_int(&pk, 1);
	assert_int_equal(mlp_record_decode_params(&m, b.buf, b.len), MLP_ECORRUPT);
	mlp_map_clear(&m);
	/* a value that is not a scalar */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "params"); msgpack_pack_map(&pk, 1); pk_str(&pk, "a"); msgpack_pack_array(&pk, 0);
	assert_int_equal(mlp_record_decode_params(&m, b.buf, b.len), MLP_ECORRUPT);
	mlp_map_clear(&m);
	/* a non-string key */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "params"); msgpack_pack_map(&pk, 1); msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	assert_int_equal(mlp_record_decode_params(&m, b.buf, b.len), MLP_ECORRUPT);
	mlp_map_clear(&m);
	/* unknown keys around "params" are skipped */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 4);
	pk_str(&pk, "before"); msgpack_pack_array(&pk, 2); msgpack_pack_nil(&pk); pk_str(&pk, "x");
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "params"); msgpack_pack_map(&pk, 1); pk_str(&pk, "lr"); msgpack_pack_double(&pk, 0.5);
	pk_str(&pk, "after"); msgpack_pack_map(&pk, 1); pk_str(&pk, "k"); msgpack_pack_bin(&pk, 0);
	assert_int_equal(mlp_record_decode_params(&m, b.buf, b.len), 0);
	assert_int_equal(m.nr, 1);
	assert_true(mlp_map_get(&m, "lr")->u.f == 0.5);
	mlp_map_clear(&m);
	/* every truncation refused */
	for (size_t cut = 0; cut < b.len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		memcpy(copy, b.buf, cut);
		int err = mlp_record_decode_params(&m, copy, cut);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("params cut to %zu of %zu: %d", cut, b.len, err);
		mlp_map_clear(&m);
		free(copy);
	}
	mlp_buf_release(&b);
}

static void test_params_to_json(void **state)
{
	struct mlp_map in = MLP_MAP_INIT;
	struct mlp_buf b = MLP_BUF_INIT, j = MLP_BUF_INIT;

	(void)state;
	set_int(&in, "epochs", 3);
	set_float(&in, "lr", 0.01);
	set_float(&in, "wd", 1.0);
	set_float(&in, "nan", NAN);
	set_bool(&in, "flag", 1);
	set_nil(&in, "none");
	set_str(&in, "name", "a \"q\"\n\xff");
	set_str(&in, "ü", "x/y");
	assert_int_equal(mlp_record_encode_params(&b, &in), 0);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), 0);
	assert_string_equal(j.buf,
		"{\"v\":1,\"params\":{\"epochs\":3,\"flag\":true,\"lr\":0.01,"
		"\"name\":\"a \\\"q\\\"\\n\\ufffd\",\"nan\":null,\"none\":null,\"wd\":1.0,"
		"\"ü\":\"x/y\"}}");
	/* appends to what the buffer holds */
	mlp_buf_reset(&j);
	mlp_buf_adds(&j, "X");
	mlp_map_clear(&in);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_record_encode_params(&b, &in), 0);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), 0);
	assert_string_equal(j.buf, "X{\"v\":1,\"params\":{}}");
	mlp_buf_release(&b);
	mlp_buf_release(&j);
}

/* A refused record leaves the output buffer as it was, NUL-terminated. */
static void test_to_json_refusal_leaves_buffer(void **state)
{
	struct mlp_map in = MLP_MAP_INIT;
	struct mlp_buf b = MLP_BUF_INIT, j = MLP_BUF_INIT;

	(void)state;
	set_int(&in, "epochs", 3);
	assert_int_equal(mlp_record_encode_params(&b, &in), 0);
	mlp_buf_addch(&b, (char)0xc0);	/* trailing bytes */
	mlp_buf_adds(&j, "X");
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), MLP_ECORRUPT);
	assert_int_equal(j.len, 1);
	assert_string_equal(j.buf, "X");
	mlp_map_clear(&in);
	mlp_buf_release(&b);
	mlp_buf_release(&j);
}

/* ---- summary.mp ------------------------------------------------------------------------ */

static void test_summary_roundtrip(void **state)
{
	struct mlp_run *in = mlp_run_new(), *out = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_run_add_point(in, "loss", 0, 1.0, 10);
	mlp_run_add_point(in, "loss", 1, 0.1, 20);
	mlp_run_add_point(in, "loss", 7, 0.30000000000000004, 30);
	mlp_run_add_point(in, "acc", 0, NAN, 10);
	mlp_run_add_point(in, "acc", 5, -2.5, 10);
	mlp_run_add_point(in, "val/loss", -3, -1e300, 10);
	mlp_run_add_point(in, "ü", INT64_MAX, 5e-324, 10);
	mlp_run_add_point(in, "nan.only", 0, NAN, 0);
	mlp_run_summarize(in);
	assert_int_equal(in->summary_nr, 5);
	assert_int_equal(mlp_record_encode_summary(&b, in), 0);
	assert_int_equal(mlp_record_decode_summary(out, b.buf, b.len), 0);
	assert_int_equal(out->summary_nr, in->summary_nr);
	for (size_t i = 0; i < in->summary_nr; i++) {
		const struct mlp_summary *x = &in->summary[i], *y = &out->summary[i];
		assert_string_equal(x->key, y->key);
		assert_true(same_double(x->last, y->last));
		assert_true(same_double(x->first, y->first));
		assert_true(same_double(x->min, y->min) || (isnan(x->min) && isnan(y->min)));
		assert_true(same_double(x->max, y->max) || (isnan(x->max) && isnan(y->max)));
		assert_true(x->count == y->count);
		assert_true(x->step == y->step);
	}
	{
		const struct mlp_summary *s = mlp_run_summary(out, "loss");
		assert_non_null(s);
		assert_true(s->last == 0.30000000000000004);
		assert_true(s->min == 0.1);
		assert_true(s->max == 1.0);
		assert_true(s->count == 3);
		assert_true(s->step == 7);
		s = mlp_run_summary(out, "ü");
		assert_true(s->step == INT64_MAX);
	}
	/* decoding again replaces the summaries */
	assert_int_equal(mlp_record_decode_summary(out, b.buf, b.len), 0);
	assert_int_equal(out->summary_nr, in->summary_nr);
	mlp_buf_release(&b);
	mlp_run_free(in);
	mlp_run_free(out);
}

/* Lookups in encoded records agree with the decoders, entry by entry. */
static void test_find_without_decoding(void **state)
{
	struct mlp_run *in = mlp_run_new();
	struct mlp_buf p = MLP_BUF_INIT, r = MLP_BUF_INIT, sm = MLP_BUF_INIT;
	struct mlp_value v;
	struct mlp_summary s;

	(void)state;
	strcpy(in->id, "0123456789abcdef0123456789abcdef");
	set_str(&in->params, "opt", "adam");
	set_int(&in->params, "layers", 4);
	set_float(&in->params, "lr", 0.5);
	set_str(&in->params, "l", "prefix of lr and layers");
	set_str(&in->tags, "stage", "prod");
	mlp_run_add_point(in, "loss", 0, 1.0, 10);
	mlp_run_add_point(in, "loss", 3, 0.25, 20);
	mlp_run_add_point(in, "acc", 0, 0.75, 10);
	mlp_run_summarize(in);
	assert_int_equal(mlp_record_encode_params(&p, &in->params), 0);
	assert_int_equal(mlp_record_encode_run(&r, in), 0);
	assert_int_equal(mlp_record_encode_summary(&sm, in), 0);

	assert_int_equal(mlp_record_find_param(p.buf, p.len, "lr", 2, &v), 1);
	assert_int_equal(v.type, MLP_FLOAT);
	assert_true(v.u.f == 0.5);
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "layers", 6, &v), 1);
	assert_int_equal(v.type, MLP_INT);
	assert_int_equal(v.u.i, 4);
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "opt", 3, &v), 1);
	assert_int_equal(v.type, MLP_STR);
	assert_int_equal(v.u.str.len, 4);
	assert_memory_equal(v.u.str.s, "adam", 4);
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "l", 1, &v), 1);
	assert_int_equal(v.u.str.len, strlen("prefix of lr and layers"));
	/* a prefix of a key, or a key under another map, is not the key */
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "la", 2, &v), 0);
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "stage", 5, &v), 0);
	assert_int_equal(mlp_record_find_param(p.buf, p.len, "v", 1, &v), 0);
	assert_int_equal(mlp_record_find_tag(r.buf, r.len, "stage", 5, &v), 1);
	assert_memory_equal(v.u.str.s, "prod", 4);
	assert_int_equal(mlp_record_find_tag(r.buf, r.len, "name", 4, &v), 0);

	assert_int_equal(mlp_record_find_summary(sm.buf, sm.len, "loss", 4, &s), 1);
	assert_true(s.last == 0.25 && s.first == 1.0 && s.min == 0.25 && s.max == 1.0);
	assert_true(s.count == 2 && s.step == 3);
	assert_null(s.key);
	assert_int_equal(mlp_record_find_summary(sm.buf, sm.len, "acc", 3, &s), 1);
	assert_true(s.last == 0.75);
	assert_int_equal(mlp_record_find_summary(sm.buf, sm.len, "lo", 2, &s), 0);

	/* an absent record is empty; bytes cut anywhere are an error or absent, never a crash */
	assert_int_equal(mlp_record_find_param("", 0, "lr", 2, &v), 0);
	for (size_t cut = 1; cut < p.len; cut++) {
		int got = mlp_record_find_param(p.buf, cut, "opt", 3, &v);
		assert_true(got <= 1);
		if (got == 1 && v.type == MLP_STR)
			assert_true(v.u.str.s + v.u.str.len <= p.buf + cut);
	}
	for (size_t cut = 1; cut < sm.len; cut++)
		assert_true(mlp_record_find_summary(sm.buf, cut, "loss", 4, &s) <= 1);
	assert_true(mlp_record_find_summary(p.buf, p.len, "lr", 2, &s) <= 0);
	mlp_buf_release(&p);
	mlp_buf_release(&r);
	mlp_buf_release(&sm);
	mlp_run_free(in);
}

static void test_summary_refusals(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_run *run = mlp_run_new();
	msgpack_packer pk;

	(void)state;
	msgpack_packer_init(&pk, &b, buf_write);
	/* duplicate metric key */
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "metrics"); msgpack_pack_map(&pk, 2);
	pk_str(&pk, "loss"); msgpack_pack_map(&pk, 1); pk_str(&pk, "last"); msgpack_pack_double(&pk, 1);
	pk_str(&pk, "loss"); msgpack_pack_map(&pk, 1); pk_str(&pk, "last"); msgpack_pack_double(&pk, 2);
	assert_int_equal(mlp_record_decode_summary(run, b.buf, b.len), MLP_ECORRUPT);
	/* negative count */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "metrics"); msgpack_pack_map(&pk, 1);
	pk_str(&pk, "loss"); msgpack_pack_map(&pk, 1); pk_str(&pk, "count"); msgpack_pack_int(&pk, -1);
	assert_int_equal(mlp_record_decode_summary(run, b.buf, b.len), MLP_ECORRUPT);
	/* empty metric key */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "metrics"); msgpack_pack_map(&pk, 1);
	pk_str(&pk, ""); msgpack_pack_map(&pk, 0);
	assert_int_equal(mlp_record_decode_summary(run, b.buf, b.len), MLP_ECORRUPT);
	/* unknown fields skipped, sorted on decode */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "metrics"); msgpack_pack_map(&pk, 2);
	pk_str(&pk, "z"); msgpack_pack_map(&pk, 2); pk_str(&pk, "p99"); msgpack_pack_double(&pk, 1);
	pk_str(&pk, "last"); msgpack_pack_int(&pk, 4);
	pk_str(&pk, "a"); msgpack_pack_map(&pk, 0);
	assert_int_equal(mlp_record_decode_summary(run, b.buf, b.len), 0);
	assert_int_equal(run->summary_nr, 2);
	assert_string_equal(run->summary[0].key, "a");
	assert_string_equal(run->summary[1].key, "z");
	assert_true(run->summary[1].last == 4.0);
	for (size_t cut = 0; cut < b.len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		struct mlp_run *r2 = mlp_run_new();
		memcpy(copy, b.buf, cut);
		int err = mlp_record_decode_summary(r2, copy, cut);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("summary cut to %zu of %zu: %d", cut, b.len, err);
		mlp_run_free(r2);
		free(copy);
	}
	mlp_buf_release(&b);
	mlp_run_free(run);
}

/* ---- metric chunks ------------------------------------------------------------------------ */

static void fill_series(struct mlp_series *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->key = (char *)"loss";
	s->step = calloc(n ? n : 1, sizeof(int64_t));
	s->value = calloc(n ? n : 1, sizeof(double));
	s->t = calloc(n ? n : 1, sizeof(int64_t));
	s->nr = s->alloc = n;
	for (size_t i = 0; i < n; i++) {
		s->step[i] = (int64_t)i * 3 - 5;
		s->t[i] = 1700000000000LL + (int64_t)i;
		switch (i % 8) {
		case 0: s->value[i] = NAN; break;
		case 1: s->value[i] = -(double)i / 7.0; break;
		case 2: s->value[i] = 0.1; break;
		case 3: s->value[i] = -0.0; break;
		case 4: s->value[i] = DBL_MAX; break;
		case 5: s->value[i] = 4.9e-324; break;
		case 6: s->value[i] = -INFINITY; break;
		default: s->value[i] = (double)i * 1.000000000000001; break;
		}
	}
}

static void free_series(struct mlp_series *s)
{
	free(s->step);
	free(s->value);
	free(s->t);
}

static void check_chunk_roundtrip(size_t n, size_t from, size_t count)
{
	struct mlp_series s;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_run *run = mlp_run_new();
	const struct mlp_series *got;
	int err;

	fill_series(&s, n);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, from, count), 0);
	err = mlp_record_decode_chunk(run, "loss", b.buf, b.len);
	if (err)
		fail_msg("decode_chunk: %d %s", err, mlp_error_message());
	got = mlp_run_series(run, "loss");
	if (!count) {
		/* an empty chunk adds no points */
		assert_true(!got || got->nr == 0);
		free_series(&s);
		mlp_buf_release(&b);
		mlp_run_free(run);
		return;
	}
	assert_non_null(got);
	assert_int_equal(got->nr, count);
	for (size_t i = 0; i < count; i++) {
		if (got->step[i] != s.step[from + i] || got->t[i] != s.t[from + i] ||
		    !same_double(got->value[i], s.value[from + i]))
			fail_msg("point %zu differs", i);
	}
	free_series(&s);
	mlp_buf_release(&b);
	mlp_run_free(run);
}

static void test_chunk_roundtrip(void **state)
{
	(void)state;
	check_chunk_roundtrip(1, 0, 1);
	check_chunk_roundtrip(2, 1, 1);
	check_chunk_roundtrip(100, 10, 50);
	check_chunk_roundtrip(MLP_CHUNK_POINTS, 0, MLP_CHUNK_POINTS);
	check_chunk_roundtrip(MLP_CHUNK_POINTS + 10, 10, MLP_CHUNK_POINTS);
	check_chunk_roundtrip(5, 5, 0);
}

static void test_chunk_encode_refusals(void **state)
{
	struct mlp_series s;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	fill_series(&s, MLP_CHUNK_POINTS + 1);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, 0, MLP_CHUNK_POINTS + 1), MLP_EINVALID);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, 2, MLP_CHUNK_POINTS), MLP_EINVALID);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, MLP_CHUNK_POINTS + 2, 0), MLP_EINVALID);
	free_series(&s);
	mlp_buf_release(&b);
}

/* Chunks append to the series the run already has. */
static void test_chunk_appends(void **state)
{
	struct mlp_series s;
	struct mlp_buf b1 = MLP_BUF_INIT, b2 = MLP_BUF_INIT;
	struct mlp_run *run = mlp_run_new();

	(void)state;
	fill_series(&s, 10);
	assert_int_equal(mlp_record_encode_chunk(&b1, &s, 0, 4), 0);
	assert_int_equal(mlp_record_encode_chunk(&b2, &s, 4, 6), 0);
	assert_int_equal(mlp_record_decode_chunk(run, "loss", b1.buf, b1.len), 0);
	assert_int_equal(mlp_record_decode_chunk(run, "loss", b2.buf, b2.len), 0);
	assert_int_equal(mlp_record_decode_chunk(run, "acc", b2.buf, b2.len), 0);
	assert_int_equal(run->series_nr, 2);
	assert_int_equal(mlp_run_series(run, "loss")->nr, 10);
	assert_int_equal(mlp_run_series(run, "acc")->nr, 6);
	for (size_t i = 0; i < 10; i++)
		assert_true(mlp_run_series(run, "loss")->step[i] == s.step[i]);
	free_series(&s);
	mlp_buf_release(&b1);
	mlp_buf_release(&b2);
	mlp_run_free(run);
}

static void pack_chunk(struct mlp_buf *b, int64_t n, size_t step_len, size_t value_len,
		       long t_len, int with_n)
{
	msgpack_packer pk;
	char *zeros = calloc(1, 1 + (step_len > value_len ? step_len : value_len) +
				   (t_len > 0 ? (size_t)t_len : 0));

	msgpack_packer_init(&pk, b, buf_write);
	msgpack_pack_map(&pk, 2 + (with_n ? 1 : 0) + 1 + (t_len >= 0 ? 1 : 0));
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	if (with_n) {
		pk_str(&pk, "n");
		msgpack_pack_int64(&pk, n);
	}
	pk_str(&pk, "step"); msgpack_pack_bin(&pk, step_len); msgpack_pack_bin_body(&pk, zeros, step_len);
	pk_str(&pk, "value"); msgpack_pack_bin(&pk, value_len); msgpack_pack_bin_body(&pk, zeros, value_len);
	if (t_len >= 0) {
		pk_str(&pk, "t");
		msgpack_pack_bin(&pk, (size_t)t_len);
		msgpack_pack_bin_body(&pk, zeros, (size_t)t_len);
	}
	free(zeros);
}

static void test_chunk_decode_refusals(void **state)
{
	static const struct { int64_t n; size_t s, v; long t; int with_n, ok; } cases[] = {
		{ 2, 16, 16, 16, 1, 1 },
		{ 2, 16, 16, -1, 1, 1 },	/* t is optional */
		{ 0, 0, 0, 0, 1, 1 },
		{ 2, 8, 16, 16, 1, 0 },
		{ 2, 16, 8, 16, 1, 0 },
		{ 2, 16, 16, 8, 1, 0 },
		{ 2, 16, 16, 24, 1, 0 },
		{ 3, 16, 16, 16, 1, 0 },
		{ 1, 16, 16, 16, 1, 0 },
		{ 2, 15, 16, 16, 1, 0 },
		{ 2, 16, 16, 16, 0, 0 },	/* no n */
		{ -1, 0, 0, 0, 1, 0 },
		{ MLP_CHUNK_POINTS + 1, 8 * (MLP_CHUNK_POINTS + 1), 8 * (MLP_CHUNK_POINTS + 1), -1, 1, 0 },
	};
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mlp_run *run = mlp_run_new();
		int err;
		mlp_buf_reset(&b);
		pack_chunk(&b, cases[i].n, cases[i].s, cases[i].v, cases[i].t, cases[i].with_n);
		err = mlp_record_decode_chunk(run, "loss", b.buf, b.len);
		if (cases[i].ok ? err != 0 : err != MLP_ECORRUPT)
			fail_msg("chunk case %zu: %d (%s)", i, err, mlp_error_message());
		if (!cases[i].ok)
			assert_int_equal(run->series_nr, 0);
		mlp_run_free(run);
	}
	/* a chunk without value column */
	{
		msgpack_packer pk;
		struct mlp_run *run = mlp_run_new();
		mlp_buf_reset(&b);
		msgpack_packer_init(&pk, &b, buf_write);
		msgpack_pack_map(&pk, 3);
		pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
		pk_str(&pk, "n"); msgpack_pack_int(&pk, 1);
		pk_str(&pk, "step"); msgpack_pack_bin(&pk, 8); msgpack_pack_bin_body(&pk, "\0\0\0\0\0\0\0\0", 8);
		assert_int_equal(mlp_record_decode_chunk(run, "loss", b.buf, b.len), MLP_ECORRUPT);
		mlp_run_free(run);
	}
	mlp_buf_release(&b);
}

static void test_chunk_truncated(void **state)
{
	struct mlp_series s;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	fill_series(&s, 20);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, 0, 20), 0);
	for (size_t cut = 0; cut < b.len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		struct mlp_run *run = mlp_run_new();
		memcpy(copy, b.buf, cut);
		int err = mlp_record_decode_chunk(run, "loss", copy, cut);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("chunk cut to %zu of %zu: %d", cut, b.len, err);
		assert_int_equal(run->series_nr, 0);
		mlp_run_free(run);
		free(copy);
	}
	free_series(&s);
	mlp_buf_release(&b);
}

static void test_chunk_to_json(void **state)
{
	struct mlp_series s;
	int64_t step[] = { 0, 1, 5, -2 };
	double value[] = { 0.5, -1.0, NAN, 0.1 };
	int64_t t[] = { 100, 200, 300, 1700000000000LL };
	struct mlp_buf b = MLP_BUF_INIT, j = MLP_BUF_INIT;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.key = (char *)"loss";
	s.step = step;
	s.value = value;
	s.t = t;
	s.nr = 4;
	assert_int_equal(mlp_record_encode_chunk(&b, &s, 0, 4), 0);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), 0);
	assert_string_equal(j.buf,
		"{\"v\":1,\"n\":4,\"step\":[0,1,5,-2],\"value\":[0.5,-1.0,null,0.1],"
		"\"t\":[100,200,300,1700000000000]}");
	mlp_buf_reset(&j);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_record_encode_chunk(&b, &s, 1, 1), 0);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), 0);
	assert_string_equal(j.buf, "{\"v\":1,\"n\":1,\"step\":[1],\"value\":[-1.0],\"t\":[200]}");
	mlp_buf_release(&b);
	mlp_buf_release(&j);
}

static void test_to_json_other(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT, j = MLP_BUF_INIT;
	msgpack_packer pk;

	(void)state;
	msgpack_packer_init(&pk, &b, buf_write);
	msgpack_pack_map(&pk, 6);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "arr"); msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, -1); msgpack_pack_true(&pk); msgpack_pack_float(&pk, 0.5f);
	pk_str(&pk, "bin"); msgpack_pack_bin(&pk, 3); msgpack_pack_bin_body(&pk, "\x01\xab\xff", 3);
	msgpack_pack_int(&pk, 7); pk_str(&pk, "int key");
	pk_str(&pk, "ext"); msgpack_pack_ext(&pk, 2, 1); msgpack_pack_ext_body(&pk, "ab", 2);
	pk_str(&pk, "u"); msgpack_pack_uint64(&pk, UINT64_MAX);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), 0);
	assert_string_equal(j.buf,
		"{\"v\":1,\"arr\":[-1,true,0.5],\"bin\":\"01abff\",\"7\":\"int key\","
		"\"ext\":null,\"u\":1.8446744073709552e+19}");
	mlp_buf_release(&j);

	/* nesting deeper than the limit is refused */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "v"); msgpack_pack_int(&pk, 1);
	pk_str(&pk, "deep");
	for (int i = 0; i < 100; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	assert_int_equal(mlp_record_to_json(&j, b.buf, b.len), MLP_ECORRUPT);
	assert_int_equal(j.len, 0);
	mlp_buf_release(&j);
	mlp_buf_release(&b);
}

/* ---- metric keys as path components -------------------------------------------------------- */

static void check_key(const char *key, const char *encoded)
{
	struct mlp_buf e = MLP_BUF_INIT, d = MLP_BUF_INIT;

	mlp_key_encode(&e, key);
	if (strcmp(e.buf ? e.buf : "", encoded))
		fail_msg("encode '%s' = '%s', want '%s'", key, e.buf, encoded);
	assert_int_equal(mlp_key_decode(&d, e.buf), 0);
	assert_string_equal(d.buf, key);
	mlp_buf_release(&e);
	mlp_buf_release(&d);
}

static void test_key_encode_decode(void **state)
{
	(void)state;
	check_key("loss", "loss");
	check_key("val/loss", "val%2Floss");
	check_key(".hidden", "%2Ehidden");
	check_key("a.b", "a.b");
	check_key("..", "%2E.");
	check_key("a%b", "a%25b");
	check_key("ü", "%C3%BC");
	check_key("a b", "a%20b");
	check_key("A-Z_0-9", "A-Z_0-9");
	check_key("x:y*?", "x%3Ay%2A%3F");
	check_key("\x01\x7f\xff", "%01%7F%FF");

	/* every byte 1..255 round-trips, and the encoding is one safe component */
	{
		char all[256];
		struct mlp_buf e = MLP_BUF_INIT, d = MLP_BUF_INIT;
		for (int i = 1; i < 256; i++)
			all[i - 1] = (char)i;
		all[255] = '\0';
		mlp_key_encode(&e, all);
		assert_null(strchr(e.buf, '/'));
		assert_true(e.buf[0] != '.');
		for (const char *p = e.buf; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.' || *p == '%');
		assert_int_equal(mlp_key_decode(&d, e.buf), 0);
		assert_string_equal(d.buf, all);
		mlp_buf_release(&e);
		mlp_buf_release(&d);
	}
}

static void test_key_decode_refusals(void **state)
{
	static const char *const bad[] = { "%zz", "%00", "", "%", "%4", "a%", "a%g0", "%0g", "ok%00ok" };
	struct mlp_buf d = MLP_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mlp_buf_reset(&d);
		if (mlp_key_decode(&d, bad[i]) != MLP_ECORRUPT)
			fail_msg("decode '%s' accepted", bad[i]);
		assert_int_equal(d.len, 0);
	}
	/* lowercase hex is accepted */
	mlp_buf_reset(&d);
	assert_int_equal(mlp_key_decode(&d, "a%2fb"), 0);
	assert_string_equal(d.buf, "a/b");
	mlp_buf_release(&d);
}

/* A refused decode leaves the buffer as it was, NUL-terminated. */
static void test_key_decode_leaves_buffer(void **state)
{
	struct mlp_buf d = MLP_BUF_INIT;

	(void)state;
	mlp_buf_adds(&d, "keep");
	assert_int_equal(mlp_key_decode(&d, "abc%zz"), MLP_ECORRUPT);
	assert_int_equal(d.len, 4);
	assert_string_equal(d.buf, "keep");
	mlp_buf_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_roundtrip_full),
		cmocka_unit_test(test_run_roundtrip_minimal),
		cmocka_unit_test(test_run_exit_codes),
		cmocka_unit_test(test_run_every_status),
		cmocka_unit_test(test_run_decode_twice),
		cmocka_unit_test(test_run_record_well_formed),
		cmocka_unit_test(test_run_to_json),
		cmocka_unit_test(test_run_refusals),
		cmocka_unit_test(test_run_unknown_keys_skipped),
		cmocka_unit_test(test_run_truncated),
		cmocka_unit_test(test_version_newer),
		cmocka_unit_test(test_version_missing_or_bad),
		cmocka_unit_test(test_record_size_limit),
		cmocka_unit_test(test_params_types),
		cmocka_unit_test(test_params_big_string),
		cmocka_unit_test(test_params_many),
		cmocka_unit_test(test_params_limits),
		cmocka_unit_test(test_params_decode_refusals),
		cmocka_unit_test(test_params_to_json),
		cmocka_unit_test(test_to_json_refusal_leaves_buffer),
		cmocka_unit_test(test_summary_roundtrip),
		cmocka_unit_test(test_find_without_decoding),
		cmocka_unit_test(test_summary_refusals),
		cmocka_unit_test(test_chunk_roundtrip),
		cmocka_unit_test(test_chunk_encode_refusals),
		cmocka_unit_test(test_chunk_appends),
		cmocka_unit_test(test_chunk_decode_refusals),
		cmocka_unit_test(test_chunk_truncated),
		cmocka_unit_test(test_chunk_to_json),
		cmocka_unit_test(test_to_json_other),
		cmocka_unit_test(test_key_encode_decode),
		cmocka_unit_test(test_key_decode_refusals),
		cmocka_unit_test(test_key_decode_leaves_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
