/*
 * Messages and exit codes, as git has them.
 */
#include "cmd.h"

#include <time.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/*
 * Messages name runs, keys and paths that may come from someone else's
 * records: like git's vreportf(), no control character of theirs reaches
 * the terminal.
 */
static void report(const char *prefix, const char *fmt, va_list ap)
{
	struct mlp_buf msg = MLP_BUF_INIT, out = MLP_BUF_INIT;

	fflush(stdout);
	mlp_buf_vaddf(&msg, fmt, ap);
	mlp_buf_adds(&out, prefix);
	mlp_text_sanitize(&out, msg.buf, msg.len, MLP_TEXT_NL | MLP_TEXT_TAB);
	mlp_buf_addch(&out, '\n');
	fwrite(out.buf, 1, out.len, stderr);
	mlp_buf_release(&msg);
	mlp_buf_release(&out);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("fatal: ", fmt, ap);
	va_end(ap);
	exit(128);
}

void die_lib(void)
{
	die("%s", mlp_error_message());
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void warn_cb(void *data, const char *msg)
{
	(void)data;
	warning("%s", msg);
}

void write_stdout(const struct mlp_buf *b)
{
	if (b->len)
		fwrite(b->buf, 1, b->len, stdout);
}

int resolve_run(struct mlp_ctx *ctx, const char *spec, char id[MLP_ID_HEXSZ + 1])
{
	char **ids = NULL;
	int n = mlp_run_resolve(&ids, ctx->repo, spec);

	/*
	 * A run in its first second has no commit yet (git mlp run writes it
	 * then, or at the end): a script that tags itself at once through
	 * $MLP_RUN_ID waits for it rather than fail, two seconds at most.
	 */
	for (int waited = 0; n == 0 && waited < 2000; waited += 20) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		int live = mlp_live_uncommitted(ctx->repo, spec);
		if (!live && !waited)
			break;
		free(ids);
		ids = NULL;
		if (live)
			nanosleep(&ts, NULL);
		n = mlp_run_resolve(&ids, ctx->repo, spec);
		if (!live)
			break;	/* committed since the last look: that was the last one */
	}
	if (n < 0)
		die_lib();
	if (n == 0) {
		free(ids);
		return error("no run matches '%s'", spec);
	}
	if (n > 1) {
		error("run '%s' is ambiguous", spec);
		for (int i = 0; i < n; i++) {
			struct mlp_run *run = NULL;
			mlp_run_load(&run, ctx->repo, ids[i], 0);
			fprintf(stderr, "  %s %s\n", ids[i], term_text(run ? run->name : NULL));
			mlp_run_free(run);
		}
	} else {
		memcpy(id, ids[0], MLP_ID_HEXSZ + 1);
	}
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return n == 1 ? 0 : -1;
}
