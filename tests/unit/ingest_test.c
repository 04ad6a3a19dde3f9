/*
 * lib/ingest.c: the $MLP_METRICS JSON-lines protocol, --key value params
 * of a wrapped command, and the JSON lines `git mlp log` writes.
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

#include "mlp.h"

#define NOW 1700000000000LL

/* ---- helpers ----------------------------------------------------------------- */

static int ingest(struct mlp_run *run, const char *line)
{
	return mlp_ingest_json_line(run, line, strlen(line), NOW);
}

static void assert_point(const struct mlp_run *run, const char *key, size_t i,
			 int64_t step, double value)
{
	const struct mlp_series *s = mlp_run_series(run, key);

	if (!s)
		fail_msg("no series '%s'", key);
	if (i >= s->nr)
		fail_msg("series '%s' has %zu points, want more than %zu", key, s->nr, i);
	if (s->step[i] != step || s->value[i] != value)
		fail_msg("'%s'[%zu] = (%lld, %.17g), want (%lld, %.17g)", key, i,
			 (long long)s->step[i], s->value[i], (long long)step, value);
	assert_true(s->t[i] == NOW);
}

static size_t npoints(const struct mlp_run *run, const char *key)
{
	const struct mlp_series *s = mlp_run_series(run, key);
	return s ? s->nr : 0;
}

/* A fingerprint of everything ingest may touch, to check "nothing changed". */
static char *fingerprint(const struct mlp_run *run)
{
	struct mlp_buf b = MLP_BUF_INIT;

	for (size_t i = 0; i < run->series_nr; i++) {
		const struct mlp_series *s = &run->series[i];
		mlp_buf_addf(&b, "S%s:", s->key);
		for (size_t j = 0; j < s->nr; j++)
			mlp_buf_addf(&b, "%lld/%.17g/%lld,", (long long)s->step[j], s->value[j], (long long)s->t[j]);
	}
	for (size_t i = 0; i < run->params.nr; i++) {
		mlp_buf_addf(&b, "P%s=%d:", run->params.items[i].key, run->params.items[i].val.type);
		mlp_value_format(&b, &run->params.items[i].val);
	}
	for (size_t i = 0; i < run->tags.nr; i++) {
		mlp_buf_addf(&b, "T%s=%d:", run->tags.items[i].key, run->tags.items[i].val.type);
		mlp_value_format(&b, &run->tags.items[i].val);
	}
	return mlp_buf_detach(&b, NULL);
}

static struct mlp_run *seeded_run(void)
{
	struct mlp_run *run = mlp_run_new();

	assert_int_equal(ingest(run, "{\"step\":4,\"loss\":0.5}"), 0);
	assert_int_equal(ingest(run, "{\"params\":{\"lr\":0.1}}"), 0);
	assert_int_equal(ingest(run, "{\"tags\":{\"team\":\"a\"}}"), 0);
	return run;
}

static void assert_refused_unchanged(const char *line, int want)
{
	struct mlp_run *run = seeded_run();
	char *before = fingerprint(run), *after;
	int err = ingest(run, line);

	if (want ? err != want : err >= 0)
		fail_msg("line %s: returned %d (%s)", line, err, mlp_error_message());
	after = fingerprint(run);
	if (strcmp(before, after))
		fail_msg("line %s changed the run:\n  %s\n  %s", line, before, after);
	assert_true(strlen(mlp_error_message()) > 0);
	free(before);
	free(after);
	mlp_run_free(run);
}

/* ---- metrics ------------------------------------------------------------------- */

static void test_metrics_with_step(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "{\"step\":3,\"loss\":0.2,\"acc\":1}"), 0);
	assert_point(run, "loss", 0, 3, 0.2);
	assert_point(run, "acc", 0, 3, 1.0);
	/* "step" can come after the metrics */
	assert_int_equal(ingest(run, "{\"loss\":0.1,\"step\":7}"), 0);
	assert_point(run, "loss", 1, 7, 0.1);
	assert_int_equal(run->series_nr, 2);
	assert_null(mlp_run_series(run, "step"));
	/* an integral float step, and a large integer step */
	assert_int_equal(ingest(run, "{\"step\":8.0,\"loss\":0}"), 0);
	assert_point(run, "loss", 2, 8, 0.0);
	assert_int_equal(ingest(run, "{\"step\":9007199254740993,\"loss\":-1e-300}"), 0);
	assert_point(run, "loss", 3, 9007199254740993LL, -1e-300);
	assert_int_equal(ingest(run, "{\"step\":-5,\"loss\":1}"), 0);
	assert_point(run, "loss", 4, -5, 1.0);
	mlp_run_free(run);
}

static void test_metrics_auto_step(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "{\"loss\":1}"), 0);
	assert_int_equal(ingest(run, "{\"loss\":2}"), 0);
	assert_int_equal(ingest(run, "{\"acc\":0.5}"), 0);	/* its own counter */
	assert_int_equal(ingest(run, "{\"loss\":3,\"acc\":0.6}"), 0);
	assert_point(run, "loss", 0, 0, 1.0);
	assert_point(run, "loss", 1, 1, 2.0);
	assert_point(run, "loss", 2, 2, 3.0);
	assert_point(run, "acc", 0, 0, 0.5);
	assert_point(run, "acc", 1, 1, 0.6);
	/* after an explicit step, the next one is last + 1 */
	assert_int_equal(ingest(run, "{\"step\":100,\"loss\":4}"), 0);
	assert_int_equal(ingest(run, "{\"loss\":5}"), 0);
	assert_point(run, "loss", 4, 101, 5.0);
	assert_int_equal(ingest(run, "{\"acc\":0.7}"), 0);
	assert_point(run, "acc", 2, 2, 0.7);
	mlp_run_free(run);
}

static void test_metrics_nested(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "{\"val\":{\"loss\":1,\"acc\":{\"top1\":0.5,\"top5\":0.9}},\"loss\":2}"), 0);
	assert_point(run, "val.loss", 0, 0, 1.0);
	assert_point(run, "val.acc.top1", 0, 0, 0.5);
	assert_point(run, "val.acc.top5", 0, 0, 0.9);
	assert_point(run, "loss", 0, 0, 2.0);
	assert_null(mlp_run_series(run, "val"));
	assert_int_equal(run->series_nr, 4);
	/* auto steps per flattened key */
	assert_int_equal(ingest(run, "{\"val\":{\"loss\":3}}"), 0);
	assert_point(run, "val.loss", 1, 1, 3.0);
	/* keys with odd bytes are kept as they are */
	assert_int_equal(ingest(run, "{\"val/loss\":1,\"a b\":2,\"\\u00fc\":3}"), 0);
	assert_point(run, "val/loss", 0, 0, 1.0);
	assert_point(run, "a b", 0, 0, 2.0);
	assert_point(run, "ü", 0, 0, 3.0);
	mlp_run_free(run);
}

static void test_metrics_leading_blanks(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "  \t{\"loss\":1}\r"), 0);
	assert_point(run, "loss", 0, 0, 1.0);
	/* len is honoured: the bytes after it are not part of the line */
	assert_int_equal(mlp_ingest_json_line(run, "{\"loss\":2}{\"loss\":3}", 10, NOW), 0);
	assert_int_equal(npoints(run, "loss"), 2);
	assert_point(run, "loss", 1, 1, 2.0);
	mlp_run_free(run);
}

static void test_blank_lines(void **state)
{
	struct mlp_run *run = seeded_run();
	char *before = fingerprint(run), *after;

	(void)state;
	assert_int_equal(ingest(run, ""), 0);
	assert_int_equal(ingest(run, "   "), 0);
	assert_int_equal(ingest(run, " \t\r "), 0);
	assert_int_equal(mlp_ingest_json_line(run, "{\"loss\":1}", 0, NOW), 0);
	after = fingerprint(run);
	assert_string_equal(before, after);
	free(before);
	free(after);
	mlp_run_free(run);
}

/* ---- params and tags ------------------------------------------------------------ */

static void test_params_line(void **state)
{
	struct mlp_run *run = mlp_run_new();
	const struct mlp_value *v;

	(void)state;
	assert_int_equal(ingest(run,
		"{\"params\":{\"lr\":0.01,\"epochs\":3,\"model\":{\"name\":\"cnn\",\"layers\":{\"n\":4}},"
		"\"flag\":true,\"off\":false,\"none\":null,\"big\":1e300,\"list\":[1,\"a\"],\"s\":\"3\"}}"), 0);
	assert_int_equal(run->series_nr, 0);
	assert_int_equal(run->params.nr, 10);
	v = mlp_map_get(&run->params, "lr");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_FLOAT);
	assert_true(v->u.f == 0.01);
	v = mlp_map_get(&run->params, "epochs");
	assert_int_equal(v->type, MLP_INT);
	assert_true(v->u.i == 3);
	v = mlp_map_get(&run->params, "model.name");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_STR);
	assert_string_equal(v->u.str.s, "cnn");
	v = mlp_map_get(&run->params, "model.layers.n");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_INT);
	assert_true(v->u.i == 4);
	assert_null(mlp_map_get(&run->params, "model"));
	v = mlp_map_get(&run->params, "flag");
	assert_int_equal(v->type, MLP_BOOL);
	assert_true(v->u.b);
	v = mlp_map_get(&run->params, "off");
	assert_int_equal(v->type, MLP_BOOL);
	assert_false(v->u.b);
	v = mlp_map_get(&run->params, "none");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_NIL);
	v = mlp_map_get(&run->params, "big");
	assert_int_equal(v->type, MLP_FLOAT);
	assert_true(v->u.f == 1e300);
	v = mlp_map_get(&run->params, "list");
	assert_int_equal(v->type, MLP_STR);
	assert_string_equal(v->u.str.s, "[1,\"a\"]");
	v = mlp_map_get(&run->params, "s");
	assert_int_equal(v->type, MLP_STR);	/* a JSON string stays a string */
	assert_string_equal(v->u.str.s, "3");

	/* a later line replaces a param */
	assert_int_equal(ingest(run, "{\"params\":{\"lr\":0.02,\"model\":{\"name\":\"rnn\"}}}"), 0);
	assert_true(mlp_map_get(&run->params, "lr")->u.f == 0.02);
	assert_string_equal(mlp_map_get(&run->params, "model.name")->u.str.s, "rnn");
	assert_int_equal(run->params.nr, 10);
	mlp_run_free(run);
}

static void test_tags_line(void **state)
{
	struct mlp_run *run = mlp_run_new();
	const struct mlp_value *v;
	static const struct { const char *key, *want; } cases[] = {
		{ "team", "vision" }, { "n", "1" }, { "b", "true" }, { "f", "false" },
		{ "x", "0.5" }, { "z", "null" }, { "nested.k", "v" },
	};

	(void)state;
	assert_int_equal(ingest(run,
		"{\"tags\":{\"team\":\"vision\",\"n\":1,\"b\":true,\"f\":false,\"x\":0.5,\"z\":null,"
		"\"nested\":{\"k\":\"v\"}}}"), 0);
	assert_int_equal(run->tags.nr, sizeof(cases) / sizeof(cases[0]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = mlp_map_get(&run->tags, cases[i].key);
		if (!v)
			fail_msg("no tag '%s'", cases[i].key);
		if (v->type != MLP_STR || strcmp(v->u.str.s, cases[i].want))
			fail_msg("tag '%s' is type %d '%s', want string '%s'", cases[i].key, v->type,
				 v->type == MLP_STR ? v->u.str.s : "", cases[i].want);
	}
	assert_int_equal(run->params.nr, 0);
	assert_int_equal(run->series_nr, 0);
	mlp_run_free(run);
}

static void test_mixed_line(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "{\"step\":2,\"loss\":1.5,\"params\":{\"a\":1},\"tags\":{\"t\":\"x\"}}"), 0);
	assert_point(run, "loss", 0, 2, 1.5);
	assert_true(mlp_map_get(&run->params, "a")->u.i == 1);
	assert_string_equal(mlp_map_get(&run->tags, "t")->u.str.s, "x");
	assert_int_equal(run->series_nr, 1);
	mlp_run_free(run);
}

/* ---- refusals: the run is left exactly as it was ------------------------------------ */

static void test_malformed(void **state)
{
	static const char *const lines[] = {
		"{", "}", "nope", "{\"loss\":1", "{\"loss\":1} x", "{loss:1}", "{\"loss\":1,}",
		"[1,2]", "3", "\"str\"", "null", "{\"loss\":NaN}", "{\"loss\":Infinity}",
		"{\"loss\":1}{\"acc\":2}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_refused_unchanged(lines[i], MLP_EINVALID);
}

static void test_bad_metric_values(void **state)
{
	(void)state;
	/* a good metric next to a bad one changes nothing */
	assert_refused_unchanged("{\"loss\":1,\"name\":\"x\"}", MLP_EINVALID);
	assert_refused_unchanged("{\"name\":\"x\",\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":9,\"loss\":1,\"ok\":true}", MLP_EINVALID);
	assert_refused_unchanged("{\"loss\":null}", MLP_EINVALID);
	assert_refused_unchanged("{\"loss\":[1,2]}", MLP_EINVALID);
	assert_refused_unchanged("{\"val\":{\"loss\":1,\"name\":\"x\"}}", MLP_EINVALID);
	assert_refused_unchanged("{\"loss\":1,\"params\":{\"a\":1},\"bad\":\"x\"}", MLP_EINVALID);
	assert_refused_unchanged("{\"params\":{\"a\":2},\"tags\":{\"b\":\"c\"},\"x\":\"y\"}", MLP_EINVALID);
	/* the message names the metric */
	{
		struct mlp_run *run = mlp_run_new();
		assert_int_equal(ingest(run, "{\"loss\":1,\"name\":\"x\"}"), MLP_EINVALID);
		assert_non_null(strstr(mlp_error_message(), "name"));
		mlp_run_free(run);
	}
}

static void test_bad_steps(void **state)
{
	(void)state;
	assert_refused_unchanged("{\"step\":1.5,\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"loss\":1,\"step\":1.5}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":\"3\",\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":null,\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":true,\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":1e300,\"loss\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"step\":{\"a\":1},\"loss\":1}", MLP_EINVALID);
	{
		struct mlp_run *run = mlp_run_new();
		assert_int_equal(ingest(run, "{\"step\":0.5,\"loss\":1}"), MLP_EINVALID);
		assert_non_null(strstr(mlp_error_message(), "step"));
		mlp_run_free(run);
	}
}

static void test_bad_sections(void **state)
{
	char *line;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	assert_refused_unchanged("{\"params\":3}", MLP_EINVALID);
	assert_refused_unchanged("{\"params\":[1]}", MLP_EINVALID);
	assert_refused_unchanged("{\"tags\":\"x\"}", MLP_EINVALID);
	assert_refused_unchanged("{\"\":1}", MLP_EINVALID);
	assert_refused_unchanged("{\"params\":{\"\":1}}", MLP_EINVALID);
	assert_refused_unchanged("{\"val\":{\"\":1}}", MLP_EINVALID);

	/* a metric key over the limit */
	mlp_buf_adds(&b, "{\"");
	for (int i = 0; i < MLP_MAX_KEY_LEN + 1; i++)
		mlp_buf_addch(&b, 'k');
	mlp_buf_adds(&b, "\":1}");
	line = mlp_buf_detach(&b, NULL);
	assert_refused_unchanged(line, 0);
	free(line);

	/* nesting deeper than the limit */
	for (int i = 0; i < MLP_MAX_DEPTH + 5; i++)
		mlp_buf_adds(&b, "{\"a\":");
	mlp_buf_adds(&b, "1");
	for (int i = 0; i < MLP_MAX_DEPTH + 5; i++)
		mlp_buf_addch(&b, '}');
	line = mlp_buf_detach(&b, NULL);
	assert_refused_unchanged(line, 0);
	free(line);
	mlp_buf_adds(&b, "{\"params\":");
	for (int i = 0; i < MLP_MAX_DEPTH + 5; i++)
		mlp_buf_adds(&b, "{\"a\":");
	mlp_buf_adds(&b, "1");
	for (int i = 0; i < MLP_MAX_DEPTH + 6; i++)
		mlp_buf_addch(&b, '}');
	line = mlp_buf_detach(&b, NULL);
	assert_refused_unchanged(line, 0);
	free(line);
}

static void test_artifact_queued(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(ingest(run, "{\"artifact\":\"model.pt\"}"), 0);
	assert_int_equal(ingest(run, "{\"artifact\":[\"a/b\",\"model.pt\"]}"), 0);
	assert_int_equal(run->artifact_queue_nr, 2);
	assert_string_equal(run->artifact_queue[0], "model.pt");
	assert_string_equal(run->artifact_queue[1], "a/b");
	assert_refused_unchanged("{\"loss\":1,\"artifact\":{\"path\":\"x\"}}", MLP_EINVALID);
	assert_refused_unchanged("{\"artifact\":\"\",\"params\":{\"a\":1}}", MLP_EINVALID);
	assert_refused_unchanged("{\"artifact\":[1]}", MLP_EINVALID);
	mlp_run_free(run);
}

/* ---- mlp_params_from_argv -------------------------------------------------------------- */

static void test_params_from_argv(void **state)
{
	char *argv[] = {
		"python", "train.py", "--lr", "0.01", "--epochs=3", "--verbose", "--name", "x",
		"--neg", "-1", "--", "--after", "1",
	};
	struct mlp_map m = MLP_MAP_INIT;
	const struct mlp_value *v;

	(void)state;
	assert_int_equal(mlp_params_from_argv(&m, sizeof(argv) / sizeof(argv[0]), argv), 0);
	assert_int_equal(m.nr, 5);
	v = mlp_map_get(&m, "lr");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_FLOAT);
	assert_true(v->u.f == 0.01);
	v = mlp_map_get(&m, "epochs");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_INT);
	assert_true(v->u.i == 3);
	v = mlp_map_get(&m, "verbose");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_BOOL);
	assert_true(v->u.b);
	v = mlp_map_get(&m, "name");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_STR);
	assert_string_equal(v->u.str.s, "x");
	v = mlp_map_get(&m, "neg");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_INT);
	assert_true(v->u.i == -1);
	assert_null(mlp_map_get(&m, "after"));
	assert_null(mlp_map_get(&m, ""));
	mlp_map_clear(&m);
}

static void test_params_from_argv_edges(void **state)
{
	char *argv[] = {
		"--prog-name-is-not-a-flag", "-v", "--a=b=c", "--empty=", "--=skip", "--x", "-foo",
		"--f", "-1e-3", "--t", "true", "--n", "null", "--dup", "1", "--dup", "2",
		"--dash", "-", "--last",
	};
	struct mlp_map m = MLP_MAP_INIT;
	const struct mlp_value *v;

	(void)state;
	assert_int_equal(mlp_params_from_argv(&m, sizeof(argv) / sizeof(argv[0]), argv), 0);
	assert_null(mlp_map_get(&m, "prog-name-is-not-a-flag"));
	assert_null(mlp_map_get(&m, "v"));
	v = mlp_map_get(&m, "a");
	assert_int_equal(v->type, MLP_STR);
	assert_string_equal(v->u.str.s, "b=c");
	v = mlp_map_get(&m, "empty");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_STR);
	assert_int_equal(v->u.str.len, 0);
	v = mlp_map_get(&m, "x");	/* "-foo" is the next option, not a value */
	assert_int_equal(v->type, MLP_BOOL);
	assert_null(mlp_map_get(&m, "foo"));
	v = mlp_map_get(&m, "f");
	assert_int_equal(v->type, MLP_FLOAT);
	assert_true(v->u.f == -1e-3);
	v = mlp_map_get(&m, "t");
	assert_int_equal(v->type, MLP_BOOL);
	assert_true(v->u.b);
	v = mlp_map_get(&m, "n");
	assert_non_null(v);
	assert_int_equal(v->type, MLP_NIL);
	v = mlp_map_get(&m, "dup");	/* the last one wins */
	assert_true(v->u.i == 2);
	v = mlp_map_get(&m, "dash");
	assert_int_equal(v->type, MLP_BOOL);
	v = mlp_map_get(&m, "last");	/* a flag at the end */
	assert_non_null(v);
	assert_int_equal(v->type, MLP_BOOL);
	assert_true(v->u.b);
	assert_int_equal(m.nr, 9);
	mlp_map_clear(&m);

	/* nothing to take */
	assert_int_equal(mlp_params_from_argv(&m, 0, NULL), 0);
	assert_int_equal(mlp_params_from_argv(&m, 1, argv), 0);
	assert_int_equal(m.nr, 0);
}

static void test_params_from_argv_long_key(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	char *argv[4];
	struct mlp_map m = MLP_MAP_INIT;

	(void)state;
	mlp_buf_adds(&b, "--");
	for (int i = 0; i < MLP_MAX_KEY_LEN + 1; i++)
		mlp_buf_addch(&b, 'k');
	argv[0] = "prog";
	argv[1] = b.buf;
	argv[2] = "--ok";
	argv[3] = "1";
	assert_int_equal(mlp_params_from_argv(&m, 4, argv), 0);
	assert_int_equal(m.nr, 1);	/* the unnameable flag is left out */
	assert_non_null(mlp_map_get(&m, "ok"));
	mlp_map_clear(&m);
	mlp_buf_release(&b);
}

/* ---- JSON lines for `git mlp log` ------------------------------------------------------- */

static void set_num(struct mlp_map *m, const char *k, const char *text)
{
	struct mlp_value v;

	mlp_value_parse(&v, text, strlen(text));
	mlp_map_set(m, k, &v);
}

static void test_json_line_metrics(void **state)
{
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_run *run = mlp_run_new();

	(void)state;
	set_num(&m, "loss", "0.5");
	set_num(&m, "acc", "1");
	set_num(&m, "val/x", "1.0");
	set_num(&m, "q\"k", "-2e-5");
	assert_int_equal(mlp_json_line_metrics(&out, &m, 1, 3), 0);
	assert_string_equal(out.buf, "{\"step\":3,\"acc\":1,\"loss\":0.5,\"q\\\"k\":-2e-05,\"val/x\":1.0}\n");

	/* what `log` writes is what ingest reads */
	assert_int_equal(mlp_ingest_json_line(run, out.buf, out.len - 1, NOW), 0);
	assert_point(run, "loss", 0, 3, 0.5);
	assert_point(run, "acc", 0, 3, 1.0);
	assert_point(run, "val/x", 0, 3, 1.0);
	assert_point(run, "q\"k", 0, 3, -2e-5);

	mlp_buf_reset(&out);
	assert_int_equal(mlp_json_line_metrics(&out, &m, 0, 99), 0);
	assert_string_equal(out.buf, "{\"acc\":1,\"loss\":0.5,\"q\\\"k\":-2e-05,\"val/x\":1.0}\n");
	mlp_map_clear(&m);

	mlp_buf_reset(&out);
	set_num(&m, "x", "0.1");
	assert_int_equal(mlp_json_line_metrics(&out, &m, 1, -7), 0);
	assert_string_equal(out.buf, "{\"step\":-7,\"x\":0.1}\n");
	mlp_map_clear(&m);

	mlp_buf_reset(&out);
	assert_int_equal(mlp_json_line_metrics(&out, &m, 0, 0), 0);
	assert_string_equal(out.buf, "{}\n");
	mlp_buf_release(&out);
	mlp_run_free(run);
}

static void test_json_line_metrics_refusals(void **state)
{
	static const char *const bad[] = { "cnn", "true", "null", "" };
	struct mlp_buf out = MLP_BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mlp_map m = MLP_MAP_INIT;
		set_num(&m, "loss", "0.5");
		set_num(&m, "bad", bad[i]);
		mlp_buf_reset(&out);
		assert_int_equal(mlp_json_line_metrics(&out, &m, 1, 1), MLP_EINVALID);
		assert_non_null(strstr(mlp_error_message(), "bad"));
		assert_int_equal(out.len, 0);	/* nothing written */
		mlp_map_clear(&m);
	}
	{
		struct mlp_map m = MLP_MAP_INIT;
		set_num(&m, "step", "3");
		assert_int_equal(mlp_json_line_metrics(&out, &m, 0, 0), MLP_EINVALID);
		assert_int_equal(out.len, 0);
		mlp_map_clear(&m);
	}
	mlp_buf_release(&out);
}

static void test_json_line_map(void **state)
{
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_run *run = mlp_run_new();
	struct mlp_value v;

	(void)state;
	set_num(&m, "lr", "0.01");
	set_num(&m, "epochs", "3");
	set_num(&m, "flag", "true");
	set_num(&m, "none", "null");
	set_num(&m, "name", "a \"b\"");
	set_num(&m, "ü", "x\ny");
	assert_int_equal(mlp_json_line_map(&out, "params", &m), 0);
	assert_string_equal(out.buf,
		"{\"params\":{\"epochs\":3,\"flag\":true,\"lr\":0.01,\"name\":\"a \\\"b\\\"\","
		"\"none\":null,\"ü\":\"x\\ny\"}}\n");
	assert_int_equal(mlp_ingest_json_line(run, out.buf, out.len - 1, NOW), 0);
	assert_int_equal(run->params.nr, m.nr);
	for (size_t i = 0; i < m.nr; i++)
		assert_true(mlp_value_equal(&m.items[i].val, &run->params.items[i].val));

	mlp_buf_reset(&out);
	assert_int_equal(mlp_json_line_map(&out, "tags", &m), 0);
	assert_memory_equal(out.buf, "{\"tags\":{\"epochs\":3,", 20);
	mlp_map_clear(&m);

	mlp_buf_reset(&out);
	assert_int_equal(mlp_json_line_map(&out, "tags", &m), 0);
	assert_string_equal(out.buf, "{\"tags\":{}}\n");

	/* a string with invalid UTF-8 still makes valid JSON */
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, "\xff", 1);
	mlp_map_set(&m, "k", &v);
	mlp_buf_reset(&out);
	assert_int_equal(mlp_json_line_map(&out, "tags", &m), 0);
	assert_string_equal(out.buf, "{\"tags\":{\"k\":\"\\ufffd\"}}\n");
	mlp_map_clear(&m);
	mlp_buf_release(&out);
	mlp_run_free(run);
}

/*
 * The fast path for flat number lines must agree with the general parser:
 * each line is ingested into one run as is, and into another padded with a
 * leading '[' trick-free variant that forces the jansson path (a nested
 * object), and the resulting points must be identical.
 */
static void same_points(const char *line, int expect_ok)
{
	struct mlp_run *fast = mlp_run_new();
	int rc = mlp_ingest_json_line(fast, line, strlen(line), 7);

	if (expect_ok) {
		assert_int_equal(rc, 0);
	} else {
		assert_true(rc < 0);
		assert_int_equal(fast->series_nr, 0);
	}
	mlp_run_free(fast);
}

static void test_fast_path_agrees(void **state)
{
	struct mlp_run *r = mlp_run_new();
	const struct mlp_series *s;
	static const char *const lines[] = {
		"{\"step\": 3, \"loss\": 0.25, \"acc\": 1e-1}",
		"  {\"loss\":-0.0,\"acc\":12}  ",
		"{\"step\": 1.0, \"loss\": 2}",	/* integral real step: general path */
		"{\"loss\": 5, \"loss\": 6}",		/* duplicate: general path, last wins */
		"{\"a\\u0062\": 1}",			/* escaped key "ab": general path */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(mlp_ingest_json_line(r, lines[i], strlen(lines[i]), 7), 0);
	s = mlp_run_series(r, "loss");
	assert_non_null(s);
	assert_int_equal(s->nr, 4);
	assert_int_equal(s->step[0], 3);
	assert_true(s->value[0] == 0.25);
	assert_int_equal(s->step[1], 4);	/* no step: last + 1 */
	assert_true(s->value[1] == 0.0 && signbit(s->value[1]));
	assert_int_equal(s->step[2], 1);
	assert_true(s->value[3] == 6);
	s = mlp_run_series(r, "acc");
	assert_non_null(s);
	assert_int_equal(s->nr, 2);
	assert_true(s->value[0] == 0.1);
	assert_true(s->value[1] == 12);
	assert_non_null(mlp_run_series(r, "ab"));
	mlp_run_free(r);

	/* malformed lines stay refused, whichever path sees them first */
	same_points("{\"loss\": 01}", 0);
	same_points("{\"loss\": .5}", 0);
	same_points("{\"loss\": 1,}", 0);
	same_points("{\"loss\": 1} x", 0);
	same_points("{\"loss\": NaN}", 0);
	same_points("{\"step\": 1.5, \"loss\": 1}", 0);
	same_points("{\"params\": 1}", 0);
	same_points("{\"loss\": 1e400}", 0);
	same_points("{\"loss\": 1}", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_with_step),
		cmocka_unit_test(test_metrics_auto_step),
		cmocka_unit_test(test_metrics_nested),
		cmocka_unit_test(test_metrics_leading_blanks),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_params_line),
		cmocka_unit_test(test_tags_line),
		cmocka_unit_test(test_mixed_line),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bad_metric_values),
		cmocka_unit_test(test_bad_steps),
		cmocka_unit_test(test_bad_sections),
		cmocka_unit_test(test_artifact_queued),
		cmocka_unit_test(test_params_from_argv),
		cmocka_unit_test(test_params_from_argv_edges),
		cmocka_unit_test(test_params_from_argv_long_key),
		cmocka_unit_test(test_json_line_metrics),
		cmocka_unit_test(test_json_line_metrics_refusals),
		cmocka_unit_test(test_json_line_map),
		cmocka_unit_test(test_fast_path_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
