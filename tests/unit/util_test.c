/*
 * lib/util.c: buffers, typed values, sorted maps, key=value parsing and
 * key limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

/* ---- helpers --------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void parse(struct mlp_value *v, const char *s)
{
	mlp_value_parse(v, s, strlen(s));
}

static void assert_parses_str(const char *s)
{
	struct mlp_value v;

	parse(&v, s);
	if (v.type != MLP_STR)
		fail_msg("'%s' typed as %d, want string", s, (int)v.type);
	assert_int_equal(v.u.str.len, strlen(s));
	assert_memory_equal(v.u.str.s, s, strlen(s));
	assert_int_equal(v.u.str.s[v.u.str.len], '\0');
	mlp_value_clear(&v);
}

static void assert_parses_int(const char *s, int64_t want)
{
	struct mlp_value v;

	parse(&v, s);
	if (v.type != MLP_INT)
		fail_msg("'%s' typed as %d, want int", s, (int)v.type);
	assert_true(v.u.i == want);
	mlp_value_clear(&v);
}

static void assert_parses_float(const char *s, double want)
{
	struct mlp_value v;

	parse(&v, s);
	if (v.type != MLP_FLOAT)
		fail_msg("'%s' typed as %d, want float", s, (int)v.type);
	assert_true(v.u.f == want);
	mlp_value_clear(&v);
}

/* ---- mlp_buf --------------------------------------------------------------- */

static void test_buf_init_empty(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	mlp_buf_adds(&b, "");
	assert_non_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	mlp_buf_release(&b);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	mlp_buf_release(&b);	/* twice is fine */
}

static void test_buf_add_growth(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t total = 200 * 1024;	/* well past 64 KiB */

	(void)state;
	for (size_t i = 0; i < total; i++) {
		char c = (char)('a' + i % 26);
		if (i % 3 == 0)
			mlp_buf_addch(&b, c);
		else
			mlp_buf_add(&b, &c, 1);
		assert_true(b.alloc > b.len);
	}
	assert_int_equal(b.len, total);
	assert_int_equal(strlen(b.buf), total);
	for (size_t i = 0; i < total; i++)
		if (b.buf[i] != (char)('a' + i % 26))
			fail_msg("byte %zu is '%c'", i, b.buf[i]);
	assert_int_equal(b.buf[b.len], '\0');

	/* one large append at once */
	{
		size_t big = 300 * 1024;
		char *chunk = malloc(big);
		assert_non_null(chunk);
		memset(chunk, 'Z', big);
		mlp_buf_add(&b, chunk, big);
		assert_int_equal(b.len, total + big);
		assert_int_equal(b.buf[total - 1], (char)('a' + (total - 1) % 26));
		assert_int_equal(b.buf[total], 'Z');
		assert_int_equal(b.buf[total + big - 1], 'Z');
		assert_int_equal(b.buf[total + big], '\0');
		free(chunk);
	}
	mlp_buf_release(&b);
}

static void test_buf_add_binary(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	static const char bytes[] = { 'a', '\0', 'b', '\xff' };

	(void)state;
	mlp_buf_add(&b, bytes, sizeof(bytes));
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.buf, bytes, 4);
	assert_int_equal(b.buf[4], '\0');
	mlp_buf_add(&b, NULL, 0);
	assert_int_equal(b.len, 4);
	mlp_buf_release(&b);
}

static void test_buf_addf_growth(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t big = 100 * 1024;
	char *s = malloc(big + 1);

	(void)state;
	assert_non_null(s);
	memset(s, 'x', big);
	s[big] = '\0';

	mlp_buf_addf(&b, "%d-%s", 42, "ab");
	assert_string_equal(b.buf, "42-ab");
	assert_int_equal(b.len, 5);

	/* a formatted string much larger than the free space */
	mlp_buf_addf(&b, "[%s]", s);
	assert_int_equal(b.len, 5 + big + 2);
	assert_int_equal(strlen(b.buf), b.len);
	assert_memory_equal(b.buf, "42-ab[", 6);
	assert_int_equal(b.buf[b.len - 1], ']');
	assert_int_equal(b.buf[b.len - 2], 'x');

	/* many small formatted appends, crossing 64 KiB repeatedly */
	mlp_buf_reset(&b);
	for (int i = 0; i < 20000; i++)
		mlp_buf_addf(&b, "%05d,", i);
	assert_int_equal(b.len, 20000 * 6);
	assert_memory_equal(b.buf, "00000,00001,", 12);
	assert_memory_equal(b.buf + b.len - 6, "19999,", 6);
	assert_int_equal(b.buf[b.len], '\0');

	/* exactly filling the space the first probe leaves */
	for (size_t n = 0; n < 300; n++) {
		struct mlp_buf c = MLP_BUF_INIT;
		mlp_buf_addf(&c, "%.*s", (int)n, s);
		assert_int_equal(c.len, n);
		assert_int_equal(strlen(c.buf), n);
		mlp_buf_addf(&c, "%.*s", (int)n, s);
		assert_int_equal(c.len, 2 * n);
		assert_int_equal(strlen(c.buf), 2 * n);
		mlp_buf_release(&c);
	}
	free(s);
	mlp_buf_release(&b);
}

static void test_buf_reset(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_buf_reset(&b);	/* on an empty buffer */
	assert_null(b.buf);
	mlp_buf_adds(&b, "hello world");
	size_t alloc = b.alloc;
	mlp_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.alloc, alloc);	/* memory kept */
	mlp_buf_adds(&b, "xy");
	assert_string_equal(b.buf, "xy");
	mlp_buf_release(&b);
}

static void test_buf_detach(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t len = 99;
	char *s;

	(void)state;
	/* an empty buffer still hands out a string */
	s = mlp_buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	assert_null(b.buf);

	for (int i = 0; i < 70000; i++)
		mlp_buf_addch(&b, 'q');
	s = mlp_buf_detach(&b, &len);
	assert_int_equal(len, 70000);
	assert_int_equal(strlen(s), 70000);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	/* the buffer is reusable after detaching */
	mlp_buf_adds(&b, "again");
	assert_string_equal(b.buf, "again");
	assert_true(b.buf != s);
	free(s);

	s = mlp_buf_detach(&b, NULL);
	assert_string_equal(s, "again");
	free(s);
	mlp_buf_release(&b);
}

static void test_strndup(void **state)
{
	char *s;

	(void)state;
	s = mlp_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	assert_null(mlp_strdup(NULL));
	s = mlp_strdup("");
	assert_string_equal(s, "");
	free(s);
}

/* ---- errors ---------------------------------------------------------------- */

static void test_error_message(void **state)
{
	(void)state;
	mlp_error_clear();
	assert_non_null(mlp_error_message());
	assert_true(strlen(mlp_error_message()) > 0);
	assert_int_equal(mlp_error_set(MLP_EINVALID, "bad '%s' %d", "x", 3), MLP_EINVALID);
	assert_string_equal(mlp_error_message(), "bad 'x' 3");
}

/* ---- mlp_value_parse ------------------------------------------------------- */

static void test_parse_int(void **state)
{
	(void)state;
	assert_parses_int("1", 1);
	assert_parses_int("0", 0);
	assert_parses_int("-3", -3);
	assert_parses_int("-0", 0);
	assert_parses_int("007", 7);
	assert_parses_int("123456789012", 123456789012LL);
	assert_parses_int("9223372036854775807", INT64_MAX);
	assert_parses_int("-9223372036854775808", INT64_MIN);
}

static void test_parse_float(void **state)
{
	(void)state;
	assert_parses_float("0.01", 0.01);
	assert_parses_float("1e-3", 1e-3);
	assert_parses_float("1E3", 1000.0);
	assert_parses_float("-2.5", -2.5);
	assert_parses_float("1.", 1.0);
	assert_parses_float(".5", 0.5);
	assert_parses_float("1.0", 1.0);
}

static void test_parse_bool_nil(void **state)
{
	struct mlp_value v;

	(void)state;
	parse(&v, "true");
	assert_int_equal(v.type, MLP_BOOL);
	assert_true(v.u.b);
	parse(&v, "false");
	assert_int_equal(v.type, MLP_BOOL);
	assert_false(v.u.b);
	parse(&v, "null");
	assert_int_equal(v.type, MLP_NIL);

	/* only the exact lowercase spellings */
	assert_parses_str("True");
	assert_parses_str("FALSE");
	assert_parses_str("true ");
	assert_parses_str("nul");
	assert_parses_str("Null");
	assert_parses_str("yes");
}

static void test_parse_strings(void **state)
{
	(void)state;
	assert_parses_str("0x10");
	assert_parses_str("0X1F");
	assert_parses_str("0x1p3");
	assert_parses_str(" 1");
	assert_parses_str("\t1");
	assert_parses_str("\n1");
	assert_parses_str("1 ");
	assert_parses_str("1\n");
	assert_parses_str("+1");
	assert_parses_str("nan");
	assert_parses_str("NaN");
	assert_parses_str("-nan");
	assert_parses_str("inf");
	assert_parses_str("-inf");
	assert_parses_str("infinity");
	assert_parses_str("1e999");
	assert_parses_str("");
	assert_parses_str("-");
	assert_parses_str(".");
	assert_parses_str("e5");
	assert_parses_str("1e");
	assert_parses_str("1.2.3");
	assert_parses_str("12abc");
	assert_parses_str("cnn");
	assert_parses_str("ü");
}

static void test_parse_embedded_nul(void **state)
{
	struct mlp_value v;

	(void)state;
	/* "1\0" is not the integer 1 */
	mlp_value_parse(&v, "1\0", 2);
	assert_int_equal(v.type, MLP_STR);
	assert_int_equal(v.u.str.len, 2);
	assert_memory_equal(v.u.str.s, "1\0", 2);
	mlp_value_clear(&v);

	/* only `len` bytes are looked at */
	mlp_value_parse(&v, "12345", 2);
	assert_int_equal(v.type, MLP_INT);
	assert_true(v.u.i == 12);
	mlp_value_parse(&v, "truex", 4);
	assert_int_equal(v.type, MLP_BOOL);
	assert_true(v.u.b);
}

static void test_parse_long_digits(void **state)
{
	char digits[2001];
	struct mlp_value v;

	(void)state;
	/* out of int64 range: never a silently clamped int */
	parse(&v, "9223372036854775808");
	assert_int_not_equal(v.type, MLP_INT);
	mlp_value_clear(&v);
	parse(&v, "-9223372036854775809");
	assert_int_not_equal(v.type, MLP_INT);
	mlp_value_clear(&v);
	parse(&v, "99999999999999999999");
	assert_int_not_equal(v.type, MLP_INT);
	if (v.type == MLP_FLOAT)
		assert_true(v.u.f == 1e20);
	mlp_value_clear(&v);

	/* very long digit strings: kept whole, never an int */
	for (size_t n = 50; n <= 2000; n += 50) {
		memset(digits, '7', n);
		digits[n] = '\0';
		parse(&v, digits);
		assert_int_not_equal(v.type, MLP_INT);
		if (v.type == MLP_STR) {
			assert_int_equal(v.u.str.len, n);
			assert_memory_equal(v.u.str.s, digits, n);
		} else {
			assert_int_equal(v.type, MLP_FLOAT);
			assert_true(isfinite(v.u.f));
		}
		mlp_value_clear(&v);
	}
	/* a huge digit string overflows a double too: a string, not inf */
	memset(digits, '9', 400);
	digits[400] = '\0';
	parse(&v, digits);
	assert_int_equal(v.type, MLP_STR);
	assert_int_equal(v.u.str.len, 400);
	mlp_value_clear(&v);
}

/*
 * The header promises "a full finite float -> float" with no length limit;
 * a float written with many digits is still a float.
 */
static void test_parse_long_float(void **state)
{
	(void)state;
	assert_parses_float("3.14159265358979323846264338327950288419716939937510582097494459230781640628",
			    3.14159265358979323846264338327950288419716939937510582097494459230781640628);
	assert_parses_float("0.00000000000000000000000000000000000000000000000000000000000000001", 1e-65);
}

/* ---- mlp_value_equal / copy / format --------------------------------------- */

static void test_value_equal(void **state)
{
	struct mlp_value a, b;

	(void)state;
	parse(&a, "1");
	parse(&b, "1");
	assert_true(mlp_value_equal(&a, &b));
	parse(&b, "1.0");
	assert_false(mlp_value_equal(&a, &b));	/* int 1 is not float 1.0 */
	parse(&a, "1.0");
	assert_true(mlp_value_equal(&a, &b));
	parse(&a, "2");
	parse(&b, "3");
	assert_false(mlp_value_equal(&a, &b));

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.type = b.type = MLP_FLOAT;
	a.u.f = NAN;
	b.u.f = NAN;
	assert_true(mlp_value_equal(&a, &b));
	b.u.f = 0.0;
	assert_false(mlp_value_equal(&a, &b));
	a.u.f = -0.0;
	assert_true(mlp_value_equal(&a, &b));

	a.type = b.type = MLP_BOOL;
	a.u.b = 1;
	b.u.b = 7;	/* any non-zero is true */
	assert_true(mlp_value_equal(&a, &b));
	b.u.b = 0;
	assert_false(mlp_value_equal(&a, &b));

	a.type = b.type = MLP_NIL;
	assert_true(mlp_value_equal(&a, &b));
	parse(&a, "false");
	assert_false(mlp_value_equal(&a, &b));

	parse(&a, "abc");
	parse(&b, "abc");
	assert_true(mlp_value_equal(&a, &b));
	mlp_value_clear(&b);
	parse(&b, "abd");
	assert_false(mlp_value_equal(&a, &b));
	mlp_value_clear(&b);
	parse(&b, "ab");
	assert_false(mlp_value_equal(&a, &b));
	mlp_value_clear(&b);
	/* strings with embedded NULs compare by length */
	mlp_value_set_str(&b, "abc\0x", 5);
	assert_false(mlp_value_equal(&a, &b));
	mlp_value_clear(&a);
	mlp_value_set_str(&a, "abc\0y", 5);
	assert_false(mlp_value_equal(&a, &b));
	mlp_value_clear(&a);
	mlp_value_set_str(&a, "abc\0x", 5);
	assert_true(mlp_value_equal(&a, &b));
	mlp_value_clear(&a);
	parse(&a, "1");
	mlp_value_clear(&b);
	parse(&b, "1");
	mlp_value_clear(&b);
	mlp_value_set_str(&b, "1", 1);
	assert_false(mlp_value_equal(&a, &b));	/* int vs string "1" */
	mlp_value_clear(&a);
	mlp_value_clear(&b);
}

static void test_value_copy_format(void **state)
{
	struct mlp_value a, b;
	struct mlp_buf out = MLP_BUF_INIT;

	(void)state;
	parse(&a, "hello");
	mlp_value_copy(&b, &a);
	assert_true(mlp_value_equal(&a, &b));
	assert_true(a.u.str.s != b.u.str.s);	/* a deep copy */
	mlp_value_clear(&a);
	assert_int_equal(a.type, MLP_NIL);
	assert_string_equal(b.u.str.s, "hello");
	mlp_value_format(&out, &b);
	mlp_value_clear(&b);

	mlp_buf_addch(&out, '|');
	parse(&a, "0.01");
	mlp_value_format(&out, &a);
	mlp_buf_addch(&out, '|');
	parse(&a, "-3");
	mlp_value_format(&out, &a);
	mlp_buf_addch(&out, '|');
	parse(&a, "true");
	mlp_value_format(&out, &a);
	mlp_buf_addch(&out, '|');
	parse(&a, "false");
	mlp_value_format(&out, &a);
	mlp_buf_addch(&out, '|');
	parse(&a, "null");
	mlp_value_format(&out, &a);
	assert_string_equal(out.buf, "hello|0.01|-3|true|false|null");
	mlp_buf_release(&out);

	/* integers as "%lld" prints them, the extremes too */
	{
		static const int64_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN };
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			char want[32];
			a.type = MLP_INT;
			a.u.i = ints[i];
			snprintf(want, sizeof(want), "%lld", (long long)ints[i]);
			mlp_value_format(&out, &a);
			assert_string_equal(out.buf, want);
			mlp_buf_reset(&out);
		}
		mlp_buf_release(&out);
	}
}

/* ---- mlp_qsort --------------------------------------------------------------- */

struct pair { int key, seq; };

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

static void test_qsort(void **state)
{
	struct pair sorted[] = { { 1, 0 }, { 2, 1 }, { 2, 2 }, { 5, 3 } };
	struct pair mixed[] = { { 5, 0 }, { 1, 1 }, { 4, 2 }, { 1, 3 }, { 0, 4 } };

	(void)state;
	mlp_qsort(NULL, 0, sizeof(struct pair), pair_cmp);	/* no elements, no base */
	mlp_qsort(sorted, 4, sizeof(struct pair), pair_cmp);
	for (int i = 0; i < 4; i++)
		assert_int_equal(sorted[i].seq, i);	/* in order already: untouched */
	mlp_qsort(mixed, 5, sizeof(struct pair), pair_cmp);
	for (int i = 1; i < 5; i++)
		assert_true(mixed[i - 1].key <= mixed[i].key);
	assert_int_equal(mixed[0].key, 0);
	assert_int_equal(mixed[4].key, 5);
}

/* ---- mlp_map --------------------------------------------------------------- */

static void set_int(struct mlp_map *m, const char *key, int64_t i)
{
	struct mlp_value v = { .type = MLP_INT };

	v.u.i = i;
	mlp_map_set(m, key, &v);
}

static void test_map_basic(void **state)
{
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_value v;
	const struct mlp_value *got;

	(void)state;
	assert_null(mlp_map_get(&m, "x"));
	assert_int_equal(mlp_map_remove(&m, "x"), MLP_ENOTFOUND);

	mlp_value_set_str(&v, "cnn", 3);
	mlp_map_set(&m, "model", &v);
	assert_int_equal(v.type, MLP_NIL);	/* ownership taken, left cleared */
	assert_null(v.u.str.s);
	set_int(&m, "epochs", 3);
	set_int(&m, "batch", 32);
	assert_int_equal(m.nr, 3);
	assert_string_equal(m.items[0].key, "batch");
	assert_string_equal(m.items[1].key, "epochs");
	assert_string_equal(m.items[2].key, "model");

	got = mlp_map_get(&m, "model");
	assert_non_null(got);
	assert_int_equal(got->type, MLP_STR);
	assert_string_equal(got->u.str.s, "cnn");
	assert_null(mlp_map_get(&m, "mode"));
	assert_null(mlp_map_get(&m, "models"));
	assert_null(mlp_map_get(&m, ""));

	/* replace keeps one entry */
	mlp_value_set_str(&v, "resnet", 6);
	mlp_map_set(&m, "model", &v);
	assert_int_equal(m.nr, 3);
	got = mlp_map_get(&m, "model");
	assert_string_equal(got->u.str.s, "resnet");
	set_int(&m, "model", 5);	/* replace with another type */
	got = mlp_map_get(&m, "model");
	assert_int_equal(got->type, MLP_INT);
	assert_true(got->u.i == 5);
	assert_int_equal(m.nr, 3);

	/* remove */
	assert_int_equal(mlp_map_remove(&m, "epochs"), 0);
	assert_int_equal(m.nr, 2);
	assert_null(mlp_map_get(&m, "epochs"));
	assert_string_equal(m.items[0].key, "batch");
	assert_string_equal(m.items[1].key, "model");
	assert_int_equal(mlp_map_remove(&m, "epochs"), MLP_ENOTFOUND);
	assert_int_equal(mlp_map_remove(&m, "model"), 0);	/* the last one */
	assert_int_equal(mlp_map_remove(&m, "batch"), 0);	/* the first one */
	assert_int_equal(m.nr, 0);
	set_int(&m, "again", 1);
	assert_int_equal(m.nr, 1);
	mlp_map_clear(&m);
	assert_int_equal(m.nr, 0);
	assert_null(m.items);
	mlp_map_clear(&m);
}

static void test_map_byte_order(void **state)
{
	struct mlp_map m = MLP_MAP_INIT;
	const char *keys[] = { "b", "a", "B", "ü", "a.b", "a b", "a/b", "%", "_", "aa", "Z" };
	size_t n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		set_int(&m, keys[i], (int64_t)i);
	assert_int_equal(m.nr, n);
	for (size_t i = 1; i < m.nr; i++)
		assert_true(strcmp(m.items[i - 1].key, m.items[i].key) < 0);
	/* "ü" (0xc3 0xbc) sorts after every ASCII key */
	assert_string_equal(m.items[m.nr - 1].key, "ü");
	for (size_t i = 0; i < n; i++) {
		const struct mlp_value *v = mlp_map_get(&m, keys[i]);
		assert_non_null(v);
		assert_true(v->u.i == (int64_t)i);
	}
	mlp_map_clear(&m);
}

static void test_map_many_random(void **state)
{
	enum { N = 10000 };
	struct mlp_map m = MLP_MAP_INIT;
	size_t *order = malloc(N * sizeof(*order));
	char key[32];

	(void)state;
	assert_non_null(order);
	for (size_t i = 0; i < N; i++)
		order[i] = i;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		size_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", order[i]);
		set_int(&m, key, (int64_t)order[i]);
	}
	assert_int_equal(m.nr, N);
	for (size_t i = 1; i < m.nr; i++)
		if (strcmp(m.items[i - 1].key, m.items[i].key) >= 0)
			fail_msg("not sorted at %zu: '%s' then '%s'", i, m.items[i - 1].key, m.items[i].key);
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		const struct mlp_value *v = mlp_map_get(&m, key);
		if (!v || v->type != MLP_INT || v->u.i != (int64_t)i)
			fail_msg("lookup of '%s' failed", key);
	}
	/* re-set every key in another order: still N entries */
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", order[N - 1 - i]);
		set_int(&m, key, -(int64_t)order[N - 1 - i]);
	}
	assert_int_equal(m.nr, N);
	assert_true(mlp_map_get(&m, "key-1234")->u.i == -1234);

	/* remove every other key */
	for (size_t i = 0; i < N; i += 2) {
		snprintf(key, sizeof(key), "key-%zu", order[i]);
		assert_int_equal(mlp_map_remove(&m, key), 0);
	}
	assert_int_equal(m.nr, N / 2);
	for (size_t i = 1; i < m.nr; i++)
		assert_true(strcmp(m.items[i - 1].key, m.items[i].key) < 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "key-%zu", order[i]);
		if ((mlp_map_get(&m, key) != NULL) != (i % 2 == 1))
			fail_msg("'%s' presence wrong after removal", key);
	}
	free(order);
	mlp_map_clear(&m);
}

/* Adding keys as decoders do: in order is an append, a repeat is refused. */
static void test_map_add_new(void **state)
{
	struct mlp_map m = MLP_MAP_INIT;
	struct mlp_value v = { .type = MLP_INT };
	static const char *const keys[] = { "b", "d", "a", "c", "bb", "ab" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v.type = MLP_INT;
		v.u.i = (int64_t)i;
		assert_int_equal(mlp_map_add_new(&m, keys[i], strlen(keys[i]), &v), 0);
	}
	assert_int_equal(m.nr, 6);
	for (size_t i = 1; i < m.nr; i++)
		assert_true(strcmp(m.items[i - 1].key, m.items[i].key) < 0);
	assert_int_equal(mlp_map_get(&m, "bb")->u.i, 4);
	/* only klen bytes count: "dx" cut to "d" is a repeat, to "" never comes */
	v.type = MLP_INT;
	v.u.i = 99;
	assert_int_equal(mlp_map_add_new(&m, "dx", 1, &v), MLP_EINVALID);
	assert_int_equal(v.u.i, 99);	/* left to the caller */
	assert_int_equal(mlp_map_add_new(&m, "a", 1, &v), MLP_EINVALID);
	assert_int_equal(mlp_map_add_new(&m, "e", 1, &v), 0);
	assert_int_equal(mlp_map_get(&m, "d")->u.i, 1);
	assert_int_equal(mlp_map_get(&m, "e")->u.i, 99);
	assert_int_equal(m.nr, 7);
	mlp_map_clear(&m);
}

static void test_map_copy(void **state)
{
	struct mlp_map a = MLP_MAP_INIT, b = MLP_MAP_INIT;
	struct mlp_value v;

	(void)state;
	mlp_value_set_str(&v, "x", 1);
	mlp_map_set(&a, "s", &v);
	set_int(&a, "i", 1);
	set_int(&b, "i", 2);
	set_int(&b, "j", 3);
	mlp_map_copy(&b, &a);	/* merges, src wins */
	assert_int_equal(b.nr, 3);
	assert_true(mlp_map_get(&b, "i")->u.i == 1);
	assert_true(mlp_map_get(&b, "j")->u.i == 3);
	assert_string_equal(mlp_map_get(&b, "s")->u.str.s, "x");
	assert_true(mlp_map_get(&b, "s")->u.str.s != mlp_map_get(&a, "s")->u.str.s);
	mlp_map_clear(&a);
	assert_string_equal(mlp_map_get(&b, "s")->u.str.s, "x");
	mlp_map_clear(&b);
}

/* ---- mlp_parse_assignment --------------------------------------------------- */

static void test_parse_assignment(void **state)
{
	char *key = (char *)"sentinel";
	struct mlp_value v;

	(void)state;
	assert_int_equal(mlp_parse_assignment(&key, &v, "lr=0.01"), 0);
	assert_string_equal(key, "lr");
	assert_int_equal(v.type, MLP_FLOAT);
	assert_true(v.u.f == 0.01);
	free(key);

	assert_int_equal(mlp_parse_assignment(&key, &v, "epochs=3"), 0);
	assert_string_equal(key, "epochs");
	assert_int_equal(v.type, MLP_INT);
	assert_true(v.u.i == 3);
	free(key);

	/* the value keeps every '=' after the first */
	assert_int_equal(mlp_parse_assignment(&key, &v, "expr=a=b=c"), 0);
	assert_string_equal(key, "expr");
	assert_int_equal(v.type, MLP_STR);
	assert_string_equal(v.u.str.s, "a=b=c");
	free(key);
	mlp_value_clear(&v);

	assert_int_equal(mlp_parse_assignment(&key, &v, "k=="), 0);
	assert_string_equal(key, "k");
	assert_string_equal(v.u.str.s, "=");
	free(key);
	mlp_value_clear(&v);

	/* empty value: an empty string */
	assert_int_equal(mlp_parse_assignment(&key, &v, "k="), 0);
	assert_string_equal(key, "k");
	assert_int_equal(v.type, MLP_STR);
	assert_int_equal(v.u.str.len, 0);
	free(key);
	mlp_value_clear(&v);

	assert_int_equal(mlp_parse_assignment(&key, &v, "flag=true"), 0);
	assert_int_equal(v.type, MLP_BOOL);
	free(key);

	/* refusals leave no key behind */
	key = (char *)"sentinel";
	assert_int_equal(mlp_parse_assignment(&key, &v, "noequals"), MLP_EINVALID);
	assert_null(key);
	assert_non_null(strstr(mlp_error_message(), "noequals"));
	key = (char *)"sentinel";
	assert_int_equal(mlp_parse_assignment(&key, &v, "=value"), MLP_EINVALID);
	assert_null(key);
	assert_non_null(strstr(mlp_error_message(), "empty key"));
	key = (char *)"sentinel";
	assert_int_equal(mlp_parse_assignment(&key, &v, ""), MLP_EINVALID);
	assert_null(key);
	key = (char *)"sentinel";
	assert_int_equal(mlp_parse_assignment(&key, &v, "="), MLP_EINVALID);
	assert_null(key);
}

/* ---- mlp_key_check ---------------------------------------------------------- */

static void test_key_check(void **state)
{
	char *key = malloc(MLP_MAX_KEY_LEN + 2);

	(void)state;
	assert_non_null(key);
	assert_int_equal(mlp_key_check("param", "lr"), 0);
	assert_int_equal(mlp_key_check("param", "a"), 0);
	assert_int_equal(mlp_key_check("param", "ü/x y%"), 0);

	assert_int_equal(mlp_key_check("param", ""), MLP_EINVALID);
	assert_non_null(strstr(mlp_error_message(), "param"));

	memset(key, 'k', MLP_MAX_KEY_LEN);
	key[MLP_MAX_KEY_LEN] = '\0';
	assert_int_equal(mlp_key_check("metric", key), 0);	/* exactly the limit */
	key[MLP_MAX_KEY_LEN] = 'k';
	key[MLP_MAX_KEY_LEN + 1] = '\0';
	assert_int_equal(mlp_key_check("metric", key), MLP_ELIMIT);
	assert_non_null(strstr(mlp_error_message(), "metric"));
	assert_non_null(strstr(mlp_error_message(), "1025"));
	free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qsort),
		cmocka_unit_test(test_buf_init_empty),
		cmocka_unit_test(test_buf_add_growth),
		cmocka_unit_test(test_buf_add_binary),
		cmocka_unit_test(test_buf_addf_growth),
		cmocka_unit_test(test_buf_reset),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_strndup),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_parse_float),
		cmocka_unit_test(test_parse_bool_nil),
		cmocka_unit_test(test_parse_strings),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_parse_long_digits),
		cmocka_unit_test(test_parse_long_float),
		cmocka_unit_test(test_value_equal),
		cmocka_unit_test(test_value_copy_format),
		cmocka_unit_test(test_map_basic),
		cmocka_unit_test(test_map_byte_order),
		cmocka_unit_test(test_map_many_random),
		cmocka_unit_test(test_map_copy),
		cmocka_unit_test(test_map_add_new),
		cmocka_unit_test(test_parse_assignment),
		cmocka_unit_test(test_key_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
