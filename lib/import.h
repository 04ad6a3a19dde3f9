/*
 * Import from and export to the ML ecosystem: MLflow tracking stores
 * (FileStore directory and SQLite database), DVCLive directories, DVC
 * experiment refs, and exports as JSON, CSV or an MLflow FileStore.
 *
 * Ownership: runs returned through `out` belong to the caller
 * (mlp_run_free()); everything else stays with the caller that passed it.
 *
 * Every source is untrusted data: file sizes, line lengths, directory
 * depth, and the numbers of params, tags, metric keys and points are
 * capped (the limits below and in mlp.h); a malformed value is skipped
 * with a warning, never guessed at.  Nothing read from a source is used
 * as a path outside that source or run.
 */
#ifndef MLP_IMPORT_H
#define MLP_IMPORT_H

#include "mlp.h"

/* Caps for imported content (a run or file over one is skipped with a warning). */
#define MLP_IMPORT_MAX_VALUE (1u << 20)		/* one param or tag file */
#define MLP_IMPORT_MAX_LINE 4096		/* one metric line */
#define MLP_IMPORT_MAX_POINTS (1u << 24)	/* metric points of one run */
#define MLP_IMPORT_MAX_RUNS 1000000		/* runs of one source */
#define MLP_IMPORT_MAX_DEPTH 16			/* nested key directories */

struct mlp_import_opts {
	mlp_warn_fn warn;		/* warnings; may be NULL */
	void *warn_data;
	int dry_run;			/* read and count, write nothing */
	const char *experiment;		/* overrides the source's experiment; may be NULL */
	const char *name;		/* dvclive: the run name; NULL: a new name */
	const char *base;		/* dvclive: base revision; NULL: HEAD */
};

struct mlp_import_stats {
	size_t imported;	/* runs written (or that would be, with dry_run) */
	size_t present;		/* runs already imported earlier */
	size_t skipped;		/* runs left out (deleted in the source, unreadable) */
	size_t no_base;		/* runs whose source commit is not in this repository */
	size_t artifacts;	/* runs whose artifacts were left out */
};

/*
 * MLflow: `src` is a FileStore directory (mlruns/), an SQLite tracking
 * database (mlflow.db), or a `file://` / `sqlite:///` URI of either.
 * One git-mlp run per active MLflow run; runs whose MLflow id is the
 * mlflow.run_id tag (or the id) of a run here already are counted as
 * present and not written again.
 */
int mlp_import_mlflow(struct mlp_repo *repo, const char *src, const struct mlp_import_opts *o,
		      struct mlp_import_stats *st);
/* One run from a DVCLive directory (TSVs under plots/metrics, metrics.json, params.yaml). */
int mlp_import_dvclive(struct mlp_repo *repo, const char *dir, const struct mlp_import_opts *o,
		       struct mlp_import_stats *st);
/* One run per DVC experiment ref (refs/exps/XX/<baseline>/<name>) of this repository. */
int mlp_import_dvc_exp(struct mlp_repo *repo, const struct mlp_import_opts *o,
		       struct mlp_import_stats *st);

/* ---- the parsers, exposed for the unit tests ------------------------------ */

/* FileStore: one run directory <exp>/<run_id>/ into *out (experiment name given). */
int mlp_mlflow_read_run_dir(struct mlp_run **out, const char *dir, const char *experiment,
			    mlp_warn_fn warn, void *wdata);
/* Lines `timestamp value [step]` of a FileStore metric file into `run`. */
int mlp_mlflow_parse_metric(struct mlp_run *run, const char *key, const char *data, size_t len,
			    size_t *bad);
/* FINISHED/3, FAILED/4, KILLED/5, RUNNING/1, SCHEDULED/2 (case-insensitive). */
int mlp_mlflow_status(enum mlp_status *out, int *was_running, const char *s);
/* A metric, param or tag key MLflow accepts and that is safe as a relative
 * path: [A-Za-z0-9_.- /], no empty, "." or ".." component, no leading '/'. */
int mlp_mlflow_key_ok(const char *key);

/* ---- export ------------------------------------------------------------------- */

/* One run (series loaded) as a JSON object with full metric histories. */
void mlp_export_json_run(struct mlp_buf *b, const struct mlp_run *run);

struct mlp_export_stats {
	size_t runs, experiments;
	size_t artifacts;	/* artifact files written */
	size_t keys_skipped;	/* params, metrics or tags whose key MLflow cannot hold */
};

/*
 * Writes the runs `ids` as an MLflow FileStore under `dir`, which must be
 * missing or empty unless `force`.  Files are created below `dir` only:
 * no symlink is followed (O_NOFOLLOW on every component).  A run's stored
 * artifacts go to its artifacts/ directory through mlp_artifact_checkout().
 */
int mlp_export_mlflow(struct mlp_repo *repo, char *const *ids, size_t n, const char *dir,
		      int force, mlp_warn_fn warn, void *wdata, struct mlp_export_stats *st);

#endif
