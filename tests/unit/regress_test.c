/*
 * Regressions found by fuzzing (tests/fuzz/, docs/security.md): every
 * input that crashed a target, hung it, or tripped a sanitizer is kept
 * here in its smallest form, so `make test` and, above all,
 * `make SANITIZE=address,undefined test` fail if the bug comes back.
 * Each test names the target and the file:line it hit.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlp.h"
#include "artifact.h"
#include "capture.h"

/* ---- helpers ------------------------------------------------------------------ */

struct points {
	size_t n;
	char key[64];
	int has_step;
	int64_t step;
	double value;
	int64_t t;
};

static void on_point(void *data, const char *key, int has_step, int64_t step, double value,
		     int64_t t_ms)
{
	struct points *p = data;

	p->n++;
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->has_step = has_step;
	p->step = step;
	p->value = value;
	p->t = t_ms;
}

static size_t warnings;

static void on_warn(void *data, const char *msg)
{
	(void)data;
	(void)msg;
	warnings++;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A fresh dvclive/ layout under a temporary directory; returns the dvclive dir. */
static char *dvclive_dir(char *root, size_t rootsz, const char *tsv)
{
	char path[512];
	const char *tmp = getenv("TMPDIR");

	snprintf(root, rootsz, "%s/mlp-regress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/dvclive", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/dvclive/plots", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/dvclive/plots/metrics", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/dvclive/plots/metrics/loss.tsv", root);
	write_file(path, tsv);
	snprintf(path, sizeof(path), "%s/dvclive", root);
	return mlp_strdup(path);
}

static void remove_tree(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* ---- fuzz_record: lib/record.c to_json ------------------------------------------ */

/*
 * A map key that is itself a map was rendered as JSON text and escaped
 * into the outer key, once per level: every level doubles the
 * backslashes, so 30 levels of {{{...}: 0}: 0} in 425 bytes ran
 * `git mlp cat` for minutes towards gigabytes of output.
 */
static void test_to_json_nested_map_keys(void **state)
{
	unsigned char rec[256];
	size_t n = 0;
	struct mlp_buf out = MLP_BUF_INIT;
	struct timespec t0;
	int depth = 30;

	(void)state;
	rec[n++] = 0x82;			/* map of 2 */
	rec[n++] = 0xa1; rec[n++] = 'v'; rec[n++] = 0x01;
	for (int i = 0; i < depth; i++)
		rec[n++] = 0x81;		/* key: a map of 1 whose key is ... */
	rec[n++] = 0xa1; rec[n++] = '"';	/* ... a quote, escaped 30 times */
	for (int i = 0; i < depth; i++)
		rec[n++] = 0x00;		/* the values */
	rec[n++] = 0x00;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mlp_record_to_json(&out, rec, n), MLP_ECORRUPT);
	assert_true(seconds_since(&t0) < 1.0);
	assert_true(out.len < 4096);
	mlp_buf_release(&out);
}

/* A scalar key that is not a string still renders (as its JSON text). */
static void test_to_json_scalar_keys(void **state)
{
	static const unsigned char rec[] = {
		0x84, 0xa1, 'v', 0x01, 0x05, 0xc3, 0xc0, 0x02, 0xc3, 0xa1, 'x',
	};
	struct mlp_buf out = MLP_BUF_INIT;

	(void)state;
	assert_int_equal(mlp_record_to_json(&out, rec, sizeof(rec)), 0);
	assert_string_equal(out.buf, "{\"v\":1,\"5\":true,\"null\":2,\"true\":\"x\"}");
	mlp_buf_release(&out);
}

/* ---- hostile refs (t1100): duplicate keys in records -------------------------------- */

/*
 * msgpack maps may repeat a key; decoders kept the last value, `git mlp
 * cat` showed both, and other readers keep the first: a reviewer and the
 * tool could see different params.  A repeated key is now corrupt.
 */
static void test_duplicate_keys(void **state)
{
	static const unsigned char params[] = {
		0x82, 0xa1, 'v', 0x01, 0xa6, 'p', 'a', 'r', 'a', 'm', 's',
		0x82, 0xa2, 'l', 'r', 0x01, 0xa2, 'l', 'r', 0x02,
	};
	static const unsigned char params_twice[] = {
		0x83, 0xa1, 'v', 0x01, 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80,
		0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x81, 0xa1, 'a', 0x01,
	};
	static const unsigned char v_twice[] = {
		0x83, 0xa1, 'v', 0x01, 0xa1, 'v', 0x02, 0xa6, 'p', 'a', 'r', 'a', 'm', 's', 0x80,
	};
	static const unsigned char run_name_twice[] = {
		0x84, 0xa1, 'v', 0x01,
		0xa2, 'i', 'd', 0xd9, 32, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
		0xa4, 'n', 'a', 'm', 'e', 0xa1, 'a', 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'b',
	};
	static const unsigned char tags_dup[] = {
		0x83, 0xa1, 'v', 0x01,
		0xa2, 'i', 'd', 0xd9, 32, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
		0xa4, 't', 'a', 'g', 's', 0x82, 0xa1, 'k', 0xa1, 'x', 0xa1, 'k', 0xa1, 'y',
	};
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(mlp_record_decode_params(&m, params, sizeof(params)), MLP_ECORRUPT);
	assert_non_null(strstr(mlp_error_message(), "duplicate param key 'lr'"));
	mlp_map_clear(&m);
	assert_int_equal(mlp_record_decode_params(&m, params_twice, sizeof(params_twice)), MLP_ECORRUPT);
	mlp_map_clear(&m);
	assert_int_equal(mlp_record_decode_params(&m, v_twice, sizeof(v_twice)), MLP_ECORRUPT);
	mlp_map_clear(&m);
	assert_int_equal(mlp_record_decode_run(run, run_name_twice, sizeof(run_name_twice)), MLP_ECORRUPT);
	assert_non_null(strstr(mlp_error_message(), "duplicate key 'name'"));
	mlp_run_free(run);
	run = mlp_run_new();
	assert_int_equal(mlp_record_decode_run(run, tags_dup, sizeof(tags_dup)), MLP_ECORRUPT);
	mlp_run_free(run);
}

/* ---- fuzz_scalars: lib/capture.c builtin() and the PCRE2 path ------------------- */

/*
 * "step 10000000000000000000000" is an integral step of 1e22, which
 * (int64_t) cannot hold: undefined behaviour (UBSan: capture.c:239).
 * The step is now ignored and the metric still taken.
 */
static void test_scalars_huge_step(void **state)
{
	struct mlp_scalars *s;
	struct points p = { 0 };
	static const char line[] = "step 10000000000000000000000 loss: 0.5";
	static const char *const pat[] = { "step (?<step>\\S+) (?<key>\\w+): (?<value>\\S+)" };

	(void)state;
	assert_int_equal(mlp_scalars_new(&s, NULL, 0), 0);
	mlp_scalars_match(s, line, strlen(line), on_point, &p);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.key, "loss");
	assert_false(p.has_step);
	mlp_scalars_free(s);

	memset(&p, 0, sizeof(p));
	assert_int_equal(mlp_scalars_new(&s, pat, 1), 0);
	mlp_scalars_match(s, "step 1e300 loss: 0.5", 20, on_point, &p);
	mlp_scalars_match(s, "step nan loss: 0.5", 18, on_point, &p);
	assert_int_equal(p.n, 2);
	assert_false(p.has_step);
	mlp_scalars_free(s);
}

/* ---- fuzz_dvclive: lib/capture.c tsv_line() -------------------------------------- */

/*
 * A DVCLive row with a step or timestamp of 1.7e106 was cast to int64_t
 * (UBSan: capture.c:732).  Such a step makes the row malformed; such a
 * timestamp is replaced by the time of reading.
 */
static void test_dvclive_huge_step_and_timestamp(void **state)
{
	char root[256];
	char *dir = dvclive_dir(root, sizeof(root),
				"timestamp\tstep\tloss\n"
				"1\t1.7e106\t0.5\n"
				"1e300\t2\t0.25\n"
				"-inf\t3\t0.125\n");
	struct mlp_dvclive *d = mlp_dvclive_new(dir);
	struct points p = { 0 };

	(void)state;
	warnings = 0;
	assert_int_equal(mlp_dvclive_poll(d, 1, on_point, &p, on_warn, NULL), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.step, 3);
	assert_true(p.value == 0.125);
	assert_true(p.t > 1000000000000);	/* now, not -inf */
	assert_int_equal(warnings, 1);
	mlp_dvclive_free(d);
	free(dir);
	remove_tree(root);
}

/* ---- fuzz_params_file: lib/capture.c yaml_json() ------------------------------------ */

/*
 * A quoted scalar inside a YAML list or nested map went through
 * yaml_scalar_value() into an uninitialised mlp_value, and
 * mlp_value_set_str() free()d whatever the stack held (ASan: bad-free,
 * found by fuzz_params_file).  Under valgrind this test shows the use of
 * uninitialised memory even when the stack happens to be clean.
 */
static void test_yaml_quoted_scalars_in_lists(void **state)
{
	char root[256], path[300];
	const char *tmp = getenv("TMPDIR");
	struct mlp_map m = MLP_MAP_INIT;
	const struct mlp_value *v;

	(void)state;
	snprintf(root, sizeof(root), "%s/mlp-regress.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/params.yaml", root);
	for (int round = 0; round < 64; round++) {
		write_file(path, "x: [\"a\", 'b', c, {k: \"q\"}]\nmodel:\n  layers:\n    - \"conv\"\n    - 'relu'\n");
		assert_int_equal(mlp_read_params_file(&m, path), 0);
		assert_non_null(v = mlp_map_get(&m, "x"));
		assert_int_equal(v->type, MLP_STR);
		assert_string_equal(v->u.str.s, "[\"a\",\"b\",\"c\",{\"k\":\"q\"}]");
		assert_non_null(v = mlp_map_get(&m, "model.layers"));
		assert_string_equal(v->u.str.s, "[\"conv\",\"relu\"]");
		mlp_map_clear(&m);
	}
	remove_tree(root);
}

/* ---- fuzz_artifact: lib/artifact.c mlp_artifact_decode_list() -------------------- */

/*
 * artifacts.mp without files: qsort(NULL, 0, ...) is undefined
 * (glibc declares the base nonnull; UBSan: artifact.c:546, found by
 * fuzz_artifact; fixed there with mlp_qsort).  Only a sanitizer build
 * can see it fail.
 */
static void test_artifact_list_without_files(void **state)
{
	static const unsigned char rec[] = { 0x81, 0xa1, 'v', 0x01 };
	static const unsigned char empty[] = { 0x82, 0xa1, 'v', 0x01, 0xa5, 'f', 'i', 'l', 'e', 's', 0x90 };
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(mlp_artifact_decode_list(run, rec, sizeof(rec)), 0);
	assert_int_equal(run->artifact_nr, 0);
	assert_int_equal(mlp_artifact_decode_list(run, empty, sizeof(empty)), 0);
	assert_int_equal(run->artifact_nr, 0);
	mlp_run_free(run);
}

/*
 * fuzz_artifact: "files" twice, the first list empty, was taken as a
 * first "files" (the check counted entries) and leaked its array; a
 * repeated "v" was read twice.  Both are corrupt, like any repeated key.
 */
static void test_artifact_list_keys_twice(void **state)
{
	static const unsigned char files2[] = { 0x83, 0xa1, 'v', 0x01, 0xa5, 'f', 'i', 'l', 'e', 's', 0x90,
						0xa5, 'f', 'i', 'l', 'e', 's', 0x90 };
	static const unsigned char v2[] = { 0x82, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01 };
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_int_equal(mlp_artifact_decode_list(run, files2, sizeof(files2)), MLP_ECORRUPT);
	assert_non_null(strstr(mlp_error_message(), "\"files\" twice"));
	assert_int_equal(run->artifact_nr, 0);
	assert_int_equal(mlp_artifact_decode_list(run, v2, sizeof(v2)), MLP_ECORRUPT);
	assert_non_null(strstr(mlp_error_message(), "\"v\" twice"));
	mlp_run_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_json_nested_map_keys),
		cmocka_unit_test(test_to_json_scalar_keys),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_scalars_huge_step),
		cmocka_unit_test(test_dvclive_huge_step_and_timestamp),
		cmocka_unit_test(test_yaml_quoted_scalars_in_lists),
		cmocka_unit_test(test_artifact_list_without_files),
		cmocka_unit_test(test_artifact_list_keys_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
