/*
 * lib/render.c: JSON escaping and numbers, sparklines, ages, run lists as
 * tables, CSV/TSV and JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

/* ---- JSON strings ------------------------------------------------------------------ */

static void check_json_str(const char *in, size_t len, const char *want)
{
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_json_str(&b, in, len);
	if (strcmp(b.buf, want))
		fail_msg("json_str: got %s, want %s", b.buf, want);
	mlp_buf_release(&b);
}

#define CHECK(in, want) check_json_str(in, sizeof(in) - 1, want)

static void test_json_str_escapes(void **state)
{
	(void)state;
	CHECK("", "\"\"");
	CHECK("plain", "\"plain\"");
	CHECK("a\"b", "\"a\\\"b\"");
	CHECK("back\\slash", "\"back\\\\slash\"");
	CHECK("n\nr\rt\t", "\"n\\nr\\rt\\t\"");
	CHECK("\x01\x1f", "\"\\u0001\\u001f\"");
	CHECK("\x7f", "\"\\u007f\"");
	CHECK("\b\f", "\"\\u0008\\u000c\"");
	CHECK("a\0b", "\"a\\u0000b\"");	/* length, not NUL, ends the string */
	CHECK("/ and ' stay", "\"/ and ' stay\"");
}

static void test_json_str_utf8(void **state)
{
	(void)state;
	/* valid multibyte sequences are kept as they are */
	CHECK("ü", "\"ü\"");
	CHECK("€", "\"€\"");
	CHECK("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	CHECK("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	CHECK("a\xc3\xbc" "b", "\"aüb\"");
	/* invalid bytes become U+FFFD, one per byte */
	CHECK("\xff", "\"\\ufffd\"");
	CHECK("\xfe\xff", "\"\\ufffd\\ufffd\"");
	CHECK("a\x80z", "\"a\\ufffdz\"");	/* lone continuation */
	CHECK("\xc3", "\"\\ufffd\"");	/* truncated at the end */
	CHECK("\xc3z", "\"\\ufffdz\"");	/* truncated in the middle */
	CHECK("\xe2\x82", "\"\\ufffd\\ufffd\"");
	CHECK("\xc0\xaf", "\"\\ufffd\\ufffd\"");	/* overlong '/' */
	CHECK("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");	/* overlong */
	CHECK("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	CHECK("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	CHECK("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* a valid sequence right after an invalid byte survives */
	CHECK("\xff\xc3\xbc", "\"\\ufffdü\"");
}

/* The length is honoured: no read past it, even mid-sequence. */
static void test_json_str_len(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	char *s = malloc(2);

	(void)state;
	s[0] = 'x';
	s[1] = (char)0xe2;	/* first byte of a 3-byte sequence, then the end */
	mlp_json_str(&b, s, 2);
	assert_string_equal(b.buf, "\"x\\ufffd\"");
	mlp_buf_reset(&b);
	mlp_json_str(&b, "abcdef", 3);
	assert_string_equal(b.buf, "\"abc\"");
	/* appends */
	mlp_json_str(&b, "d", 1);
	assert_string_equal(b.buf, "\"abc\"\"d\"");
	free(s);
	mlp_buf_release(&b);
}

/* ---- terminal text --------------------------------------------------------------------- */

static void check_text(const char *in, size_t len, unsigned flags, const char *want)
{
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_text_sanitize(&b, in, len, flags);
	if (strcmp(b.buf ? b.buf : "", want))
		fail_msg("text_sanitize(%u): got \"%s\", want \"%s\"", flags, b.buf ? b.buf : "", want);
	mlp_buf_release(&b);
}

#define TEXT(in, flags, want) check_text(in, sizeof(in) - 1, flags, want)

static void test_text_controls(void **state)
{
	(void)state;
	TEXT("", 0, "");
	TEXT("plain name", 0, "plain name");
	TEXT("back\\slash \"q\" 'q'", 0, "back\\slash \"q\" 'q'");
	/* escape sequences lose their ESC, visibly */
	TEXT("\x1b[2J\x1b]0;owned\x07", 0, "\\x1b[2J\\x1b]0;owned\\x07");
	TEXT("\x1b[31mred\x1b[m", 0, "\\x1b[31mred\\x1b[m");
	TEXT("a\rb\bc", 0, "a\\rb\\x08c");
	TEXT("\x01\x1f\x7f", 0, "\\x01\\x1f\\x7f");
	TEXT("a\0b", 0, "a\\x00b");	/* length, not NUL, ends the string */
	/* line feeds and tabs: shown, or kept when asked */
	TEXT("a\nb", 0, "a\\nb");
	TEXT("a\nb", MLP_TEXT_NL, "a\nb");
	TEXT("a\tb", 0, "a b");
	TEXT("a\tb", MLP_TEXT_TAB, "a\tb");
	TEXT("a\r\nb", MLP_TEXT_NL | MLP_TEXT_TAB, "a\\r\nb");
	/* C1 controls (U+0080..U+009F, in UTF-8) are escaped; U+00A0 is text */
	TEXT("\xc2\x9b" "2J", 0, "\\u009b2J");
	TEXT("\xc2\x80\xc2\x85\xc2\x9f", 0, "\\u0080\\u0085\\u009f");
	TEXT("\xc2\xa0\xc2\xa9", 0, "\xc2\xa0\xc2\xa9");
	/* a raw C1 byte is not UTF-8 */
	TEXT("\x9b" "2J", 0, "\xef\xbf\xbd" "2J");
}

static void test_text_utf8(void **state)
{
	(void)state;
	TEXT("\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad", 0, "\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad");
	TEXT("\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	/* each invalid byte becomes one U+FFFD */
	TEXT("\xff", 0, "\xef\xbf\xbd");
	TEXT("h-\xff\xfe", 0, "h-\xef\xbf\xbd\xef\xbf\xbd");
	TEXT("a\x80z", 0, "a\xef\xbf\xbdz");	/* lone continuation */
	TEXT("\xc3", 0, "\xef\xbf\xbd");	/* truncated at the end */
	TEXT("\xe2\x82z", 0, "\xef\xbf\xbd\xef\xbf\xbdz");	/* truncated in the middle */
	TEXT("\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd");	/* overlong '/' */
	TEXT("\xe0\x80\x9b", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	/* overlong C1 */
	TEXT("\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	/* surrogate */
	TEXT("\xf4\x90\x80\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");	/* > U+10FFFF */
	TEXT("\xff\xc3\xbc", 0, "\xef\xbf\xbd\xc3\xbc");	/* valid right after invalid */
}

/* Valid UTF-8 with no control character, for any input; a second pass changes nothing. */
static int text_is_clean(const struct mlp_buf *b, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)b->buf;

	for (size_t i = 0; i < b->len; i++) {
		unsigned c = p[i];
		if ((c < 0x20 && !((c == '\n' && (flags & MLP_TEXT_NL)) || (c == '\t' && (flags & MLP_TEXT_TAB)))) ||
		    c == 0x7f || (c == 0xc2 && i + 1 < b->len && p[i + 1] < 0xa0))
			return 0;
	}
	/* mlp_json_str turns invalid UTF-8 into \ufffd: there must be none */
	{
		struct mlp_buf j = MLP_BUF_INIT;
		int ok;
		mlp_json_str(&j, b->buf ? b->buf : "", b->len);
		ok = !strstr(j.buf, "\\ufffd");
		mlp_buf_release(&j);
		return ok;
	}
}

static void test_text_random(void **state)
{
	static const unsigned flagsets[] = { 0, MLP_TEXT_NL, MLP_TEXT_TAB, MLP_TEXT_NL | MLP_TEXT_TAB };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct mlp_buf a = MLP_BUF_INIT, b = MLP_BUF_INIT;
	unsigned char in[24];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		unsigned flags = flagsets[round % 4];
		size_t len = (size_t)(round % (int)sizeof(in));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* bias towards the interesting bytes: controls, C1 leads, UTF-8 leads */
			if ((x >> 8) % 4 == 0)
				in[i] = (unsigned char)"\x1b\n\t\r\x7f\xc2\x9b\xe2\x80\xf0\xff\x00"[(x >> 16) % 12];
			else
				in[i] = (unsigned char)(x >> 24);
		}
		mlp_buf_reset(&a);
		mlp_text_sanitize(&a, (const char *)in, len, flags);
		if (!text_is_clean(&a, flags))
			fail_msg("round %d: output not clean", round);
		mlp_buf_reset(&b);
		mlp_text_sanitize(&b, a.buf, a.len, flags);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.buf, b.buf, a.len);
		assert_true(mlp_text_width(a.buf) <= a.len);
	}
	mlp_buf_release(&a);
	mlp_buf_release(&b);
}

static void test_text_appends(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_text_sanitizes(&b, NULL, 0);
	assert_int_equal(b.len, 0);
	mlp_buf_adds(&b, "name: ");
	mlp_text_sanitizes(&b, "x\x1b", 0);
	mlp_text_sanitize(&b, "abc", 1, 0);
	assert_string_equal(b.buf, "name: x\\x1ba");
	mlp_buf_release(&b);
	/* nothing to add still leaves a terminated string */
	mlp_text_sanitize(&b, "", 0, 0);
	assert_true(!b.buf || b.buf[0] == '\0');
	mlp_buf_release(&b);
}

static void test_text_width(void **state)
{
	(void)state;
	assert_int_equal(mlp_text_width(""), 0);
	assert_int_equal(mlp_text_width("abc"), 3);
	assert_int_equal(mlp_text_width("\xc3\xbc"), 1);	/* ü */
	assert_int_equal(mlp_text_width("\xe4\xb8\xad\xe6\x96\x87"), 4);	/* two CJK: wide */
	assert_int_equal(mlp_text_width("e\xcc\x81"), 1);	/* e + combining acute */
	assert_int_equal(mlp_text_width("\xf0\x9f\x98\x80"), 2);	/* emoji */
	assert_int_equal(mlp_text_width("\xef\xbf\xbd"), 1);	/* U+FFFD */
	assert_int_equal(mlp_text_width("\\x1b"), 4);	/* what an escape becomes */
	assert_int_equal(mlp_text_width("\xff"), 1);	/* not sanitized: a byte, a column */
}

#undef TEXT

/* ---- JSON numbers -------------------------------------------------------------------- */

static void check_double(double d, const char *want)
{
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_json_double(&b, d);
	if (strcmp(b.buf, want))
		fail_msg("json_double(%.17g) = %s, want %s", d, b.buf, want);
	mlp_buf_release(&b);
}

static void test_json_double(void **state)
{
	(void)state;
	check_double(0.1, "0.1");
	check_double(1.0, "1.0");
	check_double(0.0, "0.0");
	check_double(-0.0, "-0.0");
	check_double(-2.5, "-2.5");
	check_double(100.0, "100.0");
	check_double(123456789.0, "123456789.0");
	check_double(1e300, "1e+300");
	check_double(1e16, "1e+16");
	check_double(-1e-7, "-1e-07");
	check_double(0.30000000000000004, "0.30000000000000004");
	check_double(1.0 / 3.0, "0.3333333333333333");
	check_double(DBL_MAX, "1.7976931348623157e+308");
	check_double(5e-324, "4.94065645841247e-324");	/* reads back as 5e-324 */
	check_double(NAN, "null");
	check_double(-NAN, "null");
	check_double(INFINITY, "null");
	check_double(-INFINITY, "null");
}

/* Every finite double prints as a JSON number that reads back exactly. */
static void test_json_double_roundtrip(void **state)
{
	uint64_t x = 88172645463325252ull;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		double d;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&d, &x, sizeof(d));
		mlp_buf_reset(&b);
		mlp_json_double(&b, d);
		if (!isfinite(d)) {
			assert_string_equal(b.buf, "null");
			continue;
		}
		if (strtod(b.buf, NULL) != d)
			fail_msg("%.17g printed as %s", d, b.buf);
		/* JSON numbers: no "inf", no leading '+', no bare trailing '.' */
		assert_null(strpbrk(b.buf, "inxIN"));
		assert_true(b.buf[0] == '-' || (b.buf[0] >= '0' && b.buf[0] <= '9'));
		assert_true(b.buf[b.len - 1] >= '0' && b.buf[b.len - 1] <= '9');
	}
	mlp_buf_release(&b);
}

static void test_json_value(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_value v;

	(void)state;
	mlp_value_parse(&v, "null", 4);
	mlp_json_value(&b, &v);
	mlp_buf_addch(&b, ',');
	mlp_value_parse(&v, "false", 5);
	mlp_json_value(&b, &v);
	mlp_buf_addch(&b, ',');
	mlp_value_parse(&v, "-9223372036854775808", 20);
	mlp_json_value(&b, &v);
	mlp_buf_addch(&b, ',');
	mlp_value_parse(&v, "2.0", 3);
	mlp_json_value(&b, &v);
	mlp_buf_addch(&b, ',');
	mlp_value_parse(&v, "a\"b", 3);
	mlp_json_value(&b, &v);
	mlp_value_clear(&v);
	assert_string_equal(b.buf, "null,false,-9223372036854775808,2.0,\"a\\\"b\"");
	mlp_buf_release(&b);
}

/* ---- sparklines ------------------------------------------------------------------------- */

static size_t cells(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void test_sparkline(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	double constant[] = { 5, 5, 5, 5 };
	double rising[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	double falling[] = { 7, 6, 5, 4, 3, 2, 1, 0 };
	double with_nan[] = { 0, NAN, 1 };
	double *big = malloc(1000 * sizeof(double));

	(void)state;
	mlp_sparkline(&b, constant, 4, 24);
	assert_int_equal(cells(b.buf), 4);
	/* a constant series is flat: every cell the same bar */
	assert_memory_equal(b.buf, b.buf + 3, 3);
	assert_memory_equal(b.buf, b.buf + 9, 3);
	assert_string_equal(b.buf, "▄▄▄▄");

	mlp_buf_reset(&b);
	mlp_sparkline(&b, rising, 8, 24);
	assert_string_equal(b.buf, "▁▂▃▄▅▆▇█");
	mlp_buf_reset(&b);
	mlp_sparkline(&b, falling, 8, 24);
	assert_string_equal(b.buf, "█▇▆▅▄▃▂▁");

	/* width caps the cells; a long rising series still starts low, ends high */
	for (int i = 0; i < 1000; i++)
		big[i] = i * 0.01 - 3;
	mlp_buf_reset(&b);
	mlp_sparkline(&b, big, 1000, 24);
	assert_int_equal(cells(b.buf), 24);
	assert_memory_equal(b.buf, "▁", 3);
	assert_memory_equal(b.buf + b.len - 3, "█", 3);
	for (size_t i = 3; i < b.len; i += 3)
		assert_true(memcmp(b.buf + i - 3, b.buf + i, 3) <= 0);	/* never falls */
	mlp_buf_reset(&b);
	mlp_sparkline(&b, big, 1000, 1);
	assert_int_equal(cells(b.buf), 1);

	/* a cell with no finite value is a blank */
	mlp_buf_reset(&b);
	mlp_sparkline(&b, with_nan, 3, 10);
	assert_string_equal(b.buf, "▁ █");

	/* nothing to draw */
	mlp_buf_reset(&b);
	mlp_buf_adds(&b, "");
	mlp_sparkline(&b, rising, 0, 10);
	assert_string_equal(b.buf, "");
	mlp_sparkline(&b, rising, 8, 0);
	assert_string_equal(b.buf, "");
	free(big);
	mlp_buf_release(&b);
}

/* ---- ages -------------------------------------------------------------------------------- */

static void check_age(int64_t ms, const char *want)
{
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_format_age(&b, ms);
	if (strcmp(b.buf, want))
		fail_msg("age(%lld) = %s, want %s", (long long)ms, b.buf, want);
	mlp_buf_release(&b);
}

/* The table's numbers are printf's "%.4g", whatever the magnitude. */
static void check_number(double d)
{
	struct mlp_buf b = MLP_BUF_INIT;
	char want[64];

	snprintf(want, sizeof(want), "%.4g", d);
	mlp_format_number(&b, d);
	if (strcmp(b.buf, isnan(d) ? "nan" : want))
		fail_msg("%.17g: got '%s', printf says '%s'", d, b.buf, want);
	mlp_buf_release(&b);
}

static void test_format_number(void **state)
{
	static const double fixed[] = {
		0, -0.0, 1, -1, 0.5, 9.9995, 9.9994, 99995, 99994, 1e-5, 0.0001, 0.00012345,
		0.12345, 0.12355, 1234.5, 1235.5, 12345, 9999.5, 0.99995, 1e21, 1e22, 1e23,
		1e-19, 1e-20, 1e-300, 1e300, DBL_MAX, DBL_MIN, 5e-324, 0.1, 0.2, 0.3, 2.5,
		3.14159265358979, 100, 1000, 10000, 123456789, 0.0009765625, INFINITY, -INFINITY,
	};
	uint64_t x = 0x9e3779b97f4a7c15u;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		check_number(fixed[i]);
		check_number(-fixed[i]);
	}
	check_number(NAN);
	for (int i = 0; i < 300000; i++) {
		double d;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		switch (i % 4) {
		case 0:	/* any bit pattern */
			memcpy(&d, &x, sizeof(d));
			break;
		case 1:	/* metric-like values */
			d = (double)(x >> 11) / 9007199254740992.0;
			break;
		case 2:	/* a few decimals, as people write them: ties in decimal */
			d = (double)(int64_t)(x % 2000001 - 1000000) / pow(10, (double)(x >> 60));
			break;
		default:	/* every magnitude */
			d = ((double)(x >> 11) / 9007199254740992.0) * pow(10, (double)((int)(x % 61) - 30));
			break;
		}
		check_number(d);
	}
}

static void test_format_age(void **state)
{
	(void)state;
	check_age(0, "0s");
	check_age(999, "0s");
	check_age(3000, "3s");
	check_age(59999, "59s");
	check_age(60000, "1m");
	check_age(5 * 60000 + 59000, "5m");
	check_age(3599999, "59m");
	check_age(3600000, "1h");
	check_age(47 * 3600000LL, "47h");
	check_age(48 * 3600000LL, "2d");
	check_age(4 * 86400000LL, "4d");
	check_age(400 * 86400000LL, "400d");
	check_age(-5000, "0s");	/* clock skew: never negative */
}

static void test_format_parse(void **state)
{
	enum mlp_format f = MLP_FMT_TEXT;

	(void)state;
	assert_int_equal(mlp_format_parse(&f, "table"), 0);
	assert_int_equal(f, MLP_FMT_TABLE);
	assert_int_equal(mlp_format_parse(&f, "json"), 0);
	assert_int_equal(f, MLP_FMT_JSON);
	assert_int_equal(mlp_format_parse(&f, "csv"), 0);
	assert_int_equal(f, MLP_FMT_CSV);
	assert_int_equal(mlp_format_parse(&f, "tsv"), 0);
	assert_int_equal(f, MLP_FMT_TSV);
	assert_int_equal(mlp_format_parse(&f, "text"), 0);
	assert_int_equal(f, MLP_FMT_TEXT);
	assert_int_equal(mlp_format_parse(&f, "JSON"), MLP_EINVALID);
	assert_int_equal(mlp_format_parse(&f, ""), MLP_EINVALID);
	assert_non_null(strstr(mlp_error_message(), "unknown format"));
}

/* ---- lists -------------------------------------------------------------------------------- */

#define NOW 1700000100000LL

static void set_parsed(struct mlp_map *m, const char *k, const char *v)
{
	struct mlp_value val;

	mlp_value_parse(&val, v, strlen(v));
	mlp_map_set(m, k, &val);
}

static struct mlp_run *list_run(const char *id, const char *name, const char *lr, double loss,
				int64_t started)
{
	struct mlp_run *run = mlp_run_new();

	memcpy(run->id, id, MLP_ID_HEXSZ + 1);
	run->name = name ? mlp_strdup(name) : NULL;
	run->status = MLP_STATUS_FINISHED;
	memcpy(run->base, "1234567890123456789012345678901234567890", MLP_OID_HEXSZ + 1);
	run->started = started;
	run->ended = started + 1000;
	set_parsed(&run->params, "lr", lr);
	set_parsed(&run->params, "seed", "42");
	mlp_run_add_point(run, "loss", 0, loss, started);
	mlp_run_summarize(run);
	return run;
}

static void make_list(struct mlp_run_list *list, const char *name0, const char *name1)
{
	memset(list, 0, sizeof(*list));
	list->nr = list->alloc = 2;
	list->runs = mlp_calloc(2, sizeof(*list->runs));
	list->runs[0] = list_run("aaaaaaaa11111111111111111111111a", name0, "0.01", 0.25, NOW - 5000);
	list->runs[1] = list_run("bbbbbbbb22222222222222222222222b", name1, "0.02", 0.125, NOW - 7200000);
}

static void test_render_table(void **state)
{
	struct mlp_run_list list;
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	make_list(&list, "brave-otter", "calm-fox");
	list.runs[1]->dirty = 1;
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	/* only the param that differs; seed is 42 in both */
	assert_non_null(strstr(b.buf, "params.lr"));
	assert_null(strstr(b.buf, "seed"));
	assert_string_equal(b.buf,
		"ID        NAME         STATUS    AGE  COMMIT    params.lr   loss\n"
		"aaaaaaaa  brave-otter  finished   5s  1234567   0.01        0.25\n"
		"bbbbbbbb  calm-fox     finished   2h  1234567+  0.02       0.125\n");
	/* no color codes unless asked */
	assert_null(strchr(b.buf, '\033'));
	mlp_buf_reset(&b);
	o.color = 1;
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_non_null(strchr(b.buf, '\033'));
	mlp_buf_release(&b);

	/* one run: no param columns at all */
	mlp_run_free(list.runs[1]);
	list.nr = 1;
	o.color = 0;
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_null(strstr(b.buf, "params."));
	assert_non_null(strstr(b.buf, "brave-otter"));
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

static void test_render_table_same_params(void **state)
{
	struct mlp_run_list list;
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_value v;

	(void)state;
	make_list(&list, "a", NULL);
	/* same lr in both, a param only one run has, a type difference */
	set_parsed(&list.runs[1]->params, "lr", "0.01");
	set_parsed(&list.runs[0]->params, "only", "x");
	set_parsed(&list.runs[0]->params, "typed", "1");
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, "1", 1);
	mlp_map_set(&list.runs[1]->params, "typed", &v);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_null(strstr(b.buf, "params.lr"));
	assert_non_null(strstr(b.buf, "params.only"));
	assert_non_null(strstr(b.buf, "params.typed"));
	/* a run without a name shows "-" */
	assert_non_null(strstr(b.buf, "bbbbbbbb  -"));
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

static void test_render_csv(void **state)
{
	struct mlp_run_list list;
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	make_list(&list, "a,b", "say \"hi\"");
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_CSV, &o), 0);
	assert_string_equal(b.buf,
		"id,name,experiment,status,started,ended,commit,params.lr,params.seed,metrics.loss\n"
		"aaaaaaaa11111111111111111111111a,\"a,b\",,finished,2023-11-14T22:14:55Z,2023-11-14T22:14:56Z,"
		"1234567890123456789012345678901234567890,0.01,42,0.25\n"
		"bbbbbbbb22222222222222222222222b,\"say \"\"hi\"\"\",,finished,2023-11-14T20:15:00Z,2023-11-14T20:15:01Z,"
		"1234567890123456789012345678901234567890,0.02,42,0.125\n");
	mlp_buf_reset(&b);
	free(list.runs[1]->name);
	list.runs[1]->name = mlp_strdup("tab\there");
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TSV, &o), 0);
	assert_non_null(strstr(b.buf, "id\tname\texperiment\tstatus\tstarted\tended\tcommit\tparams.lr\tparams.seed\tmetrics.loss\n"));
	assert_non_null(strstr(b.buf, "\ta,b\t"));	/* no quoting in TSV */
	assert_non_null(strstr(b.buf, "\ttab here\t"));
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

/*
 * A listing long enough to be formatted in parts on several threads reads
 * as one table: rows in order, every column as wide as its widest cell
 * in any part.
 */
static void test_render_long_list(void **state)
{
	enum { N = 5000 };
	struct mlp_run_list list = { 0 };
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT, want = MLP_BUF_INIT;
	const char *line, *nl;
	size_t len0 = 0, i = 0;

	(void)state;
	list.nr = list.alloc = N;
	list.runs = mlp_calloc(N, sizeof(*list.runs));
	for (i = 0; i < N; i++) {
		char id[MLP_ID_HEXSZ + 1], name[32], lr[32];
		snprintf(id, sizeof(id), "%08zx%024zx", i, i);
		snprintf(name, sizeof(name), "r%zu", i);
		snprintf(lr, sizeof(lr), "%zu", i * 7);
		list.runs[i] = list_run(id, name, lr, (double)i + 0.5, NOW - 5000);
	}
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	/* the last column aligns right: every line as long as the header */
	for (line = b.buf, i = 0; (nl = strchr(line, '\n')); line = nl + 1, i++) {
		char name[32];
		if (!i) {
			len0 = (size_t)(nl - line);
			continue;
		}
		if ((size_t)(nl - line) != len0)
			fail_msg("line %zu is %zu columns, the header %zu", i, (size_t)(nl - line), len0);
		snprintf(name, sizeof(name), "  r%zu ", i - 1);
		if (strncmp(line, list.runs[i - 1]->id, 8) || !memmem(line, (size_t)(nl - line), name, strlen(name)))
			fail_msg("line %zu is not run %zu: %.*s", i, i - 1, (int)(nl - line), line);
	}
	assert_int_equal(i, N + 1);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_CSV, &o), 0);
	mlp_buf_adds(&want, "id,name,experiment,status,started,ended,commit,params.lr,params.seed,metrics.loss\n");
	for (i = 0; i < N; i++)
		mlp_buf_addf(&want, "%s,r%zu,,finished,2023-11-14T22:14:55Z,2023-11-14T22:14:56Z,"
			     "1234567890123456789012345678901234567890,%zu,42,%.17g\n",
			     list.runs[i]->id, i, i * 7, (double)i + 0.5);
	assert_string_equal(b.buf, want.buf);
	mlp_buf_release(&want);
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

/* A listing of the encoded records (views of the index) as of the decoded runs. */
static void view_of(struct mlp_run_view *v, const struct mlp_run *r, struct mlp_buf rec[3])
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(mlp_record_encode_run(&rec[0], r), 0);
	assert_int_equal(mlp_record_encode_params(&rec[1], &r->params), 0);
	assert_int_equal(mlp_record_encode_summary(&rec[2], r), 0);
	v->id = r->id;
	v->name = r->name;
	v->name_len = r->name ? strlen(r->name) : 0;
	v->status = r->status;
	v->base = r->base;
	v->dirty = r->dirty;
	v->started = r->started;
	for (int f = 0; f < 3; f++) {
		v->rec[f] = rec[f].buf;
		v->len[f] = rec[f].len;
	}
}

static void test_render_views(void **state)
{
	struct mlp_run_list list;
	struct mlp_run_view v[2];
	struct mlp_view_list views = { v, 2, 1, NULL };
	struct mlp_buf rec[2][3] = { { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT },
				     { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT } };
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf a = MLP_BUF_INIT, b = MLP_BUF_INIT;
	const char *keys[] = { "-params.lr" };

	(void)state;
	make_list(&list, "brave-otter", "calm-fox");
	list.runs[1]->dirty = 1;
	set_parsed(&list.runs[1]->params, "extra", "\"x\"");
	mlp_run_add_point(list.runs[0], "acc", 0, 0.5, NOW);
	mlp_run_summarize(list.runs[0]);
	for (int k = 0; k < 2; k++)
		view_of(&v[k], list.runs[k], rec[k]);
	for (int color = 0; color < 2; color++) {
		o.color = color;
		mlp_buf_reset(&a);
		mlp_buf_reset(&b);
		assert_int_equal(mlp_render_views(&a, &views, MLP_FMT_TABLE, &o), 0);
		assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
		assert_string_equal(a.buf, b.buf);
	}
	assert_non_null(strstr(a.buf, "params.extra"));
	mlp_buf_reset(&a);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_views(&a, &views, MLP_FMT_MD, &o), 0);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_MD, &o), 0);
	assert_string_equal(a.buf, b.buf);
	/* sorted the same way */
	assert_int_equal(mlp_view_list_sort(&views, keys, 1), 0);
	assert_int_equal(mlp_run_list_sort(&list, keys, 1), 0);
	assert_string_equal(views.views[0].id, list.runs[0]->id);
	/* the index cannot say: decoded runs can */
	{
		const char *host[] = { "host" };
		assert_int_equal(mlp_view_list_sort(&views, host, 1), 1);
		assert_int_equal(mlp_sort_keys_view_ok(host, 1), 0);
		assert_int_equal(mlp_sort_keys_view_ok(keys, 1), 1);
	}
	mlp_buf_reset(&a);
	assert_int_equal(mlp_render_views(&a, &views, MLP_FMT_CSV, &o), 1);
	/* keys out of order, as no encoder writes them: give up, write nothing */
	{
		char *p = memmem(rec[0][1].buf, rec[0][1].len, "lr", 2);
		assert_non_null(p);
		p[0] = 'z';	/* "zr" after "seed" */
		mlp_buf_reset(&a);
		assert_int_equal(mlp_render_views(&a, &views, MLP_FMT_TABLE, &o), 1);
		assert_int_equal(a.len, 0);
		p[0] = 'l';
		/* a truncated summary */
		v[1].len[2] = 5;
		assert_int_equal(mlp_render_views(&a, &views, MLP_FMT_TABLE, &o), 1);
	}
	for (int k = 0; k < 2; k++)
		for (int f = 0; f < 3; f++)
			mlp_buf_release(&rec[k][f]);
	mlp_buf_release(&a);
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

static void test_render_json_list(void **state)
{
	struct mlp_run_list list;
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	make_list(&list, "one", "two");
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_JSON, &o), 0);
	assert_true(b.buf[0] == '[');
	assert_string_equal(b.buf + b.len - 2, "]\n");
	assert_non_null(strstr(b.buf, "\"id\":\"aaaaaaaa11111111111111111111111a\""));
	assert_non_null(strstr(b.buf, "\"params\":{\"lr\":0.01,\"seed\":42}"));
	assert_non_null(strstr(b.buf,
		"\"metrics\":{\"loss\":{\"last\":0.125,\"min\":0.125,\"max\":0.125,\"first\":0.125,\"count\":1,\"step\":0}}"));
	assert_non_null(strstr(b.buf, "\"exit_code\":null"));
	mlp_buf_reset(&b);
	list.nr = 0;
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_JSON, &o), 0);
	assert_string_equal(b.buf, "[]\n");
	list.nr = 2;
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

static void test_render_show(void **state)
{
	struct mlp_run *run = list_run("aaaaaaaa11111111111111111111111a", "brave-otter", "0.01", 0.5, NOW - 3000);
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	run->has_exit_code = 1;
	run->exit_code = 3;
	run->status = MLP_STATUS_FAILED;
	assert_int_equal(mlp_render_show(&b, run, MLP_FMT_TEXT, &o), 0);
	assert_non_null(strstr(b.buf, "run aaaaaaaa11111111111111111111111a\n"));
	assert_non_null(strstr(b.buf, "name:       brave-otter\n"));
	assert_non_null(strstr(b.buf, "status:     failed (exit 3)\n"));
	assert_non_null(strstr(b.buf, "\nparams:\n  lr    0.01\n  seed  42\n"));
	assert_non_null(strstr(b.buf, "\nmetrics:\n"));
	assert_null(strchr(b.buf, '\033'));
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_show(&b, run, MLP_FMT_JSON, &o), 0);
	assert_non_null(strstr(b.buf, "\"exit_code\":3"));
	assert_non_null(strstr(b.buf, "\"logs_tail\":{\"stdout\":null,\"stderr\":null}"));
	mlp_buf_release(&b);
	mlp_run_free(run);
}

/* Hostile names: escaped, and the columns after them still line up. */
static void test_render_table_hostile(void **state)
{
	struct mlp_run_list list;
	struct mlp_render_opts o = { .color = 0, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_value v;
	char long_value[64 * 2 + 1];

	(void)state;
	make_list(&list, "\x1b[2J\xff", "\xe4\xb8\xad\xe6\x96\x87");	/* ESC[2J + invalid byte; two CJK */
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_string_equal(b.buf,
		"ID        NAME      STATUS    AGE  COMMIT   params.lr   loss\n"
		"aaaaaaaa  \\x1b[2J\xef\xbf\xbd  finished   5s  1234567  0.01        0.25\n"
		"bbbbbbbb  \xe4\xb8\xad\xe6\x96\x87      finished   2h  1234567  0.02       0.125\n");
	mlp_buf_reset(&b);
	/* with colour: our sequences only */
	o.color = 1;
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_null(strstr(b.buf, "\033[2J"));
	assert_non_null(strstr(b.buf, "\\x1b[2J"));
	o.color = 0;

	/* Markdown and CSV cells are sanitized too; CSV keeps a line feed, quoted */
	free(list.runs[1]->name);
	list.runs[1]->name = mlp_strdup("two\nlines\x07");
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_MD, &o), 0);
	assert_non_null(strstr(b.buf, "| \\x1b[2J\xef\xbf\xbd |"));
	assert_non_null(strstr(b.buf, "| two\\nlines\\x07 |"));
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_CSV, &o), 0);
	assert_non_null(strstr(b.buf, ",\\x1b[2J\xef\xbf\xbd,"));
	assert_non_null(strstr(b.buf, ",\"two\nlines\\x07\","));
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TSV, &o), 0);
	assert_non_null(strstr(b.buf, "\ttwo\\nlines\\x07\t"));

	/* a long value is cut between characters, never inside one */
	for (int i = 0; i < 64; i++)
		memcpy(long_value + 2 * i, "\xc3\xa9", 2);	/* é */
	long_value[128] = '\0';
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, long_value, strlen(long_value));
	mlp_map_set(&list.runs[0]->params, "lr", &v);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_render_list(&b, &list, MLP_FMT_TABLE, &o), 0);
	assert_null(strstr(b.buf, "\xef\xbf\xbd\xef\xbf\xbd"));
	assert_non_null(strstr(b.buf, "\xc3\xa9..."));
	mlp_buf_release(&b);
	mlp_run_list_release(&list);
}

static void test_render_show_hostile(void **state)
{
	struct mlp_run *run = list_run("aaaaaaaa11111111111111111111111a", "h-\x1b]0;owned\x07", "0.01", 0.5, NOW - 3000);
	struct mlp_render_opts o = { .color = 1, .now_ms = NOW };
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_value v;

	(void)state;
	run->note = mlp_strdup("first\x1b[31m line\nsecond\tline\n");
	run->host = mlp_strdup("gpu\xc2\x9b" "7");
	run->branch = mlp_strdup("main\r");
	memset(&v, 0, sizeof(v));
	mlp_value_set_str(&v, "\x1b[5mblink", 9);
	mlp_map_set(&run->tags, "t\xff", &v);
	run->logs_stdout_tail = mlp_strdup("epoch 1\n 10%|#\r 50%|#####\r100%|##########|\r\nbell\x07\n");
	assert_int_equal(mlp_render_show(&b, run, MLP_FMT_TEXT, &o), 0);
	assert_non_null(strstr(b.buf, "name:       h-\\x1b]0;owned\\x07\n"));
	assert_non_null(strstr(b.buf, "note:       first\\x1b[31m line\n            second\tline\n"));
	assert_non_null(strstr(b.buf, "host:       gpu\\u009b7\n"));
	assert_non_null(strstr(b.buf, " (main\\r)\n"));
	if (!strstr(b.buf, "\ntags:\n  t\xef\xbf\xbd  \\x1b[5mblink\n"))
		fail_msg("%s", b.buf);
	/* a progress bar shows its last state; other controls are escaped */
	assert_non_null(strstr(b.buf, "\nlog tail (stdout):\n    epoch 1\n    100%|##########|\n    bell\\x07\n"));
	/* the only escape sequences are our colours */
	for (const char *p = strchr(b.buf, '\033'); p; p = strchr(p + 1, '\033'))
		assert_true(!strncmp(p, "\033[33m", 5) || !strncmp(p, "\033[32m", 5) || !strncmp(p, "\033[m", 3));
	mlp_buf_release(&b);
	mlp_run_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str_escapes),
		cmocka_unit_test(test_json_str_utf8),
		cmocka_unit_test(test_json_str_len),
		cmocka_unit_test(test_text_controls),
		cmocka_unit_test(test_text_utf8),
		cmocka_unit_test(test_text_random),
		cmocka_unit_test(test_text_appends),
		cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_json_double),
		cmocka_unit_test(test_json_double_roundtrip),
		cmocka_unit_test(test_json_value),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_format_number),
		cmocka_unit_test(test_format_age),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_render_table),
		cmocka_unit_test(test_render_table_same_params),
		cmocka_unit_test(test_render_csv),
		cmocka_unit_test(test_render_long_list),
		cmocka_unit_test(test_render_views),
		cmocka_unit_test(test_render_json_list),
		cmocka_unit_test(test_render_show),
		cmocka_unit_test(test_render_table_hostile),
		cmocka_unit_test(test_render_show_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
