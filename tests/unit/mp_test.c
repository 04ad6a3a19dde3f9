/*
 * lib/mp.c: the bounded msgpack reader.  Every kind, every refusal, and
 * hostile inputs: truncations, lying counts, deep nesting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"
#include "mp.h"

#define INIT(r, ...) do { \
		static const unsigned char bytes_[] = { __VA_ARGS__ }; \
		mlp_mp_init((r), bytes_, sizeof(bytes_)); \
	} while (0)

static int at_end(const struct mlp_mp *r)
{
	return r->p == r->end;
}

static int64_t read_int_bytes(const unsigned char *b, size_t len, int *err)
{
	struct mlp_mp r;
	int64_t v = 0x5a5a;

	mlp_mp_init(&r, b, len);
	*err = mlp_mp_read_int(&r, &v);
	if (!*err && !at_end(&r))
		*err = 99;
	return v;
}

/* ---- peek ---------------------------------------------------------------- */

static void test_peek(void **state)
{
	static const struct { unsigned char c; enum mlp_mp_kind k; } cases[] = {
		{ 0x00, MLP_MP_INT }, { 0x7f, MLP_MP_INT }, { 0xe0, MLP_MP_INT }, { 0xff, MLP_MP_INT },
		{ 0x80, MLP_MP_MAP }, { 0x8f, MLP_MP_MAP }, { 0xde, MLP_MP_MAP }, { 0xdf, MLP_MP_MAP },
		{ 0x90, MLP_MP_ARRAY }, { 0x9f, MLP_MP_ARRAY }, { 0xdc, MLP_MP_ARRAY }, { 0xdd, MLP_MP_ARRAY },
		{ 0xa0, MLP_MP_STR }, { 0xbf, MLP_MP_STR }, { 0xd9, MLP_MP_STR }, { 0xda, MLP_MP_STR },
		{ 0xdb, MLP_MP_STR },
		{ 0xc0, MLP_MP_NIL }, { 0xc2, MLP_MP_BOOL }, { 0xc3, MLP_MP_BOOL },
		{ 0xc4, MLP_MP_BIN }, { 0xc5, MLP_MP_BIN }, { 0xc6, MLP_MP_BIN },
		{ 0xc7, MLP_MP_EXT }, { 0xc8, MLP_MP_EXT }, { 0xc9, MLP_MP_EXT },
		{ 0xd4, MLP_MP_EXT }, { 0xd8, MLP_MP_EXT },
		{ 0xca, MLP_MP_FLOAT }, { 0xcb, MLP_MP_FLOAT },
		{ 0xcc, MLP_MP_INT }, { 0xcf, MLP_MP_INT }, { 0xd0, MLP_MP_INT }, { 0xd3, MLP_MP_INT },
		{ 0xc1, MLP_MP_BAD },
	};
	struct mlp_mp r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mlp_mp_init(&r, &cases[i].c, 1);
		if (mlp_mp_peek(&r) != cases[i].k)
			fail_msg("peek 0x%02x = %d, want %d", cases[i].c, mlp_mp_peek(&r), cases[i].k);
	}
	mlp_mp_init(&r, "", 0);
	assert_int_equal(mlp_mp_peek(&r), MLP_MP_BAD);
}

/* ---- integers --------------------------------------------------------------- */

static void test_ints(void **state)
{
	static const struct { unsigned char b[9]; size_t len; int64_t want; } cases[] = {
		{ { 0x00 }, 1, 0 },
		{ { 0x01 }, 1, 1 },
		{ { 0x7f }, 1, 127 },
		{ { 0xff }, 1, -1 },
		{ { 0xe0 }, 1, -32 },
		{ { 0xcc, 0xff }, 2, 255 },
		{ { 0xcd, 0xff, 0xff }, 3, 65535 },
		{ { 0xce, 0xff, 0xff, 0xff, 0xff }, 5, 4294967295LL },
		{ { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, INT64_MAX },
		{ { 0xcf, 0, 0, 0, 0, 0, 0, 0, 5 }, 9, 5 },
		{ { 0xd0, 0x80 }, 2, -128 },
		{ { 0xd0, 0x7f }, 2, 127 },
		{ { 0xd1, 0x80, 0x00 }, 3, -32768 },
		{ { 0xd1, 0x01, 0x00 }, 3, 256 },
		{ { 0xd2, 0x80, 0, 0, 0 }, 5, INT32_MIN },
		{ { 0xd2, 0xff, 0xff, 0xff, 0xfe }, 5, -2 },
		{ { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, INT64_MIN },
		{ { 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, -1 },
		{ { 0xd3, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 }, 9, 0x0102030405060708LL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err;
		int64_t v = read_int_bytes(cases[i].b, cases[i].len, &err);
		if (err || v != cases[i].want)
			fail_msg("case %zu: err %d value %lld, want %lld", i, err, (long long)v,
				 (long long)cases[i].want);

		/* as a double and as a typed value too */
		struct mlp_mp r;
		double d;
		struct mlp_value val;
		mlp_mp_init(&r, cases[i].b, cases[i].len);
		assert_int_equal(mlp_mp_read_double(&r, &d), 0);
		assert_true(d == (double)cases[i].want);
		assert_true(at_end(&r));
		mlp_mp_init(&r, cases[i].b, cases[i].len);
		assert_int_equal(mlp_mp_read_value(&r, &val), 0);
		assert_int_equal(val.type, MLP_INT);
		assert_true(val.u.i == cases[i].want);
		assert_true(at_end(&r));
		/* every truncation is refused */
		for (size_t cut = 0; cut < cases[i].len; cut++) {
			mlp_mp_init(&r, cases[i].b, cut);
			assert_int_equal(mlp_mp_read_int(&r, &v), MLP_ECORRUPT);
			mlp_mp_init(&r, cases[i].b, cut);
			assert_int_equal(mlp_mp_read_double(&r, &d), MLP_ECORRUPT);
			mlp_mp_init(&r, cases[i].b, cut);
			assert_int_equal(mlp_mp_read_value(&r, &val), MLP_ECORRUPT);
		}
	}
}

static void test_uint64_over_int64_max(void **state)
{
	static const unsigned char big[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	static const unsigned char max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct mlp_mp r;
	int64_t v = 7;
	uint64_t u = 7;
	double d;
	struct mlp_value val;

	(void)state;
	mlp_mp_init(&r, big, sizeof(big));
	assert_int_equal(mlp_mp_read_int(&r, &v), MLP_ECORRUPT);
	assert_true(v == 7);
	assert_ptr_equal(r.p, big);	/* nothing consumed */
	assert_int_equal(mlp_mp_read_uint(&r, &u), MLP_ECORRUPT);
	mlp_mp_init(&r, max, sizeof(max));
	assert_int_equal(mlp_mp_read_int(&r, &v), MLP_ECORRUPT);

	/* still readable as a double or a float value */
	mlp_mp_init(&r, big, sizeof(big));
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(d == 9223372036854775808.0);
	mlp_mp_init(&r, max, sizeof(max));
	assert_int_equal(mlp_mp_read_value(&r, &val), 0);
	assert_int_equal(val.type, MLP_FLOAT);
	assert_true(val.u.f == 18446744073709551615.0);
	assert_true(at_end(&r));
	/* and skippable */
	mlp_mp_init(&r, big, sizeof(big));
	assert_int_equal(mlp_mp_skip(&r), 0);
	assert_true(at_end(&r));
}

static void test_uint(void **state)
{
	struct mlp_mp r;
	uint64_t u = 0;

	(void)state;
	INIT(&r, 0xcd, 0x01, 0x00);
	assert_int_equal(mlp_mp_read_uint(&r, &u), 0);
	assert_true(u == 256);
	INIT(&r, 0xff);
	assert_int_equal(mlp_mp_read_uint(&r, &u), MLP_ECORRUPT);
	INIT(&r, 0xd0, 0x80);
	assert_int_equal(mlp_mp_read_uint(&r, &u), MLP_ECORRUPT);
	INIT(&r, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(mlp_mp_read_uint(&r, &u), MLP_ECORRUPT);
}

/* ---- floats -------------------------------------------------------------------- */

static void test_floats(void **state)
{
	struct mlp_mp r;
	double d = 0;
	int64_t i = 42;
	struct mlp_value v;

	(void)state;
	/* float32 1.5 */
	INIT(&r, 0xca, 0x3f, 0xc0, 0x00, 0x00);
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(d == 1.5);
	assert_true(at_end(&r));
	/* float32 -0.1f: widened exactly */
	INIT(&r, 0xca, 0xbd, 0xcc, 0xcc, 0xcd);
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(d == (double)-0.1f);
	/* float64 0.1 */
	INIT(&r, 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a);
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(d == 0.1);
	assert_true(at_end(&r));
	/* float64 NaN and -inf */
	INIT(&r, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0);
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(isnan(d));
	INIT(&r, 0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(mlp_mp_read_double(&r, &d), 0);
	assert_true(isinf(d) && d < 0);

	/* a float is not an integer; the cursor does not move */
	INIT(&r, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);
	const unsigned char *start = r.p;
	assert_int_equal(mlp_mp_read_int(&r, &i), MLP_ECORRUPT);
	assert_true(i == 42);
	assert_ptr_equal(r.p, start);
	assert_int_equal(mlp_mp_read_value(&r, &v), 0);
	assert_int_equal(v.type, MLP_FLOAT);
	assert_true(v.u.f == 1.0);

	/* truncated floats */
	for (size_t cut = 0; cut < 9; cut++) {
		static const unsigned char f64[] = { 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
		static const unsigned char f32[] = { 0xca, 0x3f, 0xc0, 0, 0 };
		mlp_mp_init(&r, f64, cut);
		assert_int_equal(mlp_mp_read_double(&r, &d), MLP_ECORRUPT);
		if (cut < sizeof(f32)) {
			mlp_mp_init(&r, f32, cut);
			assert_int_equal(mlp_mp_read_double(&r, &d), MLP_ECORRUPT);
		}
	}
	/* not a number at all */
	INIT(&r, 0xa1, 'x');
	assert_int_equal(mlp_mp_read_double(&r, &d), MLP_ECORRUPT);
	INIT(&r, 0xc0);
	assert_int_equal(mlp_mp_read_double(&r, &d), MLP_ECORRUPT);
}

/* ---- nil, bool ---------------------------------------------------------------- */

static void test_nil_bool(void **state)
{
	struct mlp_mp r;
	int b = 5;
	struct mlp_value v;

	(void)state;
	INIT(&r, 0xc0);
	assert_int_equal(mlp_mp_read_nil(&r), 0);
	assert_true(at_end(&r));
	assert_int_equal(mlp_mp_read_nil(&r), MLP_ECORRUPT);	/* nothing left */
	INIT(&r, 0xc2);
	assert_int_equal(mlp_mp_read_nil(&r), MLP_ECORRUPT);
	assert_int_equal(mlp_mp_read_bool(&r, &b), 0);
	assert_false(b);
	INIT(&r, 0xc3);
	assert_int_equal(mlp_mp_read_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(mlp_mp_read_bool(&r, &b), MLP_ECORRUPT);
	INIT(&r, 0x01);
	assert_int_equal(mlp_mp_read_bool(&r, &b), MLP_ECORRUPT);	/* 1 is not true */
	INIT(&r, 0xc0, 0xc3, 0xc2);
	assert_int_equal(mlp_mp_read_value(&r, &v), 0);
	assert_int_equal(v.type, MLP_NIL);
	assert_int_equal(mlp_mp_read_value(&r, &v), 0);
	assert_int_equal(v.type, MLP_BOOL);
	assert_true(v.u.b);
	assert_int_equal(mlp_mp_read_value(&r, &v), 0);
	assert_int_equal(v.type, MLP_BOOL);
	assert_false(v.u.b);
	assert_true(at_end(&r));
}

/* ---- strings and binaries ------------------------------------------------------ */

static unsigned char *make_raw(unsigned char tag, int lenbytes, uint32_t len, size_t *total)
{
	unsigned char *b = malloc(1 + (size_t)lenbytes + len);
	size_t o = 0;

	b[o++] = tag;
	for (int i = lenbytes - 1; i >= 0; i--)
		b[o++] = (unsigned char)(len >> (8 * i));
	for (uint32_t i = 0; i < len; i++)
		b[o++] = (unsigned char)('a' + i % 26);
	*total = o;
	return b;
}

static void test_strings(void **state)
{
	static const struct { unsigned char tag; int lenbytes; uint32_t len; } cases[] = {
		{ 0xd9, 1, 0 }, { 0xd9, 1, 200 }, { 0xda, 2, 0 }, { 0xda, 2, 40000 },
		{ 0xdb, 4, 0 }, { 0xdb, 4, 70000 },
	};
	struct mlp_mp r;
	const char *s;
	uint32_t len;

	(void)state;
	/* fixstr */
	INIT(&r, 0xa3, 'a', 'b', 'c', 0xa0);
	assert_int_equal(mlp_mp_read_str(&r, &s, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "abc", 3);
	assert_int_equal(mlp_mp_read_str(&r, &s, &len), 0);
	assert_int_equal(len, 0);
	assert_true(at_end(&r));
	/* fixstr of 31 bytes */
	{
		unsigned char b[32];
		b[0] = 0xbf;
		memset(b + 1, 'z', 31);
		mlp_mp_init(&r, b, sizeof(b));
		assert_int_equal(mlp_mp_read_str(&r, &s, &len), 0);
		assert_int_equal(len, 31);
		mlp_mp_init(&r, b, sizeof(b) - 1);
		assert_int_equal(mlp_mp_read_str(&r, &s, &len), MLP_ECORRUPT);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t total;
		unsigned char *b = make_raw(cases[i].tag, cases[i].lenbytes, cases[i].len, &total);
		char *c = NULL;
		struct mlp_value v;

		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_read_str(&r, &s, &len), 0);
		assert_int_equal(len, cases[i].len);
		assert_ptr_equal(s, (const char *)b + 1 + cases[i].lenbytes);
		assert_true(at_end(&r));

		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_read_cstr(&r, &c), 0);
		assert_int_equal(strlen(c), cases[i].len);
		free(c);

		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_read_value(&r, &v), 0);
		assert_int_equal(v.type, MLP_STR);
		assert_int_equal(v.u.str.len, cases[i].len);
		assert_int_equal(v.u.str.s[v.u.str.len], '\0');
		mlp_value_clear(&v);

		/* a string is not binary */
		mlp_mp_init(&r, b, total);
		const unsigned char *bin;
		assert_int_equal(mlp_mp_read_bin(&r, &bin, &len), MLP_ECORRUPT);
		assert_ptr_equal(r.p, b);

		/* one byte short, and the length bytes cut */
		for (size_t cut = 0; cut < total; cut += (cut < 8 ? 1 : 997)) {
			mlp_mp_init(&r, b, cut);
			assert_int_equal(mlp_mp_read_str(&r, &s, &len), MLP_ECORRUPT);
		}
		mlp_mp_init(&r, b, total - 1);
		assert_int_equal(mlp_mp_read_str(&r, &s, &len), MLP_ECORRUPT);
		free(b);
	}
}

static void test_cstr_nul(void **state)
{
	struct mlp_mp r;
	char *s = NULL;

	(void)state;
	INIT(&r, 0xa3, 'a', 0, 'b');
	assert_int_equal(mlp_mp_read_cstr(&r, &s), MLP_ECORRUPT);
	assert_null(s);
	INIT(&r, 0xa2, 0xc3, 0xbc);
	assert_int_equal(mlp_mp_read_cstr(&r, &s), 0);
	assert_string_equal(s, "ü");
	free(s);
	INIT(&r, 0xc0);
	assert_int_equal(mlp_mp_read_cstr(&r, &s), MLP_ECORRUPT);
}

static void test_bin(void **state)
{
	static const struct { unsigned char tag; int lenbytes; uint32_t len; } cases[] = {
		{ 0xc4, 1, 0 }, { 0xc4, 1, 255 }, { 0xc5, 2, 300 }, { 0xc6, 4, 100000 },
	};
	struct mlp_mp r;
	const unsigned char *p;
	const char *s;
	uint32_t len;
	struct mlp_value v;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t total;
		unsigned char *b = make_raw(cases[i].tag, cases[i].lenbytes, cases[i].len, &total);

		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_peek(&r), MLP_MP_BIN);
		assert_int_equal(mlp_mp_read_bin(&r, &p, &len), 0);
		assert_int_equal(len, cases[i].len);
		assert_ptr_equal(p, b + 1 + cases[i].lenbytes);
		assert_true(at_end(&r));
		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_read_str(&r, &s, &len), MLP_ECORRUPT);
		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_read_value(&r, &v), MLP_ECORRUPT);	/* not a scalar */
		mlp_mp_init(&r, b, total);
		assert_int_equal(mlp_mp_skip(&r), 0);
		assert_true(at_end(&r));
		for (size_t cut = 0; cut < total; cut += (cut < 8 ? 1 : 1009)) {
			mlp_mp_init(&r, b, cut);
			assert_int_equal(mlp_mp_read_bin(&r, &p, &len), MLP_ECORRUPT);
			mlp_mp_init(&r, b, cut);
			assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
		}
		free(b);
	}
}

static void test_str_over_limit(void **state)
{
	uint32_t len = MLP_MAX_STR_LEN + 1;
	size_t total;
	unsigned char *b = make_raw(0xdb, 4, len, &total);
	struct mlp_mp r;
	const char *s;
	const unsigned char *p;
	uint32_t got;

	(void)state;
	mlp_mp_init(&r, b, total);
	assert_int_equal(mlp_mp_read_str(&r, &s, &got), MLP_ELIMIT);
	b[0] = 0xc6;
	mlp_mp_init(&r, b, total);
	assert_int_equal(mlp_mp_read_bin(&r, &p, &got), MLP_ELIMIT);
	free(b);

	/* exactly the limit is fine */
	b = make_raw(0xdb, 4, MLP_MAX_STR_LEN, &total);
	mlp_mp_init(&r, b, total);
	assert_int_equal(mlp_mp_read_str(&r, &s, &got), 0);
	assert_int_equal(got, MLP_MAX_STR_LEN);
	free(b);
}

/* ---- arrays and maps ------------------------------------------------------------ */

static void test_containers(void **state)
{
	struct mlp_mp r;
	uint32_t n = 0;
	int64_t i;

	(void)state;
	INIT(&r, 0x92, 0x01, 0x02);
	assert_int_equal(mlp_mp_read_array(&r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(mlp_mp_read_int(&r, &i), 0);
	assert_int_equal(mlp_mp_read_int(&r, &i), 0);
	assert_true(i == 2 && at_end(&r));

	INIT(&r, 0x90);
	assert_int_equal(mlp_mp_read_array(&r, &n), 0);
	assert_int_equal(n, 0);
	INIT(&r, 0x9f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	assert_int_equal(mlp_mp_read_array(&r, &n), 0);
	assert_int_equal(n, 15);
	INIT(&r, 0xdc, 0x00, 0x03, 0xc0, 0xc0, 0xc0);
	assert_int_equal(mlp_mp_read_array(&r, &n), 0);
	assert_int_equal(n, 3);
	INIT(&r, 0xdd, 0x00, 0x00, 0x00, 0x02, 0xc3, 0xc2);
	assert_int_equal(mlp_mp_read_array(&r, &n), 0);
	assert_int_equal(n, 2);

	INIT(&r, 0x81, 0xa1, 'k', 0x05);
	assert_int_equal(mlp_mp_read_map(&r, &n), 0);
	assert_int_equal(n, 1);
	INIT(&r, 0x80);
	assert_int_equal(mlp_mp_read_map(&r, &n), 0);
	assert_int_equal(n, 0);
	INIT(&r, 0xde, 0x00, 0x02, 1, 2, 3, 4);
	assert_int_equal(mlp_mp_read_map(&r, &n), 0);
	assert_int_equal(n, 2);
	INIT(&r, 0xdf, 0, 0, 0, 1, 1, 2);
	assert_int_equal(mlp_mp_read_map(&r, &n), 0);
	assert_int_equal(n, 1);

	/* the wrong container is refused without consuming anything */
	INIT(&r, 0x81, 0xa1, 'k', 0x05);
	const unsigned char *start = r.p;
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	assert_ptr_equal(r.p, start);
	INIT(&r, 0x91, 0x01);
	start = r.p;
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);
	assert_ptr_equal(r.p, start);
	INIT(&r, 0xc0);
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);
	mlp_mp_init(&r, "", 0);
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);

	/* truncated length fields */
	INIT(&r, 0xdc, 0x00);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0xdd, 0x00, 0x00, 0x00);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0xdf, 0x00);
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);

	/* not a scalar */
	struct mlp_value v;
	INIT(&r, 0x90);
	assert_int_equal(mlp_mp_read_value(&r, &v), MLP_ECORRUPT);
	INIT(&r, 0x80);
	assert_int_equal(mlp_mp_read_value(&r, &v), MLP_ECORRUPT);
}

/* Counts larger than the bytes left cannot be honest: refused up front. */
static void test_lying_counts(void **state)
{
	struct mlp_mp r;
	uint32_t n = 0;

	(void)state;
	INIT(&r, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	INIT(&r, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0);
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	/* a map of 3 pairs needs 6 bytes at least */
	INIT(&r, 0x83, 1, 2, 3, 4, 5);
	assert_int_equal(mlp_mp_read_map(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0x83, 1, 2, 3, 4, 5, 6);
	assert_int_equal(mlp_mp_read_map(&r, &n), 0);
	assert_int_equal(n, 3);
	INIT(&r, 0x93, 1, 2);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	INIT(&r, 0xdc, 0xff, 0xff, 1);
	assert_int_equal(mlp_mp_read_array(&r, &n), MLP_ECORRUPT);
	/* string lengths, too */
	INIT(&r, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b');
	const char *s;
	uint32_t len;
	assert_int_equal(mlp_mp_read_str(&r, &s, &len), MLP_ECORRUPT);
	INIT(&r, 0xc6, 0x7f, 0xff, 0xff, 0xff, 'a');
	const unsigned char *p;
	assert_int_equal(mlp_mp_read_bin(&r, &p, &len), MLP_ECORRUPT);
}

/* ---- skip ------------------------------------------------------------------------ */

static void test_skip_kinds(void **state)
{
	struct mlp_mp r;

	(void)state;
	/* every kind one after the other, then an end marker */
	INIT(&r,
	     0xc0, 0xc2, 0xc3, 0x05, 0xff, 0xcc, 0x01, 0xcd, 0, 1, 0xce, 0, 0, 0, 1,
	     0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xd0, 1, 0xd1, 0, 1, 0xd2, 0, 0, 0, 1,
	     0xd3, 0, 0, 0, 0, 0, 0, 0, 1, 0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
	     0xa2, 'h', 'i', 0xd9, 1, 'x', 0xda, 0, 1, 'x', 0xdb, 0, 0, 0, 1, 'x',
	     0xc4, 1, 0, 0xc5, 0, 1, 0, 0xc6, 0, 0, 0, 1, 0,
	     0xd4, 1, 0xaa, 0xd5, 1, 0, 0, 0xd6, 1, 0, 0, 0, 0, 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	     0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	     0xc7, 2, 1, 0xaa, 0xbb, 0xc8, 0, 1, 1, 0xaa, 0xc9, 0, 0, 0, 1, 1, 0xaa,
	     0x92, 0x91, 0x80, 0x81, 0xa1, 'k', 0x90,
	     0xdc, 0, 2, 1, 2, 0xdd, 0, 0, 0, 1, 0xc0,
	     0xde, 0, 1, 1, 2, 0xdf, 0, 0, 0, 1, 0xa0, 0x92, 0xc0, 0xc0,
	     0x2a);
	for (int i = 0; i < 35; i++) {
		enum mlp_mp_kind k = mlp_mp_peek(&r);
		if (mlp_mp_skip(&r) != 0)
			fail_msg("skip #%d (kind %d, byte 0x%02x) failed: %s", i, k, r.p[0], mlp_error_message());
	}
	int64_t last;
	assert_int_equal(mlp_mp_read_int(&r, &last), 0);
	assert_true(last == 42);
	assert_true(at_end(&r));

	/* unknown type byte */
	INIT(&r, 0xc1);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	mlp_mp_init(&r, "", 0);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	/* truncated extensions */
	INIT(&r, 0xd8, 1, 0, 0);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	INIT(&r, 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 0);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	INIT(&r, 0xc7, 0x05);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
	INIT(&r, 0xc8, 0x00);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
}

static void test_skip_deep_nesting(void **state)
{
	enum { DEPTH = 100000 };
	unsigned char *b = malloc(DEPTH + 1);
	struct mlp_mp r;

	(void)state;
	memset(b, 0x91, DEPTH);
	b[DEPTH] = 0xc0;
	mlp_mp_init(&r, b, DEPTH + 1);
	assert_int_equal(mlp_mp_skip(&r), 0);
	assert_true(at_end(&r));

	/* without the innermost element: refused, not overrun */
	mlp_mp_init(&r, b, DEPTH);
	assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);

	/* nested maps {k: {k: ...}} */
	{
		size_t len = 3 * (size_t)DEPTH + 1;
		unsigned char *m = malloc(len);
		for (size_t i = 0; i < DEPTH; i++) {
			m[3 * i] = 0x81;
			m[3 * i + 1] = 0xa1;
			m[3 * i + 2] = 'k';
		}
		m[len - 1] = 0x01;
		mlp_mp_init(&r, m, len);
		assert_int_equal(mlp_mp_skip(&r), 0);
		assert_true(at_end(&r));
		mlp_mp_init(&r, m, len - 1);
		assert_int_equal(mlp_mp_skip(&r), MLP_ECORRUPT);
		free(m);
	}
	free(b);
}

/*
 * skip() caps nesting; a flat array holding many small containers is not
 * nested at all and must be skipped like any other value (an unknown key
 * of a newer minor format can hold one).
 */
static void test_skip_many_flat_containers(void **state)
{
	enum { N = 1100000 };
	size_t len = 5 + (size_t)N;
	unsigned char *b = malloc(len);
	struct mlp_mp r;

	(void)state;
	b[0] = 0xdd;
	b[1] = (unsigned char)(N >> 24);
	b[2] = (unsigned char)(N >> 16);
	b[3] = (unsigned char)(N >> 8);
	b[4] = (unsigned char)N;
	memset(b + 5, 0x90, N);	/* N empty arrays: depth 2 */
	mlp_mp_init(&r, b, len);
	if (mlp_mp_skip(&r) != 0)
		fail_msg("skipping an array of %d empty arrays failed: %s", N, mlp_error_message());
	assert_true(at_end(&r));
	free(b);
}

/* ---- truncations of a whole record ----------------------------------------------- */

static int sbuf_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

static void build_record(struct mlp_buf *out)
{
	msgpack_packer pk;
	static const char blob[300] = { 1, 2, 3 };
	char longstr[70000];

	memset(longstr, 's', sizeof(longstr));
	msgpack_packer_init(&pk, out, sbuf_write);
	msgpack_pack_map(&pk, 14);
	pack_key(&pk, "v"); msgpack_pack_int(&pk, 1);
	pack_key(&pk, "neg"); msgpack_pack_int64(&pk, -1234567890123LL);
	pack_key(&pk, "u64"); msgpack_pack_uint64(&pk, UINT64_MAX);
	pack_key(&pk, "f32"); msgpack_pack_float(&pk, 1.25f);
	pack_key(&pk, "f64"); msgpack_pack_double(&pk, 0.1);
	pack_key(&pk, "nil"); msgpack_pack_nil(&pk);
	pack_key(&pk, "t"); msgpack_pack_true(&pk);
	pack_key(&pk, "bin"); msgpack_pack_bin(&pk, sizeof(blob)); msgpack_pack_bin_body(&pk, blob, sizeof(blob));
	pack_key(&pk, "str16"); msgpack_pack_str(&pk, 300); msgpack_pack_str_body(&pk, longstr, 300);
	pack_key(&pk, "str32"); msgpack_pack_str(&pk, sizeof(longstr)); msgpack_pack_str_body(&pk, longstr, sizeof(longstr));
	pack_key(&pk, "arr");
	msgpack_pack_array(&pk, 20);
	for (int i = 0; i < 20; i++)
		msgpack_pack_int(&pk, i * 1000);
	pack_key(&pk, "map");
	msgpack_pack_map(&pk, 2);
	pack_key(&pk, "a"); msgpack_pack_array(&pk, 0);
	pack_key(&pk, "b"); msgpack_pack_map(&pk, 1); pack_key(&pk, "c"); msgpack_pack_int(&pk, 70000);
	pack_key(&pk, "ext"); msgpack_pack_ext(&pk, 3, 5); msgpack_pack_ext_body(&pk, "abc", 3);
	pack_key(&pk, "end"); msgpack_pack_int8(&pk, -5);
}

/* Walks a record with the typed readers, as decoders do. */
static int walk(struct mlp_mp *r, int depth)
{
	uint32_t n;
	int err;
	struct mlp_value v;
	const unsigned char *p;
	uint32_t len;

	if (depth > 64)
		return MLP_ECORRUPT;
	switch (mlp_mp_peek(r)) {
	case MLP_MP_MAP:
		if ((err = mlp_mp_read_map(r, &n)) < 0)
			return err;
		for (uint32_t i = 0; i < 2 * n; i++)
			if ((err = walk(r, depth + 1)) < 0)
				return err;
		return 0;
	case MLP_MP_ARRAY:
		if ((err = mlp_mp_read_array(r, &n)) < 0)
			return err;
		for (uint32_t i = 0; i < n; i++)
			if ((err = walk(r, depth + 1)) < 0)
				return err;
		return 0;
	case MLP_MP_BIN:
		return mlp_mp_read_bin(r, &p, &len);
	case MLP_MP_EXT:
		return mlp_mp_skip(r);
	default:
		if ((err = mlp_mp_read_value(r, &v)) < 0)
			return err;
		mlp_value_clear(&v);
		return 0;
	}
}

static void test_truncation_every_offset(void **state)
{
	struct mlp_buf rec = MLP_BUF_INIT;
	struct mlp_mp r;

	(void)state;
	build_record(&rec);
	mlp_mp_init(&r, rec.buf, rec.len);
	assert_int_equal(mlp_mp_skip(&r), 0);
	assert_true(at_end(&r));
	mlp_mp_init(&r, rec.buf, rec.len);
	assert_int_equal(walk(&r, 0), 0);
	assert_true(at_end(&r));

	for (size_t cut = 0; cut < rec.len; cut++) {
		/* a copy of exactly `cut` bytes, so reading past it is caught by ASan */
		unsigned char *copy = malloc(cut ? cut : 1);
		int err;
		memcpy(copy, rec.buf, cut);
		mlp_mp_init(&r, copy, cut);
		err = mlp_mp_skip(&r);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("skip of %zu/%zu bytes returned %d", cut, rec.len, err);
		assert_true(r.p >= copy && r.p <= copy + cut);
		mlp_mp_init(&r, copy, cut);
		err = walk(&r, 0);
		if (err != MLP_ECORRUPT && err != MLP_ELIMIT)
			fail_msg("walk of %zu/%zu bytes returned %d", cut, rec.len, err);
		free(copy);
	}
	mlp_buf_release(&rec);
}

/* Random bytes never crash the reader. */
static void test_random_bytes(void **state)
{
	uint64_t x = 0x123456789abcdefull;
	unsigned char buf[64];
	struct mlp_mp r;

	(void)state;
	for (int iter = 0; iter < 100000; iter++) {
		size_t len = 1 + (size_t)(iter % 64);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
		mlp_mp_init(&r, buf, len);
		int err = mlp_mp_skip(&r);
		assert_true(err == 0 || err == MLP_ECORRUPT || err == MLP_ELIMIT);
		assert_true(r.p <= buf + len);
		mlp_mp_init(&r, buf, len);
		err = walk(&r, 0);
		assert_true(err == 0 || err == MLP_ECORRUPT || err == MLP_ELIMIT);
		assert_true(r.p <= buf + len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_ints),
		cmocka_unit_test(test_uint64_over_int64_max),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_nil_bool),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_cstr_nul),
		cmocka_unit_test(test_bin),
		cmocka_unit_test(test_str_over_limit),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_lying_counts),
		cmocka_unit_test(test_skip_kinds),
		cmocka_unit_test(test_skip_deep_nesting),
		cmocka_unit_test(test_skip_many_flat_containers),
		cmocka_unit_test(test_truncation_every_offset),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
