/*
 * Runs in memory and in the repository: the run object, saving a run as a
 * commit under refs/mlp/runs/<id> with compare-and-swap, loading it back
 * with every size checked, finding runs by id prefix or name.
 */
#include "internal.h"

#include <git2/sys/commit.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

const char *mlp_status_name(enum mlp_status s)
{
	switch (s) {
	case MLP_STATUS_RUNNING: return "running";
	case MLP_STATUS_FINISHED: return "finished";
	case MLP_STATUS_FAILED: return "failed";
	case MLP_STATUS_KILLED: return "killed";
	case MLP_STATUS_CRASHED: return "crashed";
	case MLP_STATUS_QUEUED: return "queued";
	}
	return "unknown";
}

struct mlp_run *mlp_run_new(void)
{
	return mlp_calloc(1, sizeof(struct mlp_run));
}

static void free_series(struct mlp_run *run)
{
	for (size_t i = 0; i < run->series_nr; i++) {
		free(run->series[i].key);
		free(run->series[i].step);
		free(run->series[i].value);
		free(run->series[i].t);
		free(run->series[i].flushed);
	}
	free(run->series);
	run->series = NULL;
	run->series_nr = 0;
}

static void free_summary(struct mlp_run *run)
{
	for (size_t i = 0; i < run->summary_nr; i++)
		free(run->summary[i].key);
	free(run->summary);
	run->summary = NULL;
	run->summary_nr = 0;
}

void mlp_run_free(struct mlp_run *run)
{
	if (!run)
		return;
	free(run->name);
	free(run->experiment);
	for (size_t i = 0; i < run->cmd_nr; i++)
		free(run->cmd[i]);
	free(run->cmd);
	free(run->cwd);
	free(run->branch);
	free(run->host);
	free(run->user);
	mlp_map_clear(&run->env);
	free(run->parent);
	mlp_map_clear(&run->tags);
	free(run->note);
	mlp_map_clear(&run->params);
	free_summary(run);
	free_series(run);
	free(run->logs_stdout_tail);
	free(run->logs_stderr_tail);
	mlp_run_clear_artifacts(run);
	free(run);
}

static struct mlp_series *find_series(const struct mlp_run *run, const char *key, size_t *pos)
{
	size_t lo = 0, hi = run->series_nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(run->series[mid].key, key);
		if (!c)
			return &run->series[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

const struct mlp_series *mlp_run_series(const struct mlp_run *run, const char *key)
{
	return find_series(run, key, NULL);
}

void mlp_run_add_point(struct mlp_run *run, const char *key, int64_t step,
		       double value, int64_t t_ms)
{
	size_t pos = 0;
	struct mlp_series *s = find_series(run, key, &pos);

	run->series_loaded = 1;
	if (!s) {
		run->series = mlp_realloc(run->series, (run->series_nr + 1) * sizeof(*run->series));
		memmove(run->series + pos + 1, run->series + pos,
			(run->series_nr - pos) * sizeof(*run->series));
		s = &run->series[pos];
		memset(s, 0, sizeof(*s));
		s->key = mlp_strdup(key);
		run->series_nr++;
	}
	if (s->nr == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 16;
		s->step = mlp_realloc(s->step, s->alloc * sizeof(*s->step));
		s->value = mlp_realloc(s->value, s->alloc * sizeof(*s->value));
		s->t = mlp_realloc(s->t, s->alloc * sizeof(*s->t));
	}
	s->step[s->nr] = step;
	s->value[s->nr] = value;
	s->t[s->nr] = t_ms;
	s->nr++;
	run->npoints++;
	if (!s->count++) {
		s->first = value;
		s->min = INFINITY;
		s->max = -INFINITY;
	}
	s->last = value;
	s->last_step = step;
	if (!isnan(value)) {
		if (value < s->min)
			s->min = value;
		if (value > s->max)
			s->max = value;
	}
}

int64_t mlp_run_next_step(const struct mlp_run *run, const char *key)
{
	const struct mlp_series *s = find_series(run, key, NULL);
	return s && s->count ? s->last_step + 1 : 0;
}

void mlp_run_summarize(struct mlp_run *run)
{
	free_summary(run);
	run->summary = mlp_calloc(run->series_nr, sizeof(*run->summary));
	for (size_t i = 0; i < run->series_nr; i++) {
		const struct mlp_series *s = &run->series[i];
		struct mlp_summary *sum = &run->summary[run->summary_nr];
		if (!s->count)
			continue;
		/* running figures: flushed points are no longer in memory */
		sum->key = mlp_strdup(s->key);
		sum->first = s->first;
		sum->last = s->last;
		sum->step = s->last_step;
		sum->count = s->count;
		sum->min = s->min;
		sum->max = s->max;
		if (sum->min > sum->max)
			sum->min = sum->max = NAN;
		run->summary_nr++;
	}
}

const struct mlp_summary *mlp_run_summary(const struct mlp_run *run, const char *key)
{
	size_t lo = 0, hi = run->summary_nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(run->summary[mid].key, key);
		if (!c)
			return &run->summary[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mlp_run_format_metrics(struct mlp_buf *b, const struct mlp_run *run, size_t max)
{
	for (size_t i = 0; i < run->summary_nr && i < max; i++)
		mlp_buf_addf(b, "%s%s=%.4g", i ? " " : "", run->summary[i].key, run->summary[i].last);
	if (run->summary_nr > max)
		mlp_buf_addf(b, " (+%zu more)", run->summary_nr - max);
}

int mlp_run_new_id(struct mlp_run *run)
{
	unsigned char raw[16];
	static const char hex[] = "0123456789abcdef";
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mlp_error_set(MLP_ERROR, "cannot get random bytes: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	for (int i = 0; i < 16; i++) {
		run->id[2 * i] = hex[raw[i] >> 4];
		run->id[2 * i + 1] = hex[raw[i] & 15];
	}
	run->id[MLP_ID_HEXSZ] = '\0';
	return 0;
}

/* ---- reading objects with limits ----------------------------------------- */

static int read_blob(struct mlp_buf *out, git_repository *git, const git_oid *oid,
		     size_t max, const char *what)
{
	git_odb *odb = NULL;
	size_t len;
	git_object_t type;
	git_blob *blob = NULL;
	int err;

	if (git_repository_odb(&odb, git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot open object database");
	err = git_odb_read_header(&len, &type, odb, oid);
	git_odb_free(odb);
	if (err < 0)
		return mlp_git_error(MLP_ECORRUPT, what);
	if (type != GIT_OBJECT_BLOB)
		return mlp_error_set(MLP_ECORRUPT, "%s is not a blob", what);
	if (len > max)
		return mlp_error_set(MLP_ELIMIT, "%s is %zu bytes, over the limit of %zu", what, len, max);
	if (git_blob_lookup(&blob, git, oid) < 0)
		return mlp_git_error(MLP_ECORRUPT, what);
	mlp_buf_reset(out);
	mlp_buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return 0;
}

static int entry_blob(struct mlp_buf *out, git_repository *git, const git_tree *tree,
		      const char *name, size_t max)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);

	if (!e)
		return mlp_error_set(MLP_ENOTFOUND, "no %s in the run tree", name);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return mlp_error_set(MLP_ECORRUPT, "%s is not a file", name);
	return read_blob(out, git, git_tree_entry_id(e), max, name);
}

static int load_series(struct mlp_run *run, git_repository *git, const git_tree *root)
{
	const git_tree_entry *me = git_tree_entry_byname(root, "metrics");
	git_tree *metrics = NULL;
	struct mlp_buf data = MLP_BUF_INIT, key = MLP_BUF_INIT;
	int err = 0;

	if (!me)
		return 0;
	if (git_tree_entry_type(me) != GIT_OBJECT_TREE)
		return mlp_error_set(MLP_ECORRUPT, "metrics is not a directory");
	if (git_tree_lookup(&metrics, git, git_tree_entry_id(me)) < 0)
		return mlp_git_error(MLP_ECORRUPT, "metrics");
	if (git_tree_entrycount(metrics) > MLP_MAX_METRIC_KEYS) {
		git_tree_free(metrics);
		return mlp_error_set(MLP_ELIMIT, "more than %d metric series", MLP_MAX_METRIC_KEYS);
	}
	for (size_t i = 0; i < git_tree_entrycount(metrics) && !err; i++) {
		const git_tree_entry *ke = git_tree_entry_byindex(metrics, i);
		git_tree *chunks = NULL;

		mlp_buf_reset(&key);
		if ((err = mlp_key_decode(&key, git_tree_entry_name(ke))) < 0)
			break;
		if (git_tree_entry_type(ke) != GIT_OBJECT_TREE ||
		    git_tree_lookup(&chunks, git, git_tree_entry_id(ke)) < 0) {
			err = mlp_error_set(MLP_ECORRUPT, "metric '%s' is not a directory of chunks", key.buf);
			break;
		}
		if (git_tree_entrycount(chunks) > MLP_MAX_CHUNKS)
			err = mlp_error_set(MLP_ELIMIT, "metric '%s' has too many chunks", key.buf);
		/* chunk names are zero-padded, so tree order is series order */
		for (size_t j = 0; j < git_tree_entrycount(chunks) && !err; j++) {
			const git_tree_entry *ce = git_tree_entry_byindex(chunks, j);
			if (git_tree_entry_type(ce) != GIT_OBJECT_BLOB) {
				err = mlp_error_set(MLP_ECORRUPT, "metric '%s': chunk is not a file", key.buf);
				break;
			}
			if ((err = read_blob(&data, git, git_tree_entry_id(ce), MLP_MAX_RECORD_SIZE, "metric chunk")) < 0)
				break;
			err = mlp_record_decode_chunk(run, key.buf, data.buf, data.len);
		}
		git_tree_free(chunks);
	}
	git_tree_free(metrics);
	mlp_buf_release(&data);
	mlp_buf_release(&key);
	return err;
}

/* The last `lines` lines of a log blob, at most 64 KiB of it. */
static char *log_tail(git_repository *git, const git_tree *root, const char *path, int lines)
{
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	char *ret = NULL;

	if (git_tree_entry_bypath(&e, root, path) < 0)
		return NULL;
	if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
	    !git_blob_lookup(&blob, git, git_tree_entry_id(e))) {
		const char *s = git_blob_rawcontent(blob);
		size_t len = (size_t)git_blob_rawsize(blob), start = len;
		int seen = 0;
		if (start && s[start - 1] == '\n')
			start--;
		while (start > 0 && len - start < 65536) {
			if (s[start - 1] == '\n' && ++seen >= lines)
				break;
			start--;
		}
		ret = mlp_strndup(s + start, len - start);
		git_blob_free(blob);
	}
	git_tree_entry_free(e);
	return ret;
}

/* Decodes the three records of a run; `raw` may come from the index cache. */
static int decode_records(struct mlp_run *run, const char *id, const struct mlp_buf raw[3])
{
	int err;

	if (!raw[0].len)
		return mlp_error_set(MLP_ECORRUPT, "no run.mp in the run tree");
	if ((err = mlp_record_decode_run(run, raw[0].buf, raw[0].len)) < 0)
		return err;
	if (strcmp(run->id, id))
		return mlp_error_set(MLP_ECORRUPT, "run.mp names run %s", run->id);
	if (raw[1].len && (err = mlp_record_decode_params(&run->params, raw[1].buf, raw[1].len)) < 0)
		return err;
	if (raw[2].len && (err = mlp_record_decode_summary(run, raw[2].buf, raw[2].len)) < 0)
		return err;
	return 0;
}

/* Names the run in a failure: "run <id> uses format 2; ..." */
static int name_error(int err, const char *id)
{
	char msg[1024];

	if (err >= 0 || err == MLP_ENOTFOUND)
		return err;
	snprintf(msg, sizeof(msg), "%s", mlp_error_message());
	if (!strncmp(msg, "run ", 4))
		return err;
	if (err == MLP_EVERSION)
		return mlp_error_set(err, "run %s %s", id, msg);
	return mlp_error_set(err, "run %s: %s", id, msg);
}

int mlp_run_from_records(struct mlp_run **out, const char *id, const char *commit,
			 int64_t commit_time, const char *workspace, const struct mlp_buf raw[3])
{
	struct mlp_run *run = mlp_run_new();
	int err = decode_records(run, id, raw);

	*out = NULL;
	if (err < 0) {
		mlp_run_free(run);
		return name_error(err, id);
	}
	snprintf(run->commit, sizeof(run->commit), "%s", commit);
	snprintf(run->workspace, sizeof(run->workspace), "%s", workspace ? workspace : "");
	run->commit_time = commit_time;
	*out = run;
	return 0;
}

int mlp_run_load_oid(struct mlp_run **out, struct mlp_repo *repo, const char *id,
		     const git_oid *known, unsigned flags, struct mlp_buf raw_out[3])
{
	struct mlp_buf ref = MLP_BUF_INIT, raw[3] = { MLP_BUF_INIT, MLP_BUF_INIT, MLP_BUF_INIT };
	static const char *const names[3] = { "run.mp", "params.mp", "summary.mp" };
	struct mlp_run *run = mlp_run_new();
	git_oid oid;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	const git_tree_entry *ws;
	int err = 0;

	*out = NULL;
	mlp_buf_addf(&ref, MLP_REF_PREFIX "%s", id);
	if (!known && !strcmp(repo->resolved_id, id))
		known = &repo->resolved_commit;	/* just resolved through a current index */
	if (known) {
		git_oid_cpy(&oid, known);
	} else {
		err = git_reference_name_to_id(&oid, repo->git, ref.buf);
		if (err == GIT_ENOTFOUND) {
			err = mlp_error_set(MLP_ENOTFOUND, "no run matches '%s'", id);
			goto done;
		}
	}
	if (err < 0 || git_commit_lookup(&commit, repo->git, &oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		err = mlp_git_error(MLP_ECORRUPT, ref.buf);
		goto done;
	}
	git_oid_tostr(run->commit, sizeof(run->commit), &oid);
	run->commit_time = (int64_t)git_commit_time(commit);
	for (int i = 0; i < 3; i++) {
		err = entry_blob(&raw[i], repo->git, tree, names[i], MLP_MAX_RECORD_SIZE);
		if (err == MLP_ENOTFOUND && i > 0)
			err = 0;
		else if (err == MLP_ENOTFOUND)	/* the ref exists: a broken run, named */
			err = mlp_error_set(MLP_ECORRUPT, "no run.mp in the run tree");
		if (err < 0)
			goto done;
	}
	if ((err = decode_records(run, id, raw)) < 0)
		goto done;
	ws = git_tree_entry_byname(tree, "workspace");
	if (ws && git_tree_entry_type(ws) == GIT_OBJECT_TREE)
		git_oid_tostr(run->workspace, sizeof(run->workspace), git_tree_entry_id(ws));
	ws = git_tree_entry_byname(tree, "artifacts");
	if (ws && git_tree_entry_type(ws) == GIT_OBJECT_TREE) {
		struct mlp_buf amp = MLP_BUF_INIT;
		git_oid_tostr(run->artifacts, sizeof(run->artifacts), git_tree_entry_id(ws));
		err = entry_blob(&amp, repo->git, tree, "artifacts.mp", MLP_MAX_RECORD_SIZE);
		if (!err)
			err = mlp_artifact_decode_list(run, amp.buf, amp.len);
		else if (err == MLP_ENOTFOUND)
			err = 0;
		mlp_buf_release(&amp);
		if (err < 0)
			goto done;
	}
	if (flags & MLP_LOAD_SERIES) {
		if ((err = load_series(run, repo->git, tree)) < 0)
			goto done;
		run->series_loaded = 1;
	}
	if (flags & MLP_LOAD_LOGS) {
		run->logs_stdout_tail = log_tail(repo->git, tree, "logs/stdout", 10);
		run->logs_stderr_tail = log_tail(repo->git, tree, "logs/stderr", 10);
	}
done:
	err = name_error(err, id);
	git_tree_free(tree);
	git_commit_free(commit);
	mlp_buf_release(&ref);
	for (int i = 0; i < 3; i++) {
		if (raw_out && err >= 0) {
			raw_out[i] = raw[i];
		} else {
			mlp_buf_release(&raw[i]);
		}
	}
	if (err < 0)
		mlp_run_free(run);
	else
		*out = run;
	return err;
}

int mlp_run_load(struct mlp_run **out, struct mlp_repo *repo, const char *id, unsigned flags)
{
	return mlp_run_load_oid(out, repo, id, NULL, flags, NULL);
}

int mlp_run_read_file(struct mlp_buf *out, struct mlp_repo *repo, const char *id, const char *path)
{
	struct mlp_buf ref = MLP_BUF_INIT;
	git_oid oid;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	int err = 0;

	mlp_buf_addf(&ref, MLP_REF_PREFIX "%s", id);
	if (git_reference_name_to_id(&oid, repo->git, ref.buf) < 0 ||
	    git_commit_lookup(&commit, repo->git, &oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		err = mlp_git_error(MLP_ENOTFOUND, ref.buf);
		goto done;
	}
	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		err = mlp_error_set(MLP_ENOTFOUND, "run %s has no '%s'", id, path);
		goto done;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		err = mlp_error_set(MLP_EINVALID, "'%s' in run %s is a directory", path, id);
		goto done;
	}
	err = read_blob(out, repo->git, git_tree_entry_id(e), MLP_MAX_RECORD_SIZE, path);
done:
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(commit);
	mlp_buf_release(&ref);
	return err;
}

/* ---- saving ---------------------------------------------------------------- */

/*
 * A blob from memory.  git_blob_create_from_buffer() goes through a write
 * stream, which creates its temporary file before it knows the object id
 * and throws it away when the object exists already (most saves rewrite
 * an unchanged params.mp or summary.mp): a file creation for nothing.
 * git_odb_write() hashes first and only freshens an object it has.
 */
static int write_blob(git_oid *out, git_repository *git, const void *data, size_t len)
{
	git_odb *odb = NULL;
	int err;

	if (git_repository_odb(&odb, git) < 0)
		return -1;
	err = git_odb_write(out, odb, data, len, GIT_OBJECT_BLOB);
	git_odb_free(odb);
	return err;
}

/*
 * Inserts an object this save has just written.  libgit2 checks that
 * every object a tree entry names exists, by reading it back: for these
 * that is a read for nothing (five or six a run), so the check is off
 * for them, and only for them.  Objects from elsewhere (the workspace
 * tree, the artifacts tree, the entries kept from the previous commit,
 * metric chunks written at checkpoints) are still checked: a run whose
 * objects went missing meanwhile fails to save and keeps its data.
 */
static int insert_fresh(git_treebuilder *tb, const char *name, const git_oid *oid, git_filemode_t mode)
{
	int err;

	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	err = git_treebuilder_insert(NULL, tb, name, oid, mode);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
	return err;
}

static int insert_blob(git_treebuilder *tb, git_repository *git, const char *name,
		       const void *data, size_t len)
{
	git_oid oid;

	if (write_blob(&oid, git, data, len) < 0 ||
	    insert_fresh(tb, name, &oid, GIT_FILEMODE_BLOB) < 0)
		return mlp_git_error(MLP_ERROR, name);
	return 0;
}

static int write_metrics(git_oid *out, struct mlp_repo *repo, const struct mlp_run *run)
{
	git_treebuilder *mtb = NULL;
	struct mlp_buf data = MLP_BUF_INIT, name = MLP_BUF_INIT;
	int err = 0;

	if (git_treebuilder_new(&mtb, repo->git, NULL) < 0)
		return mlp_git_error(MLP_ERROR, "treebuilder");
	for (size_t i = 0; i < run->series_nr && !err; i++) {
		const struct mlp_series *s = &run->series[i];
		git_treebuilder *ctb = NULL;
		git_oid tree;

		size_t c0 = s->flushed_nr;

		if (!s->nr && !s->flushed_nr)
			continue;
		if ((err = mlp_key_check("metric", s->key)) < 0)
			break;
		if (git_treebuilder_new(&ctb, repo->git, NULL) < 0) {
			err = mlp_git_error(MLP_ERROR, "treebuilder");
			break;
		}
		for (size_t c = 0; c < s->flushed_nr && !err; c++) {
			char cname[32];
			git_oid oid;
			snprintf(cname, sizeof(cname), "%06zu.mp", c);
			if (git_oid_fromstr(&oid, s->flushed[c]) < 0 ||
			    git_treebuilder_insert(NULL, ctb, cname, &oid, GIT_FILEMODE_BLOB) < 0)
				err = mlp_git_error(MLP_ERROR, cname);
		}
		for (size_t from = 0, c = c0; from < s->nr && !err; from += MLP_CHUNK_POINTS, c++) {
			size_t n = s->nr - from < MLP_CHUNK_POINTS ? s->nr - from : MLP_CHUNK_POINTS;
			char cname[32];
			if (c >= MLP_MAX_CHUNKS) {
				err = mlp_error_set(MLP_ELIMIT, "metric '%s' has more than %d points",
						    s->key, MLP_MAX_CHUNKS * MLP_CHUNK_POINTS);
				break;
			}
			snprintf(cname, sizeof(cname), "%06zu.mp", c);
			mlp_buf_reset(&data);
			if (!(err = mlp_record_encode_chunk(&data, s, from, n)))
				err = insert_blob(ctb, repo->git, cname, data.buf, data.len);
		}
		if (!err && git_treebuilder_write(&tree, ctb) < 0)
			err = mlp_git_error(MLP_ERROR, "metric tree");
		git_treebuilder_free(ctb);
		if (err)
			break;
		mlp_buf_reset(&name);
		mlp_key_encode(&name, s->key);
		if (git_treebuilder_insert(NULL, mtb, name.buf, &tree, GIT_FILEMODE_TREE) < 0)
			err = mlp_git_error(MLP_ERROR, "metrics tree");
	}
	if (!err && git_treebuilder_write(out, mtb) < 0)
		err = mlp_git_error(MLP_ERROR, "metrics tree");
	git_treebuilder_free(mtb);
	mlp_buf_release(&data);
	mlp_buf_release(&name);
	return err;
}

int mlp_run_flush_chunks(struct mlp_repo *repo, struct mlp_run *run)
{
	struct mlp_buf data = MLP_BUF_INIT;
	int err = 0;

	for (size_t i = 0; i < run->series_nr && !err; i++) {
		struct mlp_series *s = &run->series[i];
		while (s->nr >= MLP_CHUNK_POINTS && !err) {
			git_oid oid;
			if (s->flushed_nr >= MLP_MAX_CHUNKS) {
				err = mlp_error_set(MLP_ELIMIT, "metric '%s' has more than %d points",
						    s->key, MLP_MAX_CHUNKS * MLP_CHUNK_POINTS);
				break;
			}
			mlp_buf_reset(&data);
			if ((err = mlp_record_encode_chunk(&data, s, 0, MLP_CHUNK_POINTS)) < 0)
				break;
			if (write_blob(&oid, repo->git, data.buf, data.len) < 0) {
				err = mlp_git_error(MLP_ERROR, "metric chunk");
				break;
			}
			s->flushed = mlp_realloc(s->flushed, (s->flushed_nr + 1) * sizeof(*s->flushed));
			git_oid_tostr(s->flushed[s->flushed_nr++], MLP_OID_HEXSZ + 1, &oid);
			s->nr -= MLP_CHUNK_POINTS;
			memmove(s->step, s->step + MLP_CHUNK_POINTS, s->nr * sizeof(*s->step));
			memmove(s->value, s->value + MLP_CHUNK_POINTS, s->nr * sizeof(*s->value));
			memmove(s->t, s->t + MLP_CHUNK_POINTS, s->nr * sizeof(*s->t));
		}
	}
	mlp_buf_release(&data);
	return err;
}

/*
 * A log file as a blob of its raw bytes (format section 11): no filters,
 * whatever core.autocrlf or attributes say about paths like it.  The bytes
 * there when it is opened are taken; a checkpoint's log may grow
 * meanwhile.  1: *out is set; 0: no such file (and not `missing_empty`).
 */
static int log_blob(git_oid *out, git_repository *git, const char *path, int missing_empty)
{
	git_odb *odb = NULL;
	git_odb_stream *st = NULL;
	char buf[65536];
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t left;

	if (fd < 0 && errno == ENOENT && !missing_empty)
		return 0;
	if (fd < 0 && errno != ENOENT)
		return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path, strerror(errno));
	if (fd < 0 || (fstat(fd, &sb) == 0 && sb.st_size == 0)) {
		/* lazily created logs: no file is an empty log */
		if (fd >= 0)
			close(fd);
		if (write_blob(out, git, "", 0) < 0)
			return mlp_git_error(MLP_ERROR, path);
		return 1;
	}
	if (sb.st_size < 0 || git_repository_odb(&odb, git) < 0 ||
	    git_odb_open_wstream(&st, odb, (git_object_size_t)sb.st_size, GIT_OBJECT_BLOB) < 0) {
		err = mlp_git_error(MLP_ERROR, path);
		goto done;
	}
	for (left = (size_t)sb.st_size; left && !err;) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path,
					    n < 0 ? strerror(errno) : "it was truncated");
		else if (git_odb_stream_write(st, buf, (size_t)n) < 0)
			err = mlp_git_error(MLP_ERROR, path);
		else
			left -= (size_t)n;
	}
	if (!err && git_odb_stream_finalize_write(out, st) < 0)
		err = mlp_git_error(MLP_ERROR, path);
done:
	git_odb_stream_free(st);
	git_odb_free(odb);
	close(fd);
	return err < 0 ? err : 1;
}

static int write_logs(git_treebuilder *root, struct mlp_repo *repo, const struct mlp_run_files *logs,
		      const git_tree *old_tree)
{
	git_treebuilder *ltb = NULL;
	git_oid oid, tree;
	int err = 0;

	if (!logs) {
		const git_tree_entry *e = old_tree ? git_tree_entry_byname(old_tree, "logs") : NULL;
		if (e && git_treebuilder_insert(NULL, root, "logs", git_tree_entry_id(e),
						git_tree_entry_filemode(e)) < 0)
			return mlp_git_error(MLP_ERROR, "logs");
		return 0;
	}
	if (git_treebuilder_new(&ltb, repo->git, NULL) < 0)
		return mlp_git_error(MLP_ERROR, "treebuilder");
	const char *paths[2] = { logs->stdout_path, logs->stderr_path };
	const char *names[2] = { "stdout", "stderr" };
	for (int i = 0; i < 2 && !err; i++) {
		int got;
		if (!paths[i])
			continue;
		if ((got = log_blob(&oid, repo->git, paths[i], logs->missing_empty)) < 0)
			err = got;
		else if (got && insert_fresh(ltb, names[i], &oid, GIT_FILEMODE_BLOB) < 0)
			err = mlp_git_error(MLP_ERROR, names[i]);
	}
	if (!err && git_treebuilder_entrycount(ltb)) {
		if (git_treebuilder_write(&tree, ltb) < 0 ||
		    insert_fresh(root, "logs", &tree, GIT_FILEMODE_TREE) < 0)
			err = mlp_git_error(MLP_ERROR, "logs");
	}
	git_treebuilder_free(ltb);
	return err;
}

/* Trailer values are one line. */
static void add_oneline(struct mlp_buf *b, const char *s, size_t max)
{
	size_t start = b->len;

	for (; s && *s; s++) {
		if (b->len - start >= max) {
			mlp_buf_adds(b, "...");
			break;
		}
		mlp_buf_addch(b, (*s == '\n' || *s == '\r') ? ' ' : *s);
	}
}

static void commit_message(struct mlp_buf *msg, const struct mlp_run *run)
{
	add_oneline(msg, run->name, 200);
	mlp_buf_addf(msg, ": %s", mlp_status_name(run->status));
	if (run->summary_nr) {
		mlp_buf_addch(msg, ' ');
		mlp_run_format_metrics(msg, run, 5);
	}
	mlp_buf_addf(msg, "\n\nRun-Id: %s\n", run->id);
	if (run->experiment) {
		mlp_buf_adds(msg, "Experiment: ");
		add_oneline(msg, run->experiment, 200);
		mlp_buf_addch(msg, '\n');
	}
	if (run->cmd_nr) {
		struct mlp_buf cmd = MLP_BUF_INIT;
		for (size_t i = 0; i < run->cmd_nr; i++) {
			if (i)
				mlp_buf_addch(&cmd, ' ');
			mlp_buf_adds(&cmd, run->cmd[i]);
		}
		mlp_buf_adds(msg, "Command: ");
		add_oneline(msg, cmd.buf, 1000);
		mlp_buf_addch(msg, '\n');
		mlp_buf_release(&cmd);
	}
}

int mlp_run_save(struct mlp_repo *repo, struct mlp_run *run, const struct mlp_run_files *logs)
{
	git_treebuilder *tb = NULL;
	struct mlp_buf data = MLP_BUF_INIT, ref = MLP_BUF_INIT, msg = MLP_BUF_INIT;
	git_oid tree_oid, metrics_oid, commit_oid, old_oid, base_oid, ws_oid;
	git_commit *old = NULL, *base = NULL;
	git_tree *old_tree = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_reference *newref = NULL;
	int err = 0;

	if (run->name && (err = mlp_name_check(run->name)) < 0)
		return err;
	if (run->commit[0]) {
		if (git_oid_fromstr(&old_oid, run->commit) < 0 ||
		    git_commit_lookup(&old, repo->git, &old_oid) < 0 ||
		    git_commit_tree(&old_tree, old) < 0) {
			err = mlp_git_error(MLP_ECORRUPT, "previous run commit");
			goto done;
		}
	}
	if (run->series_loaded)
		mlp_run_summarize(run);
	if (git_treebuilder_new(&tb, repo->git, NULL) < 0) {
		err = mlp_git_error(MLP_ERROR, "treebuilder");
		goto done;
	}
	if ((err = mlp_record_encode_run(&data, run)) < 0 ||
	    (err = insert_blob(tb, repo->git, "run.mp", data.buf, data.len)) < 0)
		goto done;
	mlp_buf_reset(&data);
	if ((err = mlp_record_encode_params(&data, &run->params)) < 0 ||
	    (err = insert_blob(tb, repo->git, "params.mp", data.buf, data.len)) < 0)
		goto done;
	mlp_buf_reset(&data);
	if ((err = mlp_record_encode_summary(&data, run)) < 0 ||
	    (err = insert_blob(tb, repo->git, "summary.mp", data.buf, data.len)) < 0)
		goto done;
	if (run->series_loaded && run->series_nr) {
		if ((err = write_metrics(&metrics_oid, repo, run)) < 0)
			goto done;
		if (insert_fresh(tb, "metrics", &metrics_oid, GIT_FILEMODE_TREE) < 0) {
			err = mlp_git_error(MLP_ERROR, "metrics");
			goto done;
		}
	} else if (!run->series_loaded && old_tree && git_tree_entry_byname(old_tree, "metrics")) {
		/* series were not loaded: keep the stored ones */
		const git_tree_entry *e = git_tree_entry_byname(old_tree, "metrics");
		if (git_treebuilder_insert(NULL, tb, "metrics", git_tree_entry_id(e), GIT_FILEMODE_TREE) < 0) {
			err = mlp_git_error(MLP_ERROR, "metrics");
			goto done;
		}
	}
	if ((err = write_logs(tb, repo, logs, old_tree)) < 0)
		goto done;
	if (run->workspace[0]) {
		if (git_oid_fromstr(&ws_oid, run->workspace) < 0 ||
		    git_treebuilder_insert(NULL, tb, "workspace", &ws_oid, GIT_FILEMODE_TREE) < 0) {
			err = mlp_git_error(MLP_ERROR, "workspace");
			goto done;
		}
	}
	if (run->artifacts[0]) {
		git_oid art_oid;
		mlp_buf_reset(&data);
		if (git_oid_fromstr(&art_oid, run->artifacts) < 0 ||
		    git_treebuilder_insert(NULL, tb, "artifacts", &art_oid, GIT_FILEMODE_TREE) < 0) {
			err = mlp_git_error(MLP_ERROR, "artifacts");
			goto done;
		}
		if ((err = mlp_artifact_encode_list(&data, run)) < 0 ||
		    (err = insert_blob(tb, repo->git, "artifacts.mp", data.buf, data.len)) < 0)
			goto done;
	} else if (old_tree && git_tree_entry_byname(old_tree, "artifacts")) {
		/* artifacts were not loaded: keep the stored ones */
		static const char *const keep[2] = { "artifacts", "artifacts.mp" };
		for (int i = 0; i < 2; i++) {
			const git_tree_entry *e = git_tree_entry_byname(old_tree, keep[i]);
			if (e && git_treebuilder_insert(NULL, tb, keep[i], git_tree_entry_id(e),
							git_tree_entry_filemode(e)) < 0) {
				err = mlp_git_error(MLP_ERROR, keep[i]);
				goto done;
			}
		}
	}
	if (git_treebuilder_write(&tree_oid, tb) < 0) {
		err = mlp_git_error(MLP_ERROR, "run tree");
		goto done;
	}
	if (run->base[0] && (git_oid_fromstr(&base_oid, run->base) < 0 ||
			     git_commit_lookup(&base, repo->git, &base_oid) < 0)) {
		err = mlp_git_error(MLP_ECORRUPT, "base commit");
		goto done;
	}
	if ((err = mlp_repo_signature(&author, repo, 0, run->started)) < 0 ||
	    (err = mlp_repo_signature(&committer, repo, 1, run->ended ? run->ended : mlp_now_ms())) < 0)
		goto done;
	commit_message(&msg, run);
	{
		/* from ids: the tree is the one just written, the parent was looked up */
		const git_oid *parents[1] = { base ? git_commit_id(base) : NULL };
		if (git_commit_create_from_ids(&commit_oid, repo->git, NULL, author, committer, NULL, msg.buf,
					       &tree_oid, base ? 1 : 0, parents) < 0) {
			err = mlp_git_error(MLP_ERROR, "cannot write run commit");
			goto done;
		}
	}
	mlp_buf_addf(&ref, MLP_REF_PREFIX "%s", run->id);
	if (old) {
		err = git_reference_create_matching(&newref, repo->git, ref.buf, &commit_oid, 1,
						    &old_oid, "git-mlp: update run");
		if (err == GIT_EMODIFIED || err == GIT_ENOTFOUND) {
			err = mlp_error_set(MLP_ECONFLICT, "run %s was changed or removed meanwhile", run->id);
			goto done;
		}
	} else {
		err = git_reference_create(&newref, repo->git, ref.buf, &commit_oid, 0, "git-mlp: new run");
		if (err == GIT_EEXISTS) {
			err = mlp_error_set(MLP_ECONFLICT, "run %s exists already", run->id);
			goto done;
		}
	}
	if (err < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot update run ref");
		goto done;
	}
	git_oid_tostr(run->commit, sizeof(run->commit), &commit_oid);
done:
	git_reference_free(newref);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(old_tree);
	git_commit_free(old);
	git_commit_free(base);
	git_treebuilder_free(tb);
	mlp_buf_release(&data);
	mlp_buf_release(&ref);
	mlp_buf_release(&msg);
	return err;
}

int mlp_run_delete(struct mlp_repo *repo, const struct mlp_run *run)
{
	struct mlp_buf ref = MLP_BUF_INIT;
	git_reference *r = NULL;
	git_oid want;
	int err = 0;

	mlp_buf_addf(&ref, MLP_REF_PREFIX "%s", run->id);
	if (git_reference_lookup(&r, repo->git, ref.buf) < 0) {
		err = mlp_error_set(MLP_ENOTFOUND, "no run matches '%s'", run->id);
		goto done;
	}
	if (run->commit[0] && (git_oid_fromstr(&want, run->commit) < 0 ||
			       !git_reference_target(r) ||
			       !git_oid_equal(&want, git_reference_target(r)))) {
		err = mlp_error_set(MLP_ECONFLICT, "run %s was changed meanwhile", run->id);
		goto done;
	}
	/* libgit2 deletes only if the ref still points where `r` says */
	if (git_reference_delete(r) < 0)
		err = mlp_git_error(MLP_ECONFLICT, "cannot delete run ref");
done:
	git_reference_free(r);
	mlp_buf_release(&ref);
	return err;
}

/* ---- finding runs ------------------------------------------------------------ */

int mlp_run_resolve(char ***ids_out, struct mlp_repo *repo, const char *spec)
{
	git_oid *commits = NULL;
	int n = mlp_index_resolve(ids_out, &commits, repo, spec);

	/* remember a single match: loading it then needs no ref lookup */
	if (n == 1) {
		memcpy(repo->resolved_id, (*ids_out)[0], sizeof(repo->resolved_id));
		git_oid_cpy(&repo->resolved_commit, &commits[0]);
	}
	free(commits);
	return n;
}

/*
 * Each distinct base is checked once against HEAD: runs share few bases,
 * so this costs a handful of graph walks whatever the number of runs.
 * A run made on a dirty tree that was then committed as it was belongs to
 * that commit too: its workspace tree is the commit's tree.  Those trees
 * are collected from HEAD's history only when such a run exists.
 */
#define TREE_WALK_LIMIT 10000

static int tree_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

int mlp_run_list_scope_head(struct mlp_run_list *list, struct mlp_repo *repo)
{
	git_oid head, base;
	struct { char hex[MLP_OID_HEXSZ + 1]; int keep; } *seen = NULL;
	size_t seen_nr = 0, kept = 0, ntrees = 0;
	git_oid *trees = NULL;
	int have_head = !git_reference_name_to_id(&head, repo->git, "HEAD"), trees_done = 0;

	for (size_t i = 0; i < list->nr; i++) {
		struct mlp_run *run = list->runs[i];
		int keep = 0;
		size_t j;

		if (!run->base[0]) {
			keep = 1;
		} else if (have_head) {
			for (j = 0; j < seen_nr; j++)
				if (!strcmp(seen[j].hex, run->base))
					break;
			if (j == seen_nr) {
				seen = mlp_realloc(seen, (seen_nr + 1) * sizeof(*seen));
				memcpy(seen[j].hex, run->base, sizeof(seen[j].hex));
				seen[j].keep = !git_oid_fromstr(&base, run->base) &&
					(git_oid_equal(&base, &head) ||
					 git_graph_descendant_of(repo->git, &head, &base) == 1);
				seen_nr++;
			}
			keep = seen[j].keep;
		}
		if (!keep && have_head && run->dirty && run->workspace[0]) {
			git_oid ws;
			if (!trees_done) {
				git_revwalk *walk = NULL;
				git_oid c;
				trees_done = 1;
				if (git_revwalk_new(&walk, repo->git) == 0 && git_revwalk_push(walk, &head) == 0) {
					while (ntrees < TREE_WALK_LIMIT && git_revwalk_next(&c, walk) == 0) {
						git_commit *commit = NULL;
						if (git_commit_lookup(&commit, repo->git, &c) < 0)
							break;
						trees = mlp_realloc(trees, (ntrees + 1) * sizeof(*trees));
						git_oid_cpy(&trees[ntrees++], git_commit_tree_id(commit));
						git_commit_free(commit);
					}
					mlp_qsort(trees, ntrees, sizeof(*trees), tree_cmp);
				}
				git_revwalk_free(walk);
			}
			keep = !git_oid_fromstr(&ws, run->workspace) &&
			       ntrees && bsearch(&ws, trees, ntrees, sizeof(*trees), tree_cmp) != NULL;
		}
		if (keep)
			list->runs[kept++] = run;
		else
			mlp_run_free(run);
	}
	list->nr = kept;
	free(seen);
	free(trees);
	return 0;
}

void mlp_run_list_release(struct mlp_run_list *list)
{
	for (size_t i = 0; i < list->nr; i++)
		mlp_run_free(list->runs[i]);
	free(list->runs);
	memset(list, 0, sizeof(*list));
}
