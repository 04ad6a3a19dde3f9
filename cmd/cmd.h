/*
 * The git-mlp tool: shared declarations of cmd/.  The tool talks to the
 * library only through lib/mlp.h.
 */
#ifndef MLP_CMD_H
#define MLP_CMD_H

#include "mlp.h"
#include <stdio.h>

struct mlp_ctx {
	struct mlp_repo *repo;	/* opened by main for commands that need one */
	int color;		/* colour on stdout */
};

/* git's conventions: die() exits 128, usage 129, error() returns -1 */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warning(const char *fmt, ...);
/* A library failure: exit 128 with its message. */
__attribute__((noreturn)) void die_lib(void);
void warn_cb(void *data, const char *msg);

/* ---- options ---------------------------------------------------------- */

enum mlp_opt_type { OPT_T_END, OPT_T_BOOL, OPT_T_STRING, OPT_T_INT, OPT_T_LIST };

struct mlp_strlist {
	const char **items;
	size_t nr;
};

struct mlp_option {
	enum mlp_opt_type type;
	char short_name;
	const char *long_name;
	void *value;
	const char *argh;
	const char *help;
};

#define OPT_BOOL(s, l, v, h) { OPT_T_BOOL, (s), (l), (v), NULL, (h) }
#define OPT_STRING(s, l, v, a, h) { OPT_T_STRING, (s), (l), (v), (a), (h) }
#define OPT_INT(s, l, v, a, h) { OPT_T_INT, (s), (l), (v), (a), (h) }
#define OPT_LIST(s, l, v, a, h) { OPT_T_LIST, (s), (l), (v), (a), (h) }
#define OPT_END() { OPT_T_END, 0, NULL, NULL, NULL, NULL }

#define PARSE_OPT_STOP_AT_NON_OPTION 1u

/*
 * Parses argv[1..] (argv[0] is the subcommand); returns the number of
 * arguments left, moved to the front of argv.  `-h` prints the usage on
 * stdout and exits 0; a bad option prints it on stderr and exits 129.
 */
int mlp_parse_options(int argc, const char **argv, const struct mlp_option *opts,
		      const char *const *usage, unsigned flags);
__attribute__((noreturn)) void mlp_usage_with_options(const char *const *usage,
						       const struct mlp_option *opts);
void mlp_strlist_free(struct mlp_strlist *l);

/* ---- helpers shared by subcommands --------------------------------------- */

/* Resolves a <run> argument to an id; prints the error and returns -1. */
int resolve_run(struct mlp_ctx *ctx, const char *spec, char id[MLP_ID_HEXSZ + 1]);
void write_stdout(const struct mlp_buf *b);
/* Writes b to path ("-" or NULL: stdout); prints the error and returns -1. */
int write_file_or_stdout(const char *path, const struct mlp_buf *b);
/*
 * A string of a record made safe for a terminal (mlp_text_sanitize), in
 * one of 4 buffers used in turn: valid until the 4th call after; NULL
 * gives "".
 */
const char *term_text(const char *s);
/* The width of the terminal on stdout, or 0 when it is not one. */
size_t term_width(void);
/* Starts the pager for stdout when it is a terminal; 1 when started. */
int setup_pager(struct mlp_repo *repo);
extern int mlp_pager_opt;	/* -p: 1, -P: 0, neither: -1 */
/* A query that does not parse: the expression with a caret, exit 129. */
__attribute__((noreturn)) void die_query(const char *expr);
/* A run by id prefix, name or revision (+ pick); exits 1 when none. */
struct mlp_run *select_run(struct mlp_ctx *ctx, const struct mlp_run_list *all, const char *spec,
			   const char *pick);
/* The run of a commit chosen by `pick`, or NULL. */
struct mlp_run *pick_from_commit(const struct mlp_run_list *all, const char *commit, const char *tree,
				 const char *pick, const struct mlp_run *except, int clean_first);
/* Splits "a,b,c" (each list item may hold several). */
void split_columns(struct mlp_strlist *out, const struct mlp_strlist *in, char ***owned, size_t *nowned);

int cmd_init(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_run(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_log(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_ls(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_show(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_rm(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_cat(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_fsck(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_diff(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_compare(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_log_history(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_tag(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_note(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_help(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_checkout(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_gc(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_report(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_plot(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_sweep(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_queue(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_rerun(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_apply(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_import(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_export(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_push(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_fetch(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_pull(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_ls_remote(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_install_hooks(int argc, const char **argv, struct mlp_ctx *ctx);
int cmd_hook(int argc, const char **argv, struct mlp_ctx *ctx);
/* Sync results (cmd/push.c): a line per run that changed; counts on stderr. */
struct mlp_sync_result;
void print_sync_result(struct mlp_ctx *ctx, const struct mlp_sync_result *res, int show_uptodate);
void print_sync_summary(const char *what, const char *remote, const struct mlp_sync_result *res);

/* ---- child processes of sweep, queue and rerun (sweep.c) ----------------- */

/* SIGINT, SIGTERM and SIGHUP only set a flag that pool_run() acts on. */
void sweep_catch_signals(void);
int sweep_stop_signal(void);
/* Starts this git-mlp binary with args (args[0] "git-mlp") in dir (NULL: here). */
long spawn_mlp(const char *const *args, const char *dir, int own_group);
/* Runs git; its stdout into `out` when not NULL; returns its exit status. */
int run_git(struct mlp_buf *out, const char *const *args, int quiet);
/* Returns the pid of the child started for item i, or 0 to skip the item. */
typedef long (*pool_start_fn)(void *data, size_t i);
typedef void (*pool_done_fn)(void *data, size_t i, int exit_code);
/* Up to `jobs` children at once; stops starting items on a signal, which
 * it forwards to the running ones.  Returns that signal, or 0. */
int pool_run(size_t n, size_t jobs, pool_start_fn start, pool_done_fn done, void *data);
/* A param as text that `-p key=<text>` types back to the same value. */
void format_param(struct mlp_buf *b, const struct mlp_value *v);
/* The runs whose parent is `parent`. */
int sweep_load_points(struct mlp_run_list *list, struct mlp_ctx *ctx, const char *parent);
/* The points of a sweep as a table on stdout, best first. */
void sweep_print_summary(struct mlp_ctx *ctx, const char *parent, const char *sort);

/* Artifact progress on stderr (terminal only, after a second); data: int *shown or NULL. */
void progress_cb(void *data, const struct mlp_progress *p, int final);

#endif
