/*
 * git mlp checkout <run> [<path>...] [-o <dir>] [--force]: restore a run's
 * artifacts, each verified against its recorded xxh128.  Also the
 * progress line shared by the commands that move artifacts.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const checkout_usage[] = {
	"git mlp checkout [-o <dir>] [--force] <run> [<path>...]",
	NULL
};

static void size_str(char *out, size_t n, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* On stderr, only when it is a terminal and the work lasts over a second. */
void progress_cb(void *data, const struct mlp_progress *p, int final)
{
	int *shown = data;
	char done[32], total[32];
	double secs = (double)p->elapsed_ms / 1000.0;

	if (p->elapsed_ms < 1000 || !isatty(2)) {
		if (final && shown && *shown)
			fputc('\n', stderr);
		return;
	}
	size_str(done, sizeof(done), (double)p->done);
	size_str(total, sizeof(total), (double)p->total);
	fprintf(stderr, "\r%s: %s%s%s, %.0f MB/s", p->what, done, p->total ? " / " : "",
		p->total ? total : "", secs > 0 ? (double)p->done / 1e6 / secs : 0.0);
	if (!strcmp(p->what, "storing") && p->done)
		fprintf(stderr, ", %.0f%% deduplicated", 100.0 * (double)(p->done - p->new_bytes) / (double)p->done);
	fputs("\033[K", stderr);
	if (final)
		fputc('\n', stderr);
	if (shown)
		*shown = !final;
}

static void error_cb(void *data, const char *msg)
{
	(void)data;
	error("%s", msg);
}

int cmd_checkout(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *dir = NULL;
	int force = 0, shown = 0, err;
	char id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL;
	struct mlp_checkout_opts co = { 0 };
	size_t written = 0, failed = 0;
	struct mlp_option opts[] = {
		OPT_STRING('o', "output", &dir, "dir", "restore into this directory (default: the work tree)"),
		OPT_BOOL('f', "force", &force, "overwrite files whose content differs"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, checkout_usage, 0);
	if (argc < 1)
		mlp_usage_with_options(checkout_usage, opts);
	if (!dir && !mlp_repo_workdir(ctx->repo))
		die("no work tree to restore into; use -o <dir>");
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
		die_lib();
	if (!run->artifacts[0] && argc == 1) {
		error("run %.8s has no artifacts", run->id);
		mlp_run_free(run);
		return 1;
	}
	co.dir = dir;
	co.force = force;
	co.error = error_cb;
	co.progress = progress_cb;
	co.progress_data = &shown;
	err = mlp_artifact_checkout(ctx->repo, run, argv + 1, (size_t)argc - 1, &co, &written, &failed);
	mlp_run_free(run);
	if (err < 0)
		die_lib();
	fprintf(stderr, "restored %zu file%s%s", written, written == 1 ? "" : "s",
		failed ? "" : "\n");
	if (failed)
		fprintf(stderr, "; %zu failed\n", failed);
	return failed ? 1 : 0;
}
