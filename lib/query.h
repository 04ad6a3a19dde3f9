/*
 * The query language of git-mlp: MLflow's search filter syntax plus
 * `or`, `not` and parentheses, and the field lookups that sorting,
 * columns and diffs share with it.
 *
 * Ownership: a query from mlp_query_parse() belongs to the caller and is
 * released with mlp_query_free() (NULL is fine); it keeps no pointer into
 * the expression string or into any run.
 *
 * Syntax:
 *
 *   expr       := or
 *   or         := and ('or' and)*
 *   and        := not ('and' not)*
 *   not        := 'not' not | primary
 *   primary    := '(' expr ')' | comparison
 *   comparison := key op literal
 *               | key ['not'] 'like' string | key ['not'] 'ilike' string
 *               | key ['not'] 'in' '(' literal (',' literal)* ')'
 *               | key 'is' ['not'] 'null'
 *   op         := = | != | <> | < | <= | > | >=
 *
 * Keywords are case-insensitive.  An empty (or all-blank) expression is a
 * query that matches every run.
 *
 * Keys: metrics.<k> (last value), metrics.<k>.min|.max|.last|.first|.count
 * (an exact metric key "<k>.min" of the run wins over the aggregate),
 * params.<k>, tags.<k>, attributes.<name> or a bare attribute: id, name,
 * experiment, status, commit (the base commit), branch, host, user,
 * started and ended (ms since the epoch; ended is absent while running),
 * duration (seconds, absent while running), parent, dirty (boolean),
 * exit_code.  Singular prefixes (metric., param., tag., attribute.) and
 * attr. are accepted, as are MLflow's attribute names run_id, run_name,
 * start_time, end_time and user_id.  The key runs up to the operator and
 * may contain dots (params.optimizer.lr); a part of it, or all of it, may
 * be quoted with backquotes or double quotes to hold blanks or operator
 * characters: metrics.`val loss`, `metrics.val loss`, params."a=b"
 * (a doubled quote inside stands for itself).
 *
 * Literals: integers, floats (1e-3, -2.5, inf, -inf), 'single' or "double"
 * quoted strings ('' or \' for a quote, \\ for a backslash; any other
 * backslash stays as it is), true and false.  There is no NaN literal
 * ('nan' is a string) and no null literal (use IS NULL).  For started and
 * ended a string 'YYYY-MM-DD' or 'YYYY-MM-DD[T ]HH:MM[:SS][Z]' is a UTC
 * time (no offsets, no fractions).  Status names are lowercase and a
 * string compared with status is lowercased first, so MLflow's
 * status = 'FINISHED' works; LIKE on status sees the lowercase names.
 * LIKE/ILIKE patterns: % any run of characters, _ one character (UTF-8
 * aware), \% \_ \\ the character itself: '50\%' matches "50%" (the
 * string keeps \%, the pattern reads it) and '\\\\' a backslash.
 * ILIKE folds ASCII case only.
 *
 * Semantics: a comparison on an absent key is false, whatever the
 * operator (!=, NOT LIKE and NOT IN included); `not` is plain boolean
 * negation, so `not metrics.x = 1` is true when x is absent, and
 * `key IS NULL` tests absence directly.  A param stored as null counts as
 * absent.  Numbers compare numerically (integers and floats mix,
 * exactly), strings bytewise, booleans with true/false (= and != only);
 * LIKE needs a string value.  Comparing values of
 * different kinds is an error naming the key: at parse time when the kind
 * of the key is known (metrics, attributes), at match time otherwise
 * (params, tags: "params.lr is a string; cannot compare it with 0.01").
 * NaN compares false with every operator except != (and NOT IN).  `and`
 * and `or` short-circuit, so a comparison that is never reached cannot
 * fail; an absent key is never a type error.
 *
 * Limits: expressions up to MLP_QUERY_MAX_LEN bytes, up to
 * MLP_QUERY_MAX_DEPTH nested parentheses, IN lists up to
 * MLP_QUERY_MAX_IN items (MLP_ELIMIT beyond).  Runs of `not` are folded,
 * not nested, so they count against no limit.
 *
 * Not supported: SQL's BETWEEN, ESCAPE clauses, == , arithmetic, a
 * literal on the left of the operator, comparing two keys, single quotes
 * around identifiers, and MLflow's datasets.* keys.
 */
#ifndef MLP_QUERY_H
#define MLP_QUERY_H

#include "mlp.h"

#define MLP_QUERY_MAX_LEN (64u << 10)
#define MLP_QUERY_MAX_DEPTH 64
#define MLP_QUERY_MAX_IN 10000

struct mlp_query;

/*
 * Parses `expr` into *out (free with mlp_query_free()).  MLP_EINVALID on a
 * syntax error and MLP_ELIMIT over a limit; then mlp_query_error_column()
 * is the 0-based byte column of the offending token and
 * mlp_error_message() says what was expected there.
 */
int mlp_query_parse(struct mlp_query **out, const char *expr);
/* The column of the last parse error in this thread. */
size_t mlp_query_error_column(void);
/*
 * Sets *match to 1 when `run` satisfies `q` (a NULL `q` matches every
 * run), else 0.  MLP_EINVALID when a
 * value of the run cannot be compared with the literal (the message names
 * the key).
 */
int mlp_query_match(const struct mlp_query *q, const struct mlp_run *run, int *match);
void mlp_query_free(struct mlp_query *q);

/*
 * A run not decoded: the encoded records the index cache keeps and the
 * fields its row holds.  Matching a query against a view decodes only the
 * entries the query names, so filtering 100,000 runs allocates nothing.
 */
struct mlp_run_view {
	const char *id;			/* 32 hex, NUL-terminated */
	const char *name;		/* not NUL-terminated; name_len 0: no name */
	size_t name_len;
	enum mlp_status status;
	const char *base;		/* 40 hex, or "" (unborn branch) */
	int dirty;
	int64_t started;
	const void *rec[3];		/* run.mp, params.mp, summary.mp */
	size_t len[3];			/* 0: the record is absent */
};
/*
 * Whether every key of `q` can be answered from a view: metrics, params,
 * tags and the attributes id, name, status, commit, started and dirty.
 */
int mlp_query_view_ok(const struct mlp_query *q);
/*
 * As mlp_query_match() for a view (mlp_query_view_ok() must hold).
 * MLP_ECORRUPT when a record the query needs does not decode: decode the
 * run in full to say what is wrong with it.
 */
int mlp_query_match_view(const struct mlp_query *q, const struct mlp_run_view *view, int *match);

/*
 * A listing as views of the index cache, nothing decoded: what `ls`
 * shows of 100,000 runs is in the rows and records the index keeps.
 * mlp_run_list_select() fills one when asked to (mlp_select.views) and
 * every run it selects can be shown from the index: none damaged, none
 * running (a running run's latest values are in its live directory), and
 * a filter that views answer.  The views point into the index, which the
 * list keeps mapped until mlp_view_list_release().
 */
struct mlp_view_list {
	struct mlp_run_view *views;
	size_t nr;
	int filled;		/* set by mlp_run_list_select(): the runs are here */
	void *priv;		/* the index cache and the views' hex ids */
};
void mlp_view_list_release(struct mlp_view_list *l);
/*
 * As mlp_run_list_sort(), for views: 1 when a key is one views cannot
 * answer (mlp_query_view_ok()'s keys): sort decoded runs instead.
 */
int mlp_view_list_sort(struct mlp_view_list *l, const char *const *keys, size_t nkeys);
/* Whether every sort key (as for mlp_run_list_sort()) can be read from views. */
int mlp_sort_keys_view_ok(const char *const *keys, size_t nkeys);
/* Keeps the first n views. */
void mlp_view_list_truncate(struct mlp_view_list *l, size_t n);
/*
 * As mlp_render_list() for views, in the table and Markdown formats (the
 * others show fields only run.mp holds): 1 when a record does not read
 * as it should, nothing written: render decoded runs instead.
 */
int mlp_render_views(struct mlp_buf *b, const struct mlp_view_list *l, enum mlp_format fmt,
		     const struct mlp_render_opts *o);

/*
 * The value of `key` (the key syntax above, taken whole: blanks are part
 * of it) for `run` into `out`, which the caller clears with
 * mlp_value_clear().  *found is 0 when the run has no such value (and
 * `out` is MLP_NIL).  Numbers come back as MLP_INT or MLP_FLOAT, strings
 * as MLP_STR, dirty and boolean params as MLP_BOOL.  MLP_EINVALID for an
 * unknown attribute or a malformed key.
 */
int mlp_run_field(const struct mlp_run *run, const char *key,
		  struct mlp_value *out, int *found);

/*
 * Sorts by `keys` in order: "-metrics.acc" descending, "metrics.loss" or
 * "+metrics.loss" ascending.  Runs without a value (and NaN values, just
 * before them) come last in both directions; runs that tie keep their
 * order.  Booleans sort before numbers, numbers before strings.
 * MLP_EINVALID for a malformed key; the list is then untouched.
 */
int mlp_run_list_sort(struct mlp_run_list *list, const char *const *keys, size_t nkeys);

/*
 * Keeps the runs that match `q` (freeing the others), in their order.
 * MLP_EINVALID on a type error; the list is then untouched.
 */
int mlp_run_list_filter(struct mlp_run_list *list, const struct mlp_query *q);

#endif
