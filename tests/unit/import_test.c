/*
 * lib/import.c and lib/export.c: the MLflow parsers on fixture snippets
 * and hostile inputs (huge lines, bad numbers, symlinks, missing files),
 * key checks, status mapping, and the JSON export of a run.
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
#include <unistd.h>

#include "mlp.h"

static char tmpdir[] = "/tmp/mlp-import-test.XXXXXX";

static void put(const char *rel, const char *content)
{
	char path[4096];
	FILE *f;
	char *slash;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0777);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* A run directory as MLflow 3's FileStore writes it (fixtures/mlruns). */
static const char meta_yaml[] =
	"artifact_uri: file:///x/mlruns/1/0a038a130411492cbc0131482075cb6a/artifacts\n"
	"end_time: 1700000009000\n"
	"entry_point_name: ''\n"
	"experiment_id: '1'\n"
	"lifecycle_stage: active\n"
	"run_id: 0a038a130411492cbc0131482075cb6a\n"
	"run_name: cnn-baseline\n"
	"source_name: ''\n"
	"source_type: 4\n"
	"source_version: ''\n"
	"start_time: 1700000000000\n"
	"status: 3\n"
	"tags: []\n"
	"user_id: alice\n";

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/mlp-import-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_status(void **state)
{
	enum mlp_status s;
	int running = -1;
	(void)state;
	assert_int_equal(mlp_mlflow_status(&s, &running, "FINISHED"), 0);
	assert_int_equal(s, MLP_STATUS_FINISHED);
	assert_int_equal(running, 0);
	assert_int_equal(mlp_mlflow_status(&s, &running, "3"), 0);
	assert_int_equal(s, MLP_STATUS_FINISHED);
	assert_int_equal(mlp_mlflow_status(&s, NULL, "4"), 0);
	assert_int_equal(s, MLP_STATUS_FAILED);
	assert_int_equal(mlp_mlflow_status(&s, NULL, "killed"), 0);
	assert_int_equal(s, MLP_STATUS_KILLED);
	assert_int_equal(mlp_mlflow_status(&s, &running, "RUNNING"), 0);
	assert_int_equal(s, MLP_STATUS_CRASHED);
	assert_int_equal(running, 1);
	assert_int_equal(mlp_mlflow_status(&s, &running, "2"), 0);
	assert_int_equal(running, 1);
	assert_int_equal(mlp_mlflow_status(&s, NULL, "6"), MLP_EINVALID);
	assert_int_equal(mlp_mlflow_status(&s, NULL, ""), MLP_EINVALID);
	assert_int_equal(mlp_mlflow_status(&s, NULL, NULL), MLP_EINVALID);
}

static void test_key_ok(void **state)
{
	char big[MLP_MAX_KEY_LEN + 2];
	(void)state;
	assert_true(mlp_mlflow_key_ok("loss"));
	assert_true(mlp_mlflow_key_ok("train/loss"));
	assert_true(mlp_mlflow_key_ok("batch size"));
	assert_true(mlp_mlflow_key_ok("a.b-c_d"));
	assert_true(mlp_mlflow_key_ok(".hidden"));
	assert_false(mlp_mlflow_key_ok(""));
	assert_false(mlp_mlflow_key_ok("/abs"));
	assert_false(mlp_mlflow_key_ok("a//b"));
	assert_false(mlp_mlflow_key_ok("a/"));
	assert_false(mlp_mlflow_key_ok(".."));
	assert_false(mlp_mlflow_key_ok("a/../b"));
	assert_false(mlp_mlflow_key_ok("a/./b"));
	assert_false(mlp_mlflow_key_ok("a:b"));
	assert_false(mlp_mlflow_key_ok("a\\b"));
	assert_false(mlp_mlflow_key_ok("\xc3\xa9"));
	assert_false(mlp_mlflow_key_ok("new\nline"));
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(mlp_mlflow_key_ok(big));
}

static void test_parse_metric(void **state)
{
	struct mlp_run *run = mlp_run_new();
	const struct mlp_series *s;
	size_t bad = 0;
	static const char data[] =
		"1700000001000 2.3 0\n"
		"1700000004000 0.9 1\r\n"
		"1700000005000 1e-3\n"		/* no step (MLflow < 1.0): step 0 */
		"\n"
		"1700000006000 nan 3\n"
		"1700000007000 -inf -4\n"
		"  1700000008000   0.5   5  \n"
		"x 1 2\n"			/* bad timestamp */
		"1 0x10 2\n"			/* hex floats are not Python's repr */
		"1 1 2.5\n"			/* fractional step */
		"1 1 2 3\n"			/* too many fields */
		"1\n"				/* too few */
		"1 1 99999999999999999999\n"	/* step overflow */
		"1 1e999999 1\n"		/* parses to inf: kept as inf */
		"1700000009000 7 9";		/* no final newline */
	(void)state;

	assert_int_equal(mlp_mlflow_parse_metric(run, "loss", data, sizeof(data) - 1, &bad), 0);
	assert_int_equal(bad, 6);
	s = mlp_run_series(run, "loss");
	assert_non_null(s);
	assert_int_equal(s->nr, 8);
	assert_int_equal(s->step[0], 0);
	assert_true(s->value[0] == 2.3);
	assert_int_equal(s->t[0], 1700000001000LL);
	assert_int_equal(s->step[1], 1);
	assert_true(s->value[2] == 1e-3);
	assert_int_equal(s->step[2], 0);
	assert_true(isnan(s->value[3]));
	assert_true(isinf(s->value[4]) && s->value[4] < 0);
	assert_int_equal(s->step[4], -4);
	assert_true(s->value[5] == 0.5);
	assert_true(isinf(s->value[6]));
	assert_int_equal(s->step[7], 9);
	assert_int_equal(mlp_mlflow_parse_metric(run, "", "1 1 1\n", 6, &bad), MLP_EINVALID);
	mlp_run_free(run);
}

static void test_parse_metric_hostile(void **state)
{
	struct mlp_run *run = mlp_run_new();
	size_t n = 200000, bad = 0;
	char *data = malloc(n + 64);
	(void)state;

	/* one huge line, a NUL inside a line, then a good one */
	memset(data, '9', n);
	memcpy(data + n, "\n1 2\0 3\n5 6 7\n", 14);
	assert_int_equal(mlp_mlflow_parse_metric(run, "m", data, n + 14, &bad), 0);
	assert_int_equal(bad, 2);
	assert_int_equal(mlp_run_series(run, "m")->nr, 1);
	assert_int_equal(mlp_run_series(run, "m")->step[0], 7);
	free(data);
	mlp_run_free(run);
}

static void test_read_run_dir(void **state)
{
	struct mlp_run *run = NULL;
	char dir[4096];
	char big[(1u << 20) + 16];
	const struct mlp_value *v;
	(void)state;

	put("r/meta.yaml", meta_yaml);
	put("r/params/lr", "0.01");
	put("r/params/model", "cnn");
	put("r/params/opt/name", "adamw");
	put("r/params/use_bn", "true");
	put("r/tags/mlflow.runName", "ignored: run_name wins");
	put("r/tags/mlflow.source.git.commit", "82351c4412f14c8c600000980547f5e32f037bd1");
	put("r/tags/mlflow.note.content", "a note");
	put("r/metrics/loss", "1700000001000 2.3 0\n1700000004000 0.9 1\n");
	put("r/metrics/train/acc", "1700000001000 0.5 0\nbroken\n");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put("r/params/huge", big);
	snprintf(dir, sizeof(dir), "%s/r/params/stolen", tmpdir);
	assert_int_equal(symlink("/etc/passwd", dir), 0);
	snprintf(dir, sizeof(dir), "%s/r/metrics/linked", tmpdir);
	assert_int_equal(symlink("/etc/passwd", dir), 0);

	snprintf(dir, sizeof(dir), "%s/r", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, "mnist", NULL, NULL), 0);
	assert_string_equal(run->name, "cnn-baseline");
	assert_string_equal(run->experiment, "mnist");
	assert_string_equal(run->user, "alice");
	assert_string_equal(run->note, "a note");
	assert_int_equal(run->status, MLP_STATUS_FINISHED);
	assert_int_equal(run->started, 1700000000000LL);
	assert_int_equal(run->ended, 1700000009000LL);
	assert_int_equal(run->params.nr, 4);
	v = mlp_map_get(&run->params, "lr");
	assert_true(v && v->type == MLP_FLOAT && v->u.f == 0.01);
	v = mlp_map_get(&run->params, "use_bn");
	assert_true(v && v->type == MLP_BOOL && v->u.b);
	v = mlp_map_get(&run->params, "opt/name");
	assert_true(v && v->type == MLP_STR && !strcmp(v->u.str.s, "adamw"));
	assert_null(mlp_map_get(&run->params, "stolen"));
	assert_null(mlp_map_get(&run->params, "huge"));
	v = mlp_map_get(&run->tags, "mlflow.run_id");
	assert_true(v && !strcmp(v->u.str.s, "0a038a130411492cbc0131482075cb6a"));
	assert_int_equal(run->series_nr, 2);
	assert_int_equal(mlp_run_series(run, "train/acc")->nr, 1);
	assert_null(mlp_run_series(run, "linked"));
	assert_int_equal(run->summary_nr, 2);
	mlp_run_free(run);
}

static void test_read_run_dir_states(void **state)
{
	struct mlp_run *run = NULL;
	char dir[4096];
	char *m;
	(void)state;

	/* a RUNNING run: crashed, with a note, ended = started */
	m = strdup(meta_yaml);
	memcpy(strstr(m, "status: 3"), "status: 1", 9);
	memcpy(strstr(m, "end_time: 1700000009000"), "end_time: null         ", 23);
	put("running/meta.yaml", m);
	snprintf(dir, sizeof(dir), "%s/running", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), 0);
	assert_int_equal(run->status, MLP_STATUS_CRASHED);
	assert_non_null(strstr(run->note, "status RUNNING"));
	assert_int_equal(run->ended, run->started);
	assert_null(run->experiment);
	mlp_run_free(run);
	run = NULL;

	/* deleted: 1 and no run */
	{
		char *d = strdup(meta_yaml), *p = strstr(d, "lifecycle_stage: active\n");
		char out[2048];
		*p = '\0';
		snprintf(out, sizeof(out), "%slifecycle_stage: deleted\n%s", d, p + 24);
		put("deleted/meta.yaml", out);
		free(d);
	}
	snprintf(dir, sizeof(dir), "%s/deleted", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), 1);
	assert_null(run);
	free(m);

	/* missing meta.yaml, bad YAML, a run id that is not an id */
	snprintf(dir, sizeof(dir), "%s/nothing", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), MLP_ENOTFOUND);
	put("badyaml/meta.yaml", "run_id: [unclosed\n");
	snprintf(dir, sizeof(dir), "%s/badyaml", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), MLP_EINVALID);
	put("badid/meta.yaml", "run_id: ../../etc\nstatus: 3\n");
	snprintf(dir, sizeof(dir), "%s/badid", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), MLP_ECORRUPT);
	/* a name with control characters is cleaned, not refused */
	put("ctl/meta.yaml", "run_id: abc\nrun_name: \"a\\tb\\x01c\"\nstatus: FAILED\nstart_time: 5\nend_time: 2\n");
	snprintf(dir, sizeof(dir), "%s/ctl", tmpdir);
	assert_int_equal(mlp_mlflow_read_run_dir(&run, dir, NULL, NULL, NULL), 0);
	assert_string_equal(run->name, "a?b?c");
	assert_int_equal(run->status, MLP_STATUS_FAILED);
	assert_int_equal(run->ended, 5);	/* never before the start */
	assert_int_equal(mlp_name_check(run->name), 0);
	mlp_run_free(run);
}

static void test_export_json_run(void **state)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;
	(void)state;

	memcpy(run->id, "0123456789abcdef0123456789abcdef", 33);
	run->name = strdup("r");
	run->note = strdup("n\"q");
	mlp_run_add_point(run, "loss", 0, 1.5, 10);
	mlp_run_add_point(run, "loss", 1, NAN, 20);
	mlp_run_add_point(run, "loss", 2, -INFINITY, 30);
	mlp_run_summarize(run);
	mlp_export_json_run(&b, run);
	assert_non_null(strstr(b.buf, "\"note\":\"n\\\"q\""));
	assert_non_null(strstr(b.buf, "\"series\":{\"loss\":{\"step\":[0,1,2],\"value\":[1.5,\"nan\",\"-inf\"],\"t\":[10,20,30]}}}"));
	assert_int_equal(b.buf[0], '{');
	assert_int_equal(b.buf[b.len - 1], '}');
	mlp_buf_release(&b);
	mlp_run_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_key_ok),
		cmocka_unit_test(test_parse_metric),
		cmocka_unit_test(test_parse_metric_hostile),
		cmocka_unit_test_setup_teardown(test_read_run_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_run_dir_states, setup, teardown),
		cmocka_unit_test(test_export_json_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
