/*
 * The query language: a hand-written recursive-descent parser into a small
 * tree, its evaluation against a run, and the field lookups and sort that
 * share the key syntax.
 *
 * The parser will be fed hostile input (fuzzing, pasted filters), so it
 * recurses only through parentheses, whose nesting is capped, folds runs
 * of `not` in a loop, and allocates in proportion to the expression, whose
 * length is capped.  Every error carries the column it was found at.
 */
#include "query.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local size_t error_column;

size_t mlp_query_error_column(void)
{
	return error_column;
}

/* ---- characters ---------------------------------------------------------- */

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * What may appear in an unquoted key.  Everything but blanks, operator
 * characters and the string quote: metric keys in the wild contain dots,
 * dashes, slashes and non-ASCII letters.
 */
static int is_key_char(int c)
{
	return c && !is_blank(c) && !strchr("()=!<>,'", c);
}

/* ASCII-only folding: the locale must not change what a keyword is. */
static int eq_fold(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (to_lower((unsigned char)a[i]) != to_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* ---- keys ----------------------------------------------------------------- */

enum key_kind { KEY_METRIC, KEY_PARAM, KEY_TAG, KEY_ATTR };

enum attr {
	ATTR_ID, ATTR_NAME, ATTR_EXPERIMENT, ATTR_STATUS, ATTR_COMMIT, ATTR_BRANCH,
	ATTR_HOST, ATTR_USER, ATTR_STARTED, ATTR_ENDED, ATTR_DURATION, ATTR_PARENT,
	ATTR_DIRTY, ATTR_EXIT_CODE
};

/* What a key holds when that is known without looking at a run. */
enum kind { KIND_ANY, KIND_BOOL, KIND_NUM, KIND_STR };

static const struct {
	const char *name;
	enum attr attr;
	enum kind kind;
} attrs[] = {
	{ "id", ATTR_ID, KIND_STR },
	{ "run_id", ATTR_ID, KIND_STR },
	{ "name", ATTR_NAME, KIND_STR },
	{ "run_name", ATTR_NAME, KIND_STR },
	{ "experiment", ATTR_EXPERIMENT, KIND_STR },
	{ "status", ATTR_STATUS, KIND_STR },
	{ "commit", ATTR_COMMIT, KIND_STR },
	{ "branch", ATTR_BRANCH, KIND_STR },
	{ "host", ATTR_HOST, KIND_STR },
	{ "user", ATTR_USER, KIND_STR },
	{ "user_id", ATTR_USER, KIND_STR },
	{ "started", ATTR_STARTED, KIND_NUM },
	{ "start_time", ATTR_STARTED, KIND_NUM },
	{ "ended", ATTR_ENDED, KIND_NUM },
	{ "end_time", ATTR_ENDED, KIND_NUM },
	{ "duration", ATTR_DURATION, KIND_NUM },
	{ "parent", ATTR_PARENT, KIND_STR },
	{ "dirty", ATTR_DIRTY, KIND_BOOL },
	{ "exit_code", ATTR_EXIT_CODE, KIND_NUM },
};

static const struct {
	const char *name;
	enum key_kind kind;
} prefixes[] = {
	{ "metrics", KEY_METRIC }, { "metric", KEY_METRIC },
	{ "params", KEY_PARAM }, { "param", KEY_PARAM },
	{ "tags", KEY_TAG }, { "tag", KEY_TAG },
	{ "attributes", KEY_ATTR }, { "attribute", KEY_ATTR }, { "attr", KEY_ATTR },
};

enum agg { AGG_NONE, AGG_LAST, AGG_MIN, AGG_MAX, AGG_FIRST, AGG_COUNT };

static const char *const agg_names[] = { NULL, "last", "min", "max", "first", "count" };

struct key {
	enum key_kind kind;
	enum attr attr;
	enum kind static_kind;
	char *name;	/* after the prefix */
	char *base;	/* metrics: name without a trailing ".<agg>", or NULL */
	enum agg agg;
	char *text;	/* as written, for messages */
};

static void key_release(struct key *k)
{
	free(k->name);
	free(k->base);
	free(k->text);
	memset(k, 0, sizeof(*k));
}

/*
 * Decodes the key at s[0..len) into `out`: bare text, and backquoted or
 * double-quoted parts in which a doubled quote stands for itself.  With
 * `stop` the key ends at the first blank or operator character outside
 * quotes; without, it spans all of s (blanks included).  *used is how
 * much was read; on error *errpos is where.
 */
static int scan_key(struct mlp_buf *out, const char *s, size_t len, int stop,
		    size_t *used, size_t *errpos)
{
	size_t i = 0;

	mlp_buf_reset(out);
	mlp_buf_grow(out, 0);
	while (i < len) {
		char c = s[i];
		if (c == '`' || c == '"') {
			size_t open = i++;
			for (;;) {
				if (i >= len) {
					*errpos = open;
					return mlp_error_set(MLP_EINVALID, "unterminated %s in key",
							     c == '`' ? "backquote" : "double quote");
				}
				if (s[i] == c) {
					if (i + 1 < len && s[i + 1] == c) {
						mlp_buf_addch(out, c);
						i += 2;
						continue;
					}
					i++;
					break;
				}
				mlp_buf_addch(out, s[i++]);
			}
			continue;
		}
		if (stop && !is_key_char((unsigned char)c))
			break;
		mlp_buf_addch(out, c);
		i++;
	}
	*used = i;
	return 0;
}

static int find_attr(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strlen(attrs[i].name) == len && eq_fold(attrs[i].name, s, len))
			return (int)i;
	return -1;
}

/*
 * Gives meaning to a decoded key: the text up to the first dot picks the
 * kind of value, the rest names it.  A trailing ".min" and friends on a
 * metric is only a candidate aggregate: the run decides, since an exact
 * metric key "loss.min" must win (lookup_metric).
 */
static int key_resolve(struct key *k, const char *d, size_t dlen)
{
	const char *dot = memchr(d, '.', dlen);
	int a;

	if (!dlen)
		return mlp_error_set(MLP_EINVALID, "empty key");
	if (dot) {
		size_t plen = (size_t)(dot - d), nlen = dlen - plen - 1;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			if (strlen(prefixes[i].name) != plen || !eq_fold(prefixes[i].name, d, plen))
				continue;
			k->kind = prefixes[i].kind;
			if (!nlen)
				return mlp_error_set(MLP_EINVALID, "empty key after '%.*s.'",
						     (int)plen, d);
			k->name = mlp_strndup(dot + 1, nlen);
			if (k->kind == KEY_ATTR) {
				a = find_attr(k->name, nlen);
				if (a < 0)
					return mlp_error_set(MLP_EINVALID,
						"unknown attribute '%s'; attributes are id, name, experiment, "
						"status, commit, branch, host, user, started, ended, duration, "
						"parent, dirty, exit_code", k->name);
				k->attr = attrs[a].attr;
				k->static_kind = attrs[a].kind;
				return 0;
			}
			if (k->kind == KEY_METRIC) {
				k->static_kind = KIND_NUM;
				const char *last = strrchr(k->name, '.');
				for (int g = AGG_LAST; last && last != k->name && g <= AGG_COUNT; g++) {
					if (strcmp(last + 1, agg_names[g]))
						continue;
					k->agg = (enum agg)g;
					k->base = mlp_strndup(k->name, (size_t)(last - k->name));
				}
			}
			return 0;
		}
	}
	a = find_attr(d, dlen);
	if (a < 0)
		return mlp_error_set(MLP_EINVALID,
			"unknown key '%.*s'; use metrics.<key>, params.<key>, tags.<key> or an "
			"attribute (id, name, experiment, status, commit, branch, host, user, "
			"started, ended, duration, parent, dirty, exit_code)",
			(int)(dlen > 200 ? 200 : dlen), d);
	k->kind = KEY_ATTR;
	k->attr = attrs[a].attr;
	k->static_kind = attrs[a].kind;
	k->name = mlp_strndup(d, dlen);
	return 0;
}

/* ---- looking values up ------------------------------------------------------ */

/* Strings of attributes are borrowed from the run: never clear `tmp`. */
static const struct mlp_value *borrow_str(struct mlp_value *tmp, const char *s)
{
	if (!s)
		return NULL;
	tmp->type = MLP_STR;
	tmp->u.str.s = (char *)s;
	tmp->u.str.len = strlen(s);
	return tmp;
}

static const struct mlp_value *set_int(struct mlp_value *tmp, int64_t i)
{
	tmp->type = MLP_INT;
	tmp->u.i = i;
	return tmp;
}

static const struct mlp_value *set_float(struct mlp_value *tmp, double f)
{
	tmp->type = MLP_FLOAT;
	tmp->u.f = f;
	return tmp;
}

static const struct mlp_value *lookup_attr(const struct mlp_run *run, enum attr a,
					   struct mlp_value *tmp)
{
	switch (a) {
	case ATTR_ID:
		return run->id[0] ? borrow_str(tmp, run->id) : NULL;
	case ATTR_NAME:
		return borrow_str(tmp, run->name);
	case ATTR_EXPERIMENT:
		return borrow_str(tmp, run->experiment);
	case ATTR_STATUS:
		return borrow_str(tmp, mlp_status_name(run->status));
	case ATTR_COMMIT:
		/* "" is an unborn branch: there is no commit to compare */
		return run->base[0] ? borrow_str(tmp, run->base) : NULL;
	case ATTR_BRANCH:
		return borrow_str(tmp, run->branch);
	case ATTR_HOST:
		return borrow_str(tmp, run->host);
	case ATTR_USER:
		return borrow_str(tmp, run->user);
	case ATTR_STARTED:
		return run->started ? set_int(tmp, run->started) : NULL;
	case ATTR_ENDED:
		return run->ended ? set_int(tmp, run->ended) : NULL;
	case ATTR_DURATION:
		if (!run->ended)
			return NULL;
		return set_float(tmp, (double)(run->ended - run->started) / 1000.0);
	case ATTR_PARENT:
		return borrow_str(tmp, run->parent);
	case ATTR_DIRTY:
		tmp->type = MLP_BOOL;
		tmp->u.b = !!run->dirty;
		return tmp;
	case ATTR_EXIT_CODE:
		return run->has_exit_code ? set_int(tmp, run->exit_code) : NULL;
	}
	return NULL;
}

static const struct mlp_value *summary_value(const struct mlp_summary *s, enum agg agg,
					     struct mlp_value *tmp)
{
	switch (agg) {
	case AGG_NONE:
	case AGG_LAST:
		return set_float(tmp, s->last);
	case AGG_MIN:
		return set_float(tmp, s->min);
	case AGG_MAX:
		return set_float(tmp, s->max);
	case AGG_FIRST:
		return set_float(tmp, s->first);
	case AGG_COUNT:
		return set_int(tmp, s->count > INT64_MAX ? INT64_MAX : (int64_t)s->count);
	}
	return NULL;
}

static const struct mlp_value *lookup_metric(const struct mlp_run *run, const struct key *k,
					     struct mlp_value *tmp)
{
	const struct mlp_summary *s = mlp_run_summary(run, k->name);

	if (s)
		return set_float(tmp, s->last);
	if (!k->base || !(s = mlp_run_summary(run, k->base)))
		return NULL;
	return summary_value(s, k->agg, tmp);
}

/* The value of `k` for `run`, or NULL when it has none (a null param included). */
static const struct mlp_value *lookup(const struct mlp_run *run, const struct key *k,
				      struct mlp_value *tmp)
{
	const struct mlp_value *v;

	memset(tmp, 0, sizeof(*tmp));
	switch (k->kind) {
	case KEY_METRIC:
		return lookup_metric(run, k, tmp);
	case KEY_PARAM:
		v = mlp_map_get(&run->params, k->name);
		return v && v->type != MLP_NIL ? v : NULL;
	case KEY_TAG:
		v = mlp_map_get(&run->tags, k->name);
		return v && v->type != MLP_NIL ? v : NULL;
	case KEY_ATTR:
		return lookup_attr(run, k->attr, tmp);
	}
	return NULL;
}

static int view_attr_ok(enum attr a)
{
	return a == ATTR_ID || a == ATTR_NAME || a == ATTR_STATUS || a == ATTR_COMMIT ||
	       a == ATTR_STARTED || a == ATTR_DIRTY;
}

static const struct mlp_value *view_str(struct mlp_value *tmp, const char *s, size_t len)
{
	tmp->type = MLP_STR;
	tmp->u.str.s = (char *)s;
	tmp->u.str.len = len;
	return tmp;
}

/* As lookup(), for a view; strings are views too.  < 0: a record is corrupt. */
static int lookup_view(const struct mlp_run_view *w, const struct key *k,
		       struct mlp_value *tmp, const struct mlp_value **out)
{
	struct mlp_summary s;
	int found = 0;

	memset(tmp, 0, sizeof(*tmp));
	*out = NULL;
	switch (k->kind) {
	case KEY_METRIC:
		found = mlp_record_find_summary(w->rec[2], w->len[2], k->name, strlen(k->name), &s);
		if (found > 0) {
			*out = set_float(tmp, s.last);
			return 0;
		}
		if (found < 0 || !k->base)
			return found;
		found = mlp_record_find_summary(w->rec[2], w->len[2], k->base, strlen(k->base), &s);
		if (found > 0)
			*out = summary_value(&s, k->agg, tmp);
		return found < 0 ? found : 0;
	case KEY_PARAM:
	case KEY_TAG:
		if (k->kind == KEY_PARAM)
			found = mlp_record_find_param(w->rec[1], w->len[1], k->name, strlen(k->name), tmp);
		else
			found = mlp_record_find_tag(w->rec[0], w->len[0], k->name, strlen(k->name), tmp);
		if (found > 0 && tmp->type != MLP_NIL)
			*out = tmp;
		return found < 0 ? found : 0;
	case KEY_ATTR:
		switch (k->attr) {
		case ATTR_ID:
			*out = view_str(tmp, w->id, strlen(w->id));
			break;
		case ATTR_NAME:
			*out = w->name_len ? view_str(tmp, w->name, w->name_len) : NULL;
			break;
		case ATTR_STATUS:
			*out = borrow_str(tmp, mlp_status_name(w->status));
			break;
		case ATTR_COMMIT:
			*out = w->base[0] ? borrow_str(tmp, w->base) : NULL;
			break;
		case ATTR_STARTED:
			*out = w->started ? set_int(tmp, w->started) : NULL;
			break;
		case ATTR_DIRTY:
			tmp->type = MLP_BOOL;
			tmp->u.b = !!w->dirty;
			*out = tmp;
			break;
		default:
			return mlp_error_set(MLP_EINVALID, "%s cannot be read from the index", k->text);
		}
		return 0;
	}
	return 0;
}

/* What a query looks values up in: a decoded run, or a view of one. */
struct source {
	const struct mlp_run *run;
	const struct mlp_run_view *view;
};

static int source_lookup(const struct source *src, const struct key *k,
			 struct mlp_value *tmp, const struct mlp_value **out)
{
	if (src->view)
		return lookup_view(src->view, k, tmp, out);
	*out = lookup(src->run, k, tmp);
	return 0;
}

/* A key given whole, as to mlp_run_field() and the sort. */
static int key_parse_whole(struct key *k, const char *s)
{
	struct mlp_buf d = MLP_BUF_INIT;
	size_t used = 0, errpos = 0;
	int err;

	memset(k, 0, sizeof(*k));
	err = scan_key(&d, s, strlen(s), 0, &used, &errpos);
	if (!err)
		err = key_resolve(k, d.buf, d.len);
	mlp_buf_release(&d);
	if (err) {
		key_release(k);
		return err;
	}
	k->text = mlp_strdup(s);
	return 0;
}

int mlp_run_field(const struct mlp_run *run, const char *key,
		  struct mlp_value *out, int *found)
{
	struct key k;
	struct mlp_value tmp;
	const struct mlp_value *v;
	int err;

	memset(out, 0, sizeof(*out));
	*found = 0;
	err = key_parse_whole(&k, key);
	if (err)
		return err;
	v = lookup(run, &k, &tmp);
	if (v) {
		mlp_value_copy(out, v);
		*found = 1;
	}
	key_release(&k);
	return 0;
}

/* ---- comparing -------------------------------------------------------------- */

static enum kind value_kind(const struct mlp_value *v)
{
	switch (v->type) {
	case MLP_BOOL:
		return KIND_BOOL;
	case MLP_INT:
	case MLP_FLOAT:
		return KIND_NUM;
	case MLP_STR:
		return KIND_STR;
	case MLP_NIL:
		break;
	}
	return KIND_ANY;
}

static const char *kind_name(enum kind k)
{
	switch (k) {
	case KIND_BOOL: return "a boolean";
	case KIND_NUM: return "a number";
	case KIND_STR: return "a string";
	case KIND_ANY: break;
	}
	return "null";
}

static void format_literal(struct mlp_buf *b, const struct mlp_value *v)
{
	if (v->type == MLP_STR) {
		mlp_buf_addch(b, '\'');
		mlp_buf_add(b, v->u.str.s, v->u.str.len > 60 ? 60 : v->u.str.len);
		mlp_buf_adds(b, v->u.str.len > 60 ? "...'" : "'");
	} else if (v->type == MLP_FLOAT) {
		mlp_buf_addf(b, "%.17g", v->u.f);
	} else {
		mlp_value_format(b, v);
	}
}

static int type_error(const struct key *k, enum kind have, const struct mlp_value *lit)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	format_literal(&b, lit);
	err = mlp_error_set(MLP_EINVALID, "%s is %s; cannot compare it with %s",
			    k->text, kind_name(have), b.buf);
	mlp_buf_release(&b);
	return err;
}

#define ORD_NAN 2	/* neither less, equal nor greater: a NaN was involved */

/*
 * Orders an integer against a float exactly: converting the integer to a
 * double would make 2^63 - 1 equal 2^63, so compare integer parts as
 * integers and let the fraction break the tie.
 */
static int cmp_int_float(int64_t i, double f)
{
	double t;
	int64_t ti;

	if (isnan(f))
		return ORD_NAN;
	if (f >= 9223372036854775808.0)
		return -1;
	if (f < -9223372036854775808.0)
		return 1;
	/* in range now, so the cast truncates exactly (and needs no libm) */
	ti = (int64_t)f;
	t = (double)ti;
	if (i != ti)
		return i < ti ? -1 : 1;
	return (f < t) - (f > t);
}

static int cmp_numbers(const struct mlp_value *a, const struct mlp_value *b)
{
	if (a->type == MLP_INT && b->type == MLP_INT)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	if (a->type == MLP_INT)
		return cmp_int_float(a->u.i, b->u.f);
	if (b->type == MLP_INT) {
		int c = cmp_int_float(b->u.i, a->u.f);
		return c == ORD_NAN ? c : -c;
	}
	if (isnan(a->u.f) || isnan(b->u.f))
		return ORD_NAN;
	return (a->u.f > b->u.f) - (a->u.f < b->u.f);
}

/* Orders v against lit into *ord (-1, 0, 1 or ORD_NAN). */
static int compare(const struct key *k, const struct mlp_value *v,
		   const struct mlp_value *lit, int *ord)
{
	enum kind vk = value_kind(v), lk = value_kind(lit);

	if (vk != lk)
		return type_error(k, vk, lit);
	switch (vk) {
	case KIND_BOOL:
		*ord = (!!v->u.b > !!lit->u.b) - (!!v->u.b < !!lit->u.b);
		return 0;
	case KIND_NUM:
		*ord = cmp_numbers(v, lit);
		return 0;
	case KIND_STR: {
		size_t n = v->u.str.len < lit->u.str.len ? v->u.str.len : lit->u.str.len;
		int c = n ? memcmp(v->u.str.s, lit->u.str.s, n) : 0;
		if (!c)
			c = (v->u.str.len > lit->u.str.len) - (v->u.str.len < lit->u.str.len);
		*ord = (c > 0) - (c < 0);
		return 0;
	}
	case KIND_ANY:
		break;
	}
	return type_error(k, vk, lit);
}

/* ---- LIKE patterns -------------------------------------------------------- */

enum pat_kind { PAT_CHAR, PAT_ONE, PAT_ANY };

struct pat_item {
	unsigned char kind;
	unsigned char c;
};

/* % and _ are wildcards; a backslash makes the next character literal. */
static struct pat_item *pattern_compile(const char *s, size_t len, size_t *nr)
{
	struct pat_item *items = mlp_calloc(len + 1, sizeof(*items));
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			items[n].kind = PAT_CHAR;
			items[n++].c = (unsigned char)s[++i];
		} else if (s[i] == '%') {
			if (!n || items[n - 1].kind != PAT_ANY)
				items[n++].kind = PAT_ANY;
		} else if (s[i] == '_') {
			items[n++].kind = PAT_ONE;
		} else {
			items[n].kind = PAT_CHAR;
			items[n++].c = (unsigned char)s[i];
		}
	}
	*nr = n;
	return items;
}

/* The length of the UTF-8 character at s[i]: `_` matches a character, not a byte. */
static size_t char_len(const unsigned char *s, size_t i, size_t n)
{
	size_t j = i + 1;

	if (s[i] >= 0xc0)
		while (j < n && j - i < 4 && (s[j] & 0xc0) == 0x80)
			j++;
	return j - i;
}

/*
 * The classic iterative wildcard match: on a mismatch, go back to the
 * last % and let it swallow one more character.  No recursion, and
 * O(len(pattern) * len(string)) at worst.
 */
static int like_match(const struct pat_item *p, size_t m, const char *str, size_t n, int fold)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t pi = 0, si = 0, star_p = 0, star_s = 0;
	int have_star = 0;

	while (si < n) {
		if (pi < m && p[pi].kind == PAT_ANY) {
			have_star = 1;
			star_p = ++pi;
			star_s = si;
			continue;
		}
		if (pi < m && p[pi].kind == PAT_ONE) {
			pi++;
			si += char_len(s, si, n);
			continue;
		}
		if (pi < m && (p[pi].c == s[si] ||
			       (fold && to_lower(p[pi].c) == to_lower(s[si])))) {
			pi++;
			si++;
			continue;
		}
		if (!have_star)
			return 0;
		star_s += char_len(s, star_s, n);
		si = star_s;
		pi = star_p;
	}
	while (pi < m && p[pi].kind == PAT_ANY)
		pi++;
	return pi == m;
}

/* ---- the tree -------------------------------------------------------------- */

enum node_type { NODE_AND, NODE_OR, NODE_NOT, NODE_CMP };

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_LIKE, OP_ILIKE, OP_IN, OP_NULL };

struct node {
	enum node_type type;
	struct node **kids;	/* AND, OR: two or more; NOT: one */
	size_t nr, alloc;

	/* NODE_CMP */
	struct key key;
	enum op op;
	int negate;	/* NOT LIKE, NOT ILIKE, NOT IN, IS NOT NULL */
	struct mlp_value *lits;
	size_t lits_nr, lits_alloc;
	struct pat_item *pat;
	size_t pat_nr;
};

struct mlp_query {
	struct node *root;	/* NULL: the empty query, which matches everything */
};

static struct node *node_new(enum node_type type)
{
	struct node *n = mlp_calloc(1, sizeof(*n));
	n->type = type;
	return n;
}

static void node_add(struct node *n, struct node *kid)
{
	if (n->nr == n->alloc) {
		n->alloc = n->alloc ? n->alloc * 2 : 4;
		n->kids = mlp_realloc(n->kids, n->alloc * sizeof(*n->kids));
	}
	n->kids[n->nr++] = kid;
}

/* Recursion is bounded: a tree is no deeper than the parentheses nest. */
static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nr; i++)
		node_free(n->kids[i]);
	free(n->kids);
	key_release(&n->key);
	for (size_t i = 0; i < n->lits_nr; i++)
		mlp_value_clear(&n->lits[i]);
	free(n->lits);
	free(n->pat);
	free(n);
}

void mlp_query_free(struct mlp_query *q)
{
	if (!q)
		return;
	node_free(q->root);
	free(q);
}

/* ---- parsing ------------------------------------------------------------------ */

struct parser {
	const char *s;
	size_t len, pos;
	int depth;
};

static void skip_blanks(struct parser *p)
{
	while (p->pos < p->len && is_blank((unsigned char)p->s[p->pos]))
		p->pos++;
}

/* Is the keyword `kw` at the current position, as a whole word? */
static int at_keyword(const struct parser *p, const char *kw)
{
	size_t n = strlen(kw);

	if (p->len - p->pos < n || !eq_fold(p->s + p->pos, kw, n))
		return 0;
	return p->pos + n == p->len || !is_key_char((unsigned char)p->s[p->pos + n]);
}

static int accept_keyword(struct parser *p, const char *kw)
{
	skip_blanks(p);
	if (!at_keyword(p, kw))
		return 0;
	p->pos += strlen(kw);
	return 1;
}

/* "'>'" or "the end of the expression": what the parser ran into at `col`. */
static void describe(struct mlp_buf *b, const struct parser *p, size_t col)
{
	size_t end = col;

	if (col >= p->len) {
		mlp_buf_adds(b, "the end of the expression");
		return;
	}
	while (end < p->len && end - col < 24 && !is_blank((unsigned char)p->s[end]))
		end++;
	mlp_buf_addf(b, "'%.*s%s'", (int)(end - col), p->s + col,
		     end < p->len && !is_blank((unsigned char)p->s[end]) ? "..." : "");
}

static int perr(const struct parser *p, size_t col, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the message "<fmt> at column N" and the error column. */
static int perr(const struct parser *p, size_t col, int code, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;
	int err;

	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	error_column = col;
	err = mlp_error_set(code, "%s at column %zu", b.buf, col);
	mlp_buf_release(&b);
	return err;
}

/* An error saying what was expected and what was found instead. */
/* Moves an error set without a column (keys, types) to `col`. */
static int relocate(const struct parser *p, size_t col, int code)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", mlp_error_message());
	return perr(p, col, code, "%s", msg);
}

static int expected(const struct parser *p, size_t col, const char *what)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	describe(&b, p, col);
	err = perr(p, col, MLP_EINVALID, "expected %s, found %s", what, b.buf);
	mlp_buf_release(&b);
	return err;
}

static int parse_string(struct parser *p, struct mlp_value *out)
{
	char q = p->s[p->pos];
	size_t open = p->pos, i = p->pos + 1;
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_buf_grow(&b, 0);
	while (i < p->len) {
		char c = p->s[i];
		if (c == q) {
			if (i + 1 < p->len && p->s[i + 1] == q) {
				mlp_buf_addch(&b, q);
				i += 2;
				continue;
			}
			out->type = MLP_STR;
			out->u.str.s = mlp_buf_detach(&b, &out->u.str.len);
			p->pos = i + 1;
			return 0;
		}
		/*
		 * Only quotes and backslashes are escaped, so that \% and \_
		 * reach LIKE patterns intact.
		 */
		if (c == '\\' && i + 1 < p->len &&
		    (p->s[i + 1] == '\'' || p->s[i + 1] == '"' || p->s[i + 1] == '\\')) {
			mlp_buf_addch(&b, p->s[i + 1]);
			i += 2;
			continue;
		}
		mlp_buf_addch(&b, c);
		i++;
	}
	mlp_buf_release(&b);
	return perr(p, open, MLP_EINVALID, "unterminated string");
}

static int parse_number(struct parser *p, struct mlp_value *out)
{
	size_t start = p->pos, i = p->pos, digits = 0;
	int is_float = 0, neg = 0;
	char *text, *end;

	if (p->s[i] == '-' || p->s[i] == '+')
		neg = p->s[i++] == '-';
	for (size_t w = 0; w < 2; w++) {
		static const char *const infs[] = { "infinity", "inf" };
		size_t n = strlen(infs[w]);
		if (p->len - i >= n && eq_fold(p->s + i, infs[w], n) &&
		    (i + n == p->len || !is_key_char((unsigned char)p->s[i + n]))) {
			p->pos = i + n;
			out->type = MLP_FLOAT;
			out->u.f = neg ? -INFINITY : INFINITY;
			return 0;
		}
	}
	while (i < p->len && is_digit(p->s[i]))
		i++, digits++;
	if (i < p->len && p->s[i] == '.') {
		is_float = 1;
		for (i++; i < p->len && is_digit(p->s[i]); i++)
			digits++;
	}
	if (digits && i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		size_t j = i + 1;
		if (j < p->len && (p->s[j] == '-' || p->s[j] == '+'))
			j++;
		if (j < p->len && is_digit(p->s[j])) {
			is_float = 1;
			for (i = j; i < p->len && is_digit(p->s[i]); i++)
				;
		} else {
			digits = 0;
		}
	}
	if (!digits || (i < p->len && is_key_char((unsigned char)p->s[i]))) {
		while (i < p->len && is_key_char((unsigned char)p->s[i]))
			i++;
		return perr(p, start, MLP_EINVALID, "malformed number '%.*s'",
			    (int)(i - start > 40 ? 40 : i - start), p->s + start);
	}
	text = mlp_strndup(p->s + start, i - start);
	errno = 0;
	if (!is_float) {
		long long ll = strtoll(text, &end, 10);
		if (!errno && !*end) {
			out->type = MLP_INT;
			out->u.i = ll;
			free(text);
			p->pos = i;
			return 0;
		}
	}
	/* too large for an integer, or a float: overflow becomes inf */
	out->type = MLP_FLOAT;
	out->u.f = strtod(text, &end);
	free(text);
	p->pos = i;
	return 0;
}

/* A literal after `after` (an operator, for the message). */
static int parse_literal(struct parser *p, struct mlp_value *out, size_t *col,
			 const char *after)
{
	char what[96];
	char c;

	memset(out, 0, sizeof(*out));
	skip_blanks(p);
	*col = p->pos;
	snprintf(what, sizeof(what), "a value (number, 'string', true or false) after %s", after);
	if (p->pos >= p->len)
		return expected(p, p->pos, what);
	c = p->s[p->pos];
	if (c == '\'' || c == '"')
		return parse_string(p, out);
	if (is_digit(c) || c == '.' || c == '-' || c == '+')
		return parse_number(p, out);
	if (at_keyword(p, "inf") || at_keyword(p, "infinity"))
		return parse_number(p, out);
	if (at_keyword(p, "true") || at_keyword(p, "false")) {
		out->type = MLP_BOOL;
		out->u.b = to_lower((unsigned char)c) == 't';
		p->pos += out->u.b ? 4 : 5;
		return 0;
	}
	if (at_keyword(p, "null"))
		return perr(p, p->pos, MLP_EINVALID,
			    "null is not a value; test for a missing key with IS NULL or IS NOT NULL");
	return expected(p, p->pos, what);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int read_digits(const char *s, size_t len, size_t *i, size_t n, unsigned *out)
{
	unsigned v = 0;

	if (len - *i < n)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit(s[*i + k]))
			return -1;
		v = v * 10 + (unsigned)(s[*i + k] - '0');
	}
	*i += n;
	*out = v;
	return 0;
}

/* 'YYYY-MM-DD', 'YYYY-MM-DD[T ]HH:MM[:SS][Z]' in UTC to ms since the epoch. */
static int parse_time(const char *s, size_t len, int64_t *ms)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h = 0, mi = 0, sec = 0;
	size_t i = 0;

	if (read_digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
	    read_digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
	    read_digits(s, len, &i, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	if (i < len) {
		if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
			return -1;
		i++;
		if (read_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
		    read_digits(s, len, &i, 2, &mi))
			return -1;
		if (i < len && s[i] == ':') {
			i++;
			if (read_digits(s, len, &i, 2, &sec))
				return -1;
		}
		if (i < len && (s[i] == 'Z' || s[i] == 'z'))
			i++;
		if (i != len || h > 23 || mi > 59 || sec > 59)
			return -1;
	}
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000;
	return 0;
}

/*
 * Fits a literal to its key where the key's kind is known without a run:
 * times for started/ended, lowercase for status (MLflow writes
 * 'FINISHED'), and kind mismatches reported now, with a column, rather
 * than on the first run that has the key.
 */
static int check_literal(struct parser *p, struct node *n, struct mlp_value *lit, size_t col)
{
	const struct key *k = &n->key;
	int64_t ms;

	if (k->kind == KEY_ATTR && (k->attr == ATTR_STARTED || k->attr == ATTR_ENDED) &&
	    lit->type == MLP_STR) {
		if (parse_time(lit->u.str.s, lit->u.str.len, &ms))
			return perr(p, col, MLP_EINVALID,
				    "%s takes ms since the epoch or a date 'YYYY-MM-DD' or "
				    "'YYYY-MM-DDTHH:MM:SS[Z]' (UTC), not '%.40s'",
				    k->text, lit->u.str.s);
		mlp_value_clear(lit);
		lit->type = MLP_INT;
		lit->u.i = ms;
	}
	if (k->kind == KEY_ATTR && k->attr == ATTR_STATUS && lit->type == MLP_STR)
		for (size_t i = 0; i < lit->u.str.len; i++)
			lit->u.str.s[i] = (char)to_lower((unsigned char)lit->u.str.s[i]);
	if (lit->type == MLP_BOOL && n->op != OP_EQ && n->op != OP_NE && n->op != OP_IN)
		return perr(p, col, MLP_EINVALID, "true and false only compare with = and !=");
	if (k->static_kind == KIND_BOOL && n->op != OP_EQ && n->op != OP_NE && n->op != OP_IN)
		return perr(p, col, MLP_EINVALID, "%s is a boolean; only = and != apply", k->text);
	if (k->static_kind != KIND_ANY && k->static_kind != value_kind(lit))
		return relocate(p, col, type_error(k, k->static_kind, lit));
	return 0;
}

static void add_literal(struct node *n, struct mlp_value *lit)
{
	if (n->lits_nr == n->lits_alloc) {
		n->lits_alloc = n->lits_alloc ? n->lits_alloc * 2 : 1;
		n->lits = mlp_realloc(n->lits, n->lits_alloc * sizeof(*n->lits));
	}
	n->lits[n->lits_nr++] = *lit;
	memset(lit, 0, sizeof(*lit));
}

static int parse_in_list(struct parser *p, struct node *n)
{
	struct mlp_value lit;
	size_t col;
	int err;

	skip_blanks(p);
	if (p->pos >= p->len || p->s[p->pos] != '(')
		return expected(p, p->pos, "'(' after IN");
	p->pos++;
	for (;;) {
		err = parse_literal(p, &lit, &col, "'(' or ','");
		if (err)
			return err;
		if (n->lits_nr >= MLP_QUERY_MAX_IN) {
			mlp_value_clear(&lit);
			return perr(p, col, MLP_ELIMIT, "IN lists hold at most %d values",
				    MLP_QUERY_MAX_IN);
		}
		/* after check_literal(): a date is a number by then */
		err = check_literal(p, n, &lit, col);
		if (!err && n->lits_nr && value_kind(&lit) != value_kind(&n->lits[0]))
			err = perr(p, col, MLP_EINVALID,
				   "an IN list mixes kinds of values; this one is not %s",
				   kind_name(value_kind(&n->lits[0])));
		add_literal(n, &lit);
		if (err)
			return err;
		skip_blanks(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ')') {
			p->pos++;
			return 0;
		}
		return expected(p, p->pos, "',' or ')' in the IN list");
	}
}

static int parse_like(struct parser *p, struct node *n, const char *opname)
{
	struct mlp_value lit;
	size_t col;
	int err = parse_literal(p, &lit, &col, opname);

	if (err)
		return err;
	if (lit.type != MLP_STR) {
		mlp_value_clear(&lit);
		return perr(p, col, MLP_EINVALID, "%s takes a 'string' pattern", opname);
	}
	if (n->key.static_kind != KIND_ANY && n->key.static_kind != KIND_STR) {
		mlp_value_clear(&lit);
		return perr(p, col, MLP_EINVALID, "%s is %s; %s needs a string",
			    n->key.text, kind_name(n->key.static_kind), opname);
	}
	n->pat = pattern_compile(lit.u.str.s, lit.u.str.len, &n->pat_nr);
	add_literal(n, &lit);
	return 0;
}

/* key op literal, key [NOT] (LIKE|ILIKE|IN) ..., key IS [NOT] NULL */
static int parse_comparison(struct parser *p, struct node **out)
{
	static const char *const op_names[] = { "'='", "'!='", "'<'", "'<='", "'>'", "'>='" };
	struct node *n = node_new(NODE_CMP);
	struct mlp_buf d = MLP_BUF_INIT;
	struct mlp_value lit;
	size_t start, used = 0, errpos = 0, col;
	int err;

	skip_blanks(p);
	start = p->pos;
	if (p->pos >= p->len || !is_key_char((unsigned char)p->s[p->pos])) {
		err = expected(p, p->pos, "a key (metrics.<key>, params.<key>, tags.<key>, "
			       "an attribute) or '('");
		goto done;
	}
	err = scan_key(&d, p->s + start, p->len - start, 1, &used, &errpos);
	if (err) {
		err = relocate(p, start + errpos, err);
		goto done;
	}
	err = key_resolve(&n->key, d.buf, d.len);
	if (err) {
		err = relocate(p, start, err);
		goto done;
	}
	n->key.text = mlp_strndup(p->s + start, used);
	p->pos += used;
	skip_blanks(p);

	col = p->pos;
	if (p->pos + 1 < p->len && p->s[p->pos] == '!' && p->s[p->pos + 1] == '=')
		n->op = OP_NE, p->pos += 2;
	else if (p->pos + 1 < p->len && p->s[p->pos] == '<' && p->s[p->pos + 1] == '>')
		n->op = OP_NE, p->pos += 2;
	else if (p->pos + 1 < p->len && p->s[p->pos] == '<' && p->s[p->pos + 1] == '=')
		n->op = OP_LE, p->pos += 2;
	else if (p->pos + 1 < p->len && p->s[p->pos] == '>' && p->s[p->pos + 1] == '=')
		n->op = OP_GE, p->pos += 2;
	else if (p->pos < p->len && p->s[p->pos] == '=')
		n->op = OP_EQ, p->pos++;
	else if (p->pos < p->len && p->s[p->pos] == '<')
		n->op = OP_LT, p->pos++;
	else if (p->pos < p->len && p->s[p->pos] == '>')
		n->op = OP_GT, p->pos++;
	else if (accept_keyword(p, "is")) {
		n->op = OP_NULL;
		n->negate = accept_keyword(p, "not");
		if (!accept_keyword(p, "null"))
			err = expected(p, p->pos, n->negate ? "NULL after IS NOT" : "NULL or NOT NULL after IS");
		goto done;
	} else {
		n->negate = accept_keyword(p, "not");
		if (accept_keyword(p, "like")) {
			n->op = OP_LIKE;
			err = parse_like(p, n, n->negate ? "NOT LIKE" : "LIKE");
		} else if (accept_keyword(p, "ilike")) {
			n->op = OP_ILIKE;
			err = parse_like(p, n, n->negate ? "NOT ILIKE" : "ILIKE");
		} else if (accept_keyword(p, "in")) {
			n->op = OP_IN;
			err = parse_in_list(p, n);
		} else if (n->negate) {
			err = expected(p, p->pos, "LIKE, ILIKE or IN after NOT");
		} else {
			err = expected(p, col, "an operator (=, !=, <>, <, <=, >, >=, LIKE, ILIKE, "
				       "IN, IS) after the key");
		}
		goto done;
	}
	err = parse_literal(p, &lit, &col, op_names[n->op]);
	if (err)
		goto done;
	err = check_literal(p, n, &lit, col);
	add_literal(n, &lit);
done:
	mlp_buf_release(&d);
	if (err) {
		node_free(n);
		return err;
	}
	*out = n;
	return 0;
}

static int parse_or(struct parser *p, struct node **out);

static int parse_primary(struct parser *p, struct node **out)
{
	size_t open;
	int err;

	skip_blanks(p);
	if (p->pos >= p->len || p->s[p->pos] != '(')
		return parse_comparison(p, out);
	open = p->pos;
	if (p->depth >= MLP_QUERY_MAX_DEPTH)
		return perr(p, open, MLP_ELIMIT, "parentheses nest deeper than %d",
			    MLP_QUERY_MAX_DEPTH);
	p->pos++;
	p->depth++;
	err = parse_or(p, out);
	p->depth--;
	if (err)
		return err;
	skip_blanks(p);
	if (p->pos >= p->len || p->s[p->pos] != ')') {
		char what[80];
		snprintf(what, sizeof(what), "'and', 'or' or ')' to close the '(' at column %zu", open);
		node_free(*out);
		*out = NULL;
		return expected(p, p->pos, what);
	}
	p->pos++;
	return 0;
}

/* A run of `not`s folds to its parity in a loop: no recursion to exhaust. */
static int parse_not(struct parser *p, struct node **out)
{
	size_t nots = 0;
	struct node *kid = NULL, *n;
	int err;

	while (accept_keyword(p, "not"))
		nots++;
	err = parse_primary(p, &kid);
	if (err)
		return err;
	if (nots % 2) {
		n = node_new(NODE_NOT);
		node_add(n, kid);
		kid = n;
	}
	*out = kid;
	return 0;
}

/* and := not ('and' not)*; or := and ('or' and)*, the same loop one level up */
static int parse_list(struct parser *p, struct node **out, enum node_type type)
{
	const char *kw = type == NODE_AND ? "and" : "or";
	struct node *n = NULL, *kid = NULL;
	int err;

	err = type == NODE_AND ? parse_not(p, &kid) : parse_list(p, &kid, NODE_AND);
	if (err)
		return err;
	while (accept_keyword(p, kw)) {
		if (!n) {
			n = node_new(type);
			node_add(n, kid);
		}
		kid = NULL;
		err = type == NODE_AND ? parse_not(p, &kid) : parse_list(p, &kid, NODE_AND);
		if (err) {
			node_free(n);
			return err;
		}
		node_add(n, kid);
	}
	*out = n ? n : kid;
	return 0;
}

static int parse_or(struct parser *p, struct node **out)
{
	return parse_list(p, out, NODE_OR);
}

int mlp_query_parse(struct mlp_query **out, const char *expr)
{
	struct parser p = { expr, 0, 0, 0 };
	struct node *root = NULL;
	int err;

	*out = NULL;
	error_column = 0;
	p.len = strnlen(expr, MLP_QUERY_MAX_LEN + 1);
	if (p.len > MLP_QUERY_MAX_LEN)
		return perr(&p, MLP_QUERY_MAX_LEN, MLP_ELIMIT,
			    "the expression is longer than %u bytes", MLP_QUERY_MAX_LEN);
	skip_blanks(&p);
	if (p.pos < p.len) {
		err = parse_or(&p, &root);
		if (err)
			return err;
		skip_blanks(&p);
		if (p.pos < p.len) {
			node_free(root);
			if (p.s[p.pos] == ')')
				return perr(&p, p.pos, MLP_EINVALID, "unbalanced ')'");
			return expected(&p, p.pos, "'and', 'or' or the end of the expression");
		}
	}
	*out = mlp_calloc(1, sizeof(**out));
	(*out)->root = root;
	return 0;
}

/* ---- matching -------------------------------------------------------------------- */

static int match_cmp(const struct node *n, const struct source *src, int *res)
{
	struct mlp_value tmp;
	const struct mlp_value *v;
	int ord = 0, err = source_lookup(src, &n->key, &tmp, &v);

	if (err)
		return err;

	if (n->op == OP_NULL) {
		*res = (v == NULL) != n->negate;
		return 0;
	}
	/* absent: false whatever the operator, != and NOT IN included */
	*res = 0;
	if (!v)
		return 0;
	switch (n->op) {
	case OP_LIKE:
	case OP_ILIKE:
		if (v->type != MLP_STR)
			return mlp_error_set(MLP_EINVALID, "%s is %s; %s needs a string",
					     n->key.text, kind_name(value_kind(v)),
					     n->op == OP_LIKE ? "LIKE" : "ILIKE");
		*res = like_match(n->pat, n->pat_nr, v->u.str.s, v->u.str.len,
				  n->op == OP_ILIKE) != n->negate;
		return 0;
	case OP_IN:
		for (size_t i = 0; i < n->lits_nr; i++) {
			err = compare(&n->key, v, &n->lits[i], &ord);
			if (err)
				return err;
			if (!ord)
				break;
		}
		*res = (n->lits_nr && !ord) != n->negate;
		return 0;
	default:
		break;
	}
	err = compare(&n->key, v, &n->lits[0], &ord);
	if (err)
		return err;
	switch (n->op) {
	case OP_EQ: *res = ord == 0; break;
	case OP_NE: *res = ord != 0; break;
	case OP_LT: *res = ord == -1; break;
	case OP_LE: *res = ord == -1 || ord == 0; break;
	case OP_GT: *res = ord == 1; break;
	case OP_GE: *res = ord == 1 || ord == 0; break;
	default: break;
	}
	return 0;
}

/* Short-circuits, so a type error hides behind a decided and/or. */
static int match_node(const struct node *n, const struct source *src, int *res)
{
	int err;

	switch (n->type) {
	case NODE_CMP:
		return match_cmp(n, src, res);
	case NODE_NOT:
		err = match_node(n->kids[0], src, res);
		*res = !*res;
		return err;
	case NODE_AND:
	case NODE_OR:
		for (size_t i = 0; i < n->nr; i++) {
			err = match_node(n->kids[i], src, res);
			if (err)
				return err;
			if (*res == (n->type == NODE_OR))
				return 0;
		}
		return 0;
	}
	return 0;
}

int mlp_query_match(const struct mlp_query *q, const struct mlp_run *run, int *match)
{
	struct source src = { run, NULL };
	int res = 1, err = 0;

	if (q && q->root)
		err = match_node(q->root, &src, &res);
	*match = !err && res;
	return err;
}

/* Whether views can answer key k: metrics, params, tags, and the attributes a row holds. */
static int key_view_ok(const struct key *k)
{
	return k->kind != KEY_ATTR || view_attr_ok(k->attr);
}

static int node_view_ok(const struct node *n)
{
	if (n->type == NODE_CMP)
		return key_view_ok(&n->key);
	for (size_t i = 0; i < n->nr; i++)
		if (!node_view_ok(n->kids[i]))
			return 0;
	return 1;
}

int mlp_query_view_ok(const struct mlp_query *q)
{
	return !q || !q->root || node_view_ok(q->root);
}

int mlp_query_match_view(const struct mlp_query *q, const struct mlp_run_view *view, int *match)
{
	struct source src = { NULL, view };
	int res = 1, err = 0;

	if (q && q->root)
		err = match_node(q->root, &src, &res);
	*match = !err && res;
	return err;
}

int mlp_run_list_filter(struct mlp_run_list *list, const struct mlp_query *q)
{
	unsigned char *keep = mlp_calloc(list->nr, 1);
	size_t kept = 0;
	int m, err;

	/* decide everything first, so that an error leaves the list as it was */
	for (size_t i = 0; i < list->nr; i++) {
		err = mlp_query_match(q, list->runs[i], &m);
		if (err) {
			free(keep);
			return err;
		}
		keep[i] = (unsigned char)m;
	}
	for (size_t i = 0; i < list->nr; i++) {
		if (keep[i])
			list->runs[kept++] = list->runs[i];
		else
			mlp_run_free(list->runs[i]);
	}
	list->nr = kept;
	free(keep);
	return 0;
}

/* ---- sorting --------------------------------------------------------------------- */

struct sort_val {
	int rank;		/* see sort_rank() */
	struct mlp_value v;	/* borrowed from the run: never cleared */
};

/*
 * Booleans, numbers, strings in that order; then NaN, then no value, which
 * stay at the end whichever the direction: a descending sort by accuracy
 * should not open with the runs that never reported it.
 */
static int sort_rank(const struct mlp_value *v)
{
	if (!v)
		return 4;
	switch (v->type) {
	case MLP_BOOL: return 0;
	case MLP_INT: return 1;
	case MLP_FLOAT: return isnan(v->u.f) ? 3 : 1;
	case MLP_STR: return 2;
	case MLP_NIL: break;
	}
	return 4;
}

static int sort_cmp(const struct sort_val *a, const struct sort_val *b, int desc)
{
	int c = 0;

	if (a->rank >= 3 || b->rank >= 3)
		return (a->rank > b->rank) - (a->rank < b->rank);
	if (a->rank != b->rank) {
		c = a->rank < b->rank ? -1 : 1;
	} else if (a->rank == 0) {
		c = !!a->v.u.b - !!b->v.u.b;
	} else if (a->rank == 1) {
		c = cmp_numbers(&a->v, &b->v);	/* NaN ranks apart: never ORD_NAN */
	} else {
		size_t n = a->v.u.str.len < b->v.u.str.len ? a->v.u.str.len : b->v.u.str.len;
		c = n ? memcmp(a->v.u.str.s, b->v.u.str.s, n) : 0;
		if (!c)
			c = (a->v.u.str.len > b->v.u.str.len) - (a->v.u.str.len < b->v.u.str.len);
		c = (c > 0) - (c < 0);
	}
	return desc ? -c : c;
}

struct sorter {
	const struct sort_val *vals;	/* nr * nkeys, row-major */
	const int *desc;
	size_t nkeys;
};

static int row_cmp(const struct sorter *s, size_t x, size_t y)
{
	for (size_t k = 0; k < s->nkeys; k++) {
		int c = sort_cmp(&s->vals[x * s->nkeys + k], &s->vals[y * s->nkeys + k],
				 s->desc[k]);
		if (c)
			return c;
	}
	return 0;
}

/*
 * Bottom-up merge sort of row indices: stable (the left row wins a tie)
 * and without recursion.
 */
static void merge_sort(const struct sorter *s, size_t *idx, size_t nr)
{
	size_t *tmp = mlp_malloc(nr * sizeof(*tmp));
	size_t *src = idx, *dst = tmp;

	for (size_t width = 1; width < nr; width *= 2) {
		for (size_t lo = 0; lo < nr; lo += 2 * width) {
			size_t mid = lo + width < nr ? lo + width : nr;
			size_t hi = mid + width < nr ? mid + width : nr;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				dst[o++] = row_cmp(s, src[j], src[i]) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		size_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != idx)
		memcpy(idx, src, nr * sizeof(*idx));
	free(tmp);
}

/*
 * The order of nr items by `keys`: *order_out[i] is the item that goes
 * i-th.  `get` looks key k up in item i (tmp: room for a value it makes);
 * < 0 from it stops the sort with that error.  `view_only`: a key views
 * cannot answer returns 1, nothing sorted.
 */
typedef int (*sort_get_fn)(const void *items, size_t i, const struct key *k,
			   struct mlp_value *tmp, const struct mlp_value **out);

struct sort_job {
	const void *items;
	const struct key *k;
	size_t nkeys;
	sort_get_fn get;
	struct sort_val *vals;
	size_t from, to;
	int err;
};

static void *sort_values(void *arg)
{
	struct sort_job *j = arg;

	for (size_t i = j->from; i < j->to; i++) {
		for (size_t n = 0; n < j->nkeys; n++) {
			struct sort_val *sv = &j->vals[i * j->nkeys + n];
			struct mlp_value tmp;
			const struct mlp_value *v = NULL;
			if ((j->err = j->get(j->items, i, &j->k[n], &tmp, &v)))
				return NULL;
			sv->rank = sort_rank(v);
			if (v)
				sv->v = *v;	/* borrowed: runs and views outlive the sort */
		}
	}
	return NULL;
}

static int sort_order(size_t **order_out, const void *items, size_t nr, const char *const *keys,
		      size_t nkeys, sort_get_fn get, int view_only)
{
	struct key *k = mlp_calloc(nkeys ? nkeys : 1, sizeof(*k));
	int *desc = mlp_calloc(nkeys ? nkeys : 1, sizeof(*desc));
	struct sort_val *vals = NULL;
	size_t *idx = NULL;
	struct sorter s;
	size_t parsed = 0;
	int err = 0;

	*order_out = NULL;
	for (; parsed < nkeys; parsed++) {
		const char *spec = keys[parsed];
		if (*spec == '-' || *spec == '+')
			desc[parsed] = *spec++ == '-';
		if ((err = key_parse_whole(&k[parsed], spec)))
			goto done;
		if (view_only && !key_view_ok(&k[parsed])) {
			err = 1;	/* not in the index: decoded runs can say */
			parsed++;
			goto done;
		}
	}
	if (nr < 2 || !nkeys)
		goto done;
	if (nkeys > SIZE_MAX / sizeof(*vals) / nr) {
		err = mlp_error_set(MLP_ELIMIT, "too many sort keys");
		goto done;
	}
	vals = mlp_calloc(nr * nkeys, sizeof(*vals));
	{
		/* the values of many items are looked up on every core */
		struct sort_job job[MLP_MAX_THREADS];
		size_t nt = mlp_threads(nr);
		for (size_t t = 0; t < nt; t++) {
			job[t] = (struct sort_job){ items, k, nkeys, get, vals, nr * t / nt, nr * (t + 1) / nt, 0 };
		}
		mlp_run_parts(sort_values, job, sizeof(job[0]), nt);
		for (size_t t = 0; t < nt && !err; t++)
			err = job[t].err;
		if (err)
			goto done;
	}
	idx = mlp_malloc(nr * sizeof(*idx));
	for (size_t i = 0; i < nr; i++)
		idx[i] = i;
	s.vals = vals;
	s.desc = desc;
	s.nkeys = nkeys;
	merge_sort(&s, idx, nr);
	*order_out = idx;
	idx = NULL;
done:
	for (size_t i = 0; i < parsed && i < nkeys; i++)
		key_release(&k[i]);
	free(k);
	free(desc);
	free(vals);
	free(idx);
	return err;
}

static int run_get(const void *items, size_t i, const struct key *k, struct mlp_value *tmp,
		   const struct mlp_value **out)
{
	*out = lookup(((struct mlp_run *const *)items)[i], k, tmp);
	return 0;
}

static int view_get(const void *items, size_t i, const struct key *k, struct mlp_value *tmp,
		    const struct mlp_value **out)
{
	/* a damaged record: decoded runs say what is wrong */
	return lookup_view(&((const struct mlp_run_view *)items)[i], k, tmp, out) < 0 ? 1 : 0;
}

int mlp_run_list_sort(struct mlp_run_list *list, const char *const *keys, size_t nkeys)
{
	size_t *order;
	int err = sort_order(&order, list->runs, list->nr, keys, nkeys, run_get, 0);

	if (order) {
		struct mlp_run **runs = mlp_malloc(list->nr * sizeof(*runs));
		for (size_t i = 0; i < list->nr; i++)
			runs[i] = list->runs[order[i]];
		memcpy(list->runs, runs, list->nr * sizeof(*runs));
		free(runs);
		free(order);
	}
	return err;
}

int mlp_sort_keys_view_ok(const char *const *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++) {
		const char *spec = keys[i] + (keys[i][0] == '-' || keys[i][0] == '+');
		struct key k;
		int ok;
		if (key_parse_whole(&k, spec))
			return 0;	/* said by the sort itself */
		ok = key_view_ok(&k);
		key_release(&k);
		if (!ok)
			return 0;
	}
	return 1;
}

int mlp_view_list_sort(struct mlp_view_list *l, const char *const *keys, size_t nkeys)
{
	size_t *order;
	int err = sort_order(&order, l->views, l->nr, keys, nkeys, view_get, 1);

	if (order) {
		struct mlp_run_view *views = mlp_malloc(l->nr * sizeof(*views));
		for (size_t i = 0; i < l->nr; i++)
			views[i] = l->views[order[i]];
		memcpy(l->views, views, l->nr * sizeof(*views));
		free(views);
		free(order);
	}
	return err;
}
