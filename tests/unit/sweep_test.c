/*
 * lib/sweep.c: dimensions, grids, random points, templates, the PRNG.
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

static const char *text(const struct mlp_map *m, const char *key)
{
	const struct mlp_value *v = mlp_map_get(m, key);

	assert_non_null(v);
	assert_int_equal(v->type, MLP_STR);
	return v->u.str.s;
}

static void test_grid_order(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	struct mlp_map *pts;
	size_t n;

	(void)state;
	assert_int_equal(mlp_sweep_add(&s, "lr=0.1, 0.01 ,1e-3"), 0);
	assert_int_equal(mlp_sweep_add(&s, "bs=choice(32,64)"), 0);
	assert_int_equal(mlp_sweep_grid(&pts, &n, &s), 0);
	assert_int_equal(n, 6);
	assert_string_equal(text(&pts[0], "lr"), "0.1");
	assert_string_equal(text(&pts[0], "bs"), "32");
	assert_string_equal(text(&pts[1], "bs"), "64");
	assert_string_equal(text(&pts[1], "lr"), "0.1");
	assert_string_equal(text(&pts[5], "lr"), "1e-3");
	assert_string_equal(text(&pts[5], "bs"), "64");
	mlp_sweep_points_free(pts, n);
	mlp_sweep_release(&s);
}

static void test_bad_specs(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	static const char *const bad[] = {
		"noequals", "=1,2", "a=1,,2", "a=", "a=uniform(1)", "a=uniform(2,1)", "a=log(0,1)",
		"a=int(1.5,3)", "a=uniform(x,2)", "a=uniform(1,2,3)", "a=log(-1,1)", NULL
	};

	(void)state;
	for (size_t i = 0; bad[i]; i++) {
		if (mlp_sweep_add(&s, bad[i]) != MLP_EINVALID)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(s.ndims, 0);
	assert_int_equal(mlp_sweep_add(&s, "a=1"), 0);
	assert_int_equal(mlp_sweep_add(&s, "a=2"), MLP_EINVALID);	/* twice */
	mlp_sweep_release(&s);
}

static void test_grid_refuses_ranges(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	struct mlp_map *pts;
	size_t n;

	(void)state;
	assert_int_equal(mlp_sweep_add(&s, "lr=log(1e-4,1e-1)"), 0);
	assert_int_equal(mlp_sweep_grid(&pts, &n, &s), MLP_EINVALID);
	assert_null(pts);
	mlp_sweep_release(&s);
	assert_int_equal(mlp_sweep_grid(&pts, &n, &s), MLP_EINVALID);	/* nothing to sweep */
}

static void test_grid_limit(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	struct mlp_map *pts;
	size_t n;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char arg[64];
		snprintf(arg, sizeof(arg), "k%d=0,1,2,3,4,5,6,7,8,9", i);
		assert_int_equal(mlp_sweep_add(&s, arg), 0);
	}
	assert_int_equal(mlp_sweep_grid(&pts, &n, &s), MLP_ELIMIT);
	mlp_sweep_release(&s);
}

static void test_random_deterministic_and_bounded(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	struct mlp_map *a, *b, *c;
	int differ = 0;

	(void)state;
	assert_int_equal(mlp_sweep_add(&s, "lr=log(1e-4,1e-1)"), 0);
	assert_int_equal(mlp_sweep_add(&s, "d=uniform(0,0.5)"), 0);
	assert_int_equal(mlp_sweep_add(&s, "n=int(-2,2)"), 0);
	assert_int_equal(mlp_sweep_add(&s, "opt=adam,sgd"), 0);
	assert_int_equal(mlp_sweep_random(&a, 200, &s, 7), 0);
	assert_int_equal(mlp_sweep_random(&b, 200, &s, 7), 0);
	assert_int_equal(mlp_sweep_random(&c, 200, &s, 8), 0);
	for (size_t i = 0; i < 200; i++) {
		struct mlp_value v;
		const char *t;
		for (size_t k = 0; k < s.ndims; k++)
			assert_string_equal(text(&a[i], s.dims[k].key), text(&b[i], s.dims[k].key));
		differ |= strcmp(text(&a[i], "lr"), text(&c[i], "lr")) != 0;
		t = text(&a[i], "lr");
		mlp_value_parse(&v, t, strlen(t));
		assert_int_equal(v.type, MLP_FLOAT);
		assert_true(v.u.f >= 1e-4 * 0.999999 && v.u.f <= 1e-1 * 1.000001);
		t = text(&a[i], "d");
		mlp_value_parse(&v, t, strlen(t));
		assert_int_equal(v.type, MLP_FLOAT);	/* "0.0" stays a float */
		assert_true(v.u.f >= 0 && v.u.f <= 0.5);
		t = text(&a[i], "n");
		mlp_value_parse(&v, t, strlen(t));
		assert_int_equal(v.type, MLP_INT);
		assert_true(v.u.i >= -2 && v.u.i <= 2);
		t = text(&a[i], "opt");
		assert_true(!strcmp(t, "adam") || !strcmp(t, "sgd"));
	}
	assert_true(differ);
	mlp_sweep_points_free(a, 200);
	mlp_sweep_points_free(b, 200);
	mlp_sweep_points_free(c, 200);
	assert_int_equal(mlp_sweep_random(&a, 0, &s, 1), MLP_ELIMIT);
	mlp_sweep_release(&s);
}

static void test_template(void **state)
{
	struct mlp_sweep s = MLP_SWEEP_INIT;
	struct mlp_map *pts;
	struct mlp_buf b = MLP_BUF_INIT;
	char **unknown = NULL;
	size_t n, nu = 0;

	(void)state;
	assert_int_equal(mlp_sweep_add(&s, "lr=0.1"), 0);
	assert_int_equal(mlp_sweep_add(&s, "model.depth=3"), 0);
	assert_int_equal(mlp_sweep_grid(&pts, &n, &s), 0);
	mlp_sweep_template(&b, "--lr={lr} {model.depth}{lr} {\"acc\": 1} {other} {} {lr", &pts[0]);
	assert_string_equal(b.buf, "--lr=0.1 30.1 {\"acc\": 1} {other} {} {lr");
	mlp_sweep_unknown_placeholders(&unknown, &nu, "{lr} {other} {\"x\": 1} {x-y}", &s);
	assert_int_equal(nu, 2);
	assert_string_equal(unknown[0], "other");
	assert_string_equal(unknown[1], "x-y");
	for (size_t i = 0; i < nu; i++)
		free(unknown[i]);
	free(unknown);
	assert_true(mlp_sweep_uses("a{lr}b", "lr"));
	assert_false(mlp_sweep_uses("a{lrx}b {l}", "lr"));
	mlp_buf_release(&b);
	mlp_sweep_points_free(pts, n);
	mlp_sweep_release(&s);
}

static void test_rng(void **state)
{
	struct mlp_rng r1, r2;
	unsigned counts[3] = { 0 };

	(void)state;
	mlp_rng_seed(&r1, 123);
	mlp_rng_seed(&r2, 123);
	for (int i = 0; i < 1000; i++)
		assert_true(mlp_rng_next(&r1) == mlp_rng_next(&r2));
	for (int i = 0; i < 30000; i++) {
		double d = mlp_rng_double(&r1);
		assert_true(d >= 0 && d < 1);
		counts[mlp_rng_below(&r1, 3)]++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(counts[i] > 9000 && counts[i] < 11000);
	assert_true(mlp_rng_below(&r1, 0) == 0);
	assert_true(mlp_rng_below(&r1, 1) == 0);
}

/* The status added to format v1 for queued points survives the codec. */
static void test_queued_record(void **state)
{
	struct mlp_run *run = mlp_run_new(), *back = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	assert_string_equal(mlp_status_name(MLP_STATUS_QUEUED), "queued");
	memcpy(run->id, "0123456789abcdef0123456789abcdef", MLP_ID_HEXSZ + 1);
	run->name = mlp_strdup("sweep-1");
	run->status = MLP_STATUS_QUEUED;
	run->parent = mlp_strdup("fedcba9876543210fedcba9876543210");
	assert_int_equal(mlp_record_encode_run(&b, run), 0);
	assert_int_equal(mlp_record_decode_run(back, b.buf, b.len), 0);
	assert_int_equal(back->status, MLP_STATUS_QUEUED);
	assert_string_equal(back->parent, run->parent);
	mlp_buf_release(&b);
	mlp_run_free(run);
	mlp_run_free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_order),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_grid_refuses_ranges),
		cmocka_unit_test(test_grid_limit),
		cmocka_unit_test(test_random_deterministic_and_bounded),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_queued_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
