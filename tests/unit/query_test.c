/*
 * lib/query.c: the filter language, field lookups, sort and filter of run
 * lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

/* ---- helpers --------------------------------------------------------------- */

#define T0 1704067200000LL	/* 2024-01-01T00:00:00Z */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void set_param_float(struct mlp_map *m, const char *key, double f)
{
	struct mlp_value v = { .type = MLP_FLOAT };
	v.u.f = f;
	mlp_map_set(m, key, &v);
}

static void set_param_int(struct mlp_map *m, const char *key, int64_t i)
{
	struct mlp_value v = { .type = MLP_INT };
	v.u.i = i;
	mlp_map_set(m, key, &v);
}

static void set_param_bool(struct mlp_map *m, const char *key, int b)
{
	struct mlp_value v = { .type = MLP_BOOL };
	v.u.b = b;
	mlp_map_set(m, key, &v);
}

static void set_param_str(struct mlp_map *m, const char *key, const char *s)
{
	struct mlp_value v = { .type = MLP_NIL };
	mlp_value_set_str(&v, s, strlen(s));
	mlp_map_set(m, key, &v);
}

static void add_points(struct mlp_run *run, const char *key, const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mlp_run_add_point(run, key, (int64_t)i, v[i], T0 + (int64_t)i);
}

/* A finished run with a bit of everything. */
static struct mlp_run *sample_run(void)
{
	struct mlp_run *run = mlp_run_new();
	static const double acc[] = { 0.5, 0.9, 0.8 };
	static const double loss[] = { 1.0, 0.3 };
	static const double val[] = { 0.7 };
	struct mlp_value nil = { .type = MLP_NIL };

	strcpy(run->id, "0123456789abcdef0123456789abcdef");
	run->name = strdup("brave-otter");
	run->experiment = strdup("baseline");
	run->status = MLP_STATUS_FINISHED;
	strcpy(run->base, "1111111111222222222233333333334444444444");
	run->branch = strdup("main");
	run->host = strdup("gpu-box");
	run->user = strdup("ada");
	run->started = T0;
	run->ended = T0 + 90500;
	run->has_exit_code = 1;
	run->exit_code = 0;

	set_param_float(&run->params, "lr", 0.01);
	set_param_int(&run->params, "layers", 4);
	set_param_str(&run->params, "opt", "adam");
	set_param_float(&run->params, "optimizer.lr", 0.001);
	set_param_bool(&run->params, "flag", 1);
	set_param_str(&run->params, "slr", "0.01");
	set_param_str(&run->params, "model type", "cnn");
	set_param_str(&run->params, "path", "data/50%_off.csv");
	set_param_str(&run->params, "quote", "it's \"x\" \\ ok");
	set_param_str(&run->params, "city", "Z\xc3\xbcrich");
	set_param_int(&run->params, "big", INT64_MAX);
	mlp_map_set(&run->params, "nothing", &nil);
	set_param_str(&run->tags, "note", "Hello World");
	set_param_str(&run->tags, "a`b", "tick");

	add_points(run, "acc", acc, 3);
	add_points(run, "loss", loss, 2);
	add_points(run, "val loss", val, 1);
	mlp_run_add_point(run, "nan", 0, NAN, T0);
	mlp_run_add_point(run, "inf", 0, INFINITY, T0);
	mlp_run_add_point(run, "ninf", 0, -INFINITY, T0);
	mlp_run_summarize(run);
	return run;
}

/*
 * Matches `q` against the encoded records of `run`, as the index does for
 * many runs; returns what mlp_query_match_view() returns.
 */
static int view_match(const struct mlp_run *run, const struct mlp_query *q, int *m)
{
	struct mlp_buf rec[3] = { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT };
	struct mlp_run_view v;
	int err;

	assert_int_equal(mlp_record_encode_run(&rec[0], run), 0);
	assert_int_equal(mlp_record_encode_params(&rec[1], &run->params), 0);
	assert_int_equal(mlp_record_encode_summary(&rec[2], run), 0);
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

static int match_or_fail(const struct mlp_run *run, const char *expr)
{
	struct mlp_query *q = NULL;
	int m = -1, vm = -1, err;

	err = mlp_query_parse(&q, expr);
	if (err)
		fail_msg("parse of \"%s\" failed (%d) at column %zu: %s", expr, err,
			 mlp_query_error_column(), mlp_error_message());
	err = mlp_query_match(q, run, &m);
	if (err)
		fail_msg("match of \"%s\" failed (%d): %s", expr, err, mlp_error_message());
	/* the index's path, from the records' bytes, must agree */
	if (mlp_query_view_ok(q)) {
		err = view_match(run, q, &vm);
		if (err || vm != m)
			fail_msg("\"%s\": view gave %d (%d: %s), run gave %d", expr, vm, err,
				 err ? mlp_error_message() : "", m);
	}
	mlp_query_free(q);
	return m;
}

static void want(const struct mlp_run *run, const char *expr, int expect)
{
	int m = match_or_fail(run, expr);
	if (m != expect)
		fail_msg("\"%s\" gave %d, want %d", expr, m, expect);
}

#define YES(run, expr) want(run, expr, 1)
#define NO(run, expr) want(run, expr, 0)

/* A parse error with its code, column and a piece of its message. */
static void bad_syntax(const char *expr, int code, size_t col, const char *msg)
{
	struct mlp_query *q = (struct mlp_query *)1;
	int err = mlp_query_parse(&q, expr);

	if (err != code)
		fail_msg("\"%s\": got %d, want %d (%s)", expr, err, code, mlp_error_message());
	assert_null(q);
	if (mlp_query_error_column() != col)
		fail_msg("\"%s\": column %zu, want %zu (%s)", expr, mlp_query_error_column(),
			 col, mlp_error_message());
	if (msg && !strstr(mlp_error_message(), msg))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", expr, mlp_error_message(), msg);
}

/* Parses, but matching `run` is a type error mentioning `msg`. */
static void bad_match(const struct mlp_run *run, const char *expr, const char *msg)
{
	struct mlp_query *q = NULL;
	int m = -1, err;

	err = mlp_query_parse(&q, expr);
	if (err)
		fail_msg("parse of \"%s\" failed: %s", expr, mlp_error_message());
	err = mlp_query_match(q, run, &m);
	if (err != MLP_EINVALID)
		fail_msg("\"%s\": got %d, want MLP_EINVALID", expr, err);
	assert_int_equal(m, 0);
	if (!strstr(mlp_error_message(), msg))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", expr, mlp_error_message(), msg);
	if (mlp_query_view_ok(q)) {
		m = -1;
		err = view_match(run, q, &m);
		if (err != MLP_EINVALID || m != 0 || !strstr(mlp_error_message(), msg))
			fail_msg("\"%s\": view gave %d, %d (%s)", expr, err, m, mlp_error_message());
	}
	mlp_query_free(q);
}

static int setup_run(void **state)
{
	*state = sample_run();
	return 0;
}

static int teardown_run(void **state)
{
	mlp_run_free(*state);
	return 0;
}

/* ---- operators ----------------------------------------------------------- */

static void test_number_operators(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "metrics.acc = 0.8");
	NO(r, "metrics.acc = 0.9");
	YES(r, "metrics.acc != 0.9");
	YES(r, "metrics.acc <> 0.9");
	NO(r, "metrics.acc <> 0.8");
	YES(r, "metrics.acc < 0.81");
	NO(r, "metrics.acc < 0.8");
	YES(r, "metrics.acc <= 0.8");
	YES(r, "metrics.acc > 0.79");
	NO(r, "metrics.acc > 0.8");
	YES(r, "metrics.acc >= 0.8");
	NO(r, "metrics.acc >= 1");
	YES(r, "metrics.acc>0.5");	/* no blanks needed */
	YES(r, "metrics.acc>=.8");
	/* integers and floats mix, exactly for integers */
	YES(r, "params.layers = 4");
	YES(r, "params.layers = 4.0");
	YES(r, "params.layers < 4.5");
	YES(r, "params.layers > -1");
	YES(r, "params.layers >= +4");
	YES(r, "params.lr = 1e-2");
	YES(r, "params.lr = 0.01");
	YES(r, "params.lr < 1E-1");
	YES(r, "params.big = 9223372036854775807");
	NO(r, "params.big = 9223372036854775806");
	YES(r, "params.big < 9223372036854775808");	/* too big for int64: a float */
	/* integers against floats compare exactly, not through a double */
	NO(r, "params.big = 9223372036854775807.0");
	YES(r, "params.big < 9223372036854775807.0");
	YES(r, "params.layers < 4.000001 and params.layers > 3.999999");
	NO(r, "params.layers = 4.5");
	YES(r, "params.layers > -inf and params.layers < inf");
	YES(r, "params.layers != -4");
	YES(r, "exit_code = 0");
}

static void test_string_operators(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "params.opt = 'adam'");
	YES(r, "params.opt = \"adam\"");
	NO(r, "params.opt = 'Adam'");
	YES(r, "params.opt != 'sgd'");
	YES(r, "params.opt <> 'sgd'");
	YES(r, "params.opt < 'adamw'");
	YES(r, "params.opt > 'Adam'");	/* bytewise: 'a' > 'A' */
	YES(r, "params.opt >= 'adam'");
	YES(r, "params.opt <= 'adam'");
	NO(r, "params.opt < 'adam'");
	YES(r, "params.opt > ''");
	YES(r, "tags.note = 'Hello World'");
	YES(r, "params.city = 'Z\xc3\xbcrich'");
}

static void test_booleans(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "params.flag = true");
	YES(r, "params.flag = TRUE");
	NO(r, "params.flag = false");
	YES(r, "params.flag != false");
	YES(r, "dirty = false");
	YES(r, "attributes.dirty != true");
	YES(r, "params.flag in (true)");
	bad_syntax("params.flag < true", MLP_EINVALID, 14, "only compare with = and !=");
	bad_syntax("dirty > 0", MLP_EINVALID, 8, "dirty is a boolean");
	bad_syntax("dirty = 1", MLP_EINVALID, 8, "dirty is a boolean; cannot compare it with 1");
	bad_match(r, "params.flag = 1", "params.flag is a boolean; cannot compare it with 1");
	bad_match(r, "params.flag = 'true'", "params.flag is a boolean");
	bad_match(r, "params.opt = true", "params.opt is a string; cannot compare it with true");
}

/* ---- structure ------------------------------------------------------------ */

static void test_precedence(void **state)
{
	const struct mlp_run *r = *state;
	const char *t = "metrics.acc > 0", *f = "metrics.acc < 0";
	char e[256];

	/* a or b and c is a or (b and c) */
	snprintf(e, sizeof(e), "%s or %s and %s", t, f, f);
	YES(r, e);
	snprintf(e, sizeof(e), "(%s or %s) and %s", t, f, f);
	NO(r, e);
	snprintf(e, sizeof(e), "%s and %s or %s", f, f, t);
	YES(r, e);
	snprintf(e, sizeof(e), "%s and (%s or %s)", f, f, t);
	NO(r, e);
	/* not binds tighter than and */
	snprintf(e, sizeof(e), "not %s and %s", t, f);
	NO(r, e);
	snprintf(e, sizeof(e), "not (%s and %s)", t, f);
	YES(r, e);
	snprintf(e, sizeof(e), "not %s or %s", f, f);
	YES(r, e);
	/* chains */
	snprintf(e, sizeof(e), "%s and %s and %s and %s", t, t, t, f);
	NO(r, e);
	snprintf(e, sizeof(e), "%s or %s or %s or %s", f, f, f, t);
	YES(r, e);
}

static void test_not_and_parens(void **state)
{
	const struct mlp_run *r = *state;

	NO(r, "not metrics.acc = 0.8");
	YES(r, "not not metrics.acc = 0.8");
	NO(r, "not not not metrics.acc = 0.8");
	YES(r, "not(metrics.acc = 0.9)");
	YES(r, "((metrics.acc = 0.8))");
	YES(r, "( ( metrics.acc = 0.8 ) )");
	YES(r, "(metrics.acc = 0.8)and(params.opt = 'adam')");
	YES(r, "not (metrics.acc = 0.9 or params.opt = 'sgd')");
	YES(r, "(metrics.acc < 0 or (params.layers = 4 and (not params.opt = 'sgd')))");
	NO(r, "not ((metrics.acc = 0.8))");
}

static void test_keywords_case(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "metrics.acc > 0 AND params.opt = 'adam'");
	YES(r, "metrics.acc > 0 And params.opt = 'adam'");
	YES(r, "metrics.acc < 0 Or params.opt = 'adam'");
	YES(r, "metrics.acc < 0 OR params.opt = 'adam'");
	YES(r, "NOT metrics.acc < 0");
	YES(r, "Not metrics.acc < 0");
	YES(r, "params.opt LIKE 'ad%'");
	YES(r, "params.opt Like 'ad%'");
	YES(r, "params.opt ILike 'AD%'");
	YES(r, "params.opt IN ('adam')");
	YES(r, "params.opt NOT in ('sgd')");
	YES(r, "params.zzz Is Null");
	YES(r, "params.opt IS NOT NULL");
	YES(r, "params.flag = True");
	YES(r, "params.flag = FALSE or params.flag = true");
	/* keywords are whole words: these are keys, not 'and'/'or' */
	bad_syntax("metrics.acc > 0 andy", MLP_EINVALID, 16, "expected 'and', 'or'");
	bad_syntax("metrics.acc > 0 oregon", MLP_EINVALID, 16, NULL);
}

/* ---- literals and keys ----------------------------------------------------- */

static void test_string_escapes(void **state)
{
	const struct mlp_run *r = *state;

	/* the param is: it's "x" \ ok */
	YES(r, "params.quote = 'it''s \"x\" \\\\ ok'");
	YES(r, "params.quote = 'it\\'s \"x\" \\\\ ok'");
	YES(r, "params.quote = \"it's \\\"x\\\" \\\\ ok\"");
	YES(r, "params.quote = \"it's \"\"x\"\" \\\\ ok\"");
	/* any other backslash stays */
	YES(r, "params.path = 'data/50%_off.csv'");
	NO(r, "params.opt = 'ad\\am'");
	YES(r, "params.opt != 'ad\\am'");
	/* a backslash for LIKE: \\ in the pattern, so \\\\ in the literal */
	YES(r, "params.quote like '%\\\\\\\\%'");
	NO(r, "params.quote like '%\\\\%'");
	/* operator characters and keywords inside strings are just text */
	YES(r, "params.opt != 'a = 1 and (b) or not c'");
	YES(r, "params.opt != ')'");
}

static void test_quoted_keys(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "metrics.`val loss` = 0.7");
	YES(r, "`metrics.val loss` = 0.7");
	YES(r, "metrics.\"val loss\" = 0.7");
	YES(r, "\"metrics.val loss\" < 1");
	YES(r, "params.`model type` = 'cnn'");
	YES(r, "params.\"model type\"='cnn'");
	YES(r, "tags.`a``b` = 'tick'");
	YES(r, "metrics.`val loss`.max = 0.7");
	YES(r, "metrics.`acc` = 0.8");
	YES(r, "`name` = 'brave-otter'");
	YES(r, "`params`.`opt` = 'adam'");
	bad_syntax("metrics.`val loss = 1", MLP_EINVALID, 8, "unterminated backquote");
	bad_syntax("metrics.\"val loss = 1", MLP_EINVALID, 8, "unterminated double quote");
	/* unquoted, the blank ends the key */
	bad_syntax("metrics.val loss = 1", MLP_EINVALID, 12, "expected an operator");
}

static void test_dotted_keys(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "params.optimizer.lr = 0.001");
	YES(r, "params.lr = 0.01");
	YES(r, "params.optimizer.lr<0.01");
	YES(r, "param.optimizer.lr = 0.001");
	NO(r, "params.optimizer = 0.001");
	YES(r, "params.optimizer IS NULL");
}

static void test_aggregates(void **state)
{
	struct mlp_run *r = *state;
	struct mlp_run *x = mlp_run_new();
	static const double v[] = { 3, 1, 2 };
	static const double exact[] = { 42 };

	YES(r, "metrics.acc.min = 0.5");
	YES(r, "metrics.acc.max = 0.9");
	YES(r, "metrics.acc.last = 0.8");
	YES(r, "metrics.acc.first = 0.5");
	YES(r, "metrics.acc.count = 3");
	YES(r, "metrics.loss.count = 2 and metrics.loss.min = 0.3");
	NO(r, "metrics.acc.median = 0.5");
	YES(r, "metrics.acc.median IS NULL");
	YES(r, "metrics.nope.max IS NULL");
	YES(r, "metric.acc.max > 0.8");
	bad_syntax("metrics.acc.count = 'three'", MLP_EINVALID, 20, "is a number");

	/* an exact metric key wins over the aggregate */
	add_points(x, "loss", v, 3);
	add_points(x, "loss.min", exact, 1);
	mlp_run_summarize(x);
	YES(x, "metrics.loss.min = 42");
	YES(x, "metrics.loss.max = 3");
	YES(x, "metrics.loss.last = 2");
	YES(x, "metrics.`loss.min` = 42");
	YES(x, "metrics.loss.min.count = 1");
	mlp_run_free(x);
}

static void test_literals(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "metrics.acc > -0.5");
	YES(r, "metrics.acc < 8e-1 or metrics.acc = 8E-1");
	YES(r, "metrics.acc > 5e-1");
	YES(r, "metrics.acc < 1.");
	YES(r, "metrics.acc > -1e+3");
	YES(r, "metrics.acc < inf");
	YES(r, "metrics.acc > -inf");
	YES(r, "metrics.acc < +Infinity");
	bad_syntax("metrics.acc > 1e", MLP_EINVALID, 14, "malformed number");
	bad_syntax("metrics.acc > 1.2.3", MLP_EINVALID, 14, "malformed number");
	bad_syntax("metrics.acc > 0x10", MLP_EINVALID, 14, "malformed number");
	bad_syntax("metrics.acc > 1abc", MLP_EINVALID, 14, "malformed number");
	bad_syntax("metrics.acc > -", MLP_EINVALID, 14, "malformed number");
	bad_syntax("metrics.acc > nan", MLP_EINVALID, 14, "expected a value");
	bad_syntax("metrics.acc > infinite", MLP_EINVALID, 14, "expected a value");
	bad_syntax("params.x = null", MLP_EINVALID, 11, "IS NULL");
	bad_syntax("params.x = abc", MLP_EINVALID, 11, "expected a value");
}

/* ---- IN, LIKE, IS NULL ------------------------------------------------------ */

static void test_in(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_query *q = NULL;

	YES(r, "params.opt IN ('sgd', 'adam')");
	YES(r, "params.opt in('adam')");
	NO(r, "params.opt IN ('sgd', 'rmsprop')");
	YES(r, "params.opt NOT IN ('sgd', 'rmsprop')");
	NO(r, "params.opt NOT IN ('sgd', 'adam')");
	YES(r, "params.layers IN (1, 2, 4.0)");
	YES(r, "params.layers IN ( 4 )");
	YES(r, "metrics.acc.count in (3, 4)");
	YES(r, "status IN ('finished', 'failed')");
	/* absent keys: false either way */
	NO(r, "params.zzz IN ('a')");
	NO(r, "params.zzz NOT IN ('a')");
	YES(r, "not params.zzz IN ('a')");
	bad_match(r, "params.layers IN ('4')", "params.layers is a number; cannot compare it with '4'");
	bad_syntax("params.opt IN ('a', 1)", MLP_EINVALID, 20, "mixes");
	bad_syntax("params.opt IN ()", MLP_EINVALID, 15, "expected a value");
	bad_syntax("params.opt IN ('a',)", MLP_EINVALID, 19, "expected a value");
	bad_syntax("params.opt IN ('a'", MLP_EINVALID, 18, "',' or ')'");
	bad_syntax("params.opt IN 'a'", MLP_EINVALID, 14, "'(' after IN");
	bad_syntax("params.opt NOT 'a'", MLP_EINVALID, 15, "LIKE, ILIKE or IN after NOT");
	bad_syntax("metrics.acc IN ('a')", MLP_EINVALID, 16, "metrics.acc is a number");

	/* the limit on IN lists */
	mlp_buf_adds(&b, "params.layers IN (");
	for (int i = 0; i < MLP_QUERY_MAX_IN; i++)
		mlp_buf_addf(&b, "%s%d", i ? "," : "", i);
	mlp_buf_addch(&b, ')');
	assert_int_equal(mlp_query_parse(&q, b.buf), 0);
	int m = 0;
	assert_int_equal(mlp_query_match(q, r, &m), 0);
	assert_int_equal(m, 1);
	mlp_query_free(q);
	b.len--;
	mlp_buf_adds(&b, ",77)");
	bad_syntax(b.buf, MLP_ELIMIT, b.len - 3, "at most");
	mlp_buf_release(&b);
}

static void test_like(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "params.opt LIKE 'adam'");
	NO(r, "params.opt LIKE 'ada'");
	YES(r, "params.opt LIKE 'ad%'");
	YES(r, "params.opt LIKE '%am'");
	YES(r, "params.opt LIKE '%d%'");
	YES(r, "params.opt LIKE '%'");
	YES(r, "params.opt LIKE 'a%%m'");
	YES(r, "params.opt LIKE 'a__m'");
	NO(r, "params.opt LIKE 'a_m'");
	YES(r, "params.opt LIKE '____'");
	NO(r, "params.opt LIKE '_____'");
	YES(r, "params.opt LIKE '%a%a%'");
	NO(r, "params.opt LIKE '%a%a%a%'");
	NO(r, "params.opt LIKE 'AD%'");
	YES(r, "params.opt ILIKE 'AD%'");
	YES(r, "tags.note ILIKE '%world'");
	NO(r, "tags.note LIKE '%world'");
	YES(r, "params.opt NOT LIKE 's%'");
	NO(r, "params.opt NOT LIKE 'a%'");
	YES(r, "params.opt NOT ILIKE 'S%'");
	/* no regular expressions, no globs: . * ? [ are themselves */
	NO(r, "params.opt LIKE 'a.*'");
	YES(r, "params.path LIKE 'data/50%.csv'");
	NO(r, "params.opt LIKE 'ad?m'");
	/* \% and \_ are a literal % and _ */
	YES(r, "params.path LIKE '%50\\%\\_off%'");
	NO(r, "params.opt LIKE 'ad\\%'");
	/* _ is one character, not one byte */
	YES(r, "params.city LIKE 'Z_rich'");
	NO(r, "params.city LIKE 'Z__rich'");
	YES(r, "params.city ILIKE 'z\xc3\xbcRICH'");
	/* absent: false, NOT LIKE too */
	NO(r, "params.zzz LIKE '%'");
	NO(r, "params.zzz NOT LIKE 'x'");
	/* status patterns see the lowercase names */
	YES(r, "status LIKE 'fin%'");
	YES(r, "status ILIKE 'FIN%'");
	bad_match(r, "params.layers LIKE '4'", "params.layers is a number; LIKE needs a string");
	bad_syntax("metrics.acc LIKE '1%'", MLP_EINVALID, 17, "metrics.acc is a number");
	bad_syntax("params.opt LIKE 1", MLP_EINVALID, 16, "takes a 'string' pattern");
}

static void test_is_null(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_run *running = mlp_run_new();

	YES(r, "params.zzz IS NULL");
	NO(r, "params.zzz IS NOT NULL");
	YES(r, "params.opt IS NOT NULL");
	NO(r, "params.opt IS NULL");
	YES(r, "params.nothing IS NULL");	/* a null param counts as absent */
	NO(r, "params.nothing = 0");
	YES(r, "metrics.acc IS NOT NULL and metrics.nope is null");
	YES(r, "tags.note is not null");
	YES(r, "parent IS NULL and branch IS NOT NULL");
	YES(r, "not params.zzz is not null");
	bad_syntax("params.x IS 1", MLP_EINVALID, 12, "NULL or NOT NULL after IS");
	bad_syntax("params.x IS NOT", MLP_EINVALID, 15, "NULL after IS NOT");

	YES(running, "ended IS NULL and duration IS NULL and exit_code IS NULL");
	YES(running, "name IS NULL and commit IS NULL and status = 'running'");
	mlp_run_free(running);
}

/* ---- semantics ---------------------------------------------------------------- */

static void test_absent_keys(void **state)
{
	const struct mlp_run *r = *state;

	/* never compares as zero or as the empty string */
	NO(r, "metrics.nope = 0");
	NO(r, "metrics.nope < 1");
	NO(r, "metrics.nope >= 0");
	NO(r, "params.zzz = ''");
	/* != is false too: documented */
	NO(r, "metrics.nope != 1");
	NO(r, "params.zzz != 'x'");
	/* not is plain boolean negation */
	YES(r, "not metrics.nope = 1");
	YES(r, "not metrics.nope != 1");
	YES(r, "metrics.nope > 0 or metrics.acc > 0");
	NO(r, "metrics.nope > 0 and metrics.acc > 0");
	/* absent keys cannot be type errors */
	NO(r, "params.zzz = 'a' or params.zzz = 1 or params.zzz = true");
}

static void test_type_errors(void **state)
{
	const struct mlp_run *r = *state;

	/* params carry their type: the message names the key */
	bad_match(r, "params.lr = 'abc'", "params.lr is a number; cannot compare it with 'abc'");
	bad_match(r, "params.lr > '0.01'", "params.lr is a number");
	bad_match(r, "params.slr = 0.01", "params.slr is a string; cannot compare it with 0.01");
	bad_match(r, "params.opt < 3", "params.opt is a string");
	bad_match(r, "tags.note = 1", "tags.note is a string");
	bad_match(r, "params.`model type` = 1", "params.`model type` is a string");
	/* inside a larger expression, once reached */
	bad_match(r, "metrics.acc > 0 and params.lr = 'x'", "params.lr");
	/* metrics and attributes have a known kind: caught when parsing */
	bad_syntax("metrics.acc = 'abc'", MLP_EINVALID, 14,
		   "metrics.acc is a number; cannot compare it with 'abc'");
	bad_syntax("metrics.acc = 'nan'", MLP_EINVALID, 14, "is a number");
	bad_syntax("name = 5", MLP_EINVALID, 7, "name is a string; cannot compare it with 5");
	bad_syntax("exit_code = '0'", MLP_EINVALID, 12, "exit_code is a number");
	bad_syntax("duration < true", MLP_EINVALID, 11, "only compare with = and !=");
}

static void test_nan_inf(void **state)
{
	const struct mlp_run *r = *state;

	NO(r, "metrics.nan = 0");
	NO(r, "metrics.nan < inf");
	NO(r, "metrics.nan > -inf");
	NO(r, "metrics.nan <= 1");
	NO(r, "metrics.nan >= 1");
	YES(r, "metrics.nan != 0");
	YES(r, "metrics.nan <> 0");
	YES(r, "metrics.nan IS NOT NULL");
	NO(r, "metrics.nan IN (0, 1)");
	YES(r, "metrics.nan NOT IN (0, 1)");
	/* min/max of an all-NaN series are NaN */
	NO(r, "metrics.nan.min = 0");
	YES(r, "metrics.nan.count = 1");
	YES(r, "metrics.inf = inf");
	YES(r, "metrics.inf > 1e308");
	YES(r, "metrics.inf >= INF");
	NO(r, "metrics.inf < inf");
	YES(r, "metrics.ninf = -inf");
	YES(r, "metrics.ninf < -1e308");
	YES(r, "metrics.inf != -inf");
	YES(r, "metrics.acc > 1e-400");	/* underflows to 0 */
	YES(r, "metrics.inf = 1e400");	/* overflows to inf */
}

static void test_started_ended(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "started = 1704067200000");
	YES(r, "started = '2024-01-01'");
	YES(r, "started >= '2024-01-01T00:00:00Z'");
	YES(r, "started < '2024-01-01T00:00:01'");
	YES(r, "started > '2023-12-31 23:59:59'");
	YES(r, "started < '2024-01-01t00:01Z'");
	NO(r, "started > '2024-01-01'");
	YES(r, "ended > '2024-01-01T00:01:30Z'");
	YES(r, "ended < '2024-01-01T00:01:31Z'");
	YES(r, "attributes.start_time = '2024-01-01'");
	YES(r, "attributes.end_time IN ('2024-01-01', 1704067290500)");
	YES(r, "started > '1970-01-01' and started < '2100-02-28T12:00'");
	bad_syntax("started = '2024-02-30'", MLP_EINVALID, 10, "YYYY-MM-DD");
	bad_syntax("started = '2023-02-29'", MLP_EINVALID, 10, NULL);
	bad_syntax("started = '2024-1-1'", MLP_EINVALID, 10, NULL);
	bad_syntax("started = '2024-01-01T25:00'", MLP_EINVALID, 10, NULL);
	bad_syntax("started = '2024-01-01T10:00+02:00'", MLP_EINVALID, 10, NULL);
	bad_syntax("started = 'yesterday'", MLP_EINVALID, 10, "not 'yesterday'");
	/* other keys take dates as plain strings */
	NO(r, "params.opt = '2024-01-01'");
}

static void test_duration(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_run *running = mlp_run_new();

	YES(r, "duration = 90.5");
	YES(r, "duration > 90 and duration < 91");
	YES(r, "attributes.duration >= 90.5");
	running->started = T0;
	NO(running, "duration > 0");
	NO(running, "duration < 1e9");
	NO(running, "ended > 0");
	YES(running, "duration IS NULL");
	mlp_run_free(running);
}

static void test_attributes(void **state)
{
	const struct mlp_run *r = *state;

	YES(r, "id = '0123456789abcdef0123456789abcdef'");
	YES(r, "id LIKE '0123%'");
	YES(r, "attributes.run_id LIKE '0123%'");
	YES(r, "name = 'brave-otter'");
	YES(r, "run_name = 'brave-otter'");
	YES(r, "experiment = 'baseline'");
	YES(r, "status = 'finished'");
	YES(r, "attributes.status = 'FINISHED'");	/* MLflow's spelling */
	YES(r, "status != 'RUNNING'");
	YES(r, "commit LIKE '1111%'");
	YES(r, "branch = 'main'");
	YES(r, "host = 'gpu-box'");
	YES(r, "user = 'ada' and attributes.user_id = 'ada'");
	YES(r, "exit_code = 0");
	YES(r, "parent IS NULL");
	YES(r, "Status = 'finished'");
	YES(r, "ATTRIBUTES.status = 'finished'");
	bad_syntax("attributes.color = 'red'", MLP_EINVALID, 0, "unknown attribute 'color'");
	bad_syntax("color = 'red'", MLP_EINVALID, 0, "unknown key 'color'");
	bad_syntax("metrix.acc > 1", MLP_EINVALID, 0, "unknown key 'metrix.acc'");
	bad_syntax("metrics. > 1", MLP_EINVALID, 0, "empty key");
	bad_syntax("`` > 1", MLP_EINVALID, 0, "empty key");
}

static void test_syntax_errors(void **state)
{
	(void)state;

	bad_syntax("metrics.acc > ", MLP_EINVALID, 14, "expected a value");
	bad_syntax("metrics.acc > ", MLP_EINVALID, 14, "the end of the expression");
	bad_syntax("metrics.acc >> 1", MLP_EINVALID, 13, "expected a value (number, 'string', true or false) after '>', found '>'");
	bad_syntax("metrics.acc == 1", MLP_EINVALID, 13, "after '='");
	bad_syntax("metrics.acc 1", MLP_EINVALID, 12, "expected an operator");
	bad_syntax("metrics.acc", MLP_EINVALID, 11, "expected an operator");
	bad_syntax("metrics.acc ! 1", MLP_EINVALID, 12, "expected an operator");
	bad_syntax("metrics.acc > 1 and", MLP_EINVALID, 19, "expected a key");
	bad_syntax("metrics.acc > 1 or or metrics.acc > 1", MLP_EINVALID, 19, "unknown key 'or'");
	bad_syntax("metrics.acc > 1 metrics.acc < 2", MLP_EINVALID, 16,
		   "expected 'and', 'or' or the end of the expression");
	bad_syntax("(metrics.acc > 1", MLP_EINVALID, 16, "to close the '(' at column 0");
	bad_syntax("(metrics.acc > 1 x", MLP_EINVALID, 17, "')'");
	bad_syntax("metrics.acc > 1)", MLP_EINVALID, 15, "unbalanced ')'");
	bad_syntax("()", MLP_EINVALID, 1, "expected a key");
	bad_syntax("not", MLP_EINVALID, 3, "expected a key");
	bad_syntax("and", MLP_EINVALID, 0, "unknown key 'and'");
	bad_syntax("'abc' = name", MLP_EINVALID, 0, "expected a key");
	bad_syntax("= 1", MLP_EINVALID, 0, "expected a key");
	bad_syntax("params.x = 'abc", MLP_EINVALID, 11, "unterminated string");
	bad_syntax("params.x = \"abc", MLP_EINVALID, 11, "unterminated string");
	bad_syntax("params.x = 'a' 'b'", MLP_EINVALID, 15, NULL);
	bad_syntax("params.x = 1, 2", MLP_EINVALID, 12, NULL);
	bad_syntax("params.x BETWEEN 1 AND 2", MLP_EINVALID, 9, "expected an operator");
	bad_syntax("params.x LIKE", MLP_EINVALID, 13, "after LIKE");
	bad_syntax("  metrics.acc >\t", MLP_EINVALID, 16, NULL);
	/* the message carries the column too */
	bad_syntax("metrics.acc >> 1", MLP_EINVALID, 13, "at column 13");
}

static void test_empty_query(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_query *q = NULL;
	int m = 0;

	YES(r, "");
	YES(r, "   \t\n");
	assert_int_equal(mlp_query_match(NULL, r, &m), 0);
	assert_int_equal(m, 1);
	assert_int_equal(mlp_query_parse(&q, ""), 0);
	mlp_query_free(q);
	mlp_query_free(NULL);
}

/* ---- limits and hostile input -------------------------------------------------- */

static void test_depth_limit(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_buf b = MLP_BUF_INIT;

	for (int i = 0; i < MLP_QUERY_MAX_DEPTH; i++)
		mlp_buf_addch(&b, '(');
	mlp_buf_adds(&b, "metrics.acc > 0");
	for (int i = 0; i < MLP_QUERY_MAX_DEPTH; i++)
		mlp_buf_addch(&b, ')');
	YES(r, b.buf);

	mlp_buf_reset(&b);
	for (int i = 0; i < MLP_QUERY_MAX_DEPTH + 1; i++)
		mlp_buf_addch(&b, '(');
	mlp_buf_adds(&b, "metrics.acc > 0");
	for (int i = 0; i < MLP_QUERY_MAX_DEPTH + 1; i++)
		mlp_buf_addch(&b, ')');
	bad_syntax(b.buf, MLP_ELIMIT, MLP_QUERY_MAX_DEPTH, "deeper than 64");

	/* a flood of parentheses is stopped at the limit, not by the stack */
	mlp_buf_reset(&b);
	for (int i = 0; i < 60000; i++)
		mlp_buf_addch(&b, '(');
	bad_syntax(b.buf, MLP_ELIMIT, MLP_QUERY_MAX_DEPTH, NULL);

	/* long runs of not are folded, not recursed */
	mlp_buf_reset(&b);
	for (int i = 0; i < 10001; i++)
		mlp_buf_adds(&b, "not ");
	mlp_buf_adds(&b, "metrics.acc > 0");
	NO(r, b.buf);

	/* long flat chains are fine */
	mlp_buf_reset(&b);
	for (int i = 0; i < 2000; i++)
		mlp_buf_adds(&b, "metrics.acc < 0 or ");
	mlp_buf_adds(&b, "metrics.acc > 0");
	YES(r, b.buf);
	mlp_buf_release(&b);
}

static void test_length_limit(void **state)
{
	const struct mlp_run *r = *state;
	size_t n = MLP_QUERY_MAX_LEN;
	char *s = malloc(n + 2);

	/* exactly the limit: blanks, then a comparison at the end */
	memset(s, ' ', n);
	memcpy(s + n - 15, "metrics.acc > 0", 15);
	s[n] = '\0';
	YES(r, s);
	s[n] = ' ';
	s[n + 1] = '\0';
	bad_syntax(s, MLP_ELIMIT, MLP_QUERY_MAX_LEN, "longer than 65536 bytes");
	free(s);
}

/* Random token soup and random bytes: no crash, no leak, errors have columns. */
static void test_fuzz_smoke(void **state)
{
	const struct mlp_run *r = *state;
	static const char *const tokens[] = {
		"metrics.acc", "params.lr", "params.opt", "tags.note", "name", "started",
		"metrics.acc.min", "metrics.`val loss`", "dirty", "duration", "params.flag",
		"=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ilike", "IN", "NOT", "not",
		"IS", "NULL", "and", "or", "(", ")", ",", "'adam'", "'a%'", "\"x\"", "1",
		"-2.5", "1e3", "inf", "true", "false", "'2024-01-01'", "`", "'", "\"", "\\",
		" ", " ", " ",
	};
	char buf[256];

	for (int iter = 0; iter < 20000; iter++) {
		struct mlp_query *q = NULL;
		size_t len = 0, ntok = rng() % 12;
		int m;

		if (iter % 4 == 3) {
			len = rng() % 40;
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)(rng() % 255 + 1);
		} else {
			for (size_t i = 0; i < ntok; i++) {
				const char *t = tokens[rng() % (sizeof(tokens) / sizeof(tokens[0]))];
				size_t tl = strlen(t);
				if (len + tl + 1 >= sizeof(buf))
					break;
				memcpy(buf + len, t, tl);
				len += tl;
				if (rng() % 2)
					buf[len++] = ' ';
			}
		}
		buf[len] = '\0';
		int err = mlp_query_parse(&q, buf);
		if (err) {
			assert_null(q);
			assert_true(err == MLP_EINVALID || err == MLP_ELIMIT);
			assert_true(mlp_query_error_column() <= len);
			continue;
		}
		err = mlp_query_match(q, r, &m);
		assert_true(err == 0 || err == MLP_EINVALID);
		mlp_query_free(q);
	}
}

/* ---- mlp_run_field ---------------------------------------------------------------- */

static void test_run_field(void **state)
{
	const struct mlp_run *r = *state;
	struct mlp_value v;
	int found;

	assert_int_equal(mlp_run_field(r, "metrics.acc", &v, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(v.type, MLP_FLOAT);
	assert_true(v.u.f == 0.8);
	mlp_value_clear(&v);

	assert_int_equal(mlp_run_field(r, "metrics.acc.count", &v, &found), 0);
	assert_int_equal(v.type, MLP_INT);
	assert_int_equal(v.u.i, 3);

	assert_int_equal(mlp_run_field(r, "metrics.val loss", &v, &found), 0);
	assert_int_equal(found, 1);
	assert_true(v.u.f == 0.7);
	assert_int_equal(mlp_run_field(r, "metrics.`val loss`.max", &v, &found), 0);
	assert_int_equal(found, 1);
	assert_true(v.u.f == 0.7);

	assert_int_equal(mlp_run_field(r, "params.opt", &v, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(v.type, MLP_STR);
	assert_string_equal(v.u.str.s, "adam");
	assert_ptr_not_equal(v.u.str.s, mlp_map_get(&r->params, "opt")->u.str.s);	/* a copy */
	mlp_value_clear(&v);

	assert_int_equal(mlp_run_field(r, "name", &v, &found), 0);
	assert_string_equal(v.u.str.s, "brave-otter");
	mlp_value_clear(&v);
	assert_int_equal(mlp_run_field(r, "status", &v, &found), 0);
	assert_string_equal(v.u.str.s, "finished");
	mlp_value_clear(&v);
	assert_int_equal(mlp_run_field(r, "started", &v, &found), 0);
	assert_int_equal(v.type, MLP_INT);
	assert_true(v.u.i == T0);
	assert_int_equal(mlp_run_field(r, "duration", &v, &found), 0);
	assert_int_equal(v.type, MLP_FLOAT);
	assert_true(v.u.f == 90.5);
	assert_int_equal(mlp_run_field(r, "dirty", &v, &found), 0);
	assert_int_equal(v.type, MLP_BOOL);
	assert_int_equal(v.u.b, 0);
	assert_int_equal(mlp_run_field(r, "params.flag", &v, &found), 0);
	assert_int_equal(v.type, MLP_BOOL);
	assert_int_equal(mlp_run_field(r, "tags.note", &v, &found), 0);
	assert_string_equal(v.u.str.s, "Hello World");
	mlp_value_clear(&v);

	assert_int_equal(mlp_run_field(r, "params.zzz", &v, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(v.type, MLP_NIL);
	assert_int_equal(mlp_run_field(r, "params.nothing", &v, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(mlp_run_field(r, "parent", &v, &found), 0);
	assert_int_equal(found, 0);

	assert_int_equal(mlp_run_field(r, "colour", &v, &found), MLP_EINVALID);
	assert_non_null(strstr(mlp_error_message(), "colour"));
	assert_int_equal(found, 0);
	assert_int_equal(mlp_run_field(r, "attributes.colour", &v, &found), MLP_EINVALID);
	assert_int_equal(mlp_run_field(r, "metrics.", &v, &found), MLP_EINVALID);
	assert_int_equal(mlp_run_field(r, "", &v, &found), MLP_EINVALID);
	assert_int_equal(mlp_run_field(r, "metrics.`acc", &v, &found), MLP_EINVALID);
}

/* ---- sorting and filtering ---------------------------------------------------------- */

/* Runs named r0..r<n-1>, seed i % 2; acc[i] == NO_VALUE means no acc metric. */
#define NO_VALUE 1e300

static void make_list(struct mlp_run_list *list, const double *acc, size_t n)
{
	memset(list, 0, sizeof(*list));
	list->runs = calloc(n, sizeof(*list->runs));
	list->alloc = n;
	for (size_t i = 0; i < n; i++) {
		struct mlp_run *run = mlp_run_new();
		char name[32];
		snprintf(name, sizeof(name), "r%zu", i);
		run->name = strdup(name);
		if (acc[i] != NO_VALUE)
			mlp_run_add_point(run, "acc", 0, acc[i], T0);
		set_param_int(&run->params, "seed", (int64_t)(i % 2));
		mlp_run_summarize(run);
		list->runs[list->nr++] = run;
	}
}

static void assert_order(const struct mlp_run_list *list, const char *want)
{
	struct mlp_buf b = MLP_BUF_INIT;

	for (size_t i = 0; i < list->nr; i++)
		mlp_buf_addf(&b, "%s%s", i ? " " : "", list->runs[i]->name);
	if (strcmp(b.buf ? b.buf : "", want))
		fail_msg("order \"%s\", want \"%s\"", b.buf ? b.buf : "", want);
	mlp_buf_release(&b);
}

static void test_sort(void **state)
{
	static const double acc[] = { 0.5, NO_VALUE, 0.9, 0.5, NAN, 0.7, NO_VALUE, 0.9 };
	struct mlp_run_list list;
	const char *asc[] = { "metrics.acc" };
	const char *plus[] = { "+metrics.acc" };
	const char *desc[] = { "-metrics.acc" };
	const char *two[] = { "params.seed", "-metrics.acc" };
	const char *by_name[] = { "-name" };
	const char *bad[] = { "metrics.acc", "-colour" };

	(void)state;
	make_list(&list, acc, 8);
	assert_int_equal(mlp_run_list_sort(&list, asc, 1), 0);
	/* ties keep their order; NaN then absent come last */
	assert_order(&list, "r0 r3 r5 r2 r7 r4 r1 r6");
	assert_int_equal(mlp_run_list_sort(&list, desc, 1), 0);
	assert_order(&list, "r2 r7 r5 r0 r3 r4 r1 r6");
	assert_int_equal(mlp_run_list_sort(&list, plus, 1), 0);
	assert_order(&list, "r0 r3 r5 r2 r7 r4 r1 r6");
	assert_int_equal(mlp_run_list_sort(&list, two, 2), 0);
	/* seed 0: r0 r2 r4 r6; seed 1: r1 r3 r5 r7 */
	assert_order(&list, "r2 r0 r4 r6 r7 r5 r3 r1");
	assert_int_equal(mlp_run_list_sort(&list, by_name, 1), 0);
	assert_order(&list, "r7 r6 r5 r4 r3 r2 r1 r0");
	/* a bad key leaves the list alone */
	assert_int_equal(mlp_run_list_sort(&list, bad, 2), MLP_EINVALID);
	assert_non_null(strstr(mlp_error_message(), "colour"));
	assert_order(&list, "r7 r6 r5 r4 r3 r2 r1 r0");
	/* no keys: nothing moves */
	assert_int_equal(mlp_run_list_sort(&list, NULL, 0), 0);
	assert_order(&list, "r7 r6 r5 r4 r3 r2 r1 r0");
	mlp_run_list_release(&list);

	/* empty and single lists */
	make_list(&list, acc, 0);
	assert_int_equal(mlp_run_list_sort(&list, asc, 1), 0);
	mlp_run_list_release(&list);
	make_list(&list, acc, 1);
	assert_int_equal(mlp_run_list_sort(&list, desc, 1), 0);
	assert_order(&list, "r0");
	mlp_run_list_release(&list);
}

static void test_sort_stable_large(void **state)
{
	enum { N = 3000 };
	double *acc = malloc(N * sizeof(*acc));
	struct mlp_run_list list;
	const char *keys[] = { "-metrics.acc" };

	(void)state;
	for (size_t i = 0; i < N; i++)
		acc[i] = rng() % 7 == 0 ? NO_VALUE : (double)(rng() % 10);
	make_list(&list, acc, N);
	assert_int_equal(mlp_run_list_sort(&list, keys, 1), 0);
	for (size_t i = 1; i < N; i++) {
		const struct mlp_summary *a = mlp_run_summary(list.runs[i - 1], "acc");
		const struct mlp_summary *b = mlp_run_summary(list.runs[i], "acc");
		int ia = atoi(list.runs[i - 1]->name + 1), ib = atoi(list.runs[i]->name + 1);
		assert_true(a || !b);	/* absent only at the end */
		if (a && b)
			assert_true(a->last > b->last || (a->last == b->last && ia < ib));
		if (!a && !b)
			assert_true(ia < ib);
	}
	mlp_run_list_release(&list);
	free(acc);
}

static void test_filter(void **state)
{
	static const double acc[] = { 0.5, NO_VALUE, 0.9, 0.5, NAN, 0.7 };
	struct mlp_run_list list;
	struct mlp_query *q = NULL;

	(void)state;
	make_list(&list, acc, 6);
	assert_int_equal(mlp_query_parse(&q, "metrics.acc >= 0.5 and not name = 'r3'"), 0);
	assert_int_equal(mlp_run_list_filter(&list, q), 0);
	assert_order(&list, "r0 r2 r5");
	mlp_query_free(q);

	/* a type error leaves the list alone */
	assert_int_equal(mlp_query_parse(&q, "params.seed = 'zero'"), 0);
	assert_int_equal(mlp_run_list_filter(&list, q), MLP_EINVALID);
	assert_non_null(strstr(mlp_error_message(), "params.seed is a number"));
	assert_order(&list, "r0 r2 r5");
	mlp_query_free(q);

	/* the empty query keeps everything; a false one nothing */
	assert_int_equal(mlp_query_parse(&q, ""), 0);
	assert_int_equal(mlp_run_list_filter(&list, q), 0);
	assert_order(&list, "r0 r2 r5");
	mlp_query_free(q);
	assert_int_equal(mlp_query_parse(&q, "metrics.acc IS NULL"), 0);
	assert_int_equal(mlp_run_list_filter(&list, q), 0);
	assert_int_equal(list.nr, 0);
	mlp_query_free(q);
	mlp_run_list_release(&list);
}

/* Which keys the index answers from bytes, and a record that is damaged there. */
static void test_view(void **state)
{
	const struct mlp_run *run = *state;
	static const char *const ok[] = {
		"metrics.acc > 0", "metrics.acc.min < 1", "params.lr = 0.01", "tags.note LIKE 'H%'",
		"id LIKE '0123%'", "name = 'brave-otter'", "status = 'finished'",
		"commit LIKE '1111%'", "started > 0", "dirty = false", "not (params.x = 1 or name IS NULL)",
	};
	static const char *const not_ok[] = {
		"host = 'gpu-box'", "experiment = 'baseline'", "duration > 1", "branch = 'main'",
		"params.lr = 0.01 and user = 'ada'", "exit_code = 0", "ended > 0", "parent IS NULL",
	};
	struct mlp_query *q = NULL;
	struct mlp_run_view v;
	const char junk[] = "\x82\xa1v\x01\xa6params\xdc\xff\xff";	/* an array32 header cut short */
	int m = -1;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(mlp_query_parse(&q, ok[i]), 0);
		if (!mlp_query_view_ok(q))
			fail_msg("\"%s\" should be answered from the index", ok[i]);
		mlp_query_free(q);
	}
	for (size_t i = 0; i < sizeof(not_ok) / sizeof(not_ok[0]); i++) {
		assert_int_equal(mlp_query_parse(&q, not_ok[i]), 0);
		if (mlp_query_view_ok(q))
			fail_msg("\"%s\" needs the decoded run", not_ok[i]);
		mlp_query_free(q);
	}
	assert_true(mlp_query_view_ok(NULL));

	/* damaged bytes: an error to fall back on, never a match */
	memset(&v, 0, sizeof(v));
	v.id = run->id;
	v.base = "";
	v.rec[0] = v.rec[2] = "";
	v.rec[1] = junk;
	v.len[1] = sizeof(junk) - 1;
	assert_int_equal(mlp_query_parse(&q, "params.lr < 1"), 0);
	assert_true(mlp_query_match_view(q, &v, &m) < 0);
	assert_int_equal(m, 0);
	mlp_query_free(q);
	/* absent records read as empty: no params, no metrics */
	v.rec[1] = "";
	v.len[1] = 0;
	assert_int_equal(mlp_query_parse(&q, "params.lr IS NULL and metrics.acc IS NULL"), 0);
	assert_int_equal(mlp_query_match_view(q, &v, &m), 0);
	assert_int_equal(m, 1);
	mlp_query_free(q);
}

int main(void)
{
#define RUN_TEST(f) cmocka_unit_test_setup_teardown(f, setup_run, teardown_run)
	const struct CMUnitTest tests[] = {
		RUN_TEST(test_number_operators),
		RUN_TEST(test_string_operators),
		RUN_TEST(test_booleans),
		RUN_TEST(test_precedence),
		RUN_TEST(test_not_and_parens),
		RUN_TEST(test_keywords_case),
		RUN_TEST(test_string_escapes),
		RUN_TEST(test_quoted_keys),
		RUN_TEST(test_dotted_keys),
		RUN_TEST(test_aggregates),
		RUN_TEST(test_literals),
		RUN_TEST(test_in),
		RUN_TEST(test_like),
		RUN_TEST(test_is_null),
		RUN_TEST(test_absent_keys),
		RUN_TEST(test_type_errors),
		RUN_TEST(test_nan_inf),
		RUN_TEST(test_started_ended),
		RUN_TEST(test_duration),
		RUN_TEST(test_attributes),
		RUN_TEST(test_syntax_errors),
		RUN_TEST(test_empty_query),
		RUN_TEST(test_depth_limit),
		RUN_TEST(test_length_limit),
		RUN_TEST(test_fuzz_smoke),
		RUN_TEST(test_run_field),
		RUN_TEST(test_view),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_sort_stable_large),
		cmocka_unit_test(test_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
