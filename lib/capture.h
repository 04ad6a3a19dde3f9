/*
 * Capture with no code changes: scalars printed on stdout/stderr, DVCLive's
 * files, params and metrics files, and system figures.  Each reader hands
 * what it finds to a callback; lib/live.c journals it.
 */
#ifndef MLP_CAPTURE_H
#define MLP_CAPTURE_H

#include "mlp.h"

typedef void (*mlp_point_fn)(void *data, const char *key, int has_step, int64_t step,
			     double value, int64_t t_ms);

/* ---- scalars in output lines ------------------------------------------------ */

struct mlp_scalars;

/*
 * Without patterns, the built-in rules apply: "key: 0.21" and "key=0.21"
 * pairs, with step/epoch/iter(ation) fields giving the step.  Patterns are
 * PCRE2 expressions with named groups key and value (and optionally step);
 * a pattern may instead name the metric in a group of any other name, as
 * in (?<loss>[0-9.]+).  MLP_EINVALID for a pattern that does not compile.
 */
int mlp_scalars_new(struct mlp_scalars **out, const char *const *patterns, size_t n);
void mlp_scalars_free(struct mlp_scalars *s);
/* Calls `fn` for each scalar of one line (without its newline). */
void mlp_scalars_match(struct mlp_scalars *s, const char *line, size_t len,
		       mlp_point_fn fn, void *data);

/* ---- DVCLive ------------------------------------------------------------------ */

struct mlp_dvclive;

struct mlp_dvclive *mlp_dvclive_new(const char *dir);
void mlp_dvclive_free(struct mlp_dvclive *d);
/*
 * Reads rows added to the .tsv files under dvclive/plots/metrics since the last call;
 * at the end (`final`) also dvclive/metrics.json for metrics that have no
 * TSV history.  Malformed rows are warned about once per file.
 */
int mlp_dvclive_poll(struct mlp_dvclive *d, int final, mlp_point_fn fn, void *data,
		     mlp_warn_fn warn, void *wdata);
/* dvclive/params.yaml, when it changed since the last call. */
int mlp_dvclive_params(struct mlp_dvclive *d, struct mlp_map *out, int *changed);
int mlp_dvclive_seen(const struct mlp_dvclive *d);

/* ---- params and metrics files --------------------------------------------------- */

/*
 * A YAML or JSON file of nested maps flattened to dotted keys (Hydra's
 * config.yaml, params.yaml, params.json).  Lists are kept as JSON text.
 */
int mlp_read_params_file(struct mlp_map *out, const char *path);
/* Numeric leaves of a JSON or YAML metrics file. */
int mlp_read_metrics_file(struct mlp_map *out, const char *path);
/*
 * The same from bytes in memory (a blob of a commit): JSON when `path`
 * ends in .json, else YAML; `numeric` keeps only numbers; `sep` joins
 * nested keys.
 */
int mlp_parse_flat(struct mlp_map *out, const char *data, size_t len, const char *path,
		   int numeric, char sep);

/* ---- system figures --------------------------------------------------------------- */

struct mlp_sysmon;

struct mlp_sysmon *mlp_sysmon_new(long pid);
void mlp_sysmon_free(struct mlp_sysmon *m);
/* CPU %, RSS of the process tree under pid, and GPUs through nvidia-smi. */
void mlp_sysmon_sample(struct mlp_sysmon *m, mlp_point_fn fn, void *data);

#endif
