/*
 * lib/sync.c: spawning git (input, output, exit status, a child that does
 * not read its input) and the state names.  Transport and merging are
 * covered end to end by tests/e2e/t071*.sh against real remotes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sync.h"

static void test_spawn_captures_output_and_status(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	s.argv = argv;
	s.capture_out = s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 3);
	assert_string_equal(s.out.buf, "out\n");
	assert_string_equal(s.err.buf, "err\n");
	mlp_spawn_release(&s);
}

static void test_spawn_feeds_big_input_without_deadlock(void **state)
{
	/* 4 MiB through cat while its output is drained: pipes hold 64 KiB */
	const char *argv[] = { "cat", NULL };
	struct mlp_spawn s = { 0 };
	size_t n = 4u << 20;
	char *in = malloc(n);
	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	s.argv = argv;
	s.in = in;
	s.in_len = n;
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	assert_int_equal(s.out.len, n);
	assert_memory_equal(s.out.buf, in, n);
	mlp_spawn_release(&s);
	free(in);
}

static void test_spawn_child_ignoring_input(void **state)
{
	/* the child exits without reading: no SIGPIPE may kill the caller */
	const char *argv[] = { "true", NULL };
	struct mlp_spawn s = { 0 };
	size_t n = 1u << 20;
	char *in = calloc(1, n);
	(void)state;
	s.argv = argv;
	s.in = in;
	s.in_len = n;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	mlp_spawn_release(&s);
	free(in);
}

static void test_spawn_env_and_missing_program(void **state)
{
	const char *argv[] = { "sh", "-c", "printf %s \"$MLP_SPAWN_TEST\"", NULL };
	const char *env[] = { "MLP_SPAWN_TEST=hello", NULL };
	const char *missing[] = { "/nonexistent/program", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	s.argv = argv;
	s.env_add = env;
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_string_equal(s.out.buf, "hello");
	assert_null(getenv("MLP_SPAWN_TEST"));
	mlp_spawn_release(&s);
	memset(&s, 0, sizeof(s));
	s.argv = missing;
	s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 127);
	mlp_spawn_release(&s);
}

/* env_add replaces a variable (no second copy), dir is the child's, stdin is /dev/null. */
static void test_spawn_env_override_dir_and_stdin(void **state)
{
	const char *argv[] = { "sh", "-c", "env | grep -c '^MLP_SPAWN_OVER='; printf '%s %s ' \"$MLP_SPAWN_OVER\" \"$(pwd)\"; cat; echo end", NULL };
	const char *env[] = { "MLP_SPAWN_OVER=new", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	setenv("MLP_SPAWN_OVER", "old", 1);
	s.argv = argv;
	s.env_add = env;
	s.dir = "/";
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	assert_string_equal(s.out.buf, "1\nnew / end\n");
	assert_string_equal(getenv("MLP_SPAWN_OVER"), "old");
	mlp_spawn_release(&s);
	/* a directory that is not there: the child never runs, 127 and why */
	memset(&s, 0, sizeof(s));
	s.argv = argv;
	s.dir = "/nonexistent/dir";
	s.capture_out = s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 127);
	assert_string_equal(s.out.buf, "");
	assert_non_null(strstr(s.err.buf, "No such file"));
	mlp_spawn_release(&s);
	unsetenv("MLP_SPAWN_OVER");
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_PUSHED), "pushed");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_UPTODATE), "up to date");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_MERGED), "merged");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_REMOTE_ONLY), "remote only");
	assert_string_equal(mlp_sync_state_name((enum mlp_sync_state)99), "?");
}

static void test_hook_script(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	(void)state;
	mlp_hook_script(&b, "pre-push");
	assert_non_null(strstr(b.buf, MLP_HOOK_MARKER));
	assert_non_null(strstr(b.buf, "\nexec git mlp hook pre-push \"$@\"\n"));
	assert_int_equal(strncmp(b.buf, "#!/bin/sh\n", 10), 0);
	mlp_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_captures_output_and_status),
		cmocka_unit_test(test_spawn_feeds_big_input_without_deadlock),
		cmocka_unit_test(test_spawn_child_ignoring_input),
		cmocka_unit_test(test_spawn_env_and_missing_program),
		cmocka_unit_test(test_spawn_env_override_dir_and_stdin),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_hook_script),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
