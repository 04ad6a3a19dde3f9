/*
 * Importers: MLflow (FileStore and SQLite), DVCLive, DVC experiment refs.
 *
 * Everything read here is untrusted: a FileStore may hold symlinks
 * (never followed: a param must not become the content of /etc/passwd),
 * huge files and lines, bad numbers; an SQLite file may hold anything.
 * Each value is checked and capped before it reaches a run, and a bad
 * value costs a warning, not the import.
 */
#include "import.h"
#include "capture.h"
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void warnf(mlp_warn_fn warn, void *data, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warnf(mlp_warn_fn warn, void *data, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	warn(data, b.buf);
	mlp_buf_release(&b);
}

/* ---- small parsers ------------------------------------------------------------ */

static int parse_i64(const char *s, size_t len, int64_t *out)
{
	char tmp[32], *end;
	long long v;

	if (!len || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!(isdigit((unsigned char)tmp[0]) || (tmp[0] == '-' && isdigit((unsigned char)tmp[1]))))
		return -1;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_f64(const char *s, size_t len, double *out)
{
	char tmp[64], *end;

	if (!len || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	/* strtod also takes hex floats and "infinity"; MLflow writes Python's repr */
	if (strpbrk(tmp, "xX") || isspace((unsigned char)tmp[0]))
		return -1;
	*out = strtod(tmp, &end);
	return *end ? -1 : 0;
}

int mlp_mlflow_status(enum mlp_status *out, int *was_running, const char *s)
{
	static const struct { const char *name, *num; enum mlp_status st; int running; } map[] = {
		{ "FINISHED", "3", MLP_STATUS_FINISHED, 0 },
		{ "FAILED", "4", MLP_STATUS_FAILED, 0 },
		{ "KILLED", "5", MLP_STATUS_KILLED, 0 },
		{ "RUNNING", "1", MLP_STATUS_CRASHED, 1 },
		{ "SCHEDULED", "2", MLP_STATUS_CRASHED, 1 },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcasecmp(s, map[i].name) || !strcmp(s, map[i].num)) {
			*out = map[i].st;
			if (was_running)
				*was_running = map[i].running;
			return 0;
		}
	}
	return mlp_error_set(MLP_EINVALID, "unknown MLflow run status '%.40s'", s ? s : "");
}

int mlp_mlflow_key_ok(const char *key)
{
	const char *p = key, *comp = key;
	size_t len = strlen(key);

	if (!len || len > MLP_MAX_KEY_LEN || key[0] == '/')
		return 0;
	for (;; p++) {
		if (*p == '/' || !*p) {
			size_t n = (size_t)(p - comp);
			if (!n || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
				return 0;
			if (!*p)
				return 1;
			comp = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && !strchr("_.- ", *p))
			return 0;
	}
}

static void metric_line(struct mlp_run *run, const char *key, const char *s, size_t len, size_t *bad)
{
	const char *f[4];
	size_t fl[4], nf = 0;
	const char *p = s, *end = s + len;
	int64_t ts, step = 0;
	double v;

	if (len && s[len - 1] == '\r')
		end--;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (nf == 4) {
			nf = 5;
			break;
		}
		f[nf] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		fl[nf] = (size_t)(p - f[nf]);
		nf++;
	}
	if (!nf)
		return;	/* blank line */
	if (nf < 2 || nf > 3 || parse_i64(f[0], fl[0], &ts) < 0 || parse_f64(f[1], fl[1], &v) < 0 ||
	    (nf == 3 && parse_i64(f[2], fl[2], &step) < 0)) {
		(*bad)++;
		return;
	}
	mlp_run_add_point(run, key, step, v, ts);
}

int mlp_mlflow_parse_metric(struct mlp_run *run, const char *key, const char *data, size_t len,
			    size_t *bad)
{
	const char *p = data, *end = data + len;
	size_t dummy = 0;

	if (!bad)
		bad = &dummy;
	if (mlp_key_check("metric", key) < 0)
		return MLP_EINVALID;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (run->npoints >= MLP_IMPORT_MAX_POINTS)
			return mlp_error_set(MLP_ELIMIT, "more than %u metric points", MLP_IMPORT_MAX_POINTS);
		if (n > MLP_IMPORT_MAX_LINE || memchr(p, '\0', n))
			(*bad)++;
		else
			metric_line(run, key, p, n, bad);
		p += n + 1;
	}
	return 0;
}

/* ---- reading files of an untrusted tree ---------------------------------------- */

/* A regular file (never through a symlink) of at most `max` bytes. */
static int read_capped(struct mlp_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return mlp_error_set(errno == ENOENT ? MLP_ENOTFOUND : MLP_EINVALID, "cannot read '%s': %s",
				     path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mlp_error_set(MLP_EINVALID, "'%s' is not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return mlp_error_set(MLP_ELIMIT, "'%s' is larger than %zu bytes", path, max);
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > max) {
			close(fd);
			return mlp_error_set(MLP_ELIMIT, "'%s' is larger than %zu bytes", path, max);
		}
		mlp_buf_add(out, chunk, (size_t)n);
	}
	close(fd);
	if (n < 0)
		return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path, strerror(errno));
	if (!out->buf)
		mlp_buf_adds(out, "");
	return 0;
}

/* A metric file, streamed: it may hold millions of lines. */
static int read_metric_file(struct mlp_run *run, const char *key, const char *path, size_t *bad)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	struct mlp_buf line = MLP_BUF_INIT;
	char chunk[65536];
	ssize_t n;
	int skipping = 0, err = 0;

	if (fd < 0)
		return mlp_error_set(MLP_EINVALID, "cannot read '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mlp_error_set(MLP_EINVALID, "'%s' is not a regular file", path);
	}
	while (!err && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		const char *p = chunk, *end = chunk + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (!skipping) {
				if (line.len + k > MLP_IMPORT_MAX_LINE) {
					skipping = 1;
					(*bad)++;
					mlp_buf_reset(&line);
				} else {
					mlp_buf_add(&line, p, k);
				}
			}
			if (nl) {
				if (!skipping && line.len)
					err = mlp_mlflow_parse_metric(run, key, line.buf, line.len, bad);
				skipping = 0;
				mlp_buf_reset(&line);
			}
			p += k + (nl ? 1 : 0);
		}
	}
	if (!err && !skipping && line.len)
		err = mlp_mlflow_parse_metric(run, key, line.buf, line.len, bad);
	mlp_buf_release(&line);
	close(fd);
	return err;
}

typedef int (*leaf_fn)(void *data, const char *key, const char *path);

/* Calls fn for every regular file under dir, keyed by its relative path. */
static int walk_keys(const char *dir, const char *rel, int depth, leaf_fn fn, void *data,
		     size_t *count, size_t max)
{
	DIR *d;
	struct dirent *e;
	int err = 0;

	if (depth > MLP_IMPORT_MAX_DEPTH)
		return 0;
	if (!(d = opendir(dir)))
		return 0;
	while (!err && (e = readdir(d))) {
		struct mlp_buf a = MLP_BUF_INIT, r = MLP_BUF_INIT;
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		mlp_buf_addf(&a, "%s/%s", dir, e->d_name);
		mlp_buf_addf(&r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		if (lstat(a.buf, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				err = walk_keys(a.buf, r.buf, depth + 1, fn, data, count, max);
			} else if (S_ISREG(st.st_mode)) {
				if (++*count > max)
					err = mlp_error_set(MLP_ELIMIT, "'%s' holds more than %zu entries", dir, max);
				else
					err = fn(data, r.buf, a.buf);
			}
		}
		mlp_buf_release(&a);
		mlp_buf_release(&r);
	}
	closedir(d);
	return err;
}

struct dir_ctx {
	struct mlp_run *run;
	const char *runpath;
	mlp_warn_fn warn;
	void *wdata;
	size_t bad_keys;
};

static int param_leaf(void *data, const char *key, const char *path)
{
	struct dir_ctx *c = data;
	struct mlp_buf v = MLP_BUF_INIT;
	struct mlp_value val = { MLP_NIL, { 0 } };
	int err = read_capped(&v, path, MLP_IMPORT_MAX_VALUE);

	if (err < 0 || mlp_key_check("param", key) < 0) {
		warnf(c->warn, c->wdata, "%s: param '%s' left out: %s", c->runpath, key, mlp_error_message());
		mlp_buf_release(&v);
		return 0;
	}
	mlp_value_parse(&val, v.buf, v.len);
	mlp_map_set(&c->run->params, key, &val);
	mlp_buf_release(&v);
	return 0;
}

static int tag_leaf(void *data, const char *key, const char *path)
{
	struct dir_ctx *c = data;
	struct mlp_buf v = MLP_BUF_INIT;
	struct mlp_value val = { MLP_NIL, { 0 } };
	int err = read_capped(&v, path, MLP_IMPORT_MAX_VALUE);

	if (err < 0 || mlp_key_check("tag", key) < 0) {
		warnf(c->warn, c->wdata, "%s: tag '%s' left out: %s", c->runpath, key, mlp_error_message());
		mlp_buf_release(&v);
		return 0;
	}
	mlp_value_set_str(&val, v.buf, v.len);
	mlp_map_set(&c->run->tags, key, &val);
	mlp_buf_release(&v);
	return 0;
}

static int metric_leaf(void *data, const char *key, const char *path)
{
	struct dir_ctx *c = data;
	size_t bad = 0;
	int err;

	if (mlp_key_check("metric", key) < 0) {
		warnf(c->warn, c->wdata, "%s: metric left out: %s", c->runpath, mlp_error_message());
		return 0;
	}
	err = read_metric_file(c->run, key, path, &bad);
	if (err == MLP_ELIMIT)
		return err;
	if (err < 0)
		warnf(c->warn, c->wdata, "%s: metric '%s' left out: %s", c->runpath, key, mlp_error_message());
	if (bad)
		warnf(c->warn, c->wdata, "%s: metric '%s': %zu malformed line%s ignored", c->runpath, key,
		      bad, bad == 1 ? "" : "s");
	return 0;
}

/* ---- building the run ------------------------------------------------------------- */

static const char *map_str(const struct mlp_map *m, const char *key)
{
	const struct mlp_value *v = mlp_map_get(m, key);
	return v && v->type == MLP_STR ? v->u.str.s : NULL;
}

/* A scalar of meta.yaml as text ("3", "FINISHED"), or NULL for null. */
static char *meta_text(const struct mlp_map *m, const char *key)
{
	const struct mlp_value *v = mlp_map_get(m, key);
	struct mlp_buf b = MLP_BUF_INIT;

	if (!v || v->type == MLP_NIL)
		return NULL;
	mlp_value_format(&b, v);
	return mlp_buf_detach(&b, NULL);
}

static int64_t meta_int(const struct mlp_map *m, const char *key)
{
	const struct mlp_value *v = mlp_map_get(m, key);
	int64_t i = 0;

	if (!v)
		return 0;
	if (v->type == MLP_INT)
		return v->u.i;
	if (v->type == MLP_FLOAT && isfinite(v->u.f))
		return (int64_t)v->u.f;
	if (v->type == MLP_STR && parse_i64(v->u.str.s, v->u.str.len, &i) == 0)
		return i;
	return 0;
}

/* A name git-mlp accepts: control bytes become '?', cut at 200 bytes. */
static char *clean_name(const char *s)
{
	size_t n = strlen(s);
	char *out;

	if (n > 200)
		n = 200;
	out = mlp_strndup(s, n);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

static int id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static void set_tag(struct mlp_run *run, const char *key, const char *value)
{
	struct mlp_value v = { MLP_NIL, { 0 } };
	mlp_value_set_str(&v, value, strlen(value));
	mlp_map_set(&run->tags, key, &v);
}

/*
 * What the MLflow run's facts become, whichever store they came from:
 * name from run_name or the mlflow.runName tag, user from user_id or
 * mlflow.user, note from mlflow.note.content; the MLflow id as the
 * tag mlflow.run_id.
 */
static void finish_mlflow_run(struct mlp_run *run, const char *run_id, const char *name,
			      const char *user, const char *status, int64_t start, int64_t end)
{
	const char *s;
	int running = 0;

	set_tag(run, "mlflow.run_id", run_id);
	if ((!name || !*name) && (s = map_str(&run->tags, "mlflow.runName")))
		name = s;
	free(run->name);
	run->name = clean_name(name && *name ? name : run_id);
	if ((!user || !*user) && (s = map_str(&run->tags, "mlflow.user")))
		user = s;
	if (user && *user) {
		free(run->user);
		run->user = mlp_strdup(user);
	}
	if ((s = map_str(&run->tags, "mlflow.note.content")) && *s) {
		free(run->note);
		run->note = mlp_strdup(s);
	}
	if (mlp_mlflow_status(&run->status, &running, status) < 0) {
		run->status = MLP_STATUS_CRASHED;
		running = 1;
	}
	run->started = start > 0 ? start : 0;
	run->ended = end > 0 ? end : 0;
	if (running) {
		struct mlp_buf note = MLP_BUF_INIT;
		const char *word = !status ? "unknown" : !strcmp(status, "1") ? "RUNNING" :
				   !strcmp(status, "2") ? "SCHEDULED" : status;
		mlp_buf_addf(&note, "imported from MLflow with status %s: it never ended there", word);
		if (run->note)
			mlp_buf_addf(&note, "\n\n%s", run->note);
		free(run->note);
		run->note = mlp_buf_detach(&note, NULL);
		if (!run->ended)
			run->ended = run->started;
	}
	if (run->ended && run->ended < run->started)
		run->ended = run->started;
	run->series_loaded = 1;
	mlp_run_summarize(run);
}

int mlp_mlflow_read_run_dir(struct mlp_run **out, const char *dir, const char *experiment,
			    mlp_warn_fn warn, void *wdata)
{
	struct mlp_map meta = MLP_MAP_INIT;
	struct mlp_buf path = MLP_BUF_INIT, raw = MLP_BUF_INIT;
	struct mlp_run *run = NULL;
	char *run_id = NULL, *name = NULL, *status = NULL, *stage = NULL, *user = NULL;
	struct dir_ctx c = { NULL, dir, warn, wdata, 0 };
	size_t count = 0;
	int err;

	*out = NULL;
	mlp_buf_addf(&path, "%s/meta.yaml", dir);
	if ((err = read_capped(&raw, path.buf, MLP_IMPORT_MAX_VALUE)) < 0 ||
	    (err = mlp_parse_flat(&meta, raw.buf, raw.len, path.buf, 0, '.')) < 0)
		goto done;
	run_id = meta_text(&meta, "run_id");
	if (!run_id)
		run_id = meta_text(&meta, "run_uuid");
	if (!run_id || !id_ok(run_id)) {
		err = mlp_error_set(MLP_ECORRUPT, "%s: no valid run_id", path.buf);
		goto done;
	}
	stage = meta_text(&meta, "lifecycle_stage");
	if (stage && !strcmp(stage, "deleted")) {
		err = 1;
		goto done;
	}
	name = meta_text(&meta, "run_name");
	status = meta_text(&meta, "status");
	user = meta_text(&meta, "user_id");
	run = mlp_run_new();
	c.run = run;
	if (experiment)
		run->experiment = mlp_strdup(experiment);
	mlp_buf_reset(&path);
	mlp_buf_addf(&path, "%s/params", dir);
	if ((err = walk_keys(path.buf, "", 0, param_leaf, &c, &count, MLP_MAX_PARAMS)) < 0)
		goto done;
	mlp_buf_reset(&path);
	mlp_buf_addf(&path, "%s/tags", dir);
	count = 0;
	if ((err = walk_keys(path.buf, "", 0, tag_leaf, &c, &count, MLP_MAX_TAGS - 1)) < 0)
		goto done;
	mlp_buf_reset(&path);
	mlp_buf_addf(&path, "%s/metrics", dir);
	count = 0;
	if ((err = walk_keys(path.buf, "", 0, metric_leaf, &c, &count, MLP_MAX_METRIC_KEYS)) < 0)
		goto done;
	finish_mlflow_run(run, run_id, name, user, status, meta_int(&meta, "start_time"),
			  meta_int(&meta, "end_time"));
	*out = run;
	run = NULL;
	err = 0;
done:
	mlp_run_free(run);
	mlp_map_clear(&meta);
	mlp_buf_release(&path);
	mlp_buf_release(&raw);
	free(run_id);
	free(name);
	free(status);
	free(stage);
	free(user);
	return err;
}

/* ---- writing imported runs ----------------------------------------------------- */

struct importer {
	struct mlp_repo *repo;
	const struct mlp_import_opts *o;
	struct mlp_import_stats *st;
	char **known;		/* sorted: run ids and mlflow.run_id / dvc.exp_commit tags here */
	size_t nknown;
	int warned_base;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int importer_init(struct importer *im, struct mlp_repo *repo, const struct mlp_import_opts *o,
			 struct mlp_import_stats *st, const char *tag)
{
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	int err;

	memset(im, 0, sizeof(*im));
	memset(st, 0, sizeof(*st));
	im->repo = repo;
	im->o = o;
	im->st = st;
	if ((err = mlp_run_list_all(&list, repo, o->warn, o->warn_data)) < 0)
		return err;
	im->known = mlp_calloc(2 * list.nr + 1, sizeof(char *));
	for (size_t i = 0; i < list.nr; i++) {
		const char *t = map_str(&list.runs[i]->tags, tag);
		im->known[im->nknown++] = mlp_strdup(list.runs[i]->id);
		if (t)
			im->known[im->nknown++] = mlp_strdup(t);
	}
	mlp_qsort(im->known, im->nknown, sizeof(char *), cmp_str);
	mlp_run_list_release(&list);
	return 0;
}

static void importer_release(struct importer *im)
{
	for (size_t i = 0; i < im->nknown; i++)
		free(im->known[i]);
	free(im->known);
}

static int importer_knows(const struct importer *im, const char *key)
{
	return im->nknown && bsearch(&key, im->known, im->nknown, sizeof(char *), cmp_str) != NULL;
}

/* A full hex commit id that exists here becomes the base. */
static void set_base(struct importer *im, struct mlp_run *run, const char *commit)
{
	char c[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];

	if (!commit || !*commit)
		return;
	if (strlen(commit) == MLP_OID_HEXSZ && mlp_hex_valid(commit, MLP_OID_HEXSZ) &&
	    mlp_repo_resolve_commit(im->repo, commit, c, tree) == 0) {
		memcpy(run->base, c, sizeof(c));
		return;
	}
	im->st->no_base++;
	if (!im->warned_base) {
		warnf(im->o->warn, im->o->warn_data,
		      "source commit %.40s of run '%s' is not in this repository; such runs get no base commit",
		      commit, run->name ? run->name : "");
		im->warned_base = 1;
	}
}

/* Remembers a source id imported now, so the same run twice in one source is one run. */
static void importer_add(struct importer *im, const char *key)
{
	size_t i = 0;

	if (!key)
		return;
	while (i < im->nknown && strcmp(im->known[i], key) < 0)
		i++;
	im->known = mlp_realloc(im->known, (im->nknown + 1) * sizeof(char *));
	memmove(im->known + i + 1, im->known + i, (im->nknown - i) * sizeof(char *));
	im->known[i] = mlp_strdup(key);
	im->nknown++;
}

static int importer_save(struct importer *im, struct mlp_run *run)
{
	int err;

	if (im->o->experiment) {
		free(run->experiment);
		run->experiment = mlp_strdup(im->o->experiment);
	}
	if (im->o->dry_run) {
		im->st->imported++;
		return 0;
	}
	if ((err = mlp_run_new_id(run)) < 0)
		return err;
	run->commit[0] = '\0';
	if ((err = mlp_run_save(im->repo, run, NULL)) < 0)
		return err;
	im->st->imported++;
	return 0;
}

static int has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int any = 0;

	if (!d)
		return 0;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

static int import_one_mlflow(struct importer *im, struct mlp_run *run, const char *artifacts_dir)
{
	const char *rid = map_str(&run->tags, "mlflow.run_id");
	int err;

	if (rid && importer_knows(im, rid)) {
		im->st->present++;
		return 0;
	}
	set_base(im, run, map_str(&run->tags, "mlflow.source.git.commit"));
	if (artifacts_dir && has_files(artifacts_dir))
		im->st->artifacts++;
	if ((err = importer_save(im, run)) < 0) {
		warnf(im->o->warn, im->o->warn_data, "MLflow run %s not imported: %s", rid ? rid : "?",
		      mlp_error_message());
		im->st->skipped++;
	} else {
		importer_add(im, rid);
	}
	return 0;
}

/* ---- MLflow FileStore ------------------------------------------------------------ */

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Subdirectories of dir (not symlinks, not dot-names), sorted. */
static int list_subdirs(char ***out, size_t *n, const char *dir, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	*out = NULL;
	*n = 0;
	if (!d)
		return mlp_error_set(errno == ENOENT ? MLP_ENOTFOUND : MLP_ERROR, "cannot read '%s': %s",
				     dir, strerror(errno));
	while ((e = readdir(d))) {
		struct mlp_buf p = MLP_BUF_INIT;
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		mlp_buf_addf(&p, "%s/%s", dir, e->d_name);
		if (lstat(p.buf, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (*n >= max) {
				mlp_buf_release(&p);
				break;
			}
			*out = mlp_realloc(*out, (*n + 1) * sizeof(char *));
			(*out)[(*n)++] = mlp_strdup(e->d_name);
		}
		mlp_buf_release(&p);
	}
	closedir(d);
	mlp_qsort(*out, *n, sizeof(char *), cmp_dirent);
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int import_filestore(struct importer *im, const char *root)
{
	char **exps = NULL;
	size_t nexp = 0, found = 0;
	int err;

	if ((err = list_subdirs(&exps, &nexp, root, MLP_IMPORT_MAX_RUNS)) < 0)
		return err;
	for (size_t i = 0; i < nexp && !err; i++) {
		struct mlp_buf p = MLP_BUF_INIT, raw = MLP_BUF_INIT;
		struct mlp_map meta = MLP_MAP_INIT;
		char **runs = NULL;
		size_t nrun = 0;
		char *ename = NULL, *stage = NULL;

		mlp_buf_addf(&p, "%s/%s/meta.yaml", root, exps[i]);
		if (read_capped(&raw, p.buf, MLP_IMPORT_MAX_VALUE) < 0 ||
		    mlp_parse_flat(&meta, raw.buf, raw.len, p.buf, 0, '.') < 0) {
			if (strcmp(exps[i], "models"))	/* the model registry lives there too */
				warnf(im->o->warn, im->o->warn_data, "'%s/%s' is not an MLflow experiment: %s",
				      root, exps[i], mlp_error_message());
			goto next;
		}
		ename = meta_text(&meta, "name");
		stage = meta_text(&meta, "lifecycle_stage");
		mlp_buf_reset(&p);
		mlp_buf_addf(&p, "%s/%s", root, exps[i]);
		if (list_subdirs(&runs, &nrun, p.buf, MLP_IMPORT_MAX_RUNS) < 0)
			goto next;
		for (size_t j = 0; j < nrun && !err; j++) {
			struct mlp_buf rp = MLP_BUF_INIT, ap = MLP_BUF_INIT;
			struct mlp_run *run = NULL;
			int r;
			mlp_buf_addf(&rp, "%s/%s", p.buf, runs[j]);
			mlp_buf_addf(&ap, "%s/artifacts", rp.buf);
			if (++found > MLP_IMPORT_MAX_RUNS) {
				err = mlp_error_set(MLP_ELIMIT, "more than %d runs", MLP_IMPORT_MAX_RUNS);
			} else if (stage && !strcmp(stage, "deleted")) {
				im->st->skipped++;
			} else if ((r = mlp_mlflow_read_run_dir(&run, rp.buf, ename ? ename : exps[i],
								  im->o->warn, im->o->warn_data)) == 1) {
				im->st->skipped++;
			} else if (r < 0) {
				warnf(im->o->warn, im->o->warn_data, "%s: not imported: %s", rp.buf,
				      mlp_error_message());
				im->st->skipped++;
			} else {
				err = import_one_mlflow(im, run, ap.buf);
			}
			mlp_run_free(run);
			mlp_buf_release(&rp);
			mlp_buf_release(&ap);
		}
next:
		free_strv(runs, nrun);
		free(ename);
		free(stage);
		mlp_map_clear(&meta);
		mlp_buf_release(&p);
		mlp_buf_release(&raw);
	}
	free_strv(exps, nexp);
	return err;
}

/* ---- MLflow SQLite --------------------------------------------------------------- */

static int sql_error(sqlite3 *db, const char *what)
{
	return mlp_error_set(MLP_ERROR, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static int has_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	struct mlp_buf q = MLP_BUF_INIT;
	int found = 0;

	mlp_buf_addf(&q, "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, q.buf, -1, &st, NULL) == SQLITE_OK)
		while (!found && sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *n = sqlite3_column_text(st, 1);
			found = n && !strcmp((const char *)n, col);
		}
	sqlite3_finalize(st);
	mlp_buf_release(&q);
	return found;
}

/* A column as text ("" for NULL); integers and floats as their decimal form. */
static char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	return s ? mlp_strndup((const char *)s, (size_t)n) : NULL;
}

struct sql_exp {
	char *id, *name;
	int deleted;
};

static int sql_run_rows(sqlite3 *db, struct mlp_run *run, const char *run_uuid, int what,
			int has_step, int has_nan, mlp_warn_fn warn, void *wdata)
{
	static const char *const q[] = {
		"SELECT key, value FROM params WHERE run_uuid = ?1",
		"SELECT key, value FROM tags WHERE run_uuid = ?1",
	};
	struct mlp_buf mq = MLP_BUF_INIT;
	sqlite3_stmt *st = NULL;
	size_t n = 0, bad = 0;
	int rc, err = 0;

	if (what == 2)
		mlp_buf_addf(&mq, "SELECT key, value, timestamp, %s, %s FROM metrics WHERE run_uuid = ?1 "
			     "ORDER BY key, timestamp, %s", has_step ? "step" : "0",
			     has_nan ? "is_nan" : "0", has_step ? "step" : "0");
	if (sqlite3_prepare_v2(db, what == 2 ? mq.buf : q[what], -1, &st, NULL) != SQLITE_OK) {
		err = sql_error(db, what == 0 ? "params" : what == 1 ? "tags" : "metrics");
		goto done;
	}
	sqlite3_bind_text(st, 1, run_uuid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		if (!key || (size_t)sqlite3_column_bytes(st, 0) != strlen(key) ||
		    mlp_key_check(what == 2 ? "metric" : what ? "tag" : "param", key) < 0) {
			bad++;
			continue;
		}
		if (what < 2) {
			struct mlp_value v = { MLP_NIL, { 0 } };
			const char *s = (const char *)sqlite3_column_text(st, 1);
			size_t len = (size_t)sqlite3_column_bytes(st, 1);
			if (++n > (what ? (size_t)MLP_MAX_TAGS - 1 : (size_t)MLP_MAX_PARAMS)) {
				err = mlp_error_set(MLP_ELIMIT, "run %s has too many %s", run_uuid,
						    what ? "tags" : "params");
				break;
			}
			if (!s)
				s = "";
			if (len > MLP_IMPORT_MAX_VALUE) {
				bad++;
				continue;
			}
			if (what == 0)
				mlp_value_parse(&v, s, len);
			else
				mlp_value_set_str(&v, s, len);
			mlp_map_set(what ? &run->tags : &run->params, key, &v);
		} else {
			double v = sqlite3_column_double(st, 1);
			int t1 = sqlite3_column_type(st, 2), t2 = sqlite3_column_type(st, 3);
			if (run->npoints >= MLP_IMPORT_MAX_POINTS) {
				err = mlp_error_set(MLP_ELIMIT, "run %s has more than %u metric points",
						    run_uuid, MLP_IMPORT_MAX_POINTS);
				break;
			}
			if (t1 != SQLITE_INTEGER || (t2 != SQLITE_INTEGER) ||
			    sqlite3_column_type(st, 1) == SQLITE_NULL || sqlite3_column_type(st, 1) == SQLITE_TEXT) {
				bad++;
				continue;
			}
			if (!mlp_run_series(run, key) && run->series_nr >= MLP_MAX_METRIC_KEYS) {
				err = mlp_error_set(MLP_ELIMIT, "run %s has too many metric keys", run_uuid);
				break;
			}
			if (sqlite3_column_int(st, 4))
				v = NAN;
			mlp_run_add_point(run, key, sqlite3_column_int64(st, 3), v,
					  sqlite3_column_int64(st, 2));
		}
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sql_error(db, "reading the database");
	if (bad)
		warnf(warn, wdata, "MLflow run %s: %zu malformed %s row%s ignored", run_uuid, bad,
		      what == 0 ? "param" : what == 1 ? "tag" : "metric", bad == 1 ? "" : "s");
done:
	sqlite3_finalize(st);
	mlp_buf_release(&mq);
	return err;
}

static int import_sqlite(struct importer *im, const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sql_exp *exps = NULL;
	size_t nexp = 0, nrun = 0;
	int rc, err = 0, has_step, has_nan, has_name;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = sql_error(db, path);
		goto done;
	}
	/* an untrusted file: no schema-defined side effects, bounded values */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, (int)MLP_MAX_STR_LEN);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	if (sqlite3_prepare_v2(db, "SELECT experiment_id, name, lifecycle_stage FROM experiments",
			       -1, &st, NULL) != SQLITE_OK) {
		err = mlp_error_set(MLP_EINVALID, "'%s' is not an MLflow tracking database: %s", path,
				    sqlite3_errmsg(db));
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && nexp < MLP_IMPORT_MAX_RUNS) {
		char *stage = col_text(st, 2);
		exps = mlp_realloc(exps, (nexp + 1) * sizeof(*exps));
		exps[nexp].id = col_text(st, 0);
		exps[nexp].name = col_text(st, 1);
		exps[nexp].deleted = stage && !strcmp(stage, "deleted");
		if (!exps[nexp].id)
			exps[nexp].id = mlp_strdup("");
		nexp++;
		free(stage);
	}
	sqlite3_finalize(st);
	st = NULL;
	has_step = has_column(db, "metrics", "step");
	has_nan = has_column(db, "metrics", "is_nan");
	has_name = has_column(db, "runs", "name");
	{
		struct mlp_buf q = MLP_BUF_INIT;
		mlp_buf_addf(&q, "SELECT run_uuid, %s, status, start_time, end_time, lifecycle_stage, "
			     "experiment_id, user_id FROM runs ORDER BY start_time, run_uuid",
			     has_name ? "name" : "NULL");
		rc = sqlite3_prepare_v2(db, q.buf, -1, &st, NULL);
		mlp_buf_release(&q);
		if (rc != SQLITE_OK) {
			err = mlp_error_set(MLP_EINVALID, "'%s' is not an MLflow tracking database: %s", path,
					    sqlite3_errmsg(db));
			goto done;
		}
	}
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *uuid = col_text(st, 0), *name = col_text(st, 1), *status = col_text(st, 2);
		char *stage = col_text(st, 5), *eid = col_text(st, 6), *user = col_text(st, 7);
		int64_t start = sqlite3_column_int64(st, 3), end = sqlite3_column_int64(st, 4);
		const char *ename = NULL;
		int edeleted = 0;
		struct mlp_run *run = NULL;

		if (++nrun > MLP_IMPORT_MAX_RUNS) {
			err = mlp_error_set(MLP_ELIMIT, "more than %d runs", MLP_IMPORT_MAX_RUNS);
			goto next;
		}
		if (!uuid || !id_ok(uuid)) {
			warnf(im->o->warn, im->o->warn_data, "%s: a run without a valid run_uuid ignored", path);
			im->st->skipped++;
			goto next;
		}
		for (size_t i = 0; eid && i < nexp; i++)
			if (!strcmp(exps[i].id, eid)) {
				ename = exps[i].name;
				edeleted = exps[i].deleted;
			}
		if (edeleted || (stage && !strcmp(stage, "deleted"))) {
			im->st->skipped++;
			goto next;
		}
		if (importer_knows(im, uuid)) {
			im->st->present++;
			goto next;
		}
		run = mlp_run_new();
		if (ename || eid)
			run->experiment = mlp_strdup(ename ? ename : eid);
		if ((err = sql_run_rows(db, run, uuid, 0, has_step, has_nan, im->o->warn, im->o->warn_data)) < 0 ||
		    (err = sql_run_rows(db, run, uuid, 1, has_step, has_nan, im->o->warn, im->o->warn_data)) < 0 ||
		    (err = sql_run_rows(db, run, uuid, 2, has_step, has_nan, im->o->warn, im->o->warn_data)) < 0) {
			if (err == MLP_ELIMIT) {
				warnf(im->o->warn, im->o->warn_data, "MLflow run %s not imported: %s", uuid,
				      mlp_error_message());
				im->st->skipped++;
				err = 0;
			}
			goto next;
		}
		finish_mlflow_run(run, uuid, name, user, status, start, end);
		err = import_one_mlflow(im, run, NULL);
next:
		mlp_run_free(run);
		free(uuid);
		free(name);
		free(status);
		free(stage);
		free(eid);
		free(user);
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_error(db, "reading the runs");
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (size_t i = 0; i < nexp; i++) {
		free(exps[i].id);
		free(exps[i].name);
	}
	free(exps);
	return err;
}

static int is_sqlite_file(const char *path)
{
	char hdr[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	return n == 16 && !memcmp(hdr, "SQLite format 3", 16);
}

int mlp_import_mlflow(struct mlp_repo *repo, const char *src, const struct mlp_import_opts *o,
		      struct mlp_import_stats *st)
{
	struct importer im;
	struct stat sb;
	int err;

	if (!strncmp(src, "sqlite:///", 10))
		src += 9;	/* keep the leading '/' of an absolute path */
	else if (!strncmp(src, "file://", 7))
		src += 7;
	if (stat(src, &sb) < 0)
		return mlp_error_set(MLP_ENOTFOUND, "cannot read '%s': %s", src, strerror(errno));
	if (!S_ISDIR(sb.st_mode) && !is_sqlite_file(src))
		return mlp_error_set(MLP_EINVALID, "'%s' is neither an MLflow FileStore directory nor an "
				     "SQLite database", src);
	if ((err = importer_init(&im, repo, o, st, "mlflow.run_id")) < 0)
		return err;
	err = S_ISDIR(sb.st_mode) ? import_filestore(&im, src) : import_sqlite(&im, src);
	importer_release(&im);
	return err;
}

/* ---- DVCLive ---------------------------------------------------------------------- */

struct dvclive_ctx {
	struct mlp_run *run;
	int64_t now;		/* DVCLive's reader stamps rows without a timestamp with "now" */
	int64_t written;	/* ... which here becomes the time the files were written */
};

static void dvclive_point(void *data, const char *key, int has_step, int64_t step, double value,
			  int64_t t_ms)
{
	struct dvclive_ctx *c = data;
	struct mlp_run *run = c->run;

	if (t_ms >= c->now)
		t_ms = c->written;

	if (run->npoints >= MLP_IMPORT_MAX_POINTS)
		return;
	if (!mlp_run_series(run, key) && run->series_nr >= MLP_MAX_METRIC_KEYS)
		return;
	if (mlp_key_check("metric", key) < 0)
		return;
	mlp_run_add_point(run, key, has_step ? step : mlp_run_next_step(run, key), value, t_ms);
}

static void span_from_points(struct mlp_run *run, int64_t dflt)
{
	int64_t lo = INT64_MAX, hi = 0;

	for (size_t i = 0; i < run->series_nr; i++)
		for (size_t j = 0; j < run->series[i].nr; j++) {
			int64_t t = run->series[i].t[j];
			if (t > 0 && t < lo)
				lo = t;
			if (t > hi)
				hi = t;
		}
	run->started = lo == INT64_MAX ? dflt : lo;
	run->ended = hi ? hi : dflt;
}

int mlp_import_dvclive(struct mlp_repo *repo, const char *dir, const struct mlp_import_opts *o,
		       struct mlp_import_stats *st)
{
	struct importer im;
	struct mlp_dvclive *d = NULL;
	struct mlp_run *run = NULL;
	struct mlp_buf p = MLP_BUF_INIT;
	struct stat sb;
	int changed = 0, err;
	int64_t now = mlp_now_ms();

	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return mlp_error_set(MLP_ENOTFOUND, "'%s' is not a directory", dir);
	if ((err = importer_init(&im, repo, o, st, "dvclive.dir")) < 0)
		return err;
	run = mlp_run_new();
	d = mlp_dvclive_new(dir);
	{
		struct dvclive_ctx c = { run, now, (int64_t)sb.st_mtime * 1000 };
		struct stat mj;
		mlp_buf_addf(&p, "%s/metrics.json", dir);
		if (stat(p.buf, &mj) == 0)
			c.written = (int64_t)mj.st_mtim.tv_sec * 1000 + mj.st_mtim.tv_nsec / 1000000;
		mlp_buf_reset(&p);
		mlp_dvclive_poll(d, 1, dvclive_point, &c, o->warn, o->warn_data);
	}
	if (mlp_dvclive_params(d, &run->params, &changed) < 0)
		warnf(o->warn, o->warn_data, "%s", mlp_error_message());
	if (!run->series_nr && !run->params.nr) {
		err = mlp_error_set(MLP_ENOTFOUND, "'%s' holds no DVCLive metrics or params", dir);
		goto done;
	}
	if (o->name) {
		if ((err = mlp_name_check(o->name)) < 0)
			goto done;
		run->name = mlp_strdup(o->name);
	} else if ((err = mlp_run_new_name(&run->name, repo)) < 0) {
		goto done;
	}
	if (o->base) {
		char tree[MLP_OID_HEXSZ + 1];
		if ((err = mlp_repo_resolve_commit(repo, o->base, run->base, tree)) < 0)
			goto done;
	} else if ((err = mlp_repo_head(repo, run->base, &run->branch)) < 0) {
		goto done;
	}
	run->status = MLP_STATUS_FINISHED;
	span_from_points(run, now);
	mlp_buf_adds(&p, dir);
	while (p.len > 1 && p.buf[p.len - 1] == '/')
		p.buf[--p.len] = '\0';
	set_tag(run, "dvclive.dir", p.buf);
	run->series_loaded = 1;
	mlp_run_summarize(run);
	err = importer_save(&im, run);
done:
	mlp_buf_release(&p);
	mlp_dvclive_free(d);
	mlp_run_free(run);
	importer_release(&im);
	return err;
}

/* ---- DVC experiment refs ---------------------------------------------------------- */

static int blob_at(struct mlp_buf *out, git_repository *git, git_tree *tree, const char *path, size_t max)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int err = MLP_ENOTFOUND;

	if (git_tree_entry_bypath(&e, tree, path) < 0)
		return MLP_ENOTFOUND;
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && git_tree_entry_filemode(e) != GIT_FILEMODE_LINK &&
	    git_blob_lookup(&b, git, git_tree_entry_id(e)) == 0) {
		if ((size_t)git_blob_rawsize(b) > max) {
			err = mlp_error_set(MLP_ELIMIT, "'%s' is larger than %zu bytes", path, max);
		} else {
			mlp_buf_add(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
			if (!out->buf)
				mlp_buf_adds(out, "");
			err = 0;
		}
	}
	git_blob_free(b);
	git_tree_entry_free(e);
	return err;
}

/* A DVCLive TSV (header with step / timestamp / value columns) from memory. */
static void tsv_points(struct mlp_run *run, const char *key, const char *data, size_t len, int64_t dflt_t)
{
	const char *p = data, *end = data + len;
	int step_col = -1, ts_col = -1, val_col = -1, ncols = 0, header = 1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = mlp_strndup(p, n > MLP_IMPORT_MAX_LINE ? 0 : n), *save = NULL, *tok;
		int col = 0;
		double v = NAN, step = NAN, ts = NAN;

		p += n + 1;
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save), col++) {
			if (header) {
				if (!strcmp(tok, "step"))
					step_col = col;
				else if (!strcmp(tok, "timestamp"))
					ts_col = col;
				else
					val_col = col;
				continue;
			}
			double x;
			if (parse_f64(tok, strlen(tok), &x) < 0)
				x = NAN;
			if (col == val_col)
				v = x;
			else if (col == step_col)
				step = x;
			else if (col == ts_col)
				ts = x;
		}
		free(line);
		if (header) {
			ncols = col;
			header = 0;
			continue;
		}
		if (!col || col != ncols || val_col < 0 || isnan(v) ||
		    (step_col >= 0 && (isnan(step) || fabs(step) > 9e15)) || run->npoints >= MLP_IMPORT_MAX_POINTS)
			continue;
		if (!mlp_run_series(run, key) && run->series_nr >= MLP_MAX_METRIC_KEYS)
			return;
		mlp_run_add_point(run, key, step_col >= 0 ? (int64_t)step : mlp_run_next_step(run, key), v,
				  isnan(ts) || fabs(ts) > 9e15 ? dflt_t : (int64_t)ts);
	}
}

struct tsv_walk {
	struct mlp_run *run;
	git_repository *git;
	int64_t t;
	size_t files;
};

static int tsv_walk_cb(const char *root, const git_tree_entry *e, void *data)
{
	struct tsv_walk *w = data;
	const char *name = git_tree_entry_name(e);
	size_t n = strlen(name);
	struct mlp_buf key = MLP_BUF_INIT;
	git_blob *b = NULL;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || n < 5 || strcmp(name + n - 4, ".tsv") ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return 0;
	if (++w->files > 10000)
		return -1;
	mlp_buf_addf(&key, "%s%.*s", root, (int)(n - 4), name);
	if (git_blob_lookup(&b, w->git, git_tree_entry_id(e)) == 0 &&
	    (size_t)git_blob_rawsize(b) <= MLP_MAX_RECORD_SIZE && mlp_key_check("metric", key.buf) == 0)
		tsv_points(w->run, key.buf, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), w->t);
	git_blob_free(b);
	mlp_buf_release(&key);
	return 0;
}

static void tree_flat(struct mlp_map *out, git_repository *git, git_tree *tree, const char *path,
		      int numeric, char sep, mlp_warn_fn warn, void *wdata, const char *what)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err = blob_at(&b, git, tree, path, 16u << 20);

	if (err == 0 && mlp_parse_flat(out, b.buf, b.len, path, numeric, sep) < 0)
		err = MLP_EINVALID;
	if (err < 0 && err != MLP_ENOTFOUND)
		warnf(warn, wdata, "%s: %s", what, mlp_error_message());
	mlp_buf_release(&b);
}

/*
 * One experiment commit: params.yaml / params.json and dvclive/params.yaml
 * give params; dvclive/plots/metrics/ TSVs give histories, and
 * metrics.json / dvclive/metrics.json the metrics without a history.
 */
static int exp_run(struct importer *im, const char *refname, const char *expname, git_commit *c)
{
	git_repository *git = im->repo->git;
	git_tree *tree = NULL, *plots = NULL;
	git_tree_entry *pe = NULL;
	struct mlp_run *run = mlp_run_new();
	struct mlp_map m = MLP_MAP_INIT;
	char hex[MLP_OID_HEXSZ + 1];
	int64_t t = (int64_t)git_commit_time(c) * 1000;
	int err = 0;

	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	if (git_commit_tree(&tree, c) < 0) {
		err = mlp_git_error(MLP_ECORRUPT, refname);
		goto done;
	}
	run->name = clean_name(expname);
	run->status = MLP_STATUS_FINISHED;
	run->started = (int64_t)git_commit_author(c)->when.time * 1000;
	run->ended = t;
	if (run->ended < run->started)
		run->ended = run->started;
	if (git_commit_parentcount(c) > 0) {
		git_commit *parent = NULL;
		git_oid_tostr(run->base, sizeof(run->base), git_commit_parent_id(c, 0));
		if (git_commit_parent(&parent, c, 0) == 0) {
			run->dirty = !git_oid_equal(git_commit_tree_id(parent), git_tree_id(tree));
			git_commit_free(parent);
		}
	}
	git_oid_tostr(run->workspace, sizeof(run->workspace), git_tree_id(tree));
	set_tag(run, "dvc.exp_name", expname);
	set_tag(run, "dvc.exp_ref", refname);
	set_tag(run, "dvc.exp_commit", hex);
	tree_flat(&run->params, git, tree, "params.yaml", 0, '.', im->o->warn, im->o->warn_data, refname);
	tree_flat(&run->params, git, tree, "params.json", 0, '.', im->o->warn, im->o->warn_data, refname);
	tree_flat(&run->params, git, tree, "dvclive/params.yaml", 0, '.', im->o->warn, im->o->warn_data, refname);
	if (git_tree_entry_bypath(&pe, tree, "dvclive/plots/metrics") == 0 &&
	    git_tree_entry_type(pe) == GIT_OBJECT_TREE &&
	    git_tree_lookup(&plots, git, git_tree_entry_id(pe)) == 0) {
		struct tsv_walk w = { run, git, t, 0 };
		git_tree_walk(plots, GIT_TREEWALK_PRE, tsv_walk_cb, &w);
	}
	tree_flat(&m, git, tree, "metrics.json", 1, '/', im->o->warn, im->o->warn_data, refname);
	tree_flat(&m, git, tree, "dvclive/metrics.json", 1, '/', im->o->warn, im->o->warn_data, refname);
	{
		const struct mlp_value *sv = mlp_map_get(&m, "step");
		int64_t step = sv && sv->type == MLP_INT ? sv->u.i : 0;
		for (size_t i = 0; i < m.nr; i++) {
			const struct mlp_value *v = &m.items[i].val;
			if (!strcmp(m.items[i].key, "step") || mlp_run_series(run, m.items[i].key) ||
			    run->series_nr >= MLP_MAX_METRIC_KEYS)
				continue;
			mlp_run_add_point(run, m.items[i].key, step, v->type == MLP_INT ? (double)v->u.i : v->u.f, t);
		}
	}
	run->series_loaded = 1;
	mlp_run_summarize(run);
	err = importer_save(im, run);
done:
	mlp_map_clear(&m);
	git_tree_entry_free(pe);
	git_tree_free(plots);
	git_tree_free(tree);
	mlp_run_free(run);
	return err;
}

/* refs/exps/<2 hex>/<38 hex>/<name>: DVC's experiment refs (not exec/, celery/, runs/ ...). */
static const char *exp_name_of(const char *ref)
{
	const char *p = ref + strlen("refs/exps/"), *slash;

	if (strlen(p) < 2 + 1 + 38 + 2 || !mlp_hex_valid(p, 2) || p[2] != '/' || !mlp_hex_valid(p + 3, 38) ||
	    p[41] != '/')
		return NULL;
	slash = p + 42;
	if (!*slash || strchr(slash, '/'))
		return NULL;
	return slash;
}

int mlp_import_dvc_exp(struct mlp_repo *repo, const struct mlp_import_opts *o, struct mlp_import_stats *st)
{
	struct importer im;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char **names = NULL;
	size_t n = 0;
	int err;

	if ((err = importer_init(&im, repo, o, st, "dvc.exp_commit")) < 0)
		return err;
	if (git_reference_iterator_glob_new(&it, repo->git, "refs/exps/*") < 0) {
		err = mlp_git_error(MLP_ERROR, "refs/exps");
		goto done;
	}
	while (git_reference_next(&ref, it) == 0) {
		if (exp_name_of(git_reference_name(ref)) && n < MLP_IMPORT_MAX_RUNS) {
			names = mlp_realloc(names, (n + 1) * sizeof(char *));
			names[n++] = mlp_strdup(git_reference_name(ref));
		}
		git_reference_free(ref);
	}
	mlp_qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n && !err; i++) {
		git_object *any = NULL, *obj = NULL;
		char hex[MLP_OID_HEXSZ + 1];
		int bad = git_revparse_single(&any, repo->git, names[i]) < 0 ||
			  git_object_peel(&obj, any, GIT_OBJECT_COMMIT) < 0;
		git_object_free(any);
		if (bad) {
			warnf(o->warn, o->warn_data, "%s: not a commit; ignored", names[i]);
			im.st->skipped++;
			continue;
		}
		git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
		if (importer_knows(&im, hex))
			im.st->present++;
		else if ((err = exp_run(&im, names[i], exp_name_of(names[i]), (git_commit *)obj)) == 0)
			importer_add(&im, hex);
		git_object_free(obj);
	}
done:
	free_strv(names, n);
	git_reference_iterator_free(it);
	importer_release(&im);
	return err;
}
