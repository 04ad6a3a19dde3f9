/*
 * lib/journal.c: the live journal written and replayed, torn tails, and
 * batch headers that lie about their length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlp.h"
#include "internal.h"
#include "journal.h"

static char dir[4096], path[4200];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/mlp-journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/journal", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* A journal of two batches: 3 points, a param, a tag and an offset, then 2 points. */
static void write_two_batches(void)
{
	struct mlp_journal j;
	struct mlp_value v;

	unlink(path);
	assert_int_equal(mlp_journal_open(&j, path), 0);
	mlp_journal_point(&j, "loss", 1, 0.5, 1000);
	mlp_journal_point(&j, "loss", 2, 0.25, 2000);
	mlp_journal_point(&j, "acc", 1, 0.75, 1500);
	mlp_value_parse(&v, "0.01", 4);
	mlp_journal_kv(&j, 'p', "lr", &v);
	mlp_value_clear(&v);
	mlp_value_parse(&v, "prod", 4);
	mlp_journal_kv(&j, 'g', "stage", &v);
	mlp_value_clear(&v);
	mlp_journal_offset(&j, 123, 7);
	assert_int_equal(mlp_journal_flush(&j, 1), 0);
	mlp_journal_point(&j, "loss", 3, 0.125, 3000);
	mlp_journal_point(&j, "loss", 4, 0.0625, 4000);
	assert_int_equal(mlp_journal_flush(&j, 1), 0);
	mlp_journal_close(&j);
}

static void append(const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(void)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* The state and the run after replaying the two batches. */
static void check_two_batches(const struct mlp_run *run, const struct mlp_journal_state *st)
{
	const struct mlp_series *loss = mlp_run_series(run, "loss");
	const struct mlp_value *v;

	assert_int_equal(st->batches, 2);
	assert_int_equal(st->points, 5);
	assert_int_equal(st->offset, 123);
	assert_int_equal(st->lineno, 7);
	assert_int_equal(st->last_t, 4000);
	assert_non_null(loss);
	assert_int_equal(loss->nr, 4);
	assert_true(loss->value[3] == 0.0625);
	assert_non_null(mlp_run_series(run, "acc"));
	assert_non_null(v = mlp_map_get(&run->params, "lr"));
	assert_true(v->type == MLP_FLOAT && v->u.f == 0.01);
	assert_non_null(v = mlp_map_get(&run->tags, "stage"));
	assert_true(v->type == MLP_STR && !strcmp(v->u.str.s, "prod"));
}

static void test_replay(void **state)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_journal_state st;

	(void)state;
	write_two_batches();
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	check_two_batches(run, &st);
	assert_int_equal(st.torn, 0);
	mlp_run_free(run);

	/* no file: nothing to replay; an empty file: torn, nothing applied */
	unlink(path);
	run = mlp_run_new();
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	assert_int_equal(st.batches, 0);
	append("", 0);
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	assert_int_equal(st.batches, 0);
	assert_int_equal(st.torn, 1);
	mlp_run_free(run);
}

/* Every cut of the file replays the batches before the cut, and never more. */
static void test_replay_torn(void **state)
{
	struct mlp_run *run;
	struct mlp_journal_state st;
	off_t full, first_end;
	char *copy;
	FILE *f;

	(void)state;
	write_two_batches();
	full = file_size();
	copy = malloc((size_t)full);
	f = fopen(path, "rb");
	assert_int_equal(fread(copy, 1, (size_t)full, f), (size_t)full);
	fclose(f);
	/* the header is 6 bytes; the first record 8 + its length */
	first_end = 6 + 8 + (off_t)((unsigned char)copy[6] | (unsigned char)copy[7] << 8 |
				    (unsigned char)copy[8] << 16 | (uint32_t)(unsigned char)copy[9] << 24);
	assert_true(first_end < full);
	for (off_t cut = 0; cut < full; cut++) {
		unlink(path);
		append(copy, (size_t)cut);
		run = mlp_run_new();
		assert_int_equal(mlp_journal_replay(path, run, &st), 0);
		assert_int_equal(st.batches, cut >= first_end ? 1 : 0);
		assert_int_equal(st.points, cut >= first_end ? 3 : 0);
		assert_int_equal(st.torn, cut != 6 && cut != first_end);
		mlp_run_free(run);
	}
	free(copy);
}

/*
 * A batch header that claims far more bytes than the file holds (a
 * damaged or hostile journal) stops the replay there, as a torn tail,
 * before anything that size is allocated.  The replay runs in a child
 * whose address space is capped 64 MiB above what it uses: the 200 MiB
 * buffer the old code asked for fails there (out of memory: abort).
 * AddressSanitizer reserves terabytes of address space, so under it only
 * the result is checked.
 */
static void test_replay_lying_length(void **state)
{
	static const uint32_t lengths[] = { 200u << 20, (256u << 20) - 1, 1u << 20, 4096, 9 };
	(void)state;

	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		unsigned char hdr[8 + 8] = { 0 };
		pid_t pid;
		int status;

		write_two_batches();
		for (int b = 0; b < 4; b++)
			hdr[b] = (unsigned char)(lengths[i] >> (8 * b));
		/* a checksum and 8 bytes of payload: the file is far shorter than the length */
		append(hdr, sizeof(hdr));
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct mlp_run *run = mlp_run_new();
			struct mlp_journal_state st;
#ifndef __SANITIZE_ADDRESS__
			long pages = 0;
			FILE *statm = fopen("/proc/self/statm", "r");
			if (statm && fscanf(statm, "%ld", &pages) == 1) {
				rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64u << 20);
				struct rlimit rl = { cap, cap };
				if (setrlimit(RLIMIT_AS, &rl) < 0)
					_exit(3);
			}
			if (statm)
				fclose(statm);
#endif
			if (mlp_journal_replay(path, run, &st) < 0)
				_exit(4);
			if (st.batches != 2 || st.points != 5 || !st.torn)
				_exit(5);
			mlp_run_free(run);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail_msg("length %u: child %s %d", lengths[i], WIFEXITED(status) ? "exited" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	/* and in this process: the same answer, the two batches applied */
	{
		struct mlp_run *run = mlp_run_new();
		struct mlp_journal_state st;
		assert_int_equal(mlp_journal_replay(path, run, &st), 0);
		check_two_batches(run, &st);
		assert_int_equal(st.torn, 1);
		mlp_run_free(run);
	}
}

/* A journal opened again (a resumed writer) gets no second header: all batches replay. */
/* Nothing is created until a batch with entries is flushed; no file replays as empty. */
static void test_created_with_first_batch(void **state)
{
	struct mlp_journal j;
	struct mlp_journal_state st;
	struct mlp_run *run = mlp_run_new();
	struct stat sb;

	(void)state;
	unlink(path);
	assert_int_equal(mlp_journal_open(&j, path), 0);
	assert_int_equal(mlp_journal_flush(&j, 1), 0);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	assert_int_equal(st.batches, 0);
	assert_int_equal(st.points, 0);
	mlp_journal_point(&j, "loss", 1, 0.5, 1000);
	assert_int_equal(mlp_journal_flush(&j, 0), 0);
	assert_int_equal(stat(path, &sb), 0);
	mlp_journal_close(&j);
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.points, 1);
	mlp_run_free(run);
}

static void test_replay_reopened(void **state)
{
	struct mlp_run *run = mlp_run_new();
	struct mlp_journal_state st;
	struct mlp_journal j;

	(void)state;
	write_two_batches();
	assert_int_equal(mlp_journal_open(&j, path), 0);
	mlp_journal_point(&j, "loss", 5, 0.03125, 5000);
	assert_int_equal(mlp_journal_flush(&j, 1), 0);
	mlp_journal_close(&j);
	assert_int_equal(mlp_journal_replay(path, run, &st), 0);
	assert_int_equal(st.batches, 3);
	assert_int_equal(st.points, 6);
	assert_int_equal(st.torn, 0);
	mlp_run_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_lying_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_reopened, setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_with_first_batch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
