/*
 * lib/run.c (and names.c): runs in memory, and runs stored in a real
 * repository made in a temporary directory: save, load, compare-and-swap,
 * resolve, list, delete.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp.h"
#include "internal.h"
#include "testrepo.h"

/* ---- in memory ------------------------------------------------------------------ */

static void test_add_point_sorted(void **state)
{
	struct mlp_run *run = mlp_run_new();
	static const char *const keys[] = { "m", "b", "z", "a", "b", "ü", "a.b", "A", "m" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		mlp_run_add_point(run, keys[i], (int64_t)i, (double)i, 1000 + (int64_t)i);
	assert_int_equal(run->series_nr, 7);
	for (size_t i = 1; i < run->series_nr; i++)
		assert_true(strcmp(run->series[i - 1].key, run->series[i].key) < 0);
	assert_true(run->series_loaded);
	{
		const struct mlp_series *s = mlp_run_series(run, "b");
		assert_non_null(s);
		assert_int_equal(s->nr, 2);
		assert_true(s->step[0] == 1 && s->step[1] == 4);	/* in arrival order */
		assert_true(s->value[0] == 1.0 && s->value[1] == 4.0);
		assert_true(s->t[0] == 1001 && s->t[1] == 1004);
	}
	assert_null(mlp_run_series(run, "c"));
	assert_null(mlp_run_series(run, ""));
	/* many points and keys */
	for (int i = 0; i < 100000; i++)
		mlp_run_add_point(run, "big", i, i * 0.5, 0);
	for (int i = 0; i < 500; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%03d", (i * 37) % 500);
		mlp_run_add_point(run, k, 0, 0, 0);
	}
	assert_int_equal(run->series_nr, 7 + 1 + 500);
	for (size_t i = 1; i < run->series_nr; i++)
		assert_true(strcmp(run->series[i - 1].key, run->series[i].key) < 0);
	assert_int_equal(mlp_run_series(run, "big")->nr, 100000);
	assert_true(mlp_run_series(run, "big")->value[99999] == 99999 * 0.5);
	mlp_run_free(run);
}

static void test_next_step(void **state)
{
	struct mlp_run *run = mlp_run_new();

	(void)state;
	assert_true(mlp_run_next_step(run, "loss") == 0);
	mlp_run_add_point(run, "loss", 0, 1, 0);
	assert_true(mlp_run_next_step(run, "loss") == 1);
	mlp_run_add_point(run, "loss", 5, 1, 0);
	assert_true(mlp_run_next_step(run, "loss") == 6);
	mlp_run_add_point(run, "loss", 2, 1, 0);	/* the last point counts, not the largest */
	assert_true(mlp_run_next_step(run, "loss") == 3);
	mlp_run_add_point(run, "neg", -10, 1, 0);
	assert_true(mlp_run_next_step(run, "neg") == -9);
	assert_true(mlp_run_next_step(run, "other") == 0);
	mlp_run_free(run);
}

static void test_summarize(void **state)
{
	struct mlp_run *run = mlp_run_new();
	const struct mlp_summary *s;

	(void)state;
	mlp_run_add_point(run, "loss", 0, 2.0, 0);
	mlp_run_add_point(run, "loss", 1, NAN, 0);
	mlp_run_add_point(run, "loss", 2, -1.5, 0);
	mlp_run_add_point(run, "loss", 3, 7.25, 0);
	mlp_run_add_point(run, "loss", 9, 0.5, 0);
	mlp_run_add_point(run, "acc", 4, NAN, 0);
	mlp_run_add_point(run, "acc", 5, 0.25, 0);
	mlp_run_add_point(run, "acc", 6, NAN, 0);
	mlp_run_add_point(run, "allnan", 0, NAN, 0);
	mlp_run_add_point(run, "allnan", 1, NAN, 0);
	mlp_run_add_point(run, "one", 42, -0.0, 0);
	mlp_run_add_point(run, "inf", 0, INFINITY, 0);
	mlp_run_add_point(run, "inf", 1, 1.0, 0);
	mlp_run_summarize(run);
	assert_int_equal(run->summary_nr, 5);
	for (size_t i = 1; i < run->summary_nr; i++)
		assert_true(strcmp(run->summary[i - 1].key, run->summary[i].key) < 0);

	s = mlp_run_summary(run, "loss");
	assert_non_null(s);
	assert_true(s->first == 2.0);
	assert_true(s->last == 0.5);
	assert_true(s->min == -1.5);
	assert_true(s->max == 7.25);
	assert_true(s->count == 5);	/* NaN points are counted */
	assert_true(s->step == 9);

	s = mlp_run_summary(run, "acc");
	assert_true(isnan(s->first));
	assert_true(isnan(s->last));
	assert_true(s->min == 0.25);
	assert_true(s->max == 0.25);
	assert_true(s->count == 3);
	assert_true(s->step == 6);

	s = mlp_run_summary(run, "allnan");
	assert_true(isnan(s->min) && isnan(s->max));
	assert_true(s->count == 2);

	s = mlp_run_summary(run, "one");
	assert_true(s->first == 0.0 && s->last == 0.0 && s->min == 0.0 && s->max == 0.0);
	assert_true(s->count == 1 && s->step == 42);

	s = mlp_run_summary(run, "inf");
	assert_true(isinf(s->max) && s->max > 0);
	assert_true(s->min == 1.0);

	assert_null(mlp_run_summary(run, "nope"));

	/* summarizing again gives the same, no duplicates */
	mlp_run_add_point(run, "loss", 10, -3.0, 0);
	mlp_run_summarize(run);
	assert_int_equal(run->summary_nr, 5);
	s = mlp_run_summary(run, "loss");
	assert_true(s->min == -3.0 && s->count == 6 && s->step == 10 && s->last == -3.0);
	mlp_run_free(run);

	/* no series: no summaries */
	run = mlp_run_new();
	mlp_run_summarize(run);
	assert_int_equal(run->summary_nr, 0);
	mlp_run_free(run);
}

static void test_format_metrics(void **state)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_run_format_metrics(&b, run, 5);
	assert_true(b.len == 0);
	mlp_run_add_point(run, "loss", 0, 0.123456, 0);
	mlp_run_add_point(run, "loss", 1, 0.12345, 0);
	mlp_run_add_point(run, "acc", 0, 0.93, 0);
	mlp_run_add_point(run, "n", 0, 1234567, 0);
	mlp_run_summarize(run);
	mlp_run_format_metrics(&b, run, 5);
	assert_string_equal(b.buf, "acc=0.93 loss=0.1235 n=1.235e+06");
	mlp_buf_reset(&b);
	mlp_run_format_metrics(&b, run, 2);
	assert_string_equal(b.buf, "acc=0.93 loss=0.1235 (+1 more)");
	mlp_buf_reset(&b);
	mlp_run_format_metrics(&b, run, 1);
	assert_string_equal(b.buf, "acc=0.93 (+2 more)");
	mlp_buf_release(&b);
	mlp_run_free(run);
}

static int is_lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void test_new_id(void **state)
{
	struct mlp_run *a = mlp_run_new(), *b = mlp_run_new();
	int seen[16] = { 0 };

	(void)state;
	assert_int_equal(mlp_run_new_id(a), 0);
	assert_int_equal(mlp_run_new_id(b), 0);
	assert_true(is_lower_hex(a->id, MLP_ID_HEXSZ));
	assert_true(is_lower_hex(b->id, MLP_ID_HEXSZ));
	assert_string_not_equal(a->id, b->id);
	/* every hex digit shows up over many ids: the whole range is used */
	for (int i = 0; i < 200; i++) {
		char prev[MLP_ID_HEXSZ + 1];
		memcpy(prev, a->id, sizeof(prev));
		assert_int_equal(mlp_run_new_id(a), 0);
		assert_string_not_equal(prev, a->id);
		for (const char *p = a->id; *p; p++)
			seen[*p <= '9' ? *p - '0' : *p - 'a' + 10] = 1;
	}
	for (int i = 0; i < 16; i++)
		assert_true(seen[i]);
	mlp_run_free(a);
	mlp_run_free(b);
}

static void test_name_check(void **state)
{
	char name[300];

	(void)state;
	assert_int_equal(mlp_name_check("brave-otter"), 0);
	assert_int_equal(mlp_name_check("a"), 0);
	assert_int_equal(mlp_name_check("with space"), 0);
	assert_int_equal(mlp_name_check("ü-name"), 0);
	assert_int_equal(mlp_name_check(""), MLP_EINVALID);
	assert_int_equal(mlp_name_check("tab\there"), MLP_EINVALID);
	assert_int_equal(mlp_name_check("new\nline"), MLP_EINVALID);
	assert_int_equal(mlp_name_check("del\x7f"), MLP_EINVALID);
	assert_int_equal(mlp_name_check("\x1b[31mred"), MLP_EINVALID);
	memset(name, 'n', 200);
	name[200] = '\0';
	assert_int_equal(mlp_name_check(name), 0);
	name[200] = 'n';
	name[201] = '\0';
	assert_int_equal(mlp_name_check(name), MLP_EINVALID);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(mlp_status_name(MLP_STATUS_RUNNING), "running");
	assert_string_equal(mlp_status_name(MLP_STATUS_FINISHED), "finished");
	assert_string_equal(mlp_status_name(MLP_STATUS_FAILED), "failed");
	assert_string_equal(mlp_status_name(MLP_STATUS_KILLED), "killed");
	assert_string_equal(mlp_status_name(MLP_STATUS_CRASHED), "crashed");
}

/* ---- a repository in a temporary directory ---------------------------------------------- */


static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static int repo_setup(void **state)
{
	struct mlp_repo *repo = NULL;

	if (test_repo_enter("run", "echo hello >file.txt && git add file.txt && git commit -q -m init") < 0 || mlp_repo_open(&repo) < 0)
		return -1;
	*state = repo;
	return 0;
}

static int repo_teardown(void **state)
{
	mlp_repo_free(*state);
	return test_repo_leave();
}

static void set_str(struct mlp_map *m, const char *k, const char *v)
{
	struct mlp_value val;

	memset(&val, 0, sizeof(val));
	mlp_value_set_str(&val, v, strlen(v));
	mlp_map_set(m, k, &val);
}

static void set_parsed(struct mlp_map *m, const char *k, const char *v)
{
	struct mlp_value val;

	mlp_value_parse(&val, v, strlen(v));
	mlp_map_set(m, k, &val);
}

static struct mlp_run *make_run(struct mlp_repo *repo, const char *name, int64_t started)
{
	struct mlp_run *run = mlp_run_new();
	static const char *const argv[] = { "python", "train.py", "--lr", "0.01", "a b", "ü", "" };

	assert_int_equal(mlp_run_new_id(run), 0);
	run->name = name ? mlp_strdup(name) : NULL;
	run->experiment = mlp_strdup("exp1");
	run->status = MLP_STATUS_FINISHED;
	run->cmd_nr = sizeof(argv) / sizeof(argv[0]);
	run->cmd = mlp_calloc(run->cmd_nr + 1, sizeof(char *));
	for (size_t i = 0; i < run->cmd_nr; i++)
		run->cmd[i] = mlp_strdup(argv[i]);
	run->cwd = mlp_strdup("");
	assert_int_equal(mlp_repo_head(repo, run->base, &run->branch), 0);
	run->started = started;
	run->ended = started + 65000;
	run->has_exit_code = 1;
	run->exit_code = 0;
	run->host = mlp_strdup("host");
	run->user = mlp_strdup("user");
	run->cpu_ms = 1234;
	run->maxrss_kb = 5678;
	set_str(&run->env, "CUDA_VISIBLE_DEVICES", "0");
	set_str(&run->tags, "team", "vision");
	run->note = mlp_strdup("note");
	set_parsed(&run->params, "lr", "0.01");
	set_parsed(&run->params, "epochs", "3");
	set_parsed(&run->params, "model", "cnn");
	set_parsed(&run->params, "flag", "true");
	set_parsed(&run->params, "none", "null");
	for (int i = 0; i < 100; i++) {
		mlp_run_add_point(run, "loss", i, 1.0 / (i + 1), started + i);
		if (i % 10 == 0)
			mlp_run_add_point(run, "val/loss", i, 2.0 / (i + 1), started + i);
	}
	mlp_run_add_point(run, ".hidden", 0, NAN, started);
	mlp_run_add_point(run, "a%b", 0, -0.0, started);
	mlp_run_add_point(run, "ü", 0, 1e-300, started);
	return run;
}

static int same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void assert_str_eq(const char *what, const char *a, const char *b)
{
	if ((!a) != (!b) || (a && strcmp(a, b)))
		fail_msg("%s: '%s' != '%s'", what, a ? a : "(null)", b ? b : "(null)");
}

static void assert_map_eq(const char *what, const struct mlp_map *a, const struct mlp_map *b)
{
	if (a->nr != b->nr)
		fail_msg("%s: %zu entries != %zu", what, a->nr, b->nr);
	for (size_t i = 0; i < a->nr; i++) {
		assert_string_equal(a->items[i].key, b->items[i].key);
		if (!mlp_value_equal(&a->items[i].val, &b->items[i].val))
			fail_msg("%s: '%s' differs", what, a->items[i].key);
	}
}

static void assert_same_run(const struct mlp_run *a, const struct mlp_run *b, int series)
{
	assert_string_equal(a->id, b->id);
	assert_str_eq("name", a->name, b->name);
	assert_str_eq("experiment", a->experiment, b->experiment);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->cmd_nr, b->cmd_nr);
	for (size_t i = 0; i < a->cmd_nr; i++)
		assert_str_eq("cmd", a->cmd[i], b->cmd[i]);
	assert_str_eq("cwd", a->cwd ? a->cwd : "", b->cwd);	/* NULL is stored as "" */
	assert_string_equal(a->base, b->base);
	assert_str_eq("branch", a->branch, b->branch);
	assert_int_equal(!!a->dirty, !!b->dirty);
	assert_true(a->started == b->started);
	assert_true(a->ended == b->ended);
	assert_int_equal(a->has_exit_code, b->has_exit_code);
	assert_int_equal(a->exit_code, b->exit_code);
	assert_int_equal(a->signal, b->signal);
	assert_str_eq("host", a->host, b->host);
	assert_str_eq("user", a->user, b->user);
	assert_true(a->cpu_ms == b->cpu_ms);
	assert_true(a->maxrss_kb == b->maxrss_kb);
	assert_map_eq("env", &a->env, &b->env);
	assert_str_eq("parent", a->parent, b->parent);
	assert_map_eq("tags", &a->tags, &b->tags);
	assert_str_eq("note", a->note, b->note);
	assert_map_eq("params", &a->params, &b->params);
	assert_int_equal(a->summary_nr, b->summary_nr);
	for (size_t i = 0; i < a->summary_nr; i++) {
		const struct mlp_summary *x = &a->summary[i], *y = &b->summary[i];
		assert_string_equal(x->key, y->key);
		assert_true(same_double(x->first, y->first));
		assert_true(same_double(x->last, y->last));
		assert_true(same_double(x->min, y->min) || (isnan(x->min) && isnan(y->min)));
		assert_true(same_double(x->max, y->max) || (isnan(x->max) && isnan(y->max)));
		assert_true(x->count == y->count);
		assert_true(x->step == y->step);
	}
	assert_string_equal(a->workspace, b->workspace);
	if (!series)
		return;
	assert_int_equal(a->series_nr, b->series_nr);
	for (size_t i = 0; i < a->series_nr; i++) {
		const struct mlp_series *x = &a->series[i], *y = &b->series[i];
		assert_string_equal(x->key, y->key);
		assert_int_equal(x->nr, y->nr);
		for (size_t j = 0; j < x->nr; j++)
			if (x->step[j] != y->step[j] || x->t[j] != y->t[j] ||
			    !same_double(x->value[j], y->value[j]))
				fail_msg("series '%s' point %zu differs", x->key, j);
	}
}

static void test_save_load(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "brave-otter", 1700000000000LL), *back = NULL;
	int dirty = -1;

	assert_int_equal(run->branch ? 0 : 1, 0);
	assert_string_equal(run->branch, "main");
	assert_true(is_lower_hex(run->base, MLP_OID_HEXSZ));
	assert_int_equal(mlp_snapshot(repo, run->workspace, &dirty, -1, NULL, NULL), 0);
	assert_int_equal(dirty, 0);
	assert_string_equal(run->commit, "");
	if (mlp_run_save(repo, run, NULL) != 0)
		fail_msg("save: %s", mlp_error_message());
	assert_true(is_lower_hex(run->commit, MLP_OID_HEXSZ));
	assert_int_equal(run->summary_nr, 5);	/* save summarizes */

	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_SERIES), 0);
	assert_same_run(run, back, 1);
	assert_string_equal(back->commit, run->commit);
	assert_true(back->commit_time == run->ended / 1000);
	mlp_run_free(back);

	/* without series: summaries still there */
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), 0);
	assert_same_run(run, back, 0);
	assert_int_equal(back->series_nr, 0);
	assert_false(back->series_loaded);
	mlp_run_free(back);

	/* the commit: parent is the base, message names the run */
	{
		git_oid oid;
		git_commit *c = NULL;
		assert_int_equal(git_oid_fromstr(&oid, run->commit), 0);
		assert_int_equal(git_commit_lookup(&c, repo->git, &oid), 0);
		assert_int_equal(git_commit_parentcount(c), 1);
		char parent[MLP_OID_HEXSZ + 1];
		git_oid_tostr(parent, sizeof(parent), git_commit_parent_id(c, 0));
		assert_string_equal(parent, run->base);
		assert_non_null(strstr(git_commit_message(c), run->id));
		assert_non_null(strstr(git_commit_message(c), "brave-otter"));
		assert_true(git_commit_author(c)->when.time == run->started / 1000);
		git_commit_free(c);
	}
	/* the raw records */
	{
		struct mlp_buf raw = MLP_BUF_INIT, json = MLP_BUF_INIT;
		assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "params.mp"), 0);
		assert_int_equal(mlp_record_to_json(&json, raw.buf, raw.len), 0);
		assert_string_equal(json.buf,
			"{\"v\":1,\"params\":{\"epochs\":3,\"flag\":true,\"lr\":0.01,\"model\":\"cnn\",\"none\":null}}");
		assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "metrics/val%2Floss/000000.mp"), 0);
		assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "metrics/%2Ehidden/000000.mp"), 0);
		assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "nope"), MLP_ENOTFOUND);
		assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "metrics"), MLP_EINVALID);
		mlp_buf_release(&raw);
		mlp_buf_release(&json);
	}
	mlp_run_free(run);
}

static void test_save_minimal_unborn_fields(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = mlp_run_new(), *back = NULL;

	assert_int_equal(mlp_run_new_id(run), 0);
	run->status = MLP_STATUS_RUNNING;
	run->started = 1000;
	if (mlp_run_save(repo, run, NULL) != 0)
		fail_msg("save: %s", mlp_error_message());
	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_SERIES | MLP_LOAD_LOGS), 0);
	assert_null(back->name);
	assert_string_equal(back->base, "");
	assert_null(back->branch);
	assert_false(back->has_exit_code);
	assert_true(back->ended == 0);
	assert_int_equal(back->series_nr, 0);
	assert_int_equal(back->summary_nr, 0);
	assert_null(back->logs_stdout_tail);
	assert_string_equal(back->workspace, "");
	mlp_run_free(back);
	mlp_run_free(run);
}

static void test_save_big_series(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = mlp_run_new(), *back = NULL;
	size_t n = MLP_CHUNK_POINTS * 2 + 17;
	struct mlp_buf raw = MLP_BUF_INIT;

	assert_int_equal(mlp_run_new_id(run), 0);
	run->started = 1;
	for (size_t i = 0; i < n; i++)
		mlp_run_add_point(run, "loss", (int64_t)i, (double)i / 3.0, (int64_t)i);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "metrics/loss/000002.mp"), 0);
	assert_int_equal(mlp_run_read_file(&raw, repo, run->id, "metrics/loss/000003.mp"), MLP_ENOTFOUND);
	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_SERIES), 0);
	assert_same_run(run, back, 1);
	assert_int_equal(mlp_run_series(back, "loss")->nr, n);
	mlp_buf_release(&raw);
	mlp_run_free(back);
	mlp_run_free(run);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_save_logs(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "logger", 5000), *back = NULL;
	struct mlp_run_files logs = { .stdout_path = "../out.log", .stderr_path = "../err.log" };
	struct mlp_buf b = MLP_BUF_INIT;

	for (int i = 1; i <= 15; i++)
		mlp_buf_addf(&b, "line %d\n", i);
	write_file("../out.log", b.buf);
	write_file("../err.log", "oops\n");
	assert_int_equal(mlp_run_save(repo, run, &logs), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_LOGS), 0);
	assert_non_null(back->logs_stdout_tail);
	assert_string_equal(back->logs_stdout_tail,
		"line 6\nline 7\nline 8\nline 9\nline 10\nline 11\nline 12\nline 13\nline 14\nline 15\n");
	assert_string_equal(back->logs_stderr_tail, "oops\n");
	mlp_run_free(back);

	/* saving again with no logs keeps the stored ones */
	free(run->note);
	run->note = mlp_strdup("amended");
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_LOGS), 0);
	assert_string_equal(back->note, "amended");
	assert_string_equal(back->logs_stderr_tail, "oops\n");
	mlp_run_free(back);
	mlp_buf_reset(&b);
	assert_int_equal(mlp_run_read_file(&b, repo, run->id, "logs/stdout"), 0);
	assert_int_equal(b.len, 15 * 7 + 6 * 1);	/* "line N\n" and six two-digit lines */
	mlp_buf_release(&b);
	mlp_run_free(run);
}

/* Lazily created logs: a missing file is an empty log, or no log at all. */
static void test_save_missing_logs(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "silent", 6000);
	struct mlp_run_files logs = { "../no-such.out", "../no-such.err", 1 };
	struct mlp_buf b = MLP_BUF_INIT;

	assert_int_equal(mlp_run_save(repo, run, &logs), 0);
	assert_int_equal(mlp_run_read_file(&b, repo, run->id, "logs/stdout"), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(mlp_run_read_file(&b, repo, run->id, "logs/stderr"), 0);
	assert_int_equal(b.len, 0);
	mlp_run_free(run);

	run = make_run(repo, "no-logs", 7000);
	logs.missing_empty = 0;
	assert_int_equal(mlp_run_save(repo, run, &logs), 0);
	assert_int_equal(mlp_run_read_file(&b, repo, run->id, "logs/stdout"), MLP_ENOTFOUND);
	mlp_buf_release(&b);
	mlp_run_free(run);
}

static void test_save_conflict(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "cas", 1000), *stale = NULL, *back = NULL;
	char first[MLP_OID_HEXSZ + 1];

	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	memcpy(first, run->commit, sizeof(first));
	assert_int_equal(mlp_run_load(&stale, repo, run->id, 0), 0);
	assert_string_equal(stale->commit, first);

	/* an update from the current commit moves the ref */
	run->status = MLP_STATUS_FAILED;
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_string_not_equal(run->commit, first);

	/* an update from the old commit loses */
	free(stale->note);
	stale->note = mlp_strdup("lost update");
	assert_int_equal(mlp_run_save(repo, stale, NULL), MLP_ECONFLICT);
	assert_string_equal(stale->commit, first);	/* untouched */
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), 0);
	assert_int_equal(back->status, MLP_STATUS_FAILED);
	assert_string_equal(back->note, "note");
	assert_string_equal(back->commit, run->commit);
	mlp_run_free(back);

	/* creating a run whose ref exists loses too */
	stale->commit[0] = '\0';
	assert_int_equal(mlp_run_save(repo, stale, NULL), MLP_ECONFLICT);

	/* a save without series loaded keeps the stored metrics */
	mlp_run_free(stale);
	assert_int_equal(mlp_run_load(&stale, repo, run->id, 0), 0);
	free(stale->note);
	stale->note = mlp_strdup("kept metrics");
	assert_int_equal(mlp_run_save(repo, stale, NULL), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_SERIES), 0);
	assert_string_equal(back->note, "kept metrics");
	assert_int_equal(back->series_nr, run->series_nr);
	assert_int_equal(mlp_run_series(back, "loss")->nr, 100);
	mlp_run_free(back);
	mlp_run_free(stale);

	/* a bad name is refused before writing anything */
	free(run->name);
	run->name = mlp_strdup("bad\nname");
	assert_int_equal(mlp_run_save(repo, run, NULL), MLP_EINVALID);
	mlp_run_free(run);
}

static struct mlp_run *save_with_id(struct mlp_repo *repo, const char *id, const char *name,
				    int64_t started)
{
	struct mlp_run *run = make_run(repo, name, started);

	memcpy(run->id, id, MLP_ID_HEXSZ + 1);
	if (mlp_run_save(repo, run, NULL) != 0)
		fail_msg("save %s: %s", id, mlp_error_message());
	return run;
}

static void free_ids(char **ids, int n)
{
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void test_resolve(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *a = save_with_id(repo, "abcd0000000000000000000000000001", "alpha", 3000);
	struct mlp_run *b = save_with_id(repo, "abcd1000000000000000000000000002", "beta", 2000);
	struct mlp_run *c = save_with_id(repo, "12345678900000000000000000000003", "dup", 1000);
	struct mlp_run *d = save_with_id(repo, "99999999900000000000000000000004", "dup", 500);
	char **ids = NULL;
	int n;

	n = mlp_run_resolve(&ids, repo, "abcd0");
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], a->id);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "abcd");
	assert_int_equal(n, 2);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, a->id);	/* the full id */
	assert_int_equal(n, 1);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "beta");
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], b->id);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "dup");
	assert_int_equal(n, 2);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "1234");
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], c->id);
	free_ids(ids, n);
	/* too short for a prefix, uppercase, unknown: no match */
	n = mlp_run_resolve(&ids, repo, "abc");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "ABCD");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "ffff");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "gamma");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	n = mlp_run_resolve(&ids, repo, "abcd0000000000000000000000000001x");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	mlp_run_free(a);
	mlp_run_free(b);
	mlp_run_free(c);
	mlp_run_free(d);
}

struct warnings {
	int n;
	char last[1024];
};

static void count_warn(void *data, const char *msg)
{
	struct warnings *w = data;

	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

static void test_list_all(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *runs[3];
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct warnings w = { 0 };
	int created;

	assert_int_equal(mlp_repo_init(repo, &created), 0);	/* the index cache lives there */
	assert_int_equal(mlp_run_list_all(&list, repo, count_warn, &w), 0);
	assert_int_equal(list.nr, 0);
	mlp_run_list_release(&list);

	runs[0] = make_run(repo, "old", 1000);
	runs[1] = make_run(repo, "newest", 3000);
	runs[2] = make_run(repo, "middle", 2000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(mlp_run_save(repo, runs[i], NULL), 0);

	/* twice: once from git, once from the index cache */
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(mlp_run_list_all(&list, repo, count_warn, &w), 0);
		assert_int_equal(list.nr, 3);
		assert_int_equal(list.skipped, 0);
		assert_int_equal(w.n, 0);
		assert_string_equal(list.runs[0]->name, "newest");
		assert_string_equal(list.runs[1]->name, "middle");
		assert_string_equal(list.runs[2]->name, "old");
		assert_same_run(runs[1], list.runs[0], 0);
		assert_same_run(runs[2], list.runs[1], 0);
		assert_same_run(runs[0], list.runs[2], 0);
		assert_string_equal(list.runs[0]->commit, runs[1]->commit);
		assert_int_equal(list.runs[0]->series_nr, 0);
		mlp_run_list_release(&list);
		assert_int_equal(list.nr, 0);
	}

	/* an update shows up even though the cache holds the old commit */
	free(runs[0]->name);
	runs[0]->name = mlp_strdup("renamed");
	assert_int_equal(mlp_run_save(repo, runs[0], NULL), 0);
	assert_int_equal(mlp_run_delete(repo, runs[2]), 0);
	assert_int_equal(mlp_run_list_all(&list, repo, count_warn, &w), 0);
	assert_int_equal(list.nr, 2);
	assert_string_equal(list.runs[0]->name, "newest");
	assert_string_equal(list.runs[1]->name, "renamed");
	assert_string_equal(list.runs[1]->commit, runs[0]->commit);
	mlp_run_list_release(&list);
	for (int i = 0; i < 3; i++)
		mlp_run_free(runs[i]);
}

static int mp_write(void *data, const char *buf, size_t len);

/*
 * The index cache (<mlpdir>/index) is only a cache: a row whose bytes do
 * not decode, although its commit id matches the ref, must cost a reload
 * from git, not the run (lib/index.c: "never a wrong answer").
 */
static void test_list_all_damaged_cache_row(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "cached", 1000);
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct warnings w = { 0 };
	struct mlp_buf path = MLP_BUF_INIT, data = MLP_BUF_INIT, out = MLP_BUF_INIT;
	msgpack_unpacked u;
	msgpack_packer pk;
	size_t off = 0;
	int created;
	FILE *f;
	char chunk[4096];
	size_t n;

	assert_int_equal(mlp_repo_init(repo, &created), 0);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_list_all(&list, repo, NULL, NULL), 0);
	assert_int_equal(list.nr, 1);
	mlp_run_list_release(&list);

	/* damage the row's run.mp bytes in place (the file holds them verbatim) */
	mlp_buf_addf(&path, "%s/index", mlp_repo_mlpdir(repo));
	f = fopen(path.buf, "rb");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		mlp_buf_add(&data, chunk, n);
	fclose(f);
	assert_int_equal(mlp_record_encode_run(&out, run), 0);
	{
		char *hit = memmem(data.buf, data.len, out.buf, out.len);
		assert_non_null(hit);
		hit[0] = (char)0xc1;	/* a byte msgpack never uses */
	}
	(void)u;
	(void)pk;
	(void)off;
	f = fopen(path.buf, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data.buf, 1, data.len, f), data.len);
	fclose(f);

	assert_int_equal(mlp_run_list_all(&list, repo, count_warn, &w), 0);
	if (list.nr != 1)
		fail_msg("a damaged cache row lost run %s: %zu listed, %zu skipped, warning '%s'",
			 run->id, list.nr, list.skipped, w.last);
	assert_string_equal(list.runs[0]->name, "cached");
	mlp_run_list_release(&list);
	mlp_buf_release(&path);
	mlp_buf_release(&data);
	mlp_buf_release(&out);
	mlp_run_free(run);
}

/* Writes a run commit whose run.mp is `data` straight into the repository. */
static void store_raw_run(struct mlp_repo *repo, const char *id, const void *data, size_t len)
{
	git_oid blob, tree, commit;
	git_treebuilder *tb = NULL;
	git_tree *t = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	char name[128];

	assert_int_equal(git_blob_create_from_buffer(&blob, repo->git, data, len), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo->git, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "run.mp", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	assert_int_equal(git_tree_lookup(&t, repo->git, &tree), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@example.com"), 0);
	assert_int_equal(git_commit_create(&commit, repo->git, NULL, sig, sig, NULL, "raw", t, 0, NULL), 0);
	snprintf(name, sizeof(name), "refs/mlp/runs/%s", id);
	assert_int_equal(git_reference_create(&ref, repo->git, name, &commit, 1, NULL), 0);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(t);
	git_treebuilder_free(tb);
}

static int mp_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void test_broken_runs(void **state)
{
	struct mlp_repo *repo = *state;
	static const char *const v2_id = "22222222222222222222222222222222";
	static const char *const bad_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	static const char *const other_id = "cccccccccccccccccccccccccccccccc";
	struct mlp_run *good = make_run(repo, "good", 1000), *run = NULL;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct warnings w = { 0 };
	struct mlp_buf b = MLP_BUF_INIT;
	msgpack_packer pk;
	int created;

	assert_int_equal(mlp_repo_init(repo, &created), 0);
	assert_int_equal(mlp_run_save(repo, good, NULL), 0);

	msgpack_packer_init(&pk, &b, mp_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "v", 1);
	msgpack_pack_int(&pk, 2);
	msgpack_pack_str(&pk, 2); msgpack_pack_str_body(&pk, "id", 2);
	msgpack_pack_str(&pk, 32); msgpack_pack_str_body(&pk, v2_id, 32);
	store_raw_run(repo, v2_id, b.buf, b.len);
	store_raw_run(repo, bad_id, "\x93garbage", 8);
	/* a run.mp that names another run */
	mlp_buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str(&pk, 1); msgpack_pack_str_body(&pk, "v", 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str(&pk, 2); msgpack_pack_str_body(&pk, "id", 2);
	msgpack_pack_str(&pk, 32); msgpack_pack_str_body(&pk, v2_id, 32);
	store_raw_run(repo, other_id, b.buf, b.len);

	assert_int_equal(mlp_run_load(&run, repo, v2_id, 0), MLP_EVERSION);
	assert_null(run);
	assert_non_null(strstr(mlp_error_message(), "uses format 2; this git-mlp reads format 1"));
	assert_non_null(strstr(mlp_error_message(), v2_id));
	assert_int_equal(mlp_run_load(&run, repo, bad_id, 0), MLP_ECORRUPT);
	assert_non_null(strstr(mlp_error_message(), bad_id));
	assert_int_equal(mlp_run_load(&run, repo, other_id, 0), MLP_ECORRUPT);
	assert_int_equal(mlp_run_load(&run, repo, "dddddddddddddddddddddddddddddddd", 0), MLP_ENOTFOUND);

	for (int pass = 0; pass < 2; pass++) {
		w.n = 0;
		assert_int_equal(mlp_run_list_all(&list, repo, count_warn, &w), 0);
		assert_int_equal(list.nr, 1);
		assert_int_equal(list.skipped, 3);
		assert_int_equal(w.n, 3);
		assert_string_equal(list.runs[0]->name, "good");
		mlp_run_list_release(&list);
	}
	mlp_buf_release(&b);
	mlp_run_free(good);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void test_index_names_and_bases(void **state)
{
	/* what push and its hooks ask the index: names of ids, runs of commits */
	struct mlp_repo *repo = *state;
	struct mlp_run *head_run = make_run(repo, "on-head", 2000), *parent_run, *no_base = make_run(repo, NULL, 3000);
	char head[MLP_OID_HEXSZ + 1], parent[MLP_OID_HEXSZ + 1], **ids = NULL, **names = NULL;
	static const char *const bad_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	git_oid commits[2];
	size_t n = 0;
	int created;

	assert_int_equal(mlp_repo_init(repo, &created), 0);
	memcpy(parent, head_run->base, sizeof(parent));
	sh("git commit -q --allow-empty -m second");
	parent_run = make_run(repo, "on-parent", 1000);
	memcpy(parent_run->base, parent, sizeof(parent));
	{
		char *branch = NULL;
		assert_int_equal(mlp_repo_head(repo, head, &branch), 0);
		free(branch);
	}
	memcpy(head_run->base, head, sizeof(head));
	no_base->base[0] = '\0';
	assert_int_equal(mlp_run_save(repo, head_run, NULL), 0);
	assert_int_equal(mlp_run_save(repo, parent_run, NULL), 0);
	assert_int_equal(mlp_run_save(repo, no_base, NULL), 0);
	store_raw_run(repo, bad_id, "\x93garbage", 8);

	for (int pass = 0; pass < 2; pass++) {	/* from git, then from the cache */
		char *want[5];
		assert_int_equal(git_oid_fromstr(&commits[0], head), 0);
		assert_int_equal(mlp_index_runs_of_commits(&ids, &n, repo, commits, 1), 0);
		assert_int_equal(n, 1);
		assert_string_equal(ids[0], head_run->id);
		free_strings(ids, n);
		assert_int_equal(git_oid_fromstr(&commits[1], parent), 0);
		if (git_oid_cmp(&commits[0], &commits[1]) > 0) {
			git_oid t = commits[0];
			commits[0] = commits[1];
			commits[1] = t;
		}
		assert_int_equal(mlp_index_runs_of_commits(&ids, &n, repo, commits, 2), 0);
		assert_int_equal(n, 2);
		assert_string_equal(ids[0], head_run->id);	/* newest first */
		assert_string_equal(ids[1], parent_run->id);
		free_strings(ids, n);
		assert_int_equal(mlp_index_runs_of_commits(&ids, &n, repo, commits, 0), 0);
		assert_int_equal(n, 0);
		free(ids);

		want[0] = parent_run->id;
		want[1] = (char *)bad_id;	/* broken: no name */
		want[2] = no_base->id;		/* no name */
		want[3] = (char *)"dddddddddddddddddddddddddddddddd";	/* unknown */
		want[4] = head_run->id;
		assert_int_equal(mlp_run_names_of(&names, repo, want, 5), 0);
		assert_string_equal(names[0], "on-parent");
		assert_null(names[1]);
		assert_null(names[2]);
		assert_null(names[3]);
		assert_string_equal(names[4], "on-head");
		free_strings(names, 5);
	}
	mlp_run_free(head_run);
	mlp_run_free(parent_run);
	mlp_run_free(no_base);
}

static void test_delete(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "doomed", 1000), *stale = NULL, *back = NULL;
	char **ids = NULL;
	int n;

	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_load(&stale, repo, run->id, 0), 0);
	run->status = MLP_STATUS_KILLED;
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);

	/* deleting what we saw is refused when it has moved */
	assert_int_equal(mlp_run_delete(repo, stale), MLP_ECONFLICT);
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), 0);
	mlp_run_free(back);

	assert_int_equal(mlp_run_delete(repo, run), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), MLP_ENOTFOUND);
	assert_null(back);
	assert_int_equal(mlp_run_delete(repo, run), MLP_ENOTFOUND);
	n = mlp_run_resolve(&ids, repo, "doomed");
	assert_int_equal(n, 0);
	free_ids(ids, n);
	/* an update after deletion is a conflict, not a resurrection */
	assert_int_equal(mlp_run_save(repo, run, NULL), MLP_ECONFLICT);
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), MLP_ENOTFOUND);
	mlp_run_free(stale);
	mlp_run_free(run);
}

static void test_new_name(void **state)
{
	struct mlp_repo *repo = *state;
	char *name = NULL;

	for (int i = 0; i < 5; i++) {
		assert_int_equal(mlp_run_new_name(&name, repo), 0);
		assert_non_null(name);
		assert_int_equal(mlp_name_check(name), 0);
		assert_non_null(strchr(name, '-'));
		for (const char *p = name; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '-' || (*p >= '0' && *p <= '9'));
		free(name);
	}
}

static void test_repo_prefix(void **state)
{
	struct mlp_repo *repo = *state, *sub = NULL;

	assert_string_equal(mlp_repo_prefix(repo), "");
	assert_non_null(mlp_repo_workdir(repo));
	assert_true(mlp_repo_workdir(repo)[strlen(mlp_repo_workdir(repo)) - 1] == '/');
	sh("mkdir -p a/b");
	assert_int_equal(chdir("a/b"), 0);
	assert_int_equal(mlp_repo_open(&sub), 0);
	assert_string_equal(mlp_repo_prefix(sub), "a/b");
	mlp_repo_free(sub);
	assert_int_equal(chdir("../.."), 0);
}

/* Full chunks leave memory for the object database; nothing is lost. */
static void test_flush_chunks(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = make_run(repo, "flushed", 5000), *back = NULL;
	const size_t n = 2 * MLP_CHUNK_POINTS + 5;
	const struct mlp_series *s;

	for (size_t i = 0; i < n; i++)
		mlp_run_add_point(run, "bigloss", (int64_t)i, (double)i * 0.5, 1000 + (int64_t)i);
	mlp_run_add_point(run, "bigacc", 0, 0.25, 1000);
	assert_int_equal(mlp_run_flush_chunks(repo, run), 0);
	s = mlp_run_series(run, "bigloss");
	assert_int_equal(s->flushed_nr, 2);
	assert_int_equal(s->nr, 5);
	assert_int_equal(s->step[0], 2 * MLP_CHUNK_POINTS);
	assert_int_equal(mlp_run_next_step(run, "bigloss"), (int64_t)n);
	assert_int_equal(mlp_run_series(run, "bigacc")->flushed_nr, 0);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_summary(run, "bigloss")->count, n);
	assert_true(mlp_run_summary(run, "bigloss")->max == (double)(n - 1) * 0.5);
	assert_true(mlp_run_summary(run, "bigloss")->first == 0.0);

	assert_int_equal(mlp_run_load(&back, repo, run->id, MLP_LOAD_SERIES), 0);
	s = mlp_run_series(back, "bigloss");
	assert_int_equal(s->nr, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->step[i], (int64_t)i);
		assert_true(s->value[i] == (double)i * 0.5);
	}
	assert_int_equal(mlp_run_summary(back, "bigloss")->count, n);
	mlp_run_free(back);
	mlp_run_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_point_sorted),
		cmocka_unit_test(test_next_step),
		cmocka_unit_test(test_summarize),
		cmocka_unit_test(test_format_metrics),
		cmocka_unit_test(test_new_id),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test_setup_teardown(test_save_load, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_save_minimal_unborn_fields, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_save_big_series, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_save_logs, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_save_missing_logs, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_save_conflict, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_resolve, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_list_all, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_list_all_damaged_cache_row, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_broken_runs, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_index_names_and_bases, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_delete, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_new_name, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_repo_prefix, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_flush_chunks, repo_setup, repo_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
