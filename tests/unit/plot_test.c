/*
 * lib/plot.c: nice ticks, downsampling, interpolation, XML escaping, the
 * braille rasterizer and the SVG renderer.
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

#include "plot.h"

/* ---- ticks ----------------------------------------------------------------------------- */

static void check_ticks(double lo, double hi, size_t target, double want_first, double want_step,
			size_t want_n)
{
	double first, step;
	size_t n = mlp_nice_ticks(lo, hi, target, &first, &step);

	if (fabs(first - want_first) > 1e-12 || fabs(step - want_step) > 1e-12 || n != want_n)
		fail_msg("ticks(%g, %g, %zu) = first %g step %g n %zu; want %g %g %zu", lo, hi, target,
			 first, step, n, want_first, want_step, want_n);
}

static void test_nice_ticks_known(void **state)
{
	(void)state;
	check_ticks(0, 1, 5, 0, 0.2, 6);
	check_ticks(0.13, 0.87, 5, 0, 0.2, 6);
	check_ticks(3, 97, 5, 0, 20, 6);
	check_ticks(1, 5, 4, 1, 1, 5);
	check_ticks(-7, 3, 5, -8, 2, 7);
	check_ticks(0, 1000, 4, 0, 500, 3);
	check_ticks(97, 3, 5, 0, 20, 6);	/* reversed */
	check_ticks(5, 5, 5, 4.4, 0.2, 7);	/* widened by 10% */
	check_ticks(0, 0, 4, -1, 0.5, 5);
}

/* For any range: 1-2-5 steps, the ticks cover it, and not too many of them. */
static void test_nice_ticks_property(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		double lo, hi, first, step, mant, eps;
		size_t n, target;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		lo = ((double)(x % 2000001) - 1000000.0) / pow(10, (double)((x >> 60) % 9));
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		hi = lo + (double)(x % 100000 + 1) / pow(10, (double)((x >> 59) % 12));
		target = 2 + (size_t)(x >> 61);
		n = mlp_nice_ticks(lo, hi, target, &first, &step);
		mant = step / pow(10, floor(log10(step)));
		assert_true(fabs(mant - 1) < 1e-9 || fabs(mant - 2) < 1e-9 || fabs(mant - 5) < 1e-9 ||
			    fabs(mant - 10) < 1e-9);
		/* within rounding at this magnitude */
		eps = fmax(step * 1e-9, fmax(fabs(lo), fabs(hi)) * 1e-12);
		if (!(first <= lo + eps))
			fail_msg("lo %.17g hi %.17g first %.17g step %g", lo, hi, first, step);
		assert_true(first + (double)(n - 1) * step >= hi - eps);
		assert_true(n >= 2 && n <= 2 * target + 3);
	}
}

static void test_nice_ticks_not_finite(void **state)
{
	double first, step;
	size_t n;

	(void)state;
	n = mlp_nice_ticks(NAN, INFINITY, 5, &first, &step);
	assert_true(n >= 2 && isfinite(first) && isfinite(step) && step > 0);
	n = mlp_nice_ticks(-1e308, 1e308, 5, &first, &step);
	assert_true(n >= 2 && isfinite(first) && step > 0);
}

/* ---- downsampling, interpolation ---------------------------------------------------------------- */

static void test_downsample(void **state)
{
	size_t idx[64];

	(void)state;
	assert_int_equal(mlp_downsample(idx, 10, 50), 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(idx[i], i);
	assert_int_equal(mlp_downsample(idx, 0, 50), 0);
	assert_int_equal(mlp_downsample(idx, 1000, 1), 1);
	assert_int_equal(idx[0], 999);
	for (size_t n = 51; n < 5000; n += 37) {
		size_t k = mlp_downsample(idx, n, 50), gmin = (size_t)-1, gmax = 0;
		assert_int_equal(k, 50);
		assert_int_equal(idx[0], 0);
		assert_int_equal(idx[49], n - 1);
		for (size_t i = 1; i < k; i++) {
			size_t g = idx[i] - idx[i - 1];
			assert_true(g >= 1);
			if (g < gmin) gmin = g;
			if (g > gmax) gmax = g;
		}
		/* evenly: gaps differ by at most one */
		assert_true(gmax - gmin <= 1);
	}
	assert_int_equal(mlp_downsample(idx, 5, 3), 3);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 2);
	assert_int_equal(idx[2], 4);
}

static void test_interp(void **state)
{
	int64_t x[] = { 0, 10, 20, 30 };
	double y[] = { 0, 1, NAN, 3 };

	(void)state;
	assert_true(fabs(mlp_series_interp(x, y, 4, 5) - 0.5) < 1e-12);
	assert_true(fabs(mlp_series_interp(x, y, 4, 10) - 1) < 1e-12);
	assert_true(mlp_series_interp(x, y, 4, 0) == 0);
	assert_true(isnan(mlp_series_interp(x, y, 4, 15)));	/* next to a NaN */
	assert_true(isnan(mlp_series_interp(x, y, 4, 20)));
	assert_true(fabs(mlp_series_interp(x, y, 4, 30) - 3) < 1e-12);
	assert_true(isnan(mlp_series_interp(x, y, 4, -1)));
	assert_true(isnan(mlp_series_interp(x, y, 4, 31)));
	assert_true(isnan(mlp_series_interp(x, y, 0, 0)));
}

static void test_series_sorted(void **state)
{
	int64_t step[] = { 3, 1, 2, 1 };
	double value[] = { 30, 10, 20, 11 };
	struct mlp_series s;

	memset(&s, 0, sizeof(s));
	s.key = (char *)"k";
	s.step = step;
	s.value = value;
	s.nr = s.alloc = 4;
	int64_t *x;
	double *y;

	(void)state;
	mlp_series_sorted(&s, &x, &y);
	assert_true(x[0] == 1 && x[1] == 1 && x[2] == 2 && x[3] == 3);
	assert_true(y[0] == 10 && y[1] == 11 && y[2] == 20 && y[3] == 30);	/* stable */
	free(x);
	free(y);
	s.nr = 0;
	mlp_series_sorted(&s, &x, &y);
	assert_null(x);
	assert_null(y);
}

/* ---- escaping ---------------------------------------------------------------------------------- */

static void test_xml_escape(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_xml_escape(&b, "<script>alert(\"x\")</script> & 'q'");
	assert_string_equal(b.buf, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
	mlp_buf_reset(&b);
	mlp_xml_escape(&b, "a\x01\x1b[31mb\tc\xff\xc3\xbc");
	assert_string_equal(b.buf, "a[31mb c\xef\xbf\xbd\xc3\xbc");
	mlp_buf_release(&b);
}

/* ---- braille ------------------------------------------------------------------------------------ */

/* Display cells of a line: code points, escape sequences skipped. */
static size_t cells(const char *s, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\033') {
			while (i < len && s[i] != 'm')
				i++;
			continue;
		}
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static void check_width(const char *out, size_t width)
{
	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (cells(p, len) > width)
			fail_msg("line wider than %zu: '%.*s'", width, (int)len, p);
		if (len && p[len - 1] == ' ')
			fail_msg("trailing blank: '%.*s'", (int)len, p);
		p += len + (nl != NULL);
	}
}

/*
 * A straight line from (0, 0) to (3, 3) on 17x2 cells (34x8 dots): one
 * diagonal of dots from the bottom-left to the top-right corner, tagged
 * 'a' at its middle point (step 1) and at its end without colour.
 */
static void test_braille_exact(void **state)
{
	int64_t x[] = { 0, 1, 2, 3 };
	double y[] = { 0, 1, 2, 3 };
	struct mlp_plot_line ln = { "up", x, y, 4, 0 };
	struct mlp_plot p = { "rise", "step", &ln, 1 };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_plot_braille(&b, &p, 20, 2, 0);
	assert_string_equal(b.buf,
		"rise\n"
		"3 ┤        ⢀⣀⡠⠤⠔⠒⠒⠊a\n"
		"0 ┤⣀⡠⠤⠤⠔a⠊⠉⠁\n"
		"  └─────────────────\n"
		"   0               3\n"
		"   a: up\n");
	/* with colour: the dots instead of the tags, one colour, reset at each line end */
	mlp_buf_reset(&b);
	mlp_plot_braille(&b, &p, 20, 2, 1);
	assert_string_equal(b.buf,
		"rise\n"
		"3 ┤        \033[34m⢀⣀⡠⠤⠔⠒⠒⠊⠉\033[m\n"
		"0 ┤\033[34m⣀⡠⠤⠤⠔⠒⠊⠉⠁\033[m\n"
		"  └─────────────────\n"
		"   0               3\n"
		"   \033[34m━━\033[m up\n");
	mlp_buf_release(&b);
}

static void test_braille_width_and_color(void **state)
{
	int64_t x[200];
	double y1[200], y2[200];
	struct mlp_plot_line ln[2] = {
		{ "base \x1b[31mrun\x1b[m (12345678)", x, y1, 200, 0 },
		{ "a very long run name that will not fit in a narrow terminal at all", x, y2, 200, 1 },
	};
	struct mlp_plot p = { "loss", NULL, ln, 2 };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	for (int i = 0; i < 200; i++) {
		x[i] = i * 10;
		y1[i] = exp(-i / 50.0);
		y2[i] = i == 100 ? NAN : 0.5 * exp(-i / 30.0) + 0.1;
	}
	for (unsigned w = 20; w <= 120; w += 7) {
		mlp_buf_reset(&b);
		mlp_plot_braille(&b, &p, w, 8, 0);
		check_width(b.buf, w);
		assert_null(strchr(b.buf, '\033'));	/* the hostile label too */
		assert_non_null(strstr(b.buf, "\xe2\xa0"));	/* braille */
		assert_non_null(strstr(b.buf, "a: "));
		assert_non_null(strstr(b.buf, "b: "));
		mlp_buf_reset(&b);
		mlp_plot_braille(&b, &p, w, 8, 1);
		check_width(b.buf, w);
		assert_non_null(strstr(b.buf, "\033[34m"));
		assert_non_null(strstr(b.buf, "\033[33m"));
		assert_null(strstr(b.buf, "\033[31m"));	/* the label's escape was dropped */
	}
	/* rows: title, 8 plot rows, axis, x labels, 2 legend lines */
	mlp_buf_reset(&b);
	mlp_plot_braille(&b, &p, 80, 8, 0);
	{
		size_t lines = 0;
		for (const char *q = b.buf; *q; q++)
			lines += *q == '\n';
		assert_int_equal(lines, 13);
	}
	assert_non_null(strstr(b.buf, "0"));
	assert_non_null(strstr(b.buf, "1990\n"));	/* the last step, right-aligned */
	mlp_buf_release(&b);
}

static void test_braille_empty_and_flat(void **state)
{
	int64_t x[] = { 5 };
	double y[] = { NAN }, flat[] = { 2 };
	struct mlp_plot_line ln = { "x", x, y, 1, 0 };
	struct mlp_plot p = { NULL, NULL, &ln, 1 };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_plot_braille(&b, &p, 30, 3, 0);
	assert_non_null(strstr(b.buf, "no data"));
	mlp_buf_reset(&b);
	ln.y = flat;
	mlp_plot_braille(&b, &p, 30, 3, 0);
	assert_null(strstr(b.buf, "no data"));
	assert_non_null(strstr(b.buf, "a"));
	check_width(b.buf, 30);
	mlp_buf_release(&b);
}

/* ---- SVG --------------------------------------------------------------------------------------- */

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void test_svg(void **state)
{
	int64_t x[100];
	double y1[100], y2[100];
	struct mlp_plot_line ln[3] = {
		{ "<script>alert(1)</script>", x, y1, 100, 0 },
		{ "b\" onload=\"alert(2)", x, y2, 100, 1 },
		{ "empty", x, y2, 0, 2 },
	};
	struct mlp_plot p = { "acc <&>", "step", ln, 3 };
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	for (int i = 0; i < 100; i++) {
		x[i] = i;
		y1[i] = i / 100.0;
		y2[i] = i == 50 ? NAN : 1 - i / 100.0;
	}
	mlp_plot_svg(&b, &p, 640, 300, 1);
	assert_true(starts_with(b.buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_int_equal(count(b.buf, "<path class=\"series\""), 2);	/* the empty line has none */
	assert_null(strstr(b.buf, "<script"));
	assert_null(strstr(b.buf, "\" onload"));
	assert_non_null(strstr(b.buf, "&lt;script&gt;"));
	assert_non_null(strstr(b.buf, "acc &lt;&amp;&gt;"));
	/* the NaN breaks the second line: two M commands in it */
	{
		const char *second = strstr(strstr(b.buf, "<path class=\"series\"") + 1, "<path class=\"series\"");
		const char *d = strstr(second, " d=\"");
		const char *end = strchr(d + 4, '"');
		size_t m = 0;
		for (const char *q = d + 4; q < end; q++)
			m += *q == 'M';
		assert_int_equal(m, 2);
	}
	/* y ticks 0..1 by 0.2 */
	assert_non_null(strstr(b.buf, ">0.2</text>"));
	assert_non_null(strstr(b.buf, ">1.0</text>"));
	assert_int_equal(count(b.buf, "<svg"), 1);
	assert_int_equal(count(b.buf, "</svg>"), 1);
	mlp_buf_reset(&b);
	mlp_plot_svg(&b, &p, 640, 300, 0);
	assert_null(strstr(b.buf, "http"));
	assert_true(starts_with(b.buf, "<svg width="));
	mlp_buf_reset(&b);
	mlp_plot_svg_stack(&b, (struct mlp_plot[]){ p, p }, 2, 500, 200);
	assert_int_equal(count(b.buf, "<g class=\"chart\""), 2);
	assert_int_equal(count(b.buf, "<path class=\"series\""), 4);
	mlp_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_ticks_known),
		cmocka_unit_test(test_nice_ticks_property),
		cmocka_unit_test(test_nice_ticks_not_finite),
		cmocka_unit_test(test_downsample),
		cmocka_unit_test(test_interp),
		cmocka_unit_test(test_series_sorted),
		cmocka_unit_test(test_xml_escape),
		cmocka_unit_test(test_braille_exact),
		cmocka_unit_test(test_braille_width_and_color),
		cmocka_unit_test(test_braille_empty_and_flat),
		cmocka_unit_test(test_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
