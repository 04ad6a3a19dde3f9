/*
 * git mlp queue run|ls|rm: the points `git mlp sweep --queue` recorded.
 *
 * A point is claimed by moving its ref, with compare-and-swap, from the
 * queued commit to a "running" one.  With --remote the claim only counts
 * once the remote took it: the claim is pushed with
 * --force-with-lease=<ref>:<queued commit>, which the receiving git checks
 * under its ref lock, so of two clones claiming one point exactly one
 * push succeeds.  (A run commit's parent is its base commit, not the
 * previous run commit, so a plain push of a claim is never a fast-forward
 * and the lease is the compare-and-swap.)  The loser takes the remote's
 * version of the ref and skips the point.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const queue_usage[] = {
	"git mlp queue run [-j <n>] [--remote <remote>] [--sweep <id>]",
	"git mlp queue ls [--sweep <id>] [--format=<fmt>]",
	"git mlp queue rm (<run>... | --sweep <id> | --all)",
	NULL
};

static int is_sweep_of(const struct mlp_run *r, const char *sweep)
{
	return !sweep || (r->parent && !strncmp(r->parent, sweep, strlen(sweep)));
}

static void check_sweep_arg(const char *sweep)
{
	size_t len = sweep ? strlen(sweep) : 0;

	if (sweep && (len < 4 || len > MLP_ID_HEXSZ || strspn(sweep, "0123456789abcdef") != len))
		die("--sweep wants a sweep id (4 to 32 hex digits), not '%s'", sweep);
}

/* Queued runs (of one sweep), oldest first. */
static void load_queued(struct mlp_run_list *list, struct mlp_ctx *ctx, const char *sweep)
{
	size_t n = 0;

	if (mlp_run_list_all(list, ctx->repo, warn_cb, NULL) < 0)
		die_lib();
	for (size_t i = 0; i < list->nr; i++) {
		if (list->runs[i]->status == MLP_STATUS_QUEUED && is_sweep_of(list->runs[i], sweep))
			list->runs[n++] = list->runs[i];
		else
			mlp_run_free(list->runs[i]);
	}
	list->nr = n;
	for (size_t i = 0; i + 1 < list->nr; i++)
		for (size_t j = i + 1; j < list->nr; j++) {
			struct mlp_run *a = list->runs[i], *b = list->runs[j];
			if (b->started < a->started ||
			    (b->started == a->started && a->name && b->name && strverscmp(b->name, a->name) < 0)) {
				list->runs[i] = b;
				list->runs[j] = a;
			}
		}
}

/* ---- queue run ------------------------------------------------------------------- */

struct qrun {
	struct mlp_ctx *ctx;
	struct mlp_run_list list;
	const char *remote;
	char here[MLP_OID_HEXSZ + 1];	/* this work tree's snapshot */
	char **claim;			/* per point: the claim commit, to push the result over */
	int *pushed;
	size_t ran, finished, failed, taken;
};

static void ref_of(struct mlp_buf *b, const char *id)
{
	mlp_buf_addf(b, "refs/mlp/runs/%s", id);
}

/* The remote's commit of a ref into out ("" when it has none); -1 when unreachable. */
static int remote_oid(const char *remote, const char *ref, char out[MLP_OID_HEXSZ + 1])
{
	struct mlp_buf b = MLP_BUF_INIT;
	const char *args[] = { "git", "ls-remote", remote, ref, NULL };
	int rc = run_git(&b, args, 1);

	out[0] = '\0';
	if (rc == 0 && b.len >= MLP_OID_HEXSZ)
		memcpy(out, b.buf, MLP_OID_HEXSZ + 1), out[MLP_OID_HEXSZ] = '\0';
	mlp_buf_release(&b);
	return rc == 0 ? 0 : -1;
}

/* Pushes ref from `expect` on the remote: 0 done, 1 lost, 2 the remote
 * has no such ref, -1 failed. */
static int push_cas(const char *remote, const char *id, const char *expect)
{
	struct mlp_buf ref = MLP_BUF_INIT, lease = MLP_BUF_INIT, spec = MLP_BUF_INIT;
	char now[MLP_OID_HEXSZ + 1];
	int ret = -1;

	ref_of(&ref, id);
	mlp_buf_addf(&lease, "--force-with-lease=%s:%s", ref.buf, expect);
	mlp_buf_addf(&spec, "%s:%s", ref.buf, ref.buf);
	for (int attempt = 0; attempt < 3; attempt++) {
		const char *args[] = { "git", "push", "-q", "--no-verify", lease.buf, remote, spec.buf, NULL };
		if (run_git(NULL, args, 1) == 0) {
			ret = 0;
			break;
		}
		/* rejected, or a lock held by a concurrent push: look again */
		if (remote_oid(remote, ref.buf, now) < 0)
			break;
		if (!now[0]) {
			ret = 2;
			break;
		}
		if (strcmp(now, expect)) {
			ret = 1;
			break;
		}
		usleep(100000);
	}
	mlp_buf_release(&ref);
	mlp_buf_release(&lease);
	mlp_buf_release(&spec);
	return ret;
}

/* Takes the remote's version of a ref we lost. */
static void take_remote(const char *remote, const char *id)
{
	struct mlp_buf spec = MLP_BUF_INIT;
	const char *args[] = { "git", "fetch", "-q", "--no-write-fetch-head", remote, NULL, NULL };

	mlp_buf_adds(&spec, "+");
	ref_of(&spec, id);
	mlp_buf_adds(&spec, ":");
	ref_of(&spec, id);
	args[5] = spec.buf;
	run_git(NULL, args, 1);
	mlp_buf_release(&spec);
}

static long start_queued(void *data, size_t i)
{
	struct qrun *q = data;
	struct mlp_run *run = q->list.runs[i];
	char queued[MLP_OID_HEXSZ + 1];
	const char **args;
	struct mlp_buf dir = MLP_BUF_INIT;
	size_t n = 0;
	long pid;
	int err;

	memcpy(queued, run->commit, sizeof(queued));
	err = mlp_queue_claim(q->ctx->repo, run, (long)getpid());
	if (err == MLP_ECONFLICT || err == MLP_EINVALID) {
		q->taken++;
		return 0;
	}
	if (err < 0) {
		error("%s", mlp_error_message());
		return 0;
	}
	if (q->remote) {
		/* 2: the remote never had it, a point of this clone alone */
		int rc = push_cas(q->remote, run->id, queued);
		if (rc == 1 || rc == -1) {
			if (rc == -1)
				error("cannot claim run %s on '%s'; leaving it queued", run->id, q->remote);
			else
				q->taken++;
			/* undo ours: the remote's version (or the queued one) is the truth */
			if (rc == 1) {
				take_remote(q->remote, run->id);
			} else {
				struct mlp_buf r = MLP_BUF_INIT;
				ref_of(&r, run->id);
				const char *args2[] = { "git", "update-ref", r.buf, queued, run->commit, NULL };
				run_git(NULL, args2, 1);
				mlp_buf_release(&r);
			}
			return 0;
		}
		q->pushed[i] = rc == 0;
	}
	q->claim[i] = mlp_strdup(run->commit);
	if (strcmp(run->workspace, q->here))
		warning("run %.8s (%s) was queued from another workspace (tree %.12s); running it in this work tree",
			run->id, run->name ? run->name : "", run->workspace);
	args = mlp_calloc(run->cmd_nr + 6, sizeof(char *));
	args[n++] = "git-mlp";
	args[n++] = "run";
	args[n++] = "--run-id";
	args[n++] = run->id;
	args[n++] = "--";
	for (size_t a = 0; a < run->cmd_nr; a++)
		args[n++] = run->cmd[a];
	args[n] = NULL;
	mlp_buf_addf(&dir, "%s%s", mlp_repo_workdir(q->ctx->repo), run->cwd ? run->cwd : "");
	fprintf(stderr, "queue: running %.8s (%s)\n", run->id, term_text(run->name));
	pid = spawn_mlp(args, dir.buf, 1);
	free(args);
	mlp_buf_release(&dir);
	if (pid > 0)
		q->ran++;
	return pid;
}

static void queued_done(void *data, size_t i, int code)
{
	struct qrun *q = data;
	struct mlp_run *run = q->list.runs[i];

	if (code)
		q->failed++;
	else
		q->finished++;
	if (q->remote && q->pushed[i] && q->claim[i]) {
		if (push_cas(q->remote, run->id, q->claim[i]) != 0)
			warning("cannot push run %.8s to '%s'; push refs/mlp/runs/%s later",
				run->id, q->remote, run->id);
	}
}

static int queue_run(int argc, const char **argv, struct mlp_ctx *ctx)
{
	long long jobs = 1;
	const char *remote = NULL, *sweep = NULL;
	struct qrun q = { 0 };
	int dirty, sig;
	int64_t max_file = 0;
	struct mlp_option opts[] = {
		OPT_INT('j', "jobs", &jobs, "n", "run n points at once (default 1)"),
		OPT_STRING(0, "remote", &remote, "remote", "claim points on this remote too, and push the results"),
		OPT_STRING(0, "sweep", &sweep, "id", "only points of this sweep"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, queue_usage, 0);
	if (argc || jobs < 1)
		mlp_usage_with_options(queue_usage, opts);
	check_sweep_arg(sweep);
	if (!mlp_repo_workdir(ctx->repo))
		die("cannot run queued points in a bare repository");
	if (mlp_config_get_int64(ctx->repo, "mlp.workspace.maxFileSize", &max_file, 10 << 20) < 0 ||
	    mlp_snapshot(ctx->repo, q.here, &dirty, max_file, warn_cb, NULL) < 0)
		die_lib();
	q.ctx = ctx;
	q.remote = remote;
	load_queued(&q.list, ctx, sweep);
	if (!q.list.nr) {
		fprintf(stderr, "no queued points\n");
		mlp_run_list_release(&q.list);
		return 0;
	}
	q.claim = mlp_calloc(q.list.nr, sizeof(char *));
	q.pushed = mlp_calloc(q.list.nr, sizeof(int));
	sweep_catch_signals();
	sig = pool_run(q.list.nr, (size_t)jobs, start_queued, queued_done, &q);
	fprintf(stderr, "queue: ran %zu point%s: %zu finished, %zu failed or killed; %zu taken by others\n",
		q.ran, q.ran == 1 ? "" : "s", q.finished, q.failed, q.taken);
	for (size_t i = 0; i < q.list.nr; i++)
		free(q.claim[i]);
	free(q.claim);
	free(q.pushed);
	mlp_run_list_release(&q.list);
	return sig ? 128 + sig : q.failed ? 1 : 0;
}

/* ---- queue ls / rm ---------------------------------------------------------------------- */

static int queue_ls(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *sweep = NULL, *fmt_name = "table";
	enum mlp_format fmt;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL, NULL, 0, 0 };
	struct mlp_option opts[] = {
		OPT_STRING(0, "sweep", &sweep, "id", "only points of this sweep"),
		OPT_STRING(0, "format", &fmt_name, "fmt", "table, json, csv, tsv or md"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, queue_usage, 0);
	if (argc)
		mlp_usage_with_options(queue_usage, opts);
	check_sweep_arg(sweep);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || fmt == MLP_FMT_TEXT) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(queue_usage, opts);
	}
	load_queued(&list, ctx, sweep);
	if (fmt == MLP_FMT_TABLE)
		ro.width = term_width();
	if (fmt == MLP_FMT_TABLE && !list.nr)
		fprintf(stderr, "no queued points\n");
	else if (mlp_render_list(&out, &list, fmt, &ro) < 0)
		die_lib();
	write_stdout(&out);
	mlp_buf_release(&out);
	mlp_run_list_release(&list);
	return 0;
}

static int queue_rm(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *sweep = NULL;
	int all = 0, ret = 0;
	size_t removed = 0;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_option opts[] = {
		OPT_STRING(0, "sweep", &sweep, "id", "every queued point of this sweep"),
		OPT_BOOL(0, "all", &all, "every queued point"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, queue_usage, 0);
	if (!!argc + !!sweep + !!all != 1)
		mlp_usage_with_options(queue_usage, opts);
	check_sweep_arg(sweep);
	if (argc) {
		for (int i = 0; i < argc; i++) {
			char id[MLP_ID_HEXSZ + 1];
			struct mlp_run *run = NULL;
			if (resolve_run(ctx, argv[i], id) < 0) {
				ret = 1;
				continue;
			}
			if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
				die_lib();
			if (run->status != MLP_STATUS_QUEUED) {
				ret = error("run %.8s (%s) is %s, not queued; 'git mlp rm' removes runs",
					    run->id, run->name ? run->name : "", mlp_status_name(run->status));
			} else if (mlp_run_delete(ctx->repo, run) < 0) {
				ret = error("%s", mlp_error_message());
			} else {
				removed++;
			}
			mlp_run_free(run);
		}
	} else {
		load_queued(&list, ctx, sweep);
		for (size_t i = 0; i < list.nr; i++) {
			if (mlp_run_delete(ctx->repo, list.runs[i]) < 0)
				ret = error("%s", mlp_error_message());	/* claimed meanwhile */
			else
				removed++;
		}
		mlp_run_list_release(&list);
	}
	fprintf(stderr, "removed %zu queued point%s\n", removed, removed == 1 ? "" : "s");
	return ret ? 1 : 0;
}

int cmd_queue(int argc, const char **argv, struct mlp_ctx *ctx)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return queue_run(argc - 1, argv + 1, ctx);
	if (argc >= 2 && !strcmp(argv[1], "ls"))
		return queue_ls(argc - 1, argv + 1, ctx);
	if (argc >= 2 && !strcmp(argv[1], "rm"))
		return queue_rm(argc - 1, argv + 1, ctx);
	if (argc >= 2 && !strcmp(argv[1], "-h")) {
		for (size_t i = 0; queue_usage[i]; i++)
			printf("%s %s\n", i ? "   or:" : "usage:", queue_usage[i]);
		return 0;
	}
	for (size_t i = 0; queue_usage[i]; i++)
		fprintf(stderr, "%s %s\n", i ? "   or:" : "usage:", queue_usage[i]);
	return 129;
}
