/*
 * Capture with no code changes (capture.h).  Every reader here takes
 * files a training script wrote, so each one caps what it reads: line
 * and file sizes, nesting, and the number of YAML nodes it visits (an
 * alias-heavy document must not expand exponentially).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "capture.h"
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_FILE_SIZE (16u << 20)
#define MAX_NODES 1000000
#define MAX_TSV_FILES 10000
#define MAX_SCAN_LINE 65536

/* ---- scalars in output lines ------------------------------------------------- */

struct pattern {
	pcre2_code *code;
	pcre2_match_data *md;
	char **names;		/* group names other than key/value/step */
	uint32_t *numbers;
	size_t nnames;
	int key, value, step;	/* group numbers, or 0 */
};

struct mlp_scalars {
	struct pattern *pat;
	size_t npat;
	int64_t step;		/* the last step seen in output, or -1 */
};

int mlp_scalars_new(struct mlp_scalars **out, const char *const *patterns, size_t n)
{
	struct mlp_scalars *s = mlp_calloc(1, sizeof(*s));

	s->step = -1;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		int errcode;
		PCRE2_SIZE erroff;
		struct pattern *p;
		uint32_t count, size;
		PCRE2_SPTR table;

		s->pat = mlp_realloc(s->pat, (s->npat + 1) * sizeof(*s->pat));
		p = &s->pat[s->npat];
		memset(p, 0, sizeof(*p));
		p->code = pcre2_compile((PCRE2_SPTR)patterns[i], PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
		if (!p->code) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(errcode, msg, sizeof(msg));
			mlp_scalars_free(s);
			return mlp_error_set(MLP_EINVALID, "bad capture pattern '%s' at offset %zu: %s",
					     patterns[i], (size_t)erroff, (char *)msg);
		}
		s->npat++;
		p->md = pcre2_match_data_create_from_pattern(p->code, NULL);
		pcre2_pattern_info(p->code, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(p->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
		pcre2_pattern_info(p->code, PCRE2_INFO_NAMETABLE, &table);
		for (uint32_t j = 0; j < count; j++) {
			const unsigned char *e = table + (size_t)j * size;
			uint32_t num = ((uint32_t)e[0] << 8) | e[1];
			const char *name = (const char *)e + 2;
			if (!strcmp(name, "key"))
				p->key = (int)num;
			else if (!strcmp(name, "value"))
				p->value = (int)num;
			else if (!strcmp(name, "step"))
				p->step = (int)num;
			else {
				p->names = mlp_realloc(p->names, (p->nnames + 1) * sizeof(char *));
				p->numbers = mlp_realloc(p->numbers, (p->nnames + 1) * sizeof(uint32_t));
				p->names[p->nnames] = mlp_strdup(name);
				p->numbers[p->nnames++] = num;
			}
		}
		if (!(p->key && p->value) && !p->nnames) {
			mlp_scalars_free(s);
			return mlp_error_set(MLP_EINVALID,
					     "capture pattern '%s' needs named groups key and value, or a group named after a metric",
					     patterns[i]);
		}
	}
	*out = s;
	return 0;
}

void mlp_scalars_free(struct mlp_scalars *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npat; i++) {
		pcre2_match_data_free(s->pat[i].md);
		pcre2_code_free(s->pat[i].code);
		for (size_t j = 0; j < s->pat[i].nnames; j++)
			free(s->pat[i].names[j]);
		free(s->pat[i].names);
		free(s->pat[i].numbers);
	}
	free(s->pat);
	free(s);
}

static int is_step_key(const char *k, size_t n)
{
	static const char *const keys[] = { "step", "epoch", "iter", "iteration", "global_step", "it" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i]) == n && !strncasecmp(k, keys[i], n))
			return 1;
	return 0;
}

/* A number token at p: returns its length, or 0. */
static size_t number_at(const char *p, const char *end, double *out, int *integral)
{
	const char *q = p;
	char tmp[64];
	int digits = 0, dot = 0;

	if (q < end && (*q == '-' || *q == '+'))
		q++;
	while (q < end && (isdigit((unsigned char)*q) || (*q == '.' && !dot))) {
		if (*q == '.')
			dot = 1;
		else
			digits++;
		q++;
	}
	if (!digits)
		return 0;
	if (q < end && (*q == 'e' || *q == 'E')) {
		const char *e = q + 1;
		if (e < end && (*e == '-' || *e == '+'))
			e++;
		if (e < end && isdigit((unsigned char)*e)) {
			while (e < end && isdigit((unsigned char)*e))
				e++;
			q = e;
			dot = 1;
		}
	}
	if ((size_t)(q - p) >= sizeof(tmp))
		return 0;
	memcpy(tmp, p, (size_t)(q - p));
	tmp[q - p] = '\0';
	*out = strtod(tmp, NULL);
	*integral = !dot;
	return (size_t)(q - p);
}

static int delimiter(const char *p, const char *end)
{
	return p >= end || strchr(" \t,;|)]}\r", *p) != NULL;
}

struct found {
	const char *key;
	size_t keylen;
	double value;
};

/* A double that converts to int64_t without undefined behaviour. */
static int fits_int64(double v)
{
	return v >= -9.2e18 && v <= 9.2e18;
}

static void emit(struct mlp_scalars *s, const char *key, size_t keylen, double v, int has_step,
		 mlp_point_fn fn, void *data)
{
	char name[MLP_MAX_KEY_LEN + 1];

	if (!keylen || keylen > 128 || !isfinite(v))
		return;
	memcpy(name, key, keylen);
	name[keylen] = '\0';
	fn(data, name, has_step, s->step, v, mlp_now_ms());
}

/*
 * The built-in rules: "key: value" and "key=value" pairs with a number
 * that ends at a delimiter (so "ETA: 0:01:23" and "v1.2.3" are not taken),
 * and step/epoch/iter fields ("epoch 3/10" too) setting the step.
 */
static void builtin(struct mlp_scalars *s, const char *line, size_t len, mlp_point_fn fn, void *data)
{
	const char *p = line, *end = line + (len > MAX_SCAN_LINE ? MAX_SCAN_LINE : len);
	struct found f[64];
	size_t nf = 0;
	int has_step = 0;

	while (p < end) {
		const char *k, *q;
		size_t kl;
		double v;
		int integral;
		size_t nl;

		if (!(isalpha((unsigned char)*p) || *p == '_') ||
		    (p > line && (isalnum((unsigned char)p[-1]) || strchr("_./-", p[-1])))) {
			p++;
			continue;
		}
		k = p;
		while (p < end && (isalnum((unsigned char)*p) || strchr("_./-", *p)))
			p++;
		kl = (size_t)(p - k);
		while (kl && strchr("./-", k[kl - 1]))
			kl--;
		q = p;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && (*q == ':' || *q == '=')) {
			q++;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
		} else if (!(is_step_key(k, kl) && q > p)) {
			continue;
		}
		nl = number_at(q, end, &v, &integral);
		if (!nl)
			continue;
		q += nl;
		if (q < end && *q == '%')
			q++;
		if (is_step_key(k, kl)) {
			/* "epoch 3/10": the step is 3 */
			if (integral && fits_int64(v) && (delimiter(q, end) || *q == '/')) {
				s->step = (int64_t)v;
				has_step = 1;
			}
			p = q;
			continue;
		}
		if (!delimiter(q, end))
			continue;
		if (nf < sizeof(f) / sizeof(f[0])) {
			f[nf].key = k;
			f[nf].keylen = kl;
			f[nf].value = v;
			nf++;
		}
		p = q;
	}
	for (size_t i = 0; i < nf; i++)
		emit(s, f[i].key, f[i].keylen, f[i].value, has_step || s->step >= 0, fn, data);
}

static int group(pcre2_match_data *md, uint32_t n, const char *line, const char **s, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

	if (n >= pcre2_get_ovector_count(md) || ov[2 * n] == PCRE2_UNSET)
		return 0;
	*s = line + ov[2 * n];
	*len = ov[2 * n + 1] - ov[2 * n];
	return 1;
}

static int parse_double(const char *s, size_t len, double *out)
{
	char tmp[64], *end;

	if (!len || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, &end);
	return *end == '\0' || *end == '%';
}

void mlp_scalars_match(struct mlp_scalars *s, const char *line, size_t len, mlp_point_fn fn, void *data)
{
	if (len > MAX_SCAN_LINE)
		len = MAX_SCAN_LINE;
	if (!s->npat) {
		builtin(s, line, len, fn, data);
		return;
	}
	for (size_t i = 0; i < s->npat; i++) {
		struct pattern *p = &s->pat[i];
		PCRE2_SIZE start = 0;
		int guard = 0;

		while (start <= len && guard++ < 256) {
			int rc = pcre2_match(p->code, (PCRE2_SPTR)line, len, start, 0, p->md, NULL);
			const char *gs, *vs;
			size_t gl, vl;
			double v, st;
			PCRE2_SIZE *ov;

			if (rc < 0)
				break;
			if (p->step && group(p->md, (uint32_t)p->step, line, &gs, &gl) && parse_double(gs, gl, &st) &&
			    fits_int64(st))
				s->step = (int64_t)st;
			if (p->key && group(p->md, (uint32_t)p->key, line, &gs, &gl) &&
			    group(p->md, (uint32_t)p->value, line, &vs, &vl) && parse_double(vs, vl, &v))
				emit(s, gs, gl, v, s->step >= 0, fn, data);
			for (size_t j = 0; j < p->nnames; j++)
				if (group(p->md, p->numbers[j], line, &vs, &vl) && parse_double(vs, vl, &v))
					emit(s, p->names[j], strlen(p->names[j]), v, s->step >= 0, fn, data);
			ov = pcre2_get_ovector_pointer(p->md);
			start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
}

/* ---- reading files with a cap ---------------------------------------------------- */

static int slurp(struct mlp_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t n;
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? MLP_ENOTFOUND :
			mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		return mlp_error_set(MLP_EINVALID, "'%s' is not a regular file", path);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		mlp_buf_add(out, chunk, (size_t)n);
		if (out->len > max) {
			close(fd);
			return mlp_error_set(MLP_ELIMIT, "'%s' is larger than %zu bytes", path, max);
		}
	}
	close(fd);
	return 0;
}

/* ---- YAML and JSON into flat maps ----------------------------------------------- */

struct flat {
	struct mlp_map *out;
	int numeric_only;
	size_t visits;
	char sep;
};

static void set_flat(struct flat *f, const char *key, struct mlp_value *v)
{
	if (f->out->nr >= MLP_MAX_PARAMS || !*key || strlen(key) > MLP_MAX_KEY_LEN) {
		mlp_value_clear(v);
		return;
	}
	if (f->numeric_only && v->type != MLP_INT && v->type != MLP_FLOAT) {
		mlp_value_clear(v);
		return;
	}
	mlp_map_set(f->out, key, v);
}

static int yaml_json(struct mlp_buf *b, yaml_document_t *doc, yaml_node_t *node, int depth, struct flat *f);

static void yaml_scalar_value(struct mlp_value *v, yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	/* callers pass uninitialised values; set_str would free() garbage */
	memset(v, 0, sizeof(*v));
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		mlp_value_set_str(v, s, len);
		return;
	}
	if ((len == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))) ||
	    (len == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))) {
		memset(v, 0, sizeof(*v));
		v->type = MLP_BOOL;
		v->u.b = s[0] == 'T';
		return;
	}
	if ((len == 1 && s[0] == '~') || (len == 4 && !memcmp(s, "Null", 4)) || len == 0) {
		memset(v, 0, sizeof(*v));
		return;
	}
	mlp_value_parse(v, s, len);
}

static int yaml_json(struct mlp_buf *b, yaml_document_t *doc, yaml_node_t *node, int depth, struct flat *f)
{
	if (!node || depth > MLP_MAX_DEPTH || ++f->visits > MAX_NODES)
		return mlp_error_set(MLP_ELIMIT, "YAML document too deep or too large");
	if (node->type == YAML_SCALAR_NODE) {
		struct mlp_value v;
		yaml_scalar_value(&v, node);
		mlp_json_value(b, &v);
		mlp_value_clear(&v);
	} else if (node->type == YAML_SEQUENCE_NODE) {
		mlp_buf_addch(b, '[');
		for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
			if (it != node->data.sequence.items.start)
				mlp_buf_addch(b, ',');
			if (yaml_json(b, doc, yaml_document_get_node(doc, *it), depth + 1, f) < 0)
				return MLP_ELIMIT;
		}
		mlp_buf_addch(b, ']');
	} else if (node->type == YAML_MAPPING_NODE) {
		mlp_buf_addch(b, '{');
		for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			if (pr != node->data.mapping.pairs.start)
				mlp_buf_addch(b, ',');
			if (k && k->type == YAML_SCALAR_NODE)
				mlp_json_str(b, (const char *)k->data.scalar.value, k->data.scalar.length);
			else
				mlp_buf_adds(b, "\"?\"");
			mlp_buf_addch(b, ':');
			if (yaml_json(b, doc, yaml_document_get_node(doc, pr->value), depth + 1, f) < 0)
				return MLP_ELIMIT;
		}
		mlp_buf_addch(b, '}');
	}
	return 0;
}

static int yaml_flatten(yaml_document_t *doc, yaml_node_t *node, struct mlp_buf *prefix, int depth, struct flat *f)
{
	if (!node || depth > MLP_MAX_DEPTH || ++f->visits > MAX_NODES)
		return mlp_error_set(MLP_ELIMIT, "YAML document nested deeper than %d or over %d nodes",
				     MLP_MAX_DEPTH, MAX_NODES);
	if (node->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);
			size_t save = prefix->len;
			int err;
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			if (prefix->len)
				mlp_buf_addch(prefix, f->sep);
			mlp_buf_add(prefix, k->data.scalar.value, k->data.scalar.length);
			err = yaml_flatten(doc, yaml_document_get_node(doc, pr->value), prefix, depth + 1, f);
			prefix->len = save;
			prefix->buf[save] = '\0';
			if (err < 0)
				return err;
		}
		return 0;
	}
	struct mlp_value v = { MLP_NIL, { 0 } };
	if (node->type == YAML_SCALAR_NODE) {
		yaml_scalar_value(&v, node);
	} else {
		struct mlp_buf j = MLP_BUF_INIT;
		int err = yaml_json(&j, doc, node, depth, f);
		if (err < 0) {
			mlp_buf_release(&j);
			return err;
		}
		mlp_value_set_str(&v, j.buf, j.len);
		mlp_buf_release(&j);
	}
	if (prefix->len && !memchr(prefix->buf, '\0', prefix->len))
		set_flat(f, prefix->buf, &v);
	else
		mlp_value_clear(&v);
	return 0;
}

static int read_yaml(struct flat *f, const char *data, size_t len, const char *path)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct mlp_buf prefix = MLP_BUF_INIT;
	int err = 0;

	if (!yaml_parser_initialize(&parser))
		return mlp_error_set(MLP_ERROR, "cannot start the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err = mlp_error_set(MLP_EINVALID, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
				    parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return err;
	}
	mlp_buf_adds(&prefix, "");
	err = yaml_flatten(&doc, yaml_document_get_root_node(&doc), &prefix, 0, f);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	mlp_buf_release(&prefix);
	return err;
}

static int json_flatten(json_t *j, struct mlp_buf *prefix, int depth, struct flat *f)
{
	const char *k;
	json_t *v;
	struct mlp_value val;

	if (depth > MLP_MAX_DEPTH || ++f->visits > MAX_NODES)
		return mlp_error_set(MLP_ELIMIT, "JSON nested deeper than %d", MLP_MAX_DEPTH);
	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			size_t save = prefix->len;
			int err;
			if (prefix->len)
				mlp_buf_addch(prefix, f->sep);
			mlp_buf_adds(prefix, k);
			err = json_flatten(v, prefix, depth + 1, f);
			prefix->len = save;
			prefix->buf[save] = '\0';
			if (err < 0)
				return err;
		}
		return 0;
	}
	memset(&val, 0, sizeof(val));
	switch (json_typeof(j)) {
	case JSON_INTEGER: val.type = MLP_INT; val.u.i = json_integer_value(j); break;
	case JSON_REAL: val.type = MLP_FLOAT; val.u.f = json_real_value(j); break;
	case JSON_TRUE: case JSON_FALSE: val.type = MLP_BOOL; val.u.b = json_is_true(j); break;
	case JSON_STRING: mlp_value_set_str(&val, json_string_value(j), json_string_length(j)); break;
	case JSON_NULL: break;
	default: {
		char *s = json_dumps(j, JSON_COMPACT);
		mlp_value_set_str(&val, s ? s : "", s ? strlen(s) : 0);
		free(s);
	}
	}
	if (prefix->len)
		set_flat(f, prefix->buf, &val);
	else
		mlp_value_clear(&val);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int mlp_parse_flat(struct mlp_map *out, const char *data, size_t len, const char *path,
		   int numeric, char sep)
{
	struct mlp_buf prefix = MLP_BUF_INIT;
	struct flat f = { out, numeric, 0, sep };
	int err;

	if (len > MAX_FILE_SIZE)
		return mlp_error_set(MLP_ELIMIT, "'%s' is larger than %u bytes", path, MAX_FILE_SIZE);
	if (ends_with(path, ".json")) {
		json_error_t je;
		json_t *j = json_loadb(data ? data : "", len, 0, &je);
		if (!j) {
			err = mlp_error_set(MLP_EINVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		} else {
			mlp_buf_adds(&prefix, "");
			err = json_flatten(j, &prefix, 0, &f);
			json_decref(j);
		}
	} else {
		err = read_yaml(&f, data ? data : "", len, path);
	}
	mlp_buf_release(&prefix);
	return err;
}

static int read_flat(struct mlp_map *out, const char *path, int numeric, char sep)
{
	struct mlp_buf data = MLP_BUF_INIT;
	int err = slurp(&data, path, MAX_FILE_SIZE);

	if (err < 0) {
		mlp_buf_release(&data);
		if (err == MLP_ENOTFOUND)
			return mlp_error_set(MLP_ENOTFOUND, "'%s' does not exist", path);
		return err;
	}
	err = mlp_parse_flat(out, data.buf, data.len, path, numeric, sep);
	mlp_buf_release(&data);
	return err;
}

int mlp_read_params_file(struct mlp_map *out, const char *path)
{
	return read_flat(out, path, 0, '.');
}

int mlp_read_metrics_file(struct mlp_map *out, const char *path)
{
	return read_flat(out, path, 1, '.');
}

/* ---- DVCLive ----------------------------------------------------------------------- */

struct tsv {
	char *path, *key;
	int64_t offset, lineno;
	int step_col, value_col, ts_col, ncols;	/* -1 when absent */
	int header_done, warned;
	size_t points;
};

struct mlp_dvclive {
	char *dir;
	struct tsv *files;
	size_t nfiles;
	time_t params_mtime;
	off_t params_size;
	int seen;
	int64_t last_walk;
};

struct mlp_dvclive *mlp_dvclive_new(const char *dir)
{
	struct mlp_dvclive *d = mlp_calloc(1, sizeof(*d));
	d->dir = mlp_strdup(dir);
	return d;
}

void mlp_dvclive_free(struct mlp_dvclive *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfiles; i++) {
		free(d->files[i].path);
		free(d->files[i].key);
	}
	free(d->files);
	free(d->dir);
	free(d);
}

int mlp_dvclive_seen(const struct mlp_dvclive *d)
{
	return d && d->seen;
}

static void walk(struct mlp_dvclive *d, const char *abs, const char *rel, int depth)
{
	DIR *dir;
	struct dirent *e;

	if (depth > 16 || !(dir = opendir(abs)))
		return;
	while ((e = readdir(dir)) && d->nfiles < MAX_TSV_FILES) {
		struct mlp_buf a = MLP_BUF_INIT, r = MLP_BUF_INIT;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		mlp_buf_addf(&a, "%s/%s", abs, e->d_name);
		mlp_buf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		/* lstat: a symlink out of the directory is not followed */
		if (lstat(a.buf, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				walk(d, a.buf, r.buf, depth + 1);
			} else if (S_ISREG(st.st_mode) && ends_with(e->d_name, ".tsv")) {
				size_t i;
				for (i = 0; i < d->nfiles; i++)
					if (!strcmp(d->files[i].path, a.buf))
						break;
				if (i == d->nfiles) {
					struct tsv *t;
					d->files = mlp_realloc(d->files, (d->nfiles + 1) * sizeof(*d->files));
					t = &d->files[d->nfiles++];
					memset(t, 0, sizeof(*t));
					t->path = mlp_strdup(a.buf);
					t->key = mlp_strndup(r.buf, r.len - 4);
					t->step_col = t->value_col = t->ts_col = -1;
				}
			}
		}
		mlp_buf_release(&a);
		mlp_buf_release(&r);
	}
	closedir(dir);
}

struct tsv_ctx {
	struct tsv *t;
	mlp_point_fn fn;
	void *data;
	mlp_warn_fn warn;
	void *wdata;
	int bad;
};

static void tsv_line(void *data, const char *s, size_t len, int64_t lineno)
{
	struct tsv_ctx *c = data;
	struct tsv *t = c->t;
	char *line, *save = NULL, *tok;
	int col = 0;
	double value = NAN, step = NAN, ts = NAN;

	if (len && s[len - 1] == '\r')
		len--;
	if (!len || len > MAX_SCAN_LINE)
		return;
	line = mlp_strndup(s, len);
	if (!t->header_done) {
		for (tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save), col++) {
			if (!strcmp(tok, "step"))
				t->step_col = col;
			else if (!strcmp(tok, "timestamp"))
				t->ts_col = col;
			else
				t->value_col = col;
		}
		t->ncols = col;
		t->header_done = 1;
		free(line);
		return;
	}
	for (tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save), col++) {
		char *end;
		double v = strtod(tok, &end);
		if (*end)
			v = NAN;
		if (col == t->value_col)
			value = v;
		else if (col == t->step_col)
			step = v;
		else if (col == t->ts_col)
			ts = v;
	}
	free(line);
	if (!fits_int64(ts))
		ts = NAN;	/* not a time: now */
	if (col != t->ncols || t->value_col < 0 || isnan(value) ||
	    (t->step_col >= 0 && !fits_int64(step))) {
		c->bad++;
		if (!t->warned && c->warn) {
			struct mlp_buf m = MLP_BUF_INIT;
			mlp_buf_addf(&m, "%s:%lld: malformed DVCLive row (ignored)", t->path, (long long)lineno);
			c->warn(c->wdata, m.buf);
			mlp_buf_release(&m);
			t->warned = 1;
		}
		return;
	}
	t->points++;
	c->fn(c->data, t->key, t->step_col >= 0, t->step_col >= 0 ? (int64_t)step : 0, value,
	      isnan(ts) ? mlp_now_ms() : (int64_t)ts);
}

int mlp_dvclive_poll(struct mlp_dvclive *d, int final, mlp_point_fn fn, void *data,
		     mlp_warn_fn warn, void *wdata)
{
	struct mlp_buf plots = MLP_BUF_INIT;
	int64_t now = mlp_now_ms();

	/* a directory walk per second is plenty; each tick reads known files */
	if (final || now - d->last_walk >= 1000) {
		mlp_buf_addf(&plots, "%s/plots/metrics", d->dir);
		walk(d, plots.buf, "", 0);
		d->last_walk = now;
	}
	for (size_t i = 0; i < d->nfiles; i++) {
		struct tsv_ctx c = { &d->files[i], fn, data, warn, wdata, 0 };
		/* only complete lines: a row being written is read next time */
		mlp_tail_lines(d->files[i].path, &d->files[i].offset, &d->files[i].lineno, final, tsv_line, &c);
		if (d->files[i].points)
			d->seen = 1;
	}
	if (final) {
		struct mlp_map m = MLP_MAP_INIT;
		struct mlp_buf path = MLP_BUF_INIT;
		mlp_buf_addf(&path, "%s/metrics.json", d->dir);
		if (read_flat(&m, path.buf, 1, '/') == 0) {
			const struct mlp_value *sv = mlp_map_get(&m, "step");
			int64_t step = sv && sv->type == MLP_INT ? sv->u.i : 0;
			for (size_t i = 0; i < m.nr; i++) {
				size_t j;
				if (!strcmp(m.items[i].key, "step"))
					continue;
				for (j = 0; j < d->nfiles; j++)
					if (!strcmp(d->files[j].key, m.items[i].key) && d->files[j].points)
						break;
				if (j < d->nfiles)
					continue;	/* the TSV has its history */
				const struct mlp_value *v = &m.items[i].val;
				fn(data, m.items[i].key, sv != NULL, step,
				   v->type == MLP_INT ? (double)v->u.i : v->u.f, now);
				d->seen = 1;
			}
		}
		mlp_map_clear(&m);
		mlp_buf_release(&path);
	}
	mlp_buf_release(&plots);
	return 0;
}

int mlp_dvclive_params(struct mlp_dvclive *d, struct mlp_map *out, int *changed)
{
	struct mlp_buf path = MLP_BUF_INIT;
	struct stat st;
	int err = 0;

	*changed = 0;
	mlp_buf_addf(&path, "%s/params.yaml", d->dir);
	if (stat(path.buf, &st) == 0 && (st.st_mtime != d->params_mtime || st.st_size != d->params_size)) {
		d->params_mtime = st.st_mtime;
		d->params_size = st.st_size;
		err = mlp_read_params_file(out, path.buf);
		*changed = err == 0;
	}
	mlp_buf_release(&path);
	return err;
}

/* ---- system figures ------------------------------------------------------------------ */

struct mlp_sysmon {
	long pid;
	int64_t last_ms;
	unsigned long long last_ticks;
	int gpu;	/* -1 unknown, 0 none, 1 nvidia-smi found */
};

struct mlp_sysmon *mlp_sysmon_new(long pid)
{
	struct mlp_sysmon *m = mlp_calloc(1, sizeof(*m));
	m->pid = pid;
	m->gpu = -1;
	return m;
}

void mlp_sysmon_free(struct mlp_sysmon *m)
{
	free(m);
}

static int stat_fields(long pid, long *ppid, unsigned long long *ticks, long long *rss_pages)
{
	char path[64], buf[1024], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	{
		char state;
		long pp;
		unsigned long long ut, st;
		long long rss;
		/* fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itreal starttime vsize rss */
		if (sscanf(p + 2, "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %lld",
			   &state, &pp, &ut, &st, &rss) != 5)
			return -1;
		*ppid = pp;
		*ticks = ut + st;
		*rss_pages = rss;
	}
	return 0;
}

static int have_nvidia_smi(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int found = 0;

	if (!path)
		return 0;
	copy = mlp_strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		struct mlp_buf b = MLP_BUF_INIT;
		mlp_buf_addf(&b, "%s/nvidia-smi", *dir ? dir : ".");
		found = access(b.buf, X_OK) == 0;
		mlp_buf_release(&b);
	}
	free(copy);
	return found;
}

void mlp_sysmon_sample(struct mlp_sysmon *m, mlp_point_fn fn, void *data)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	long *pids = NULL, *ppids = NULL;
	unsigned long long *ticks = NULL;
	long long *rss = NULL;
	size_t n = 0, alloc = 0;
	unsigned long long total_ticks = 0;
	long long total_rss = 0;
	int64_t now = mlp_now_ms();
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

	/* the process tree under the command: a shell wrapper's children count */
	while (proc && (e = readdir(proc))) {
		long pid, pp;
		unsigned long long t;
		long long r;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, NULL, 10);
		if (stat_fields(pid, &pp, &t, &r) < 0)
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			pids = mlp_realloc(pids, alloc * sizeof(*pids));
			ppids = mlp_realloc(ppids, alloc * sizeof(*ppids));
			ticks = mlp_realloc(ticks, alloc * sizeof(*ticks));
			rss = mlp_realloc(rss, alloc * sizeof(*rss));
		}
		pids[n] = pid;
		ppids[n] = pp;
		ticks[n] = t;
		rss[n] = r;
		n++;
	}
	if (proc)
		closedir(proc);
	{
		char *in = mlp_calloc(n ? n : 1, 1);
		int grew = 1;
		for (size_t i = 0; i < n; i++)
			in[i] = pids[i] == m->pid;
		while (grew) {
			grew = 0;
			for (size_t i = 0; i < n; i++) {
				if (in[i])
					continue;
				for (size_t j = 0; j < n; j++)
					if (in[j] && pids[j] == ppids[i]) {
						in[i] = 1;
						grew = 1;
						break;
					}
			}
		}
		for (size_t i = 0; i < n; i++)
			if (in[i]) {
				total_ticks += ticks[i];
				total_rss += rss[i];
			}
		free(in);
	}
	free(pids);
	free(ppids);
	free(ticks);
	free(rss);
	if (m->last_ms && now > m->last_ms && hz > 0) {
		double cpu = (double)(total_ticks >= m->last_ticks ? total_ticks - m->last_ticks : 0) /
			     hz / ((now - m->last_ms) / 1000.0) * 100.0;
		fn(data, "sys/cpu_percent", 0, 0, cpu, now);
	}
	if (total_rss > 0)
		fn(data, "sys/rss_mb", 0, 0, (double)total_rss * page / (1024.0 * 1024.0), now);
	m->last_ms = now;
	m->last_ticks = total_ticks;

	if (m->gpu < 0)
		m->gpu = have_nvidia_smi();
	if (m->gpu > 0) {
		FILE *f = popen("nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits 2>/dev/null", "r");
		char line[256];
		int idx = 0;
		while (f && fgets(line, sizeof(line), f) && idx < 64) {
			double util, mem;
			char key[64];
			if (sscanf(line, "%lf , %lf", &util, &mem) == 2) {
				snprintf(key, sizeof(key), "sys/gpu%d/util_percent", idx);
				fn(data, key, 0, 0, util, now);
				snprintf(key, sizeof(key), "sys/gpu%d/mem_mb", idx);
				fn(data, key, 0, 0, mem, now);
			}
			idx++;
		}
		if (f && pclose(f) != 0 && idx == 0)
			m->gpu = 0;	/* a broken driver: stop asking */
	}
}
