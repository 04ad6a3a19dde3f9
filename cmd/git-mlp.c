/*
 * git-mlp: experiment tracking inside git.  The command table and the
 * process-wide conventions (exit codes, colour, stdout write check).
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define NEED_REPO 1u
#define NO_RECOVER 2u

struct command {
	const char *name;
	int (*fn)(int, const char **, struct mlp_ctx *);
	unsigned flags;
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, NEED_REPO, "Prepare a repository for git-mlp" },
	{ "run", cmd_run, NEED_REPO, "Run a command and record it as a run" },
	{ "log", cmd_log, 0, "Log metrics, params or tags to a run" },
	{ "ls", cmd_ls, NEED_REPO, "List runs" },
	{ "show", cmd_show, NEED_REPO, "Show one run" },
	{ "rm", cmd_rm, NEED_REPO, "Delete runs" },
	{ "diff", cmd_diff, NEED_REPO, "Compare two runs: params and metrics" },
	{ "compare", cmd_compare, NEED_REPO, "Compare several runs side by side" },
	{ "cat", cmd_cat, 0, "Decode a stored record to JSON" },
	{ "checkout", cmd_checkout, NEED_REPO, "Restore a run's artifacts" },
	{ "gc", cmd_gc, NEED_REPO, "Drop stale artifact cache entries; pack run refs" },
	{ "fsck", cmd_fsck, NEED_REPO | NO_RECOVER, "Check runs; finish crashed live runs" },
	{ "help", cmd_help, 0, "Show the manual" },
};

static const char main_usage[] =
	"usage: git mlp [--version] [-h] <command> [<args>]\n";

static void print_commands(FILE *f)
{
	fputs(main_usage, f);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'git mlp <command> -h' shows a command's options; 'git help mlp' the manual.\n", f);
}

/* color.mlp, then color.ui; NO_COLOR and TERM=dumb turn "auto" off. */
static int want_color(struct mlp_repo *repo)
{
	char *v = NULL;
	int on = -1;
	const char *term = getenv("TERM");

	if (repo && (mlp_config_get_string(repo, "color.mlp", &v) == 0 ||
		     mlp_config_get_string(repo, "color.ui", &v) == 0)) {
		if (!strcasecmp(v, "always"))
			on = 1;
		else if (!strcasecmp(v, "never") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
			 !strcasecmp(v, "off"))
			on = 0;
		free(v);
	}
	if (on >= 0)
		return on;
	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return 0;
	if (!term || !strcmp(term, "dumb"))
		return 0;
	return isatty(1);
}

int main(int argc, const char **argv)
{
	struct mlp_ctx ctx = { 0 };
	const struct command *cmd = NULL;
	int ret, err;

	if (argc < 2 || !strcmp(argv[1], "-h")) {
		print_commands(argc < 2 ? stderr : stdout);
		return argc < 2 ? 129 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("git-mlp version %s\n", MLP_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help"))
		argv[1] = "help";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "git: '%s' is not a git mlp command. See 'git mlp -h'.\n", argv[1]);
		return 129;
	}
	/* `git mlp ls -h` works outside a repository, as in git */
	if ((cmd->flags & NEED_REPO) && !(argc == 3 && !strcmp(argv[2], "-h"))) {
		err = mlp_repo_open(&ctx.repo);
		if (err == MLP_ENOREPO)
			die("%s", mlp_error_message());
		if (err < 0)
			die_lib();
		ctx.color = want_color(ctx.repo);
		/* runs whose `git mlp run` died here are finished as "crashed" first */
		if (!(cmd->flags & NO_RECOVER)) {
			size_t n = 0;
			if (mlp_live_recover(ctx.repo, warn_cb, NULL, &n) == 0 && n)
				fprintf(stderr, "finished %zu crashed run%s\n", n, n == 1 ? "" : "s");
		}
	}
	ret = cmd->fn(argc - 1, argv + 1, &ctx);
	mlp_repo_free(ctx.repo);
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			return ret;
		die("write failure on standard output: %s", strerror(errno));
	}
	return ret;
}

int cmd_help(int argc, const char **argv, struct mlp_ctx *ctx)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	execlp("git", "git", "help", "mlp", (char *)NULL);
	die("cannot run 'git help mlp': %s", strerror(errno));
}
