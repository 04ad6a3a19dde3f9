/*
 * Sweeps: the points of a parameter grid or of a random search, the
 * commands they run, and the queue of points recorded as runs.
 *
 * Ownership: a struct mlp_sweep is filled by mlp_sweep_add() and released
 * with mlp_sweep_release(); points from mlp_sweep_grid() and
 * mlp_sweep_random() are an array of maps the caller releases with
 * mlp_sweep_points_free().  Nothing here keeps a pointer into its inputs.
 *
 * A dimension is "key=spec" where spec is one of
 *
 *   a,b,c            a list of values (also choice(a,b,c))
 *   uniform(lo,hi)   a float drawn uniformly from [lo, hi)
 *   log(lo,hi)       a float whose logarithm is uniform (0 < lo < hi)
 *   int(lo,hi)       an integer drawn uniformly from [lo, hi], both included
 *
 * A point maps each key to the text of its value (MLP_STR): the text goes
 * into the command as it is and is typed like `-p key=value` when it is
 * recorded, so "1e-3" in the command and 0.001 in params agree.  Drawn
 * floats keep 6 significant digits, so their text is their exact value.
 */
#ifndef MLP_SWEEP_H
#define MLP_SWEEP_H

#include "mlp.h"

#define MLP_SWEEP_MAX_POINTS 100000

enum mlp_dim_kind { MLP_DIM_LIST = 0, MLP_DIM_UNIFORM, MLP_DIM_LOG, MLP_DIM_INT };

struct mlp_sweep_dim {
	char *key;
	enum mlp_dim_kind kind;
	char **values;		/* MLP_DIM_LIST: the texts */
	size_t nvalues;
	double lo, hi;		/* ranges */
};

struct mlp_sweep {
	struct mlp_sweep_dim *dims;	/* in the order they were added */
	size_t ndims;
};
#define MLP_SWEEP_INIT { NULL, 0 }

/* Parses "key=spec" into a new dimension; MLP_EINVALID with a message. */
int mlp_sweep_add(struct mlp_sweep *s, const char *arg);
void mlp_sweep_release(struct mlp_sweep *s);

/*
 * Every combination of the list dimensions, the last dimension varying
 * fastest.  MLP_EINVALID when a dimension is a range (those need random
 * points), MLP_ELIMIT beyond MLP_SWEEP_MAX_POINTS.
 */
int mlp_sweep_grid(struct mlp_map **out, size_t *n, const struct mlp_sweep *s);
/* `k` points drawn with a PRNG seeded by `seed`: the same seed, the same points. */
int mlp_sweep_random(struct mlp_map **out, size_t k, const struct mlp_sweep *s, uint64_t seed);
void mlp_sweep_points_free(struct mlp_map *points, size_t n);

/*
 * Replaces each {key} in `tmpl` whose key is in `point` by its text; any
 * other brace is kept as it is (so JSON in a command passes through).
 */
void mlp_sweep_template(struct mlp_buf *out, const char *tmpl, const struct mlp_map *point);
/*
 * Names in {name} placeholders of `tmpl` (identifier-like: letters,
 * digits, '_', '.', '-') that are not keys of the sweep, appended to
 * *names (free each and the array).
 */
void mlp_sweep_unknown_placeholders(char ***names, size_t *n, const char *tmpl,
				    const struct mlp_sweep *s);
/* Whether {key} appears in `tmpl`. */
int mlp_sweep_uses(const char *tmpl, const char *key);

/* xoshiro256**: small, fast, and the same sequence on every machine. */
struct mlp_rng {
	uint64_t s[4];
};
void mlp_rng_seed(struct mlp_rng *r, uint64_t seed);
uint64_t mlp_rng_next(struct mlp_rng *r);
/* In [0, 1), 53 random bits. */
double mlp_rng_double(struct mlp_rng *r);
/* In [0, n) without modulo bias; 0 when n is 0. */
uint64_t mlp_rng_below(struct mlp_rng *r, uint64_t n);

/* ---- the queue ------------------------------------------------------------- */

/*
 * Claims a queued run: writes a commit with status running, this host,
 * `pid` and the start time, moving the ref from run->commit by
 * compare-and-swap.  MLP_EINVALID when the run is not queued,
 * MLP_ECONFLICT when the ref moved (someone else claimed it).
 */
int mlp_queue_claim(struct mlp_repo *repo, struct mlp_run *run, long pid);

#endif
