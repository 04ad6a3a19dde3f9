/*
 * Library internals shared between lib/ modules; never included by cmd/.
 */
#ifndef MLP_INTERNAL_H
#define MLP_INTERNAL_H

#include "mlp.h"
#include <git2.h>
#include <sys/types.h>

struct mlp_cfg_param {
	char *key;	/* canonical: section and variable lowercased */
	char *value;	/* NULL for a bare `-c key` (boolean true) */
};

struct mlp_repo {
	git_repository *git;
	char *mlpdir;
	char *workdir;
	char *prefix;
	struct mlp_cfg_param *params;	/* from `git -c`, later ones win */
	size_t params_nr;
	git_config *cfg;	/* snapshot taken at the first read; NULL after a write */
	char resolved_id[MLP_ID_HEXSZ + 1];	/* the last run spec resolved to one run */
	git_oid resolved_commit;		/* ...and its commit, per the index */
};

/* Sets the library error from libgit2's last error and returns `code`. */
int mlp_git_error(int code, const char *what);

/* Author (GIT_AUTHOR_*) or committer (GIT_COMMITTER_*) identity at `when_ms`. */
int mlp_repo_signature(git_signature **out, struct mlp_repo *repo, int committer,
		       int64_t when_ms);

#define MLP_REF_PREFIX "refs/mlp/runs/"

int mlp_hex_valid(const char *s, size_t len);

struct mlp_mp;
/*
 * The map under the top-level `field` of a record: 1 with `r` at its
 * first entry and *n entries, 0 when absent, < 0 when corrupt.
 */
int mlp_record_open_map(struct mlp_mp *r, const void *data, size_t len, const char *field, uint32_t *n);
/* The "last" field of one metric's map of summary fields at `r` (0 when absent). */
int mlp_record_read_summary_last(struct mlp_mp *r, double *last);

/*
 * Work split over the cores: mlp_threads() says how many parts to make of
 * n items (1 below MLP_PARALLEL_MIN items, where one thread is quicker,
 * or on one core; at most MLP_MAX_THREADS),
 * and mlp_run_parts() calls fn(&parts[k]) for each of the nt parts, each
 * `size` bytes, on a thread of its own but for the first, which runs in
 * the caller's.  A part whose thread cannot start runs in the caller's
 * too: the work is done either way.
 */
#define MLP_MAX_THREADS 4
#define MLP_PARALLEL_MIN 2048
size_t mlp_threads(size_t n);
void mlp_run_parts(void *(*fn)(void *), void *parts, size_t size, size_t nt);

/*
 * Loads a run; with `known` the ref is not read again, and with `raw_out`
 * the bytes of run.mp, params.mp and summary.mp are handed to the caller
 * (release each buffer).
 */
int mlp_run_load_oid(struct mlp_run **out, struct mlp_repo *repo, const char *id,
		     const git_oid *known, unsigned flags, struct mlp_buf raw_out[3]);
/* A run from cached record bytes, decoded (and checked) as from git. */
int mlp_run_from_records(struct mlp_run **out, const char *id, const char *commit,
			 int64_t commit_time, const char *workspace, const struct mlp_buf raw[3]);

/*
 * The ids of the runs whose base is one of `commits` (sorted by
 * git_oid_cmp), newest first, from the index cache: no run is decoded.
 * Runs that do not decode are left out.  Free with mlp_sync_ids_free().
 */
int mlp_index_runs_of_commits(char ***ids, size_t *n, struct mlp_repo *repo, const git_oid *commits,
			      size_t nc);

/*
 * The run refs as the index cache reads them, with the signature of
 * exactly those refs (taken in the same pass over the files, or before
 * libgit2 lists them): an index built from them is current only while
 * no run ref has changed since.  Release with mlp_index_refs_release().
 */
struct mlp_index_ref {
	unsigned char id[16];
	git_oid oid;
};
struct mlp_index_refs {
	struct mlp_index_ref *e;
	size_t nr;
	uint64_t sig;
};
int mlp_index_refs_read(struct mlp_index_refs *out, struct mlp_repo *repo);
void mlp_index_refs_release(struct mlp_index_refs *refs);
/*
 * Brings the index cache up to date with `refs`, just read by
 * mlp_index_refs_read(), without reading the refs again (a command that
 * has just read them saves a second pass over every loose ref).  Then
 * names[i] (n of them, caller-allocated) is set to the name of run
 * ids[i] as that index has it, or left NULL; the caller frees each.
 */
int mlp_index_update(struct mlp_repo *repo, const struct mlp_index_refs *refs, char *const *ids,
		     size_t n, char **names, mlp_warn_fn warn, void *data);

/* Resolves a run spec through the index cache (see mlp_run_resolve). */
int mlp_index_resolve(char ***ids_out, git_oid **commits_out, struct mlp_repo *repo, const char *spec);

/*
 * A child process started with posix_spawn (lib/ never forks: the child
 * of a fork could only report a failed exec by printing and exiting).
 * argv[0] is looked up in PATH, and a file the kernel cannot execute
 * (a script without #!) is run by /bin/sh, as execvp() does.
 */
struct mlp_child {
	const char *const *argv;
	const char *const *env_add;	/* "K=V" set over this process's environment */
	const char *const *env_unset;	/* names left out of it */
	const char *dir;		/* its working directory, or NULL */
	int fd[3];			/* its 0, 1, 2: -1 ours, MLP_CHILD_DEVNULL /dev/null */
	int new_session;		/* setsid, and SIGHUP ignored */
};
#define MLP_CHILD_DEVNULL (-2)
/*
 * Starts the child with the default action for SIGINT, SIGTERM, SIGHUP
 * (unless new_session) and SIGPIPE, whatever ours are, and no signal
 * blocked.  Returns 0 with *pid set, or the errno value of what failed
 * (the command not found, not executable, no such directory...): then no
 * child ran.
 */
int mlp_child_spawn(pid_t *pid, const struct mlp_child *c);

struct mlp_journal;
/* mlp_ingest_json_line() that also journals what it applies (j may be NULL). */
int mlp_ingest_json_line_j(struct mlp_run *run, const char *line, size_t len, int64_t now_ms,
			   struct mlp_journal *j);

#endif
