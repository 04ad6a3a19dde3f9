/*
 * Writes a git fast-import stream of N synthetic runs (20 params, 10
 * metrics of 10 points each) spread over the commits listed in a file
 * (one id a line), encoded with libmlp's own record encoders, for the
 * listing benchmarks.
 *
 *   gen-runs N BASES | git fast-import --quiet && git pack-refs --all
 */
#include "mlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void data(const void *p, size_t n)
{
	printf("data %zu\n", n);
	fwrite(p, 1, n, stdout);
	putchar('\n');
}

static unsigned long long rng = 88172645463325252ULL;
static double rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng >> 11) * (1.0 / 9007199254740992.0);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, commits = 0;
	long mark = 0, t0 = 1767225600;	/* 2026-01-01 */
	char (*bases)[41] = NULL, line[128];
	FILE *f = argc > 2 ? fopen(argv[2], "r") : NULL;
	static const char *const metrics[10] = { "loss", "acc", "val_loss", "val_acc", "f1", "auc",
						 "lr_now", "grad_norm", "epoch_time", "throughput" };

	while (f && fgets(line, sizeof(line), f)) {
		if (strlen(line) < 40)
			continue;
		bases = realloc(bases, (size_t)(commits + 1) * sizeof(*bases));
		memcpy(bases[commits], line, 40);
		bases[commits++][40] = '\0';
	}
	if (!commits) {
		fprintf(stderr, "usage: gen-runs N FILE-OF-BASE-COMMITS\n");
		return 129;
	}
	for (long i = 0; i < n; i++) {
		struct mlp_run *run = mlp_run_new();
		struct mlp_buf b = MLP_BUF_INIT;
		long base = (long)(rnd() * commits);
		long marks[3 + 10];
		char name[32];

		mlp_run_new_id(run);
		snprintf(name, sizeof(name), "run-%ld", i);
		run->name = mlp_strdup(name);
		run->experiment = mlp_strdup(i % 2 ? "exp-a" : "exp-b");
		run->status = i % 17 ? MLP_STATUS_FINISHED : MLP_STATUS_FAILED;
		run->cmd = mlp_calloc(3, sizeof(char *));
		run->cmd[0] = mlp_strdup("python");
		run->cmd[1] = mlp_strdup("train.py");
		run->cmd_nr = 2;
		run->cwd = mlp_strdup("");
		run->started = (t0 + base * 60 + 10) * 1000LL + i;
		run->ended = run->started + 60000;
		run->has_exit_code = 1;
		run->host = mlp_strdup("bench");
		run->user = mlp_strdup("bench");
		memcpy(run->base, bases[base], sizeof(run->base));
		for (int p = 0; p < 20; p++) {
			char key[32];
			struct mlp_value v;
			snprintf(key, sizeof(key), "p%02d", p);
			if (p == 0) {
				v.type = MLP_FLOAT;
				v.u.f = 0.0001 * (1 + (long)(rnd() * 100));
			} else if (p % 3 == 0) {
				mlp_value_set_str(&v, p % 2 ? "adam" : "sgd", p % 2 ? 4 : 3);
			} else {
				memset(&v, 0, sizeof(v));
				v.type = MLP_INT;
				v.u.i = (long)(rnd() * 1000);
			}
			mlp_map_set(&run->params, p == 0 ? "lr" : key, &v);
		}
		for (int m = 0; m < 10; m++)
			for (int s = 0; s < 10; s++)
				mlp_run_add_point(run, metrics[m], s, rnd(), run->started + s * 1000);
		mlp_run_summarize(run);

		mlp_record_encode_run(&b, run);
		printf("blob\nmark :%ld\n", marks[0] = ++mark);
		data(b.buf, b.len);
		mlp_buf_reset(&b);
		mlp_record_encode_params(&b, &run->params);
		printf("blob\nmark :%ld\n", marks[1] = ++mark);
		data(b.buf, b.len);
		mlp_buf_reset(&b);
		mlp_record_encode_summary(&b, run);
		printf("blob\nmark :%ld\n", marks[2] = ++mark);
		data(b.buf, b.len);
		for (int m = 0; m < 10; m++) {
			mlp_buf_reset(&b);
			mlp_record_encode_chunk(&b, mlp_run_series(run, metrics[m]), 0, 10);
			printf("blob\nmark :%ld\n", marks[3 + m] = ++mark);
			data(b.buf, b.len);
		}
		printf("commit refs/mlp/runs/%s\nmark :%ld\n", run->id, ++mark);
		printf("author Bench <bench@example.com> %lld +0000\n", (long long)(run->started / 1000));
		printf("committer Bench <bench@example.com> %lld +0000\n", (long long)(run->ended / 1000));
		mlp_buf_reset(&b);
		mlp_buf_addf(&b, "%s: %s\n\nRun-Id: %s\n", run->name, mlp_status_name(run->status), run->id);
		data(b.buf, b.len);
		printf("from %s\ndeleteall\n", bases[base]);
		printf("M 100644 :%ld run.mp\nM 100644 :%ld params.mp\nM 100644 :%ld summary.mp\n",
		       marks[0], marks[1], marks[2]);
		for (int m = 0; m < 10; m++)
			printf("M 100644 :%ld metrics/%s/000000.mp\n", marks[3 + m], metrics[m]);
		putchar('\n');
		mlp_buf_release(&b);
		mlp_run_free(run);
	}
	return 0;
}
