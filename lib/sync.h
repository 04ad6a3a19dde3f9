/*
 * Sharing runs through git remotes, and the logic of the git hooks.
 *
 * Transport is always the user's own `git` executable, spawned with an
 * argv (never a shell) and the caller's environment, so credentials, ssh
 * config and `insteadOf` work as for code.  Every result is reported per
 * run in a struct mlp_sync_result owned by the caller
 * (mlp_sync_result_release()); ids returned through `char ***` belong to
 * the caller (free each and the array: mlp_sync_ids_free()).
 */
#ifndef MLP_SYNC_H
#define MLP_SYNC_H

#include "mlp.h"

/* ---- spawning git ------------------------------------------------------------ */

struct mlp_spawn {
	const char *const *argv;	/* argv[0] is looked up in PATH */
	const char *const *env_add;	/* "K=V" added to the environment, or NULL */
	const char *dir;		/* working directory, or NULL */
	const char *in;			/* fed to stdin (then closed); NULL: /dev/null */
	size_t in_len;
	int capture_out, capture_err;	/* 0: inherit the caller's fd */
	struct mlp_buf out, err;	/* captured output (release both) */
	int status;			/* exit code, or 128 + signal */
};

/* Runs the command to its end.  Fails only when it cannot be started. */
int mlp_spawn_run(struct mlp_spawn *s);
void mlp_spawn_release(struct mlp_spawn *s);

/* ---- push, fetch, ls-remote ---------------------------------------------------- */

enum mlp_sync_state {
	MLP_SYNC_PUSHED,	/* push: the remote now has our commit */
	MLP_SYNC_UPTODATE,	/* both sides have the same commit */
	MLP_SYNC_NEW,		/* fetch: a run we did not have */
	MLP_SYNC_UPDATED,	/* fetch: fast-forwarded (or taken: we had not changed it) */
	MLP_SYNC_MERGED,	/* diverged; both sides merged into a new run commit */
	MLP_SYNC_AHEAD,		/* fetch: ours has changes the remote does not have */
	MLP_SYNC_REJECTED,	/* failed; `reason` says why */
	MLP_SYNC_DELETED,	/* deleted (fetch --prune, rm --remote) */
	MLP_SYNC_KEPT,		/* fetch --prune: gone remotely but changed here: kept */
	MLP_SYNC_DIFFERS,	/* ls-remote: both have it, different commits */
	MLP_SYNC_REMOTE_ONLY	/* ls-remote: only the remote has it */
};
const char *mlp_sync_state_name(enum mlp_sync_state s);

struct mlp_sync_item {
	char id[MLP_ID_HEXSZ + 1];
	char old[MLP_OID_HEXSZ + 1];	/* before ("" when absent) */
	char oid[MLP_OID_HEXSZ + 1];	/* after / the remote's commit */
	enum mlp_sync_state state;
	char *reason;			/* rejections, merge notes; may be NULL */
	char *name;			/* fetch: the run's name per the index cache, or NULL */
};

struct mlp_sync_result {
	struct mlp_sync_item *items;	/* sorted by id once returned */
	size_t nr, alloc;
	size_t retries;			/* git invocations repeated (lock contention) */
	size_t merged, rejected;
};
#define MLP_SYNC_RESULT_INIT { NULL, 0, 0, 0, 0, 0 }
void mlp_sync_result_release(struct mlp_sync_result *r);
size_t mlp_sync_count(const struct mlp_sync_result *r, enum mlp_sync_state s);

struct mlp_sync_opts {
	mlp_warn_fn warn;	/* retries, merge conflicts: one call each */
	void *warn_data;
	int max_retries;	/* on lock contention; 0: the default (8) */
};

/* `name` is a configured remote, or looks like a URL or a path. */
int mlp_sync_is_remote(struct mlp_repo *repo, const char *name);
/* Every configured remote; free with mlp_sync_ids_free(). */
int mlp_sync_remotes(char ***out, size_t *n, struct mlp_repo *repo);

/* The remote of the current branch's upstream, else "origin" if it exists. */
int mlp_sync_default_remote(char **out, struct mlp_repo *repo);

/*
 * Pushes refs/mlp/runs/<id> of each id (all runs when `ids` is NULL)
 * without ever forcing: a run that diverged is fetched, merged and pushed
 * again; lock contention on the remote is retried with backoff.
 */
int mlp_sync_push(struct mlp_repo *repo, const char *remote, char *const *ids, size_t n,
		  const struct mlp_sync_opts *o, struct mlp_sync_result *res);

/*
 * Fetches every run of the remote: new runs and fast-forwards are taken,
 * diverged runs are merged locally; with `prune`, runs gone from the
 * remote are deleted here when unchanged since they were last synced.
 */
int mlp_sync_fetch(struct mlp_repo *repo, const char *remote, int prune,
		   const struct mlp_sync_opts *o, struct mlp_sync_result *res);

/* The remote's runs compared with ours (UPTODATE, DIFFERS, REMOTE_ONLY). */
int mlp_sync_ls_remote(struct mlp_repo *repo, const char *remote, struct mlp_sync_result *res);

/* Deletes the runs on the remote (DELETED, or REJECTED with the reason). */
int mlp_sync_delete_remote(struct mlp_repo *repo, const char *remote, char *const *ids, size_t n,
			   const struct mlp_sync_opts *o, struct mlp_sync_result *res);

/*
 * The runs that go with the code: runs whose base commit is in
 * `@{upstream}..HEAD` or is HEAD.  *no_upstream is set when the branch
 * has none (then only HEAD's runs).  With `range` ("A..B" or one
 * revision), the runs of the commits of that range instead.
 */
int mlp_sync_select(char ***ids, size_t *n, struct mlp_repo *repo, const char *range,
		    int *no_upstream);
void mlp_sync_ids_free(char **ids, size_t n);

/* Adds the fetch refspec for all runs (see docs/format.md) to remote.<name>.fetch. */
int mlp_sync_add_fetch_refspec(struct mlp_repo *repo, const char *remote, int *added);

/*
 * Merges two versions of run `id` (commits `ours` and `theirs`, hex;
 * `common` is the version both last agreed on, or NULL): tags, params
 * and the note three-way, metric series as the union of their points.
 * Writes the merged run commit (parents: base, ours, theirs) and moves the
 * local ref from `ours` to it.  Notes on conflicts go to `report`.
 */
int mlp_sync_merge_run(struct mlp_repo *repo, const char *id, const char *ours,
		       const char *theirs, const char *common, char out[MLP_OID_HEXSZ + 1],
		       struct mlp_buf *report);

/*
 * What fetch does with run `id` when the remote's commit `theirs` (its
 * objects already here) differs from ours at `ours`; `common` as for
 * mlp_sync_merge_run().  The first rule that applies:
 *
 *   ours == theirs                                    UPTODATE
 *   ours descends from theirs, or theirs == common    AHEAD (nothing moves)
 *   theirs does not decode as run `id`                an error, nothing moves
 *   theirs descends from ours, or ours == common      UPDATED (ref moved to theirs)
 *   otherwise (changed on both sides)                 MERGED (mlp_sync_merge_run)
 *
 * Refs move with compare-and-swap from `ours`.  `out` is where the ref
 * points afterwards; merge notes go to `report`.
 */
int mlp_sync_reconcile(enum mlp_sync_state *state, char out[MLP_OID_HEXSZ + 1], struct mlp_repo *repo,
		       const char *id, const char *ours, const char *theirs, const char *common,
		       struct mlp_buf *report);

/* ---- hooks ---------------------------------------------------------------------- */

#define MLP_HOOK_MARKER "# git-mlp hook: installed by 'git mlp install-hooks'"
/* Environment variable set while a hook pushes runs: no recursion. */
#define MLP_HOOK_GUARD "GIT_MLP_IN_HOOK"

extern const char *const mlp_hook_names[];	/* NULL-terminated */

/* The hooks directory (core.hooksPath honoured); caller frees. */
int mlp_hooks_dir(char **out, struct mlp_repo *repo);

/* One line per action: "pre-push: installed", "post-commit: chained ...". */
typedef void (*mlp_note_fn)(void *data, const char *hook, const char *what);

/*
 * Installs the hook scripts; an existing hook that is not ours is renamed
 * to <name>.mlp-chained and called first by ours.  With `uninstall`, our
 * scripts are removed and chained hooks put back.
 */
int mlp_hooks_install(struct mlp_repo *repo, int uninstall, mlp_note_fn note, void *data);
/* The text of the hook script for `name`. */
void mlp_hook_script(struct mlp_buf *out, const char *name);
/* The chained user hook for `name` if it exists and is executable. */
int mlp_hook_chained(char **out, struct mlp_repo *repo, const char *name);

/*
 * pre-push: the runs of the commits being pushed, from the hook's stdin
 * lines (<local ref> <local oid> <remote ref> <remote oid>).
 */
int mlp_hook_pre_push_runs(char ***ids, size_t *n, struct mlp_repo *repo, const char *remote,
			   const char *lines, size_t len);

/*
 * prepare-commit-msg: appends an `Mlp-Run: <id8> <name> <metrics>`
 * trailer to the message file for each run whose workspace tree is the
 * tree being committed (the index), unless the message has it already.
 */
int mlp_hook_prepare_commit_msg(struct mlp_repo *repo, const char *msg_file, const char *source,
				size_t *added);

/*
 * post-commit: the mlp.autorun.command to start, or MLP_ENOTFOUND.  A
 * value from worktree or app config, or from a file included from inside
 * the work tree, is refused with MLP_EINVALID (a clone must never be able
 * to run a command).  *match says whether HEAD touches mlp.autorun.paths.
 */
int mlp_hook_autorun(char **command, int *match, struct mlp_repo *repo);
/* Starts `git mlp run -- sh -c <command>` detached, output to <mlpdir>/autorun.log. */
int mlp_hook_autorun_start(struct mlp_repo *repo, const char *command, long *pid);

/*
 * post-checkout, post-merge: the newest finished run with artifacts whose
 * workspace snapshot is the tree of `rev` (NULL: HEAD), i.e. that ran
 * exactly the code of that commit; a run without a snapshot counts when
 * it is clean and its base is that commit.  MLP_ENOTFOUND when none is.
 */
int mlp_hook_checkout_run(char id[MLP_ID_HEXSZ + 1], struct mlp_repo *repo, const char *rev);

#endif
