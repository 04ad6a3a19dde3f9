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
#define USE_PAGER 4u

struct command {
	const char *name;
	int (*fn)(int, const char **, struct mlp_ctx *);
	unsigned flags;
	const char *summary;
};

static const struct command commands[] = {
	{ "init", cmd_init, NEED_REPO, "Prepare a repository for git-mlp" },
	{ "run", cmd_run, NEED_REPO, "Run a command and record it as a run" },
	{ "log", cmd_log, USE_PAGER, "Log metrics, params or tags to a run" },
	{ "ls", cmd_ls, NEED_REPO | USE_PAGER, "List runs" },
	{ "show", cmd_show, NEED_REPO | USE_PAGER, "Show one run" },
	{ "rm", cmd_rm, NEED_REPO, "Delete runs" },
	{ "tag", cmd_tag, NEED_REPO, "Show, set or delete the tags of a run" },
	{ "note", cmd_note, NEED_REPO, "Show or set the note of a run" },
	{ "diff", cmd_diff, NEED_REPO | USE_PAGER, "Compare two runs: params and metrics" },
	{ "compare", cmd_compare, NEED_REPO | USE_PAGER, "Compare several runs side by side" },
	{ "report", cmd_report, NEED_REPO, "Report runs as Markdown or HTML for code review" },
	{ "plot", cmd_plot, NEED_REPO, "Plot metric curves in the terminal or as SVG" },
	{ "cat", cmd_cat, 0, "Decode a stored record to JSON" },
	{ "checkout", cmd_checkout, NEED_REPO, "Restore a run's artifacts" },
	{ "gc", cmd_gc, NEED_REPO, "Drop stale artifact cache entries, rebuild the chunk table; pack run refs" },
	{ "push", cmd_push, NEED_REPO, "Push runs to a remote" },
	{ "fetch", cmd_fetch, NEED_REPO, "Fetch runs from a remote" },
	{ "pull", cmd_pull, NEED_REPO, "Fetch runs and show what arrived" },
	{ "ls-remote", cmd_ls_remote, NEED_REPO, "List the runs of a remote" },
	{ "install-hooks", cmd_install_hooks, NEED_REPO, "Install (or remove) the git hooks" },
	{ "hook", cmd_hook, NEED_REPO, "Run a hook (called by the installed hooks)" },
	{ "sweep", cmd_sweep, NEED_REPO, "Run a command over a grid or random set of params" },
	{ "queue", cmd_queue, NEED_REPO, "Run, list or remove queued sweep points" },
	{ "rerun", cmd_rerun, NEED_REPO, "Run a run's command again on its exact code" },
	{ "apply", cmd_apply, NEED_REPO, "Put a run's workspace into the work tree" },
	{ "import", cmd_import, NEED_REPO, "Import runs from MLflow, DVCLive or DVC experiments" },
	{ "export", cmd_export, NEED_REPO, "Export runs as JSON, CSV or an MLflow store" },
	{ "fsck", cmd_fsck, NEED_REPO | NO_RECOVER, "Check runs; finish crashed live runs" },
	{ "help", cmd_help, 0, "Show the manual" },
};

static const char main_usage[] =
	"usage: git mlp [--version] [-h] [--color[=<when>] | --no-color] [-p | --paginate | -P | --no-pager]\n"
	"               <command> [<args>]\n";

static void print_commands(FILE *f)
{
	fputs(main_usage, f);
	fputs("\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'git mlp <command> -h' shows a command's options; 'git help mlp' the manual.\n", f);
}

static int color_opt = -1;	/* --color / --no-color */
int mlp_pager_opt = -1;	/* -p / -P */

static int parse_when(const char *v)
{
	if (!strcasecmp(v, "always") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
		return 1;
	if (!strcasecmp(v, "never") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
		return 0;
	return -1;	/* auto */
}

/* --color, then color.mlp, then color.ui; NO_COLOR and TERM=dumb turn "auto" off. */
static int want_color(struct mlp_repo *repo)
{
	char *v = NULL;
	int on = color_opt;
	const char *term = getenv("TERM");

	if (on < 0 && repo && (mlp_config_get_string(repo, "color.mlp", &v) == 0 ||
			       mlp_config_get_string(repo, "color.ui", &v) == 0)) {
		on = parse_when(v);
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
	int ret, err, pager = -1;

	/* options of git-mlp itself, before the command */
	while (argc > 1 && argv[1][0] == '-') {
		const char *a = argv[1];
		if (!strcmp(a, "--color"))
			color_opt = 1;
		else if (!strncmp(a, "--color=", 8)) {
			color_opt = parse_when(a + 8);
			if (color_opt < 0 && strcasecmp(a + 8, "auto")) {
				fprintf(stderr, "error: --color takes always, never or auto\n");
				return 129;
			}
		} else if (!strcmp(a, "--no-color"))
			color_opt = 0;
		else if (!strcmp(a, "-p") || !strcmp(a, "--paginate"))
			pager = mlp_pager_opt = 1;
		else if (!strcmp(a, "-P") || !strcmp(a, "--no-pager"))
			pager = mlp_pager_opt = 0;
		else
			break;
		argv[1] = argv[0];
		argv++;
		argc--;
	}

	if (argc < 2 || !strcmp(argv[1], "-h")) {
		print_commands(argc < 2 ? stderr : stdout);
		return argc < 2 ? 129 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		struct mlp_buf v = MLP_BUF_INIT;
		mlp_versions(&v);
		printf("git-mlp version %s\n%s", MLP_VERSION, v.buf ? v.buf : "");
		mlp_buf_release(&v);
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
	ctx.color = want_color(NULL);
	/* `git mlp ls -h` works outside a repository, as in git */
	if ((cmd->flags & NEED_REPO) && !(argc == 3 && !strcmp(argv[2], "-h"))) {
		err = mlp_repo_open(&ctx.repo);
		if (err == MLP_ENOREPO)
			die("%s", mlp_error_message());
		if (err < 0)
			die_lib();
		ctx.color = want_color(ctx.repo);
		/* `git mlp log metric ...` writes nothing: no pager for it */
		if ((cmd->flags & USE_PAGER) && pager != 0 && !(argc == 3 && !strcmp(argv[2], "-h")) &&
		    !(!strcmp(cmd->name, "log") && argc > 2 &&
		      (!strcmp(argv[2], "metric") || !strcmp(argv[2], "param") ||
		       !strcmp(argv[2], "tag") || !strcmp(argv[2], "artifact"))))
			setup_pager(ctx.repo);
		else if (pager == 1)
			setup_pager(ctx.repo);
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

static const char *const help_usage[] = { "git mlp help [<command>]", NULL };

/*
 * The manual: git-mlp(1), or git-mlp-<command>(1).  Asked as
 * `git help git-mlp-<command>`: git would look `mlp-<command>` up as the
 * guide "gitmlp-<command>".
 */
int cmd_help(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_option opts[] = { OPT_END() };
	struct mlp_buf page = MLP_BUF_INIT;
	const struct command *cmd = NULL;

	(void)ctx;
	argc = mlp_parse_options(argc, argv, opts, help_usage, 0);
	if (argc > 1)
		mlp_usage_with_options(help_usage, opts);
	if (argc == 1) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(commands[i].name, argv[0]))
				cmd = &commands[i];
		if (!cmd) {
			fprintf(stderr, "git: '%s' is not a git mlp command. See 'git mlp -h'.\n", argv[0]);
			return 1;
		}
	}
	mlp_buf_addf(&page, "git-mlp");
	if (cmd)
		mlp_buf_addf(&page, "-%s", cmd->name);
	fflush(stdout);
	execlp("git", "git", "help", page.buf, (char *)NULL);
	die("cannot run 'git help %s': %s", page.buf, strerror(errno));
}
