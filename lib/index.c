/*
 * The index cache, <commondir>/mlp/index: one row per run ref holding the
 * ref's commit id and the raw bytes of run.mp, params.mp and summary.mp.
 *
 * Listing runs from git costs a ref read, a commit, a tree and three zlib
 * inflates per run; from the index it costs one file read and the
 * decoding.  Rows are trusted only while their commit id equals the ref's
 * (checked on every read), and their bytes are decoded with the same
 * bounded decoders as objects from git, so a stale, truncated or hostile
 * index costs a rebuild, never a wrong answer.  Deleting it loses nothing.
 *
 * File: msgpack {"v":1,"rows":[[id, commit, commit_time, workspace,
 * run_mp(bin), params_mp(bin), summary_mp(bin)], ...]}, rows sorted by id.
 * Written to a temporary file and renamed, so readers never see half.
 */
#include "internal.h"
#include "mp.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_MAX_SIZE (1u << 30)

struct row {
	char id[MLP_ID_HEXSZ + 1];
	char commit[MLP_OID_HEXSZ + 1];
	int64_t commit_time;
	char workspace[MLP_OID_HEXSZ + 1];
	struct mlp_buf raw[3];
	int used;
};

struct index {
	struct row *rows;
	size_t nr, alloc;
};

static void index_free(struct index *ix)
{
	for (size_t i = 0; i < ix->nr; i++)
		for (int j = 0; j < 3; j++)
			mlp_buf_release(&ix->rows[i].raw[j]);
	free(ix->rows);
	memset(ix, 0, sizeof(*ix));
}

static struct row *index_add(struct index *ix)
{
	if (ix->nr == ix->alloc) {
		ix->alloc = ix->alloc ? ix->alloc * 2 : 64;
		ix->rows = mlp_realloc(ix->rows, ix->alloc * sizeof(*ix->rows));
	}
	memset(&ix->rows[ix->nr], 0, sizeof(ix->rows[0]));
	return &ix->rows[ix->nr++];
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->id, ((const struct row *)b)->id);
}

static struct row *index_find(struct index *ix, const char *id)
{
	struct row key;

	if (!ix->nr)
		return NULL;
	memcpy(key.id, id, sizeof(key.id));
	return bsearch(&key, ix->rows, ix->nr, sizeof(*ix->rows), row_cmp);
}

static int read_hex(struct mlp_mp *r, char *out, size_t len)
{
	const char *s;
	uint32_t n;
	int err = mlp_mp_read_str(r, &s, &n);

	if (err < 0)
		return err;
	if (n == 0 && len == MLP_OID_HEXSZ) {
		out[0] = '\0';
		return 0;
	}
	if (n != len || !mlp_hex_valid(s, n))
		return mlp_error_set(MLP_ECORRUPT, "bad id in index");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int parse_index(struct index *ix, const char *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n, rows;
	int err;

	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0)
			return err;
		if (kl == 1 && k[0] == 'v') {
			int64_t v;
			if ((err = mlp_mp_read_int(&r, &v)) < 0)
				return err;
			if (v != 1)
				return mlp_error_set(MLP_ECORRUPT, "index version %lld", (long long)v);
			continue;
		}
		if (kl != 4 || memcmp(k, "rows", 4)) {
			if ((err = mlp_mp_skip(&r)) < 0)
				return err;
			continue;
		}
		if ((err = mlp_mp_read_array(&r, &rows)) < 0)
			return err;
		for (uint32_t j = 0; j < rows; j++) {
			struct row *row = index_add(ix);
			uint32_t fields;
			if ((err = mlp_mp_read_array(&r, &fields)) < 0)
				return err;
			if (fields != 7)
				return mlp_error_set(MLP_ECORRUPT, "bad index row");
			if ((err = read_hex(&r, row->id, MLP_ID_HEXSZ)) < 0 ||
			    (err = read_hex(&r, row->commit, MLP_OID_HEXSZ)) < 0 ||
			    (err = mlp_mp_read_int(&r, &row->commit_time)) < 0 ||
			    (err = read_hex(&r, row->workspace, MLP_OID_HEXSZ)) < 0)
				return err;
			for (int f = 0; f < 3; f++) {
				const unsigned char *b;
				uint32_t bl;
				if ((err = mlp_mp_read_bin(&r, &b, &bl)) < 0)
					return err;
				mlp_buf_add(&row->raw[f], b, bl);
			}
		}
	}
	for (size_t i = 1; i < ix->nr; i++)
		if (strcmp(ix->rows[i - 1].id, ix->rows[i].id) >= 0)
			return mlp_error_set(MLP_ECORRUPT, "index rows out of order");
	return 0;
}

static char *index_path(struct mlp_repo *repo)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s/index", repo->mlpdir);
	return mlp_buf_detach(&b, NULL);
}

/* 0 when there is no index; 1 when loaded; <0 (with a message) when corrupt. */
static int load_index(struct index *ix, struct mlp_repo *repo)
{
	char *path = index_path(repo);
	struct mlp_buf data = MLP_BUF_INIT;
	char chunk[65536];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	free(path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size > INDEX_MAX_SIZE) {
		close(fd);
		return mlp_error_set(MLP_ECORRUPT, "index cache is too large");
	}
	mlp_buf_grow(&data, (size_t)st.st_size);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		mlp_buf_add(&data, chunk, (size_t)n);
	close(fd);
	if (n < 0)
		err = mlp_error_set(MLP_ERROR, "cannot read the index cache: %s", strerror(errno));
	else if (data.len)
		err = parse_index(ix, data.buf, data.len);
	mlp_buf_release(&data);
	if (err < 0)
		index_free(ix);
	return err < 0 ? err : 1;
}

static int buf_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t len = strlen(s);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* Best effort: a cache that cannot be written is rebuilt next time. */
static void write_index(struct index *ix, struct mlp_repo *repo)
{
	struct mlp_buf out = MLP_BUF_INIT, tmp = MLP_BUF_INIT;
	msgpack_packer pk;
	char *path = index_path(repo);
	size_t nr = 0;
	int fd;

	for (size_t i = 0; i < ix->nr; i++)
		nr += ix->rows[i].used;
	msgpack_packer_init(&pk, &out, buf_write);
	msgpack_pack_map(&pk, 2);
	pack_str(&pk, "v");
	msgpack_pack_int(&pk, 1);
	pack_str(&pk, "rows");
	msgpack_pack_array(&pk, nr);
	for (size_t i = 0; i < ix->nr; i++) {
		struct row *row = &ix->rows[i];
		if (!row->used)
			continue;
		msgpack_pack_array(&pk, 7);
		pack_str(&pk, row->id);
		pack_str(&pk, row->commit);
		msgpack_pack_int64(&pk, row->commit_time);
		pack_str(&pk, row->workspace);
		for (int f = 0; f < 3; f++) {
			msgpack_pack_bin(&pk, row->raw[f].len);
			msgpack_pack_bin_body(&pk, row->raw[f].buf, row->raw[f].len);
		}
	}
	mlp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0) {
		size_t off = 0;
		while (off < out.len) {
			ssize_t w = write(fd, out.buf + off, out.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (close(fd) < 0 || off != out.len || rename(tmp.buf, path) < 0)
			unlink(tmp.buf);
	}
	free(path);
	mlp_buf_release(&out);
	mlp_buf_release(&tmp);
}

static void list_add(struct mlp_run_list *l, struct mlp_run *run)
{
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->runs = mlp_realloc(l->runs, l->alloc * sizeof(*l->runs));
	}
	l->runs[l->nr++] = run;
}

static int newest_first(const void *a, const void *b)
{
	const struct mlp_run *x = *(struct mlp_run *const *)a, *y = *(struct mlp_run *const *)b;

	if (x->started != y->started)
		return x->started > y->started ? -1 : 1;
	return strcmp(x->id, y->id);
}

int mlp_run_list_all(struct mlp_run_list *out, struct mlp_repo *repo, mlp_warn_fn warn, void *data)
{
	struct index ix = { 0 };
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	size_t cached_nr;
	int err, dirty = 0;

	err = load_index(&ix, repo);
	if (err < 0) {
		if (warn) {
			struct mlp_buf m = MLP_BUF_INIT;
			mlp_buf_addf(&m, "index cache %s/index is unusable (%s); rebuilding it",
				     repo->mlpdir, mlp_error_message());
			warn(data, m.buf);
			mlp_buf_release(&m);
		}
		dirty = 1;
	}
	cached_nr = ix.nr;
	if (git_reference_iterator_glob_new(&it, repo->git, MLP_REF_PREFIX "*") < 0) {
		index_free(&ix);
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	}
	while (!(err = git_reference_next(&ref, it))) {
		const char *id = git_reference_name(ref) + strlen(MLP_REF_PREFIX);
		const git_oid *oid = git_reference_target(ref);
		char hex[MLP_OID_HEXSZ + 1];
		struct mlp_run *run = NULL;
		struct row *row;

		if (strlen(id) != MLP_ID_HEXSZ || !mlp_hex_valid(id, MLP_ID_HEXSZ) || !oid) {
			git_reference_free(ref);
			continue;
		}
		git_oid_tostr(hex, sizeof(hex), oid);
		/* only rows read from the file are sorted and searchable */
		row = NULL;
		if (cached_nr) {
			size_t save = ix.nr;
			ix.nr = cached_nr;
			row = index_find(&ix, id);
			ix.nr = save;
		}
		err = -1;
		if (row && !strcmp(row->commit, hex)) {
			err = mlp_run_from_records(&run, id, row->commit, row->commit_time,
						   row->workspace, row->raw);
			row->used = !err;
		}
		/* a stale or damaged row: read the run from git */
		if (err < 0) {
			struct mlp_buf raw[3];
			err = mlp_run_load_oid(&run, repo, id, oid, 0, raw);
			dirty = 1;
			if (!err) {
				struct row *fresh;
				if (row) {
					/* replace the stale row in place */
					for (int f = 0; f < 3; f++)
						mlp_buf_release(&row->raw[f]);
					fresh = row;
				} else {
					fresh = index_add(&ix);
				}
				memcpy(fresh->id, id, sizeof(fresh->id));
				memcpy(fresh->commit, hex, sizeof(fresh->commit));
				fresh->commit_time = run->commit_time;
				memcpy(fresh->workspace, run->workspace, sizeof(fresh->workspace));
				for (int f = 0; f < 3; f++)
					fresh->raw[f] = raw[f];
				fresh->used = 1;
			}
		}
		git_reference_free(ref);
		if (err < 0) {
			out->skipped++;
			if (warn)
				warn(data, mlp_error_message());
			err = 0;
			continue;
		}
		list_add(out, run);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		index_free(&ix);
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	}
	/* rows of refs that are gone make the file stale too */
	for (size_t i = 0; i < ix.nr && !dirty; i++)
		if (!ix.rows[i].used)
			dirty = 1;
	if (dirty) {
		qsort(ix.rows, ix.nr, sizeof(*ix.rows), row_cmp);
		write_index(&ix, repo);
	}
	index_free(&ix);
	if (out->nr > 1)
		qsort(out->runs, out->nr, sizeof(*out->runs), newest_first);
	return 0;
}
