/*
 * lib/report.c: Markdown reports (exact output, Mermaid structure, the
 * size cap), HTML reports (escaping of hostile runs, no external
 * references), trailers.
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
#include "report.h"

static struct mlp_run *mk_run(const char *id, const char *name, const char *base)
{
	struct mlp_run *r = mlp_run_new();

	snprintf(r->id, sizeof(r->id), "%s", id);
	r->name = mlp_strdup(name);
	snprintf(r->base, sizeof(r->base), "%s", base);
	r->status = MLP_STATUS_FINISHED;
	r->started = 1700000000000;
	r->ended = 1700000065000;
	r->series_loaded = 1;
	return r;
}

static void set_param(struct mlp_run *r, const char *key, const char *val)
{
	struct mlp_value v;
	mlp_value_parse(&v, val, strlen(val));
	mlp_map_set(&r->params, key, &v);
}

/* A pair of runs: 5 steps of loss and acc each, lr changed. */
static void pair(struct mlp_run_list *l)
{
	struct mlp_run *a = mk_run("aaaaaaaa11111111aaaaaaaa11111111", "base-run",
				   "1111111111111111111111111111111111111111");
	struct mlp_run *b = mk_run("bbbbbbbb22222222bbbbbbbb22222222", "head-run",
				   "2222222222222222222222222222222222222222");

	set_param(a, "lr", "0.1");
	set_param(b, "lr", "0.2");
	set_param(a, "opt", "sgd");
	set_param(b, "opt", "sgd");
	for (int i = 1; i <= 5; i++) {
		mlp_run_add_point(a, "loss", i, 1.0 / i, 0);
		mlp_run_add_point(a, "acc", i, 0.5 + 0.05 * i, 0);
		mlp_run_add_point(b, "loss", i, 0.8 / i, 0);
		mlp_run_add_point(b, "acc", i, 0.5 + 0.04 * i, 0);
	}
	mlp_run_summarize(a);
	mlp_run_summarize(b);
	l->runs = mlp_calloc(2, sizeof(*l->runs));
	l->runs[0] = a;
	l->runs[1] = b;
	l->nr = 2;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const char *const roles[] = { "base", "head" };

static void test_md_exact(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_report_opts o = { 0 };

	(void)state;
	pair(&l);
	o.range = "main...HEAD";
	o.roles = roles;
	assert_int_equal(mlp_report_md(&b, &l, &o), 0);
	assert_string_equal(b.buf,
		"<!-- git-mlp report -->\n"
		"### Experiment report: main...HEAD\n"
		"\n"
		"**base** base-run (`aaaaaaaa`) at `1111111` → **head** head-run (`bbbbbbbb`) at `2222222`\n"
		"\n"
		"#### Params\n"
		"\n"
		"| param | base-run (base) | head-run (head) |\n"
		"| --- | --- | --- |\n"
		"| lr | 0.1 | 0.2 |\n"
		"\n"
		"#### Metrics\n"
		"\n"
		"| metric | base-run (base) | head-run (head) | change | change % |  |\n"
		"| --- | ---: | ---: | ---: | ---: | --- |\n"
		"| acc | 0.75 | 0.7 | -0.05 | -6.7% | ❌ worse |\n"
		"| loss | 0.2 | 0.16 | -0.04 | -20.0% | ✅ better |\n"
		"\n"
		"#### acc\n"
		"\n"
		"```mermaid\n"
		"%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#1f77b4, #ff7f0e\"}}}}%%\n"
		"xychart-beta\n"
		"    title \"acc\"\n"
		"    x-axis \"step\" 1 --> 5\n"
		"    y-axis \"acc\" 0.5 --> 0.75\n"
		"    line [0.55, 0.6, 0.65, 0.7, 0.75]\n"
		"    line [0.54, 0.58, 0.62, 0.66, 0.7]\n"
		"```\n"
		"\n"
		"🟦 base-run (`aaaaaaaa`) · 🟧 head-run (`bbbbbbbb`)  \n"
		"x: step 1–5, 5 points\n"
		"\n"
		"#### loss\n"
		"\n"
		"```mermaid\n"
		"%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"#1f77b4, #ff7f0e\"}}}}%%\n"
		"xychart-beta\n"
		"    title \"loss\"\n"
		"    x-axis \"step\" 1 --> 5\n"
		"    y-axis \"loss\" 0 --> 1\n"
		"    line [1, 0.5, 0.333333, 0.25, 0.2]\n"
		"    line [0.8, 0.4, 0.266667, 0.2, 0.16]\n"
		"```\n"
		"\n"
		"🟦 base-run (`aaaaaaaa`) · 🟧 head-run (`bbbbbbbb`)  \n"
		"x: step 1–5, 5 points\n");
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

/*
 * The Mermaid blocks against the xychart-beta grammar as far as the
 * report uses it: the init directive, the chart type, title, axes with
 * numeric ranges, and lines of plain decimals, all of the same length.
 */
static void check_mermaid(const char *md, size_t want_blocks, size_t want_lines)
{
	size_t blocks = 0;

	for (const char *p = strstr(md, "```mermaid\n"); p; p = strstr(p, "```mermaid\n")) {
		const char *end = strstr(p + 11, "\n```\n");
		char *blk, *save = NULL;
		size_t lines = 0, npoints = (size_t)-1, ln = 0;
		assert_non_null(end);
		blk = mlp_strndup(p + 11, (size_t)(end - p - 11));
		for (char *line = strtok_r(blk, "\n", &save); line; line = strtok_r(NULL, "\n", &save), ln++) {
			if (ln == 0) {
				assert_true(!strncmp(line, "%%{init: {", 10));
				assert_true(strlen(line) > 4 && !strcmp(line + strlen(line) - 4, "}}%%"));
			} else if (ln == 1) {
				assert_string_equal(line, "xychart-beta");
			} else if (!strncmp(line, "    title \"", 11)) {
				assert_int_equal(count(line + 11, "\""), 1);
				assert_true(line[strlen(line) - 1] == '"');
			} else if (!strncmp(line, "    x-axis \"step\" ", 18) || !strncmp(line, "    y-axis \"", 12)) {
				const char *r = strrchr(line, '"') + 1;
				double lo, hi;
				char arrow[8];
				if (*r == ' ' && r[1] == '[')
					continue;
				assert_int_equal(sscanf(r, " %lf %7s %lf", &lo, arrow, &hi), 3);
				assert_string_equal(arrow, "-->");
				assert_true(lo <= hi);
				assert_null(strpbrk(r, "eE"));
			} else if (!strncmp(line, "    line [", 10)) {
				size_t n = 1;
				assert_true(line[strlen(line) - 1] == ']');
				for (const char *q = line + 10; *q != ']'; q++) {
					assert_non_null(strchr("0123456789.-, ", *q));
					n += *q == ',';
				}
				if (npoints == (size_t)-1)
					npoints = n;
				assert_int_equal(n, npoints);	/* one shared x axis */
				assert_true(n <= MLP_REPORT_MD_POINTS);
				lines++;
			} else {
				fail_msg("unexpected Mermaid line '%s'", line);
			}
		}
		if (want_lines)
			assert_int_equal(lines, want_lines);
		free(blk);
		blocks++;
		p = end;
	}
	assert_int_equal(blocks, want_blocks);
}

static void test_md_mermaid_resampled(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_report_opts o = { 0 };
	struct mlp_run *c = mk_run("cccccccc33333333cccccccc33333333", "third \"quoted\" <x>", "");

	(void)state;
	pair(&l);
	/* a third run with 1000 points of loss at other steps, some NaN */
	for (int i = 0; i < 1000; i++)
		mlp_run_add_point(c, "loss", i * 3, i == 500 ? NAN : 1e-6 * i, 0);
	mlp_run_summarize(c);
	l.runs = mlp_realloc(l.runs, 3 * sizeof(*l.runs));
	l.runs[l.nr++] = c;
	o.metrics = (const char *const[]){ "loss", "acc", "nosuch" };
	o.nmetrics = 3;
	assert_int_equal(mlp_report_md(&b, &l, &o), 0);
	check_mermaid(b.buf, 2, 0);
	/* loss: three lines (the third run resampled onto 1..5), acc: two */
	{
		const char *loss = strstr(b.buf, "#### loss"), *acc = strstr(b.buf, "#### acc");
		assert_non_null(loss);
		assert_non_null(acc);
		assert_true(loss < acc);
		assert_int_equal(count(loss, "    line ["), 5);
		assert_int_equal(count(acc, "    line ["), 2);
	}
	assert_non_null(strstr(b.buf, "resampled to 5 evenly spaced steps (linear interpolation)"));
	assert_non_null(strstr(b.buf, "no chart of nosuch: no run has points"));
	assert_non_null(strstr(b.buf, "third \"quoted\" &lt;x&gt;"));
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

static void test_md_mermaid_structure(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_run *c;

	(void)state;
	pair(&l);
	/* the second run: 300 points of loss from step 2; the grid is the common 2..5 */
	c = l.runs[1];
	for (size_t i = 0; i < c->series_nr; i++)
		c->series[i].nr = 0;
	for (int i = 0; i < 300; i++) {
		mlp_run_add_point(c, "loss", 2 + i, 1.0 / (i + 2), 0);
		mlp_run_add_point(c, "acc", 2 + i, 0.5, 0);
	}
	mlp_run_summarize(c);
	assert_int_equal(mlp_report_md(&b, &l, NULL), 0);
	check_mermaid(b.buf, 2, 2);
	assert_non_null(strstr(b.buf, "x-axis \"step\" 2 --> 5\n"));
	assert_non_null(strstr(b.buf, "x: step 2–5, 4 points; only the steps all runs share\n"));
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

/* 500 goal metrics of 200 points, all charted: the cap holds and says what it left out. */
static void test_md_cap(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_report_opts o = { 0 };
	char key[32];
	const char **keys = mlp_calloc(500, sizeof(*keys));
	char (*names)[32] = mlp_calloc(500, sizeof(*names));

	(void)state;
	pair(&l);
	for (int k = 0; k < 500; k++) {
		snprintf(key, sizeof(key), "val_loss_%03d", k);
		snprintf(names[k], sizeof(names[k]), "%s", key);
		keys[k] = names[k];
		for (int i = 0; i < 200; i++) {
			mlp_run_add_point(l.runs[0], key, i, 1.0 / (i + 1 + k), 0);
			mlp_run_add_point(l.runs[1], key, i, 0.9 / (i + 1 + k), 0);
		}
	}
	mlp_run_summarize(l.runs[0]);
	mlp_run_summarize(l.runs[1]);
	/* default: at most 4 charts */
	assert_int_equal(mlp_report_md(&b, &l, NULL), 0);
	assert_true(b.len <= MLP_REPORT_MD_MAX);
	assert_int_equal(count(b.buf, "```mermaid"), 4);
	assert_non_null(strstr(b.buf, "| val\\_loss\\_499 |"));	/* every row fits */
	/* all 500 charted: charts go first */
	mlp_buf_reset(&b);
	o.metrics = keys;
	o.nmetrics = 500;
	assert_int_equal(mlp_report_md(&b, &l, &o), 0);
	assert_true(b.len <= MLP_REPORT_MD_MAX);
	assert_true(count(b.buf, "```mermaid") < 500);
	assert_true(count(b.buf, "```mermaid") > 10);
	assert_non_null(strstr(b.buf, "**Left out** to stay under 65000 characters:"));
	assert_non_null(strstr(b.buf, " charts ("));
	{
		/* the note names the first dropped charts: the ones after the last shown */
		const char *note = strstr(b.buf, "**Left out**"), *last = note;
		char want[64];
		size_t shown = count(b.buf, "```mermaid");
		assert_non_null(note);
		snprintf(want, sizeof(want), " charts (val\\_loss\\_%03zu, ", shown);
		assert_non_null(strstr(note, want));
		snprintf(want, sizeof(want), "#### val\\_loss\\_%03zu\n", shown - 1);
		assert_non_null(strstr(b.buf, want));
		(void)last;
	}
	assert_non_null(strstr(b.buf, "| val\\_loss\\_499 |"));
	check_mermaid(b.buf, count(b.buf, "```mermaid"), 2);
	/* a tight cap: the table rows go too */
	mlp_buf_reset(&b);
	o.max_chars = 10000;
	assert_int_equal(mlp_report_md(&b, &l, &o), 0);
	assert_true(b.len <= 10000);
	assert_int_equal(count(b.buf, "```mermaid"), 0);
	assert_non_null(strstr(b.buf, " 500 charts ("));
	assert_non_null(strstr(b.buf, "of 502 metric rows"));
	assert_non_null(strstr(b.buf, "| acc |"));
	free(keys);
	free(names);
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

static void test_md_escaping(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	pair(&l);
	free(l.runs[0]->name);
	l.runs[0]->name = mlp_strdup("<img src=x onerror=alert(1)>[link](http://evil)|`code`\nnext");
	set_param(l.runs[1], "<b>key</b>", "<script>x</script>");
	assert_int_equal(mlp_report_md(&b, &l, NULL), 0);
	assert_null(strstr(b.buf, "<img"));
	assert_null(strstr(b.buf, "<b>"));
	assert_null(strstr(b.buf, "<script"));
	assert_non_null(strstr(b.buf, "&lt;img src=x onerror=alert(1)&gt;\\[link\\](http://evil)\\|\\`code\\` next"));
	/* only the marker line is HTML */
	assert_int_equal(count(b.buf, "<"), 1);
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

static void test_md_needs_two(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	pair(&l);
	l.nr = 1;
	assert_int_equal(mlp_report_md(&b, &l, NULL), MLP_EINVALID);
	l.nr = 2;
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

static void test_html_hostile(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;
	struct mlp_report_opts o = { 0 };

	(void)state;
	pair(&l);
	free(l.runs[0]->name);
	l.runs[0]->name = mlp_strdup("<script>alert(1)</script>");
	l.runs[1]->host = mlp_strdup("\"><iframe src=javascript:alert(2)>");
	l.runs[1]->branch = mlp_strdup("x' onmouseover='alert(3)");
	set_param(l.runs[1], "</style><script>", "<svg onload=alert(4)>");
	mlp_run_add_point(l.runs[1], "</title><script>", 1, 1, 0);
	mlp_run_summarize(l.runs[1]);
	o.range = "<main>...HEAD";
	assert_int_equal(mlp_report_html(&b, &l, &o), 0);
	assert_true(!strncmp(b.buf, "<!DOCTYPE html>\n", 16));
	assert_null(strstr(b.buf, "<script"));
	assert_null(strstr(b.buf, "<iframe"));
	assert_null(strstr(b.buf, "<svg onload"));
	assert_null(strstr(b.buf, "' onmouseover"));
	assert_null(strstr(b.buf, "<main>"));
	assert_null(strstr(b.buf, "http:"));
	assert_null(strstr(b.buf, "https:"));
	assert_non_null(strstr(b.buf, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(b.buf, "&lt;/style&gt;&lt;script&gt;"));
	assert_non_null(strstr(b.buf, "Content-Security-Policy"));
	/* one chart per metric (3), one series path per run having it */
	assert_int_equal(count(b.buf, "<figure>"), 3);
	assert_int_equal(count(b.buf, "<path class=\"series\""), 5);
	assert_int_equal(count(b.buf, "</html>"), 1);
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

static void test_trailers(void **state)
{
	struct mlp_run_list l = MLP_RUN_LIST_INIT;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	pair(&l);
	free(l.runs[1]->name);
	l.runs[1]->name = mlp_strdup("two words\nand=more");
	mlp_run_add_point(l.runs[1], "sys/cpu", 1, 50, 0);
	mlp_run_add_point(l.runs[1], "epochs", 1, 3, 0);
	mlp_run_summarize(l.runs[1]);
	assert_int_equal(mlp_report_trailers(&b, &l), 0);
	assert_string_equal(b.buf,
		"Mlp-Run: aaaaaaaa base-run acc=0.75 loss=0.2\n"
		"Mlp-Run: bbbbbbbb two_words_and_more acc=0.7 loss=0.16 epochs=3\n");
	mlp_buf_release(&b);
	mlp_run_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md_exact),
		cmocka_unit_test(test_md_mermaid_resampled),
		cmocka_unit_test(test_md_mermaid_structure),
		cmocka_unit_test(test_md_cap),
		cmocka_unit_test(test_md_escaping),
		cmocka_unit_test(test_md_needs_two),
		cmocka_unit_test(test_html_hostile),
		cmocka_unit_test(test_trailers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
