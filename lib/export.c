/*
 * Export: runs as JSON with full metric histories, and as an MLflow
 * FileStore that MLflow's own client reads.
 *
 * Names in runs are untrusted (a run may come from someone else's
 * remote): every file is created through directory descriptors with
 * O_NOFOLLOW below the target, and a key becomes a path only when MLflow
 * itself would accept it (mlp_mlflow_key_ok()); other keys are left out
 * and counted.
 */
#include "import.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

/* ---- JSON ----------------------------------------------------------------------- */

static void json_num(struct mlp_buf *b, double d)
{
	/* JSON has no NaN or infinity: they become strings, as Python's json reads back */
	if (isnan(d))
		mlp_buf_adds(b, "\"nan\"");
	else if (isinf(d))
		mlp_buf_adds(b, d > 0 ? "\"inf\"" : "\"-inf\"");
	else
		mlp_json_double(b, d);
}

void mlp_export_json_run(struct mlp_buf *b, const struct mlp_run *run)
{
	size_t before = b->len;

	mlp_render_run_json(b, run, 0);
	/* reopen the object to add the note and the full histories */
	while (b->len > before && b->buf[b->len - 1] != '}')
		b->len--;
	if (b->len > before)
		b->buf[--b->len] = '\0';
	mlp_buf_adds(b, ",\"note\":");
	if (run->note)
		mlp_json_str(b, run->note, strlen(run->note));
	else
		mlp_buf_adds(b, "null");
	mlp_buf_adds(b, ",\"series\":{");
	for (size_t i = 0; i < run->series_nr; i++) {
		const struct mlp_series *s = &run->series[i];
		if (i)
			mlp_buf_addch(b, ',');
		mlp_json_str(b, s->key, strlen(s->key));
		mlp_buf_adds(b, ":{\"step\":[");
		for (size_t j = 0; j < s->nr; j++)
			mlp_buf_addf(b, "%s%lld", j ? "," : "", (long long)s->step[j]);
		mlp_buf_adds(b, "],\"value\":[");
		for (size_t j = 0; j < s->nr; j++) {
			if (j)
				mlp_buf_addch(b, ',');
			json_num(b, s->value[j]);
		}
		mlp_buf_adds(b, "],\"t\":[");
		for (size_t j = 0; j < s->nr; j++)
			mlp_buf_addf(b, "%s%lld", j ? "," : "", (long long)s->t[j]);
		mlp_buf_adds(b, "]}");
	}
	mlp_buf_adds(b, "}}");
}

/* ---- writing below a directory without following symlinks ----------------------- */

static int open_dir_at(int dirfd, const char *name, int create)
{
	int fd;

	if (create && mkdirat(dirfd, name, 0777) < 0 && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* Creates the directories of `rel` ('/'-separated, checked) below dirfd. */
static int mkdirs_at(int dirfd, const char *rel)
{
	char *copy = mlp_strdup(rel), *p = copy, *slash;
	int fd = dup(dirfd), err = 0;

	do {
		int next;
		if ((slash = strchr(p, '/')))
			*slash = '\0';
		next = fd < 0 ? -1 : open_dir_at(fd, p, 1);
		if (fd >= 0)
			close(fd);
		fd = next;
		p = slash ? slash + 1 : p;
	} while (slash && fd >= 0);
	if (fd < 0)
		err = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", rel, strerror(errno));
	else
		close(fd);
	free(copy);
	return err;
}

/* Writes `rel` ('/'-separated, components already checked) below dirfd. */
static int write_at(int dirfd, const char *rel, const void *data, size_t len)
{
	char *copy = mlp_strdup(rel), *p = copy, *slash;
	int fd = dup(dirfd), err = 0;

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		int next;
		*slash = '\0';
		next = open_dir_at(fd, p, 1);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	if (fd < 0) {
		err = mlp_error_set(MLP_ERROR, "cannot create the directories of '%s': %s", rel, strerror(errno));
	} else {
		int out = openat(fd, p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
		const char *c = data;
		if (out < 0) {
			err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", rel, strerror(errno));
		} else {
			while (len) {
				ssize_t n = write(out, c, len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", rel, strerror(errno));
					break;
				}
				c += n;
				len -= (size_t)n;
			}
			if (close(out) < 0 && !err)
				err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", rel, strerror(errno));
		}
		close(fd);
	}
	free(copy);
	return err;
}

/* ---- the MLflow FileStore --------------------------------------------------------- */

/* A YAML double-quoted scalar: readable by PyYAML whatever the bytes are. */
static void yaml_str(struct mlp_buf *b, const char *s)
{
	mlp_buf_addch(b, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			mlp_buf_addf(b, "\\%c", c);
		else if (c == '\n')
			mlp_buf_adds(b, "\\n");
		else if (c == '\t')
			mlp_buf_adds(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			mlp_buf_addf(b, "\\x%02x", c);
		else
			mlp_buf_addch(b, (char)c);
	}
	mlp_buf_addch(b, '"');
}

/* A float as Python's repr would write it, so MLflow reads the same double. */
static void py_float(struct mlp_buf *b, double d)
{
	if (isnan(d))
		mlp_buf_adds(b, "nan");
	else if (isinf(d))
		mlp_buf_adds(b, d > 0 ? "inf" : "-inf");
	else
		mlp_json_double(b, d);
}

static void value_text(struct mlp_buf *b, const struct mlp_value *v)
{
	if (v->type == MLP_FLOAT)
		py_float(b, v->u.f);
	else if (v->type == MLP_STR)
		mlp_buf_add(b, v->u.str.s, v->u.str.len);
	else
		mlp_value_format(b, v);
}

static int mlflow_status(enum mlp_status s)
{
	switch (s) {
	case MLP_STATUS_RUNNING: return 1;
	case MLP_STATUS_FINISHED: return 3;
	case MLP_STATUS_KILLED: return 5;
	default: return 4;	/* failed, crashed */
	}
}

struct exporter {
	struct mlp_repo *repo;
	int root;
	char *abs;		/* absolute path of the target, for artifact URIs */
	char **exp_names;	/* index = experiment id - 1 */
	size_t nexp;
	char **used_ids;
	size_t nused;
	mlp_warn_fn warn;
	void *wdata;
	struct mlp_export_stats *st;
};

static size_t experiment_id(struct exporter *e, const char *name, int64_t t)
{
	struct mlp_buf meta = MLP_BUF_INIT, rel = MLP_BUF_INIT;
	size_t id;

	if (!name || !strcmp(name, "Default"))
		return 0;
	for (id = 0; id < e->nexp; id++)
		if (!strcmp(e->exp_names[id], name))
			return id + 1;
	e->exp_names = mlp_realloc(e->exp_names, (e->nexp + 1) * sizeof(char *));
	e->exp_names[e->nexp++] = mlp_strdup(name);
	id = e->nexp;
	mlp_buf_addf(&meta, "artifact_location: ");
	{
		struct mlp_buf uri = MLP_BUF_INIT;
		mlp_buf_addf(&uri, "file://%s/%zu", e->abs, id);
		yaml_str(&meta, uri.buf);
		mlp_buf_release(&uri);
	}
	mlp_buf_addf(&meta, "\ncreation_time: %lld\nexperiment_id: '%zu'\nlast_update_time: %lld\n"
		     "lifecycle_stage: active\nname: ", (long long)t, id, (long long)t);
	yaml_str(&meta, name);
	mlp_buf_addch(&meta, '\n');
	mlp_buf_addf(&rel, "%zu/meta.yaml", id);
	if (write_at(e->root, rel.buf, meta.buf, meta.len) == 0)
		e->st->experiments++;
	mlp_buf_release(&meta);
	mlp_buf_release(&rel);
	return id;
}

static int id_used(struct exporter *e, const char *id)
{
	for (size_t i = 0; i < e->nused; i++)
		if (!strcmp(e->used_ids[i], id))
			return 1;
	return 0;
}

static int is_uuid_hex(const char *s)
{
	return s && strlen(s) == 32 && mlp_hex_valid(s, 32);
}

static int put_key_file(struct exporter *e, const char *runrel, const char *dir, const char *key,
			const struct mlp_buf *content)
{
	struct mlp_buf rel = MLP_BUF_INIT;
	int err;

	if (!mlp_mlflow_key_ok(key)) {
		e->st->keys_skipped++;
		return 0;
	}
	mlp_buf_addf(&rel, "%s/%s/%s", runrel, dir, key);
	err = write_at(e->root, rel.buf, content->buf ? content->buf : "", content->len);
	mlp_buf_release(&rel);
	return err;
}

static int export_run(struct exporter *e, const struct mlp_run *run)
{
	struct mlp_buf meta = MLP_BUF_INIT, runrel = MLP_BUF_INIT, c = MLP_BUF_INIT, uri = MLP_BUF_INIT;
	struct mlp_map tags = MLP_MAP_INIT;
	const struct mlp_value *tv = mlp_map_get(&run->tags, "mlflow.run_id");
	const char *rid = run->id;
	size_t eid;
	int err = 0;

	if (tv && tv->type == MLP_STR && is_uuid_hex(tv->u.str.s) && !id_used(e, tv->u.str.s))
		rid = tv->u.str.s;
	if (id_used(e, rid))
		rid = run->id;
	e->used_ids = mlp_realloc(e->used_ids, (e->nused + 1) * sizeof(char *));
	e->used_ids[e->nused++] = mlp_strdup(rid);
	eid = experiment_id(e, run->experiment, run->started);
	mlp_buf_addf(&runrel, "%zu/%s", eid, rid);
	mlp_buf_addf(&uri, "file://%s/%s/artifacts", e->abs, runrel.buf);
	mlp_buf_adds(&meta, "artifact_uri: ");
	yaml_str(&meta, uri.buf);
	mlp_buf_adds(&meta, "\nend_time: ");
	if (run->ended)
		mlp_buf_addf(&meta, "%lld", (long long)run->ended);
	else
		mlp_buf_adds(&meta, "null");
	mlp_buf_addf(&meta, "\nentry_point_name: ''\nexperiment_id: '%zu'\nlifecycle_stage: active\n"
		     "run_id: %s\nrun_name: ", eid, rid);
	yaml_str(&meta, run->name ? run->name : rid);
	mlp_buf_addf(&meta, "\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\nsource_version: ''\n"
		     "start_time: %lld\nstatus: %d\ntags: []\nuser_id: ", rid, (long long)run->started,
		     mlflow_status(run->status));
	yaml_str(&meta, run->user ? run->user : "");
	mlp_buf_addch(&meta, '\n');
	mlp_buf_addf(&c, "%s/meta.yaml", runrel.buf);
	if ((err = write_at(e->root, c.buf, meta.buf, meta.len)) < 0)
		goto done;
	/* MLflow's get_run() insists on all four, empty or not */
	for (size_t i = 0; i < 4 && !err; i++) {
		static const char *const sub[] = { "params", "metrics", "tags", "artifacts" };
		mlp_buf_reset(&c);
		mlp_buf_addf(&c, "%s/%s", runrel.buf, sub[i]);
		err = mkdirs_at(e->root, c.buf);
	}
	if (err < 0)
		goto done;
	if (run->artifact_nr) {
		/* the run's stored files, at their paths, verified as checkout does */
		struct mlp_buf adir = MLP_BUF_INIT;
		struct mlp_checkout_opts co = { NULL, 1, e->warn, e->wdata, NULL, NULL, NULL };
		size_t written = 0, failed = 0;
		mlp_buf_addf(&adir, "%s/%s", e->abs, c.buf);
		co.dir = adir.buf;
		err = mlp_artifact_checkout(e->repo, run, NULL, 0, &co, &written, &failed);
		e->st->artifacts += written;
		mlp_buf_release(&adir);
		if (err < 0)
			goto done;
	}
	for (size_t i = 0; i < run->params.nr && !err; i++) {
		mlp_buf_reset(&c);
		value_text(&c, &run->params.items[i].val);
		err = put_key_file(e, runrel.buf, "params", run->params.items[i].key, &c);
	}
	/* tags: the run's own, and MLflow's names for what git-mlp keeps as fields */
	mlp_map_copy(&tags, &run->tags);
	mlp_map_remove(&tags, "mlflow.run_id");
	{
		const char *facts[][2] = {
			{ "mlflow.runName", run->name }, { "mlflow.user", run->user },
			{ "mlflow.source.git.commit", run->base[0] ? run->base : NULL },
			{ "mlflow.source.git.branch", run->branch }, { "mlflow.note.content", run->note },
		};
		for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
			struct mlp_value v = { MLP_NIL, { 0 } };
			if (!facts[i][1] || mlp_map_get(&tags, facts[i][0]))
				continue;
			mlp_value_set_str(&v, facts[i][1], strlen(facts[i][1]));
			mlp_map_set(&tags, facts[i][0], &v);
		}
	}
	for (size_t i = 0; i < tags.nr && !err; i++) {
		mlp_buf_reset(&c);
		value_text(&c, &tags.items[i].val);
		err = put_key_file(e, runrel.buf, "tags", tags.items[i].key, &c);
	}
	for (size_t i = 0; i < run->series_nr && !err; i++) {
		const struct mlp_series *s = &run->series[i];
		mlp_buf_reset(&c);
		for (size_t j = 0; j < s->nr; j++) {
			mlp_buf_addf(&c, "%lld ", (long long)s->t[j]);
			py_float(&c, s->value[j]);
			mlp_buf_addf(&c, " %lld\n", (long long)s->step[j]);
		}
		err = put_key_file(e, runrel.buf, "metrics", s->key, &c);
	}
	if (!err)
		e->st->runs++;
done:
	mlp_map_clear(&tags);
	mlp_buf_release(&meta);
	mlp_buf_release(&runrel);
	mlp_buf_release(&c);
	mlp_buf_release(&uri);
	return err;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int mlp_export_mlflow(struct mlp_repo *repo, char *const *ids, size_t n, const char *dir,
		      int force, mlp_warn_fn warn, void *wdata, struct mlp_export_stats *st)
{
	struct exporter e;
	struct stat sb;
	int err = 0;

	memset(&e, 0, sizeof(e));
	memset(st, 0, sizeof(*st));
	e.repo = repo;
	e.warn = warn;
	e.wdata = wdata;
	e.st = st;
	e.root = -1;
	if (lstat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return mlp_error_set(MLP_EEXISTS, "'%s' exists and is not a directory", dir);
		if (!force && !dir_is_empty(dir))
			return mlp_error_set(MLP_EEXISTS, "'%s' is not empty (--force writes into it)", dir);
	} else if (mkdir(dir, 0777) < 0) {
		return mlp_error_set(MLP_ERROR, "cannot create '%s': %s", dir, strerror(errno));
	}
	e.root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e.root < 0 || !(e.abs = realpath(dir, NULL))) {
		err = mlp_error_set(MLP_ERROR, "cannot open '%s': %s", dir, strerror(errno));
		goto done;
	}
	{
		/* MLflow expects the Default experiment (id 0) to exist */
		struct mlp_buf meta = MLP_BUF_INIT;
		struct mlp_buf uri = MLP_BUF_INIT;
		mlp_buf_addf(&uri, "file://%s/0", e.abs);
		mlp_buf_adds(&meta, "artifact_location: ");
		yaml_str(&meta, uri.buf);
		mlp_buf_addf(&meta, "\ncreation_time: %lld\nexperiment_id: '0'\nlast_update_time: %lld\n"
			     "lifecycle_stage: active\nname: Default\n", (long long)mlp_now_ms(),
			     (long long)mlp_now_ms());
		err = write_at(e.root, "0/meta.yaml", meta.buf, meta.len);
		mlp_buf_release(&meta);
		mlp_buf_release(&uri);
		if (err < 0)
			goto done;
		st->experiments++;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct mlp_run *run = NULL;
		if ((err = mlp_run_load(&run, repo, ids[i], MLP_LOAD_SERIES)) < 0) {
			if (warn) {
				struct mlp_buf m = MLP_BUF_INIT;
				mlp_buf_addf(&m, "run %s: %s", ids[i], mlp_error_message());
				warn(wdata, m.buf);
				mlp_buf_release(&m);
			}
			err = 0;
			continue;
		}
		err = export_run(&e, run);
		mlp_run_free(run);
	}
	if (!err && st->keys_skipped && warn) {
		struct mlp_buf m = MLP_BUF_INIT;
		mlp_buf_addf(&m, "%zu key%s left out: MLflow allows only letters, digits, '_', '-', '.', ' ' "
			     "and '/' in names", st->keys_skipped, st->keys_skipped == 1 ? "" : "s");
		warn(wdata, m.buf);
		mlp_buf_release(&m);
	}
done:
	if (e.root >= 0)
		close(e.root);
	free(e.abs);
	for (size_t i = 0; i < e.nexp; i++)
		free(e.exp_names[i]);
	free(e.exp_names);
	for (size_t i = 0; i < e.nused; i++)
		free(e.used_ids[i]);
	free(e.used_ids);
	return err;
}
