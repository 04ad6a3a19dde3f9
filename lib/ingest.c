/*
 * What a run reports: the JSON-lines protocol of $MLP_METRICS and the
 * --key value flags of the wrapped command.
 *
 * A JSON line is checked whole before anything in it is applied, so a bad
 * line changes nothing and the caller can warn about it by line number.
 */
#include "internal.h"
#include "journal.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pending {
	char *key;
	struct mlp_value val;
};

struct batch {
	struct pending *items;
	size_t nr;
};

static void batch_add(struct batch *b, const char *key, struct mlp_value *v)
{
	b->items = mlp_realloc(b->items, (b->nr + 1) * sizeof(*b->items));
	b->items[b->nr].key = mlp_strdup(key);
	b->items[b->nr].val = *v;
	memset(v, 0, sizeof(*v));
	b->nr++;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->nr; i++) {
		free(b->items[i].key);
		mlp_value_clear(&b->items[i].val);
	}
	free(b->items);
}

static int json_to_value(struct mlp_value *v, json_t *j)
{
	memset(v, 0, sizeof(*v));
	switch (json_typeof(j)) {
	case JSON_NULL: v->type = MLP_NIL; return 0;
	case JSON_TRUE: v->type = MLP_BOOL; v->u.b = 1; return 0;
	case JSON_FALSE: v->type = MLP_BOOL; return 0;
	case JSON_INTEGER: v->type = MLP_INT; v->u.i = json_integer_value(j); return 0;
	case JSON_REAL: v->type = MLP_FLOAT; v->u.f = json_real_value(j); return 0;
	case JSON_STRING:
		mlp_value_set_str(v, json_string_value(j), json_string_length(j));
		return 0;
	default: {
		/* arrays are kept as their JSON text */
		char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!s)
			return mlp_error_set(MLP_EINVALID, "cannot encode value");
		mlp_value_set_str(v, s, strlen(s));
		free(s);
		return 0;
	}
	}
}

/* Flattens nested objects into dotted keys. */
static int flatten(struct batch *b, json_t *obj, struct mlp_buf *prefix, int depth,
		   int numeric, const char *what)
{
	const char *k;
	json_t *v;
	int err = 0;

	if (depth > MLP_MAX_DEPTH)
		return mlp_error_set(MLP_EINVALID, "%s nested deeper than %d", what, MLP_MAX_DEPTH);
	json_object_foreach(obj, k, v) {
		size_t save = prefix->len;
		if (prefix->len)
			mlp_buf_addch(prefix, '.');
		mlp_buf_adds(prefix, k);
		if (strlen(k) == 0 || memchr(prefix->buf, '\0', prefix->len))
			err = mlp_error_set(MLP_EINVALID, "empty %s key", what);
		else if (json_is_object(v))
			err = flatten(b, v, prefix, depth + 1, numeric, what);
		else if ((err = mlp_key_check(what, prefix->buf)) < 0)
			;
		else if (numeric && !json_is_number(v))
			err = mlp_error_set(MLP_EINVALID, "metric '%s' is not a number", prefix->buf);
		else {
			struct mlp_value val;
			if (!(err = json_to_value(&val, v)))
				batch_add(b, prefix->buf, &val);
		}
		prefix->len = save;
		prefix->buf[save] = '\0';
		if (err < 0)
			return err;
	}
	return 0;
}

int mlp_ingest_json_line(struct mlp_run *run, const char *line, size_t len, int64_t now_ms)
{
	return mlp_ingest_json_line_j(run, line, len, now_ms, NULL);
}

/*
 * The fast path: most lines are flat objects of numbers, {"step": 3,
 * "loss": 0.21}.  Those are parsed here without building a JSON tree; any
 * other shape (nesting, strings, escapes, duplicate keys, anything odd)
 * returns 0 and goes through jansson, which also produces the messages.
 */
#define FAST_MAX_KEYS 64

static const char *fast_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* A JSON number per RFC 8259; returns its end, or NULL. */
static const char *fast_number(const char *p, const char *end, int *integral)
{
	const char *q = p;

	*integral = 1;
	if (q < end && *q == '-')
		q++;
	if (q >= end)
		return NULL;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	else
		return NULL;
	if (q < end && *q == '.') {
		*integral = 0;
		q++;
		if (q >= end || *q < '0' || *q > '9')
			return NULL;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		*integral = 0;
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || *q < '0' || *q > '9')
			return NULL;
		while (q < end && *q >= '0' && *q <= '9')
			q++;
	}
	return q - p < 64 ? q : NULL;
}

static int fast_line(struct mlp_run *run, const char *line, size_t len, int64_t now_ms,
		     struct mlp_journal *j)
{
	const char *p = line, *end = line + len;
	struct { const char *k; size_t kl; double v; } kv[FAST_MAX_KEYS];
	size_t n = 0, fresh = 0;
	int64_t step = 0;
	int has_step = 0;

	p = fast_ws(p, end);
	if (p >= end || *p++ != '{')
		return 0;
	p = fast_ws(p, end);
	if (p < end && *p == '}')
		return 0;	/* {} is fine but rare: let jansson say so */
	for (;;) {
		const char *k, *num;
		char tmp[64];
		int integral;
		size_t kl;

		if (p >= end || *p++ != '"')
			return 0;
		k = p;
		while (p < end && *p != '"') {
			if (*p == '\\' || (unsigned char)*p < 0x20)
				return 0;
			p++;
		}
		if (p >= end)
			return 0;
		kl = (size_t)(p - k);
		p = fast_ws(p + 1, end);
		if (p >= end || *p++ != ':')
			return 0;
		p = fast_ws(p, end);
		num = p;
		if (!(p = fast_number(p, end, &integral)))
			return 0;
		memcpy(tmp, num, (size_t)(p - num));
		tmp[p - num] = '\0';
		if (!kl || kl > MLP_MAX_KEY_LEN || n == FAST_MAX_KEYS)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (kv[i].kl == kl && !memcmp(kv[i].k, k, kl))
				return 0;	/* duplicate key: jansson's rules apply */
		if (kl == 4 && !memcmp(k, "step", 4)) {
			if (!integral)
				return 0;
			errno = 0;
			step = strtoll(tmp, NULL, 10);
			if (errno)
				return 0;
			has_step = 1;
		} else {
			/* "params", "tags", "artifact" with a number are errors: slow path */
			if ((kl == 6 && (!memcmp(k, "params", 6))) || (kl == 4 && !memcmp(k, "tags", 4)) ||
			    (kl == 8 && !memcmp(k, "artifact", 8)))
				return 0;
			kv[n].k = k;
			kv[n].kl = kl;
			kv[n].v = strtod(tmp, NULL);
			if (!isfinite(kv[n].v))
				return 0;
			n++;
		}
		p = fast_ws(p, end);
		if (p < end && *p == ',') {
			p = fast_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}') {
			p = fast_ws(p + 1, end);
			break;
		}
		return 0;
	}
	if (p != end)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char key[MLP_MAX_KEY_LEN + 1];
		memcpy(key, kv[i].k, kv[i].kl);
		key[kv[i].kl] = '\0';
		if (memchr(key, '\0', kv[i].kl))
			return 0;
		fresh += !mlp_run_series(run, key);
	}
	if (run->series_nr + fresh > MLP_MAX_METRIC_KEYS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char key[MLP_MAX_KEY_LEN + 1];
		int64_t s;
		memcpy(key, kv[i].k, kv[i].kl);
		key[kv[i].kl] = '\0';
		s = has_step ? step : mlp_run_next_step(run, key);
		mlp_run_add_point(run, key, s, kv[i].v, now_ms);
		if (j)
			mlp_journal_point(j, key, s, kv[i].v, now_ms);
	}
	return 1;
}

int mlp_ingest_json_line_j(struct mlp_run *run, const char *line, size_t len, int64_t now_ms,
			   struct mlp_journal *j)
{
	json_error_t jerr;
	json_t *root;
	struct batch metrics = { 0 }, params = { 0 }, tags = { 0 };
	struct mlp_buf prefix = MLP_BUF_INIT;
	const char *k;
	json_t *v;
	int64_t step = 0;
	int has_step = 0, err = 0;
	size_t i;
	json_t *artifacts = NULL;

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++)
		;
	if (i == len)
		return 0;
	if (fast_line(run, line, len, now_ms, j))
		return 0;
	root = json_loadb(line, len, 0, &jerr);
	if (!root)
		return mlp_error_set(MLP_EINVALID, "malformed JSON at column %d: %s", jerr.column, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return mlp_error_set(MLP_EINVALID, "not a JSON object");
	}
	mlp_buf_adds(&prefix, "");
	json_object_foreach(root, k, v) {
		if (!strcmp(k, "step")) {
			if (json_is_integer(v)) {
				step = json_integer_value(v);
			} else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
				   fabs(json_real_value(v)) < 9e15) {
				step = (int64_t)json_real_value(v);
			} else {
				err = mlp_error_set(MLP_EINVALID, "\"step\" is not an integer");
				break;
			}
			has_step = 1;
		} else if (!strcmp(k, "params") || !strcmp(k, "tags")) {
			int is_params = k[0] == 'p';
			if (!json_is_object(v)) {
				err = mlp_error_set(MLP_EINVALID, "\"%s\" is not an object", k);
				break;
			}
			mlp_buf_reset(&prefix);
			if ((err = flatten(is_params ? &params : &tags, v, &prefix, 0, 0,
					   is_params ? "param" : "tag")) < 0)
				break;
		} else if (!strcmp(k, "artifact")) {
			/* a path or a list of paths, stored when the run ends */
			size_t na = json_is_array(v) ? json_array_size(v) : 1;
			if (na > 1000) {
				err = mlp_error_set(MLP_ELIMIT, "more than 1000 artifact paths in one line");
				break;
			}
			for (size_t ai = 0; ai < na && !err; ai++) {
				json_t *av = json_is_array(v) ? json_array_get(v, ai) : v;
				if (!json_is_string(av) || !json_string_length(av) ||
				    json_string_length(av) > MLP_MAX_PATH_LEN ||
				    strlen(json_string_value(av)) != json_string_length(av))
					err = mlp_error_set(MLP_EINVALID, "\"artifact\" is not a path or a list of paths");
			}
			if (err)
				break;
			artifacts = v;

		} else {
			mlp_buf_reset(&prefix);
			mlp_buf_adds(&prefix, k);
			if (!*k) {
				err = mlp_error_set(MLP_EINVALID, "empty metric key");
				break;
			}
			if (json_is_object(v)) {
				if ((err = flatten(&metrics, v, &prefix, 1, 1, "metric")) < 0)
					break;
			} else if (!json_is_number(v)) {
				err = mlp_error_set(MLP_EINVALID, "metric '%s' is not a number", k);
				break;
			} else if ((err = mlp_key_check("metric", k)) < 0) {
				break;
			} else {
				struct mlp_value val;
				json_to_value(&val, v);
				batch_add(&metrics, k, &val);
			}
		}
	}
	if (!err && run->params.nr + params.nr > MLP_MAX_PARAMS)
		err = mlp_error_set(MLP_ELIMIT, "more than %d params", MLP_MAX_PARAMS);
	if (!err && run->tags.nr + tags.nr > MLP_MAX_TAGS)
		err = mlp_error_set(MLP_ELIMIT, "more than %d tags", MLP_MAX_TAGS);
	if (!err && run->series_nr + metrics.nr > MLP_MAX_METRIC_KEYS) {
		size_t fresh = 0;
		for (i = 0; i < metrics.nr; i++)
			fresh += !mlp_run_series(run, metrics.items[i].key);
		if (run->series_nr + fresh > MLP_MAX_METRIC_KEYS)
			err = mlp_error_set(MLP_ELIMIT, "more than %d metric keys", MLP_MAX_METRIC_KEYS);
	}
	if (!err) {
		for (i = 0; i < metrics.nr; i++) {
			const struct mlp_value *mv = &metrics.items[i].val;
			double d = mv->type == MLP_INT ? (double)mv->u.i : mv->u.f;
			int64_t s = has_step ? step : mlp_run_next_step(run, metrics.items[i].key);
			mlp_run_add_point(run, metrics.items[i].key, s, d, now_ms);
			if (j)
				mlp_journal_point(j, metrics.items[i].key, s, d, now_ms);
		}
		for (i = 0; i < params.nr; i++) {
			if (j)
				mlp_journal_kv(j, 'p', params.items[i].key, &params.items[i].val);
			mlp_map_set(&run->params, params.items[i].key, &params.items[i].val);
		}
		for (i = 0; i < tags.nr; i++) {
			struct mlp_value *tv = &tags.items[i].val;
			if (tv->type != MLP_STR) {
				struct mlp_buf s = MLP_BUF_INIT;
				mlp_value_format(&s, tv);
				mlp_value_clear(tv);
				mlp_value_set_str(tv, s.buf, s.len);
				mlp_buf_release(&s);
			}
			if (j)
				mlp_journal_kv(j, 'g', tags.items[i].key, tv);
			mlp_map_set(&run->tags, tags.items[i].key, tv);
		}
		if (artifacts && json_is_array(artifacts)) {
			for (i = 0; i < json_array_size(artifacts); i++)
				mlp_run_queue_artifact(run, json_string_value(json_array_get(artifacts, i)));
		} else if (artifacts) {
			mlp_run_queue_artifact(run, json_string_value(artifacts));
		}
	}
	batch_free(&metrics);
	batch_free(&params);
	batch_free(&tags);
	mlp_buf_release(&prefix);
	json_decref(root);
	return err;
}

static int is_number(const char *s)
{
	struct mlp_value v;
	int num;

	mlp_value_parse(&v, s, strlen(s));
	num = v.type == MLP_INT || v.type == MLP_FLOAT;
	mlp_value_clear(&v);
	return num;
}

int mlp_params_from_argv(struct mlp_map *params, size_t argc, char *const *argv)
{
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		char *key;
		struct mlp_value v;

		if (strncmp(a, "--", 2))
			continue;
		if (!a[2])
			break;	/* "--": the rest are operands */
		eq = strchr(a + 2, '=');
		if (eq == a + 2)
			continue;
		key = eq ? mlp_strndup(a + 2, (size_t)(eq - a - 2)) : mlp_strdup(a + 2);
		if (eq) {
			mlp_value_parse(&v, eq + 1, strlen(eq + 1));
		} else if (i + 1 < argc && (strncmp(argv[i + 1], "-", 1) || is_number(argv[i + 1]))) {
			i++;
			mlp_value_parse(&v, argv[i], strlen(argv[i]));
		} else {
			memset(&v, 0, sizeof(v));
			v.type = MLP_BOOL;
			v.u.b = 1;
		}
		if (mlp_key_check("param", key) < 0) {
			free(key);
			mlp_value_clear(&v);
			continue;	/* not a flag we can name: leave it out */
		}
		mlp_map_set(params, key, &v);
		free(key);
	}
	return 0;
}

int mlp_json_line_metrics(struct mlp_buf *out, const struct mlp_map *values, int has_step, int64_t step)
{
	int first = 1;

	for (size_t i = 0; i < values->nr; i++) {
		enum mlp_type t = values->items[i].val.type;
		if (t != MLP_INT && t != MLP_FLOAT)
			return mlp_error_set(MLP_EINVALID, "metric '%s' is not a number", values->items[i].key);
		if (!strcmp(values->items[i].key, "step"))
			return mlp_error_set(MLP_EINVALID, "'step' is not a metric name; use --step");
	}
	mlp_buf_addch(out, '{');
	if (has_step) {
		mlp_buf_addf(out, "\"step\":%lld", (long long)step);
		first = 0;
	}
	for (size_t i = 0; i < values->nr; i++) {
		if (!first)
			mlp_buf_addch(out, ',');
		first = 0;
		mlp_json_str(out, values->items[i].key, strlen(values->items[i].key));
		mlp_buf_addch(out, ':');
		mlp_json_value(out, &values->items[i].val);
	}
	mlp_buf_adds(out, "}\n");
	return 0;
}

int mlp_json_line_map(struct mlp_buf *out, const char *section, const struct mlp_map *values)
{
	mlp_buf_addf(out, "{\"%s\":{", section);
	for (size_t i = 0; i < values->nr; i++) {
		if (i)
			mlp_buf_addch(out, ',');
		mlp_json_str(out, values->items[i].key, strlen(values->items[i].key));
		mlp_buf_addch(out, ':');
		mlp_json_value(out, &values->items[i].val);
	}
	mlp_buf_adds(out, "}}\n");
	return 0;
}
