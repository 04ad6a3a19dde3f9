/*
 * The index cache, <commondir>/mlp/index: one row per run ref, with the
 * ref's commit id, what listing needs to scope and order runs (start time,
 * base commit, workspace tree, status), and the raw bytes of run.mp,
 * params.mp and summary.mp.
 *
 * Listing runs from git costs a ref read, a commit, a tree and three zlib
 * inflates per run; from the index it costs a mapping of one file and the
 * decoding of the runs actually shown.  The file carries a signature of
 * the run refs (packed-refs and the loose refs under refs/mlp/runs: names,
 * sizes, times, inodes); while it matches, the rows are the refs and no
 * ref is read at all.  Otherwise every ref is read, rows whose commit id
 * still matches are kept and the rest come from git.  Rows are decoded
 * with the same bounded decoders as objects from git and every offset is
 * checked against the file size, so a stale, truncated or hostile index
 * costs a rebuild, never a wrong answer.  Deleting it loses nothing.
 *
 * File (little-endian): "MLPIDX2\n", u32 row count, u32 0, u64 signature,
 * u64 size of the file; rows of ROW_SIZE bytes sorted newest first; then
 * the records.  Written to a temporary file and renamed.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "MLPIDX3\n"
#define HEADER_SIZE 32
#define ROW_SIZE 128
#define INDEX_MAX_SIZE (8ull << 30)

struct row {
	unsigned char id[16], commit[20], workspace[20], base[20];
	int status, dirty, has_ws, has_base;
	int broken;		/* the run does not decode: reported again on each listing */
	int reported;		/* ...which happened already in this process */
	int64_t started, commit_time;
	const char *rec[3];	/* into the mapping or `own` */
	size_t len[3];
	struct mlp_buf own[3];
	const char *name;	/* the run's name (not NUL-terminated), into the mapping or own_name */
	size_t name_len;
	char *own_name;
	int used;
};

struct index {
	struct row *rows;
	size_t nr, alloc;
	void *map;
	size_t map_len;
	uint64_t sig;
};

static void index_free(struct index *ix)
{
	for (size_t i = 0; i < ix->nr; i++) {
		for (int j = 0; j < 3; j++)
			mlp_buf_release(&ix->rows[i].own[j]);
		free(ix->rows[i].own_name);
	}
	free(ix->rows);
	if (ix->map)
		munmap(ix->map, ix->map_len);
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

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void put(struct mlp_buf *b, uint64_t v, int n)
{
	unsigned char tmp[8];
	for (int i = 0; i < n; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	mlp_buf_add(b, tmp, (size_t)n);
}

static void hex(char *out, const unsigned char *raw, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(unsigned char *raw, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char a = s[2 * i], c = s[2 * i + 1];
		hi = a >= '0' && a <= '9' ? a - '0' : a >= 'a' && a <= 'f' ? a - 'a' + 10 : -1;
		lo = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		raw[i] = (unsigned char)(hi * 16 + lo);
	}
	return 0;
}

static char *index_path(struct mlp_repo *repo)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s/index", repo->mlpdir);
	return mlp_buf_detach(&b, NULL);
}

/* ---- the signature of the run refs --------------------------------------- */

struct loose {
	char name[256];
};

static int loose_cmp(const void *a, const void *b)
{
	return strcmp(((const struct loose *)a)->name, ((const struct loose *)b)->name);
}

/* Hashes a file's bytes (a loose ref, packed-refs): stat times are too
 * coarse, and inodes are reused, to tell two quick ref updates apart. */
static void hash_file(XXH64_state_t *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;

	if (fd < 0 || fstat(fd, &st) < 0) {
		XXH64_update(h, "missing", 7);
		if (fd >= 0)
			close(fd);
		return;
	}
	XXH64_update(h, &st.st_size, sizeof(st.st_size));
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			XXH64_update(h, map, (size_t)st.st_size);
			munmap(map, (size_t)st.st_size);
		} else {
			XXH64_update(h, &st.st_mtim, sizeof(st.st_mtim));
		}
	}
	close(fd);
}

static uint64_t refs_signature(struct mlp_repo *repo)
{
	const char *common = git_repository_commondir(repo->git);
	const char *sep = common[strlen(common) - 1] == '/' ? "" : "/";
	struct mlp_buf p = MLP_BUF_INIT, f = MLP_BUF_INIT;
	XXH64_state_t *h = XXH64_createState();
	struct loose *l = NULL;
	size_t n = 0, alloc = 0;
	uint64_t sig;
	DIR *d;
	struct dirent *e;

	XXH64_reset(h, 0);
	mlp_buf_addf(&p, "%s%spacked-refs", common, sep);
	hash_file(h, p.buf);
	mlp_buf_reset(&p);
	mlp_buf_addf(&p, "%s%srefs/mlp/runs", common, sep);
	d = opendir(p.buf);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			l = mlp_realloc(l, alloc * sizeof(*l));
		}
		snprintf(l[n].name, sizeof(l[n].name), "%s", e->d_name);
		n++;
	}
	if (d)
		closedir(d);
	mlp_qsort(l, n, sizeof(*l), loose_cmp);
	for (size_t i = 0; i < n; i++) {
		XXH64_update(h, l[i].name, strlen(l[i].name) + 1);
		mlp_buf_reset(&f);
		mlp_buf_addf(&f, "%s/%s", p.buf, l[i].name);
		hash_file(h, f.buf);
	}
	sig = XXH64_digest(h);
	XXH64_freeState(h);
	free(l);
	mlp_buf_release(&p);
	mlp_buf_release(&f);
	return sig;
}

/* ---- reading ---------------------------------------------------------------- */

/* 0: no index; 1: loaded; <0: corrupt (message set). */
static int load_index(struct index *ix, struct mlp_repo *repo)
{
	char *path = index_path(repo);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m;
	uint64_t count, size;

	free(path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > INDEX_MAX_SIZE || st.st_size < HEADER_SIZE) {
		close(fd);
		return mlp_error_set(MLP_ECORRUPT, "index cache has a bad size");
	}
	ix->map_len = (size_t)st.st_size;
	ix->map = mmap(NULL, ix->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (ix->map == MAP_FAILED) {
		ix->map = NULL;
		return mlp_error_set(MLP_ERROR, "cannot map the index cache: %s", strerror(errno));
	}
	m = ix->map;
	count = le(m + 8, 4);
	size = le(m + 24, 8);
	if (!memcmp(m, "MLPIDX", 6) && memcmp(m, MAGIC, 8))
		return 0;	/* an older layout: rebuilt without a word */
	if (memcmp(m, MAGIC, 8) || size != ix->map_len ||
	    count > (ix->map_len - HEADER_SIZE) / ROW_SIZE)
		return mlp_error_set(MLP_ECORRUPT, "index cache is truncated or not an index");
	ix->sig = le(m + 16, 8);
	ix->rows = mlp_calloc(count ? count : 1, sizeof(*ix->rows));
	ix->alloc = count ? count : 1;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *r = m + HEADER_SIZE + i * ROW_SIZE;
		struct row *row = &ix->rows[ix->nr++];
		uint64_t off = le(r + 96, 8), total = le(r + 120, 4);
		memcpy(row->id, r, 16);
		memcpy(row->commit, r + 16, 20);
		memcpy(row->workspace, r + 36, 20);
		memcpy(row->base, r + 56, 20);
		row->status = r[76];
		row->dirty = r[77];
		row->has_ws = r[78];
		row->has_base = r[79];
		row->broken = r[116];
		row->started = (int64_t)le(r + 80, 8);
		row->commit_time = (int64_t)le(r + 88, 8);
		for (int f = 0; f < 3; f++) {
			row->len[f] = (size_t)le(r + 104 + 4 * f, 4);
			total += row->len[f];
		}
		if (off > ix->map_len || total > ix->map_len - off)
			return mlp_error_set(MLP_ECORRUPT, "index cache row %llu points outside the file",
					     (unsigned long long)i);
		for (int f = 0; f < 3; f++) {
			row->rec[f] = (const char *)m + off;
			off += row->len[f];
		}
		row->name = (const char *)m + off;
		row->name_len = (size_t)le(r + 120, 4);
	}
	return 1;
}

static int row_decode(struct mlp_run **out, const struct row *row)
{
	struct mlp_buf raw[3];
	char id[MLP_ID_HEXSZ + 1], commit[MLP_OID_HEXSZ + 1], ws[MLP_OID_HEXSZ + 1];

	for (int f = 0; f < 3; f++) {
		/* a view, not a copy: decoders only read */
		raw[f].buf = (char *)row->rec[f];
		raw[f].len = row->len[f];
		raw[f].alloc = 0;
	}
	hex(id, row->id, 16);
	hex(commit, row->commit, 20);
	if (row->has_ws)
		hex(ws, row->workspace, 20);
	else
		ws[0] = '\0';
	return mlp_run_from_records(out, id, commit, row->commit_time, ws, raw);
}

/* ---- writing ------------------------------------------------------------------- */

static int newest_row_first(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->started != y->started)
		return x->started > y->started ? -1 : 1;
	return memcmp(x->id, y->id, 16);
}

/* Best effort: a cache that cannot be written is rebuilt next time. */
static void write_index(struct index *ix, struct mlp_repo *repo, uint64_t sig)
{
	struct mlp_buf out = MLP_BUF_INIT, tmp = MLP_BUF_INIT;
	char *path = index_path(repo);
	size_t nr = 0, off;
	int fd;

	mlp_qsort(ix->rows, ix->nr, sizeof(*ix->rows), newest_row_first);
	for (size_t i = 0; i < ix->nr; i++)
		nr += ix->rows[i].used;
	off = HEADER_SIZE + nr * ROW_SIZE;
	mlp_buf_add(&out, MAGIC, 8);
	put(&out, nr, 4);
	put(&out, 0, 4);
	put(&out, sig, 8);
	put(&out, 0, 8);	/* the size, patched below */
	for (size_t i = 0; i < ix->nr; i++) {
		const struct row *r = &ix->rows[i];
		unsigned char flags[4] = { (unsigned char)r->status, (unsigned char)r->dirty,
					   (unsigned char)r->has_ws, (unsigned char)r->has_base };
		if (!r->used)
			continue;
		mlp_buf_add(&out, r->id, 16);
		mlp_buf_add(&out, r->commit, 20);
		mlp_buf_add(&out, r->workspace, 20);
		mlp_buf_add(&out, r->base, 20);
		mlp_buf_add(&out, flags, 4);
		put(&out, (uint64_t)r->started, 8);
		put(&out, (uint64_t)r->commit_time, 8);
		put(&out, off, 8);
		for (int f = 0; f < 3; f++)
			put(&out, r->len[f], 4);
		put(&out, (uint64_t)!!r->broken, 4);
		put(&out, r->name_len, 4);
		put(&out, 0, 4);
		off += r->len[0] + r->len[1] + r->len[2] + r->name_len;
	}
	for (size_t i = 0; i < ix->nr; i++) {
		if (!ix->rows[i].used)
			continue;
		for (int f = 0; f < 3; f++)
			mlp_buf_add(&out, ix->rows[i].rec[f], ix->rows[i].len[f]);
		mlp_buf_add(&out, ix->rows[i].name, ix->rows[i].name_len);
	}
	for (int i = 0; i < 8; i++)
		out.buf[24 + i] = (char)((uint64_t)out.len >> (8 * i));

	mlp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	mkdir(repo->mlpdir, 0777);	/* a bare mirror may have none yet */
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0) {
		size_t done = 0;
		while (done < out.len) {
			ssize_t w = write(fd, out.buf + done, out.len - done);
			if (w <= 0)
				break;
			done += (size_t)w;
		}
		if (close(fd) < 0 || done != out.len || rename(tmp.buf, path) < 0)
			unlink(tmp.buf);
	}
	free(path);
	mlp_buf_release(&out);
	mlp_buf_release(&tmp);
}

/* ---- bringing the index up to date with the refs ------------------------------------ */

struct id_idx {
	unsigned char id[16];
	size_t idx;
};

static int id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct id_idx *)a)->id, ((const struct id_idx *)b)->id, 16);
}

static void fill_row(struct row *r, const struct mlp_run *run, struct mlp_buf raw[3])
{
	unhex(r->id, run->id, 16);
	unhex(r->commit, run->commit, 20);
	r->has_ws = run->workspace[0] && !unhex(r->workspace, run->workspace, 20);
	r->has_base = run->base[0] && !unhex(r->base, run->base, 20);
	r->status = (int)run->status;
	r->dirty = run->dirty;
	r->broken = 0;
	free(r->own_name);
	r->own_name = mlp_strdup(run->name ? run->name : "");
	r->name = r->own_name;
	r->name_len = strlen(r->own_name);
	r->started = run->started;
	r->commit_time = run->commit_time;
	for (int f = 0; f < 3; f++) {
		mlp_buf_release(&r->own[f]);
		r->own[f] = raw[f];
		r->rec[f] = r->own[f].buf ? r->own[f].buf : "";
		r->len[f] = r->own[f].len;
	}
	r->used = 1;
}

/*
 * Makes `ix` hold exactly the current run refs.  Runs that fail to load
 * are reported through `warn` and left out.  Returns whether anything
 * changed (so the file must be written).
 */
static int sync_with_refs(struct index *ix, struct mlp_repo *repo, size_t *skipped,
			  mlp_warn_fn warn, void *data)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	struct id_idx *by_id;
	size_t cached = ix->nr;
	int err, changed = 0;

	/* indices, not pointers: adding rows may move them */
	by_id = mlp_calloc(cached ? cached : 1, sizeof(*by_id));
	for (size_t i = 0; i < cached; i++) {
		memcpy(by_id[i].id, ix->rows[i].id, 16);
		by_id[i].idx = i;
	}
	mlp_qsort(by_id, cached, sizeof(*by_id), id_cmp);
	if (git_reference_iterator_glob_new(&it, repo->git, MLP_REF_PREFIX "*") < 0) {
		free(by_id);
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	}
	while (!(err = git_reference_next(&ref, it))) {
		const char *id = git_reference_name(ref) + strlen(MLP_REF_PREFIX);
		const git_oid *target = git_reference_target(ref);
		git_oid oid_copy, *oid = NULL;
		struct id_idx key, *found = NULL;
		struct row *row = NULL;
		struct mlp_run *run = NULL;
		struct mlp_buf raw[3];

		if (strlen(id) != MLP_ID_HEXSZ || !mlp_hex_valid(id, MLP_ID_HEXSZ) || !target) {
			git_reference_free(ref);
			continue;
		}
		/* the ref (and its name and target) is freed before we are done */
		git_oid_cpy(&oid_copy, target);
		oid = &oid_copy;
		char idbuf[MLP_ID_HEXSZ + 1];
		memcpy(idbuf, id, sizeof(idbuf));
		id = idbuf;
		unhex(key.id, id, 16);
		if (cached)
			found = bsearch(&key, by_id, cached, sizeof(*by_id), id_cmp);
		if (found) {
			row = &ix->rows[found->idx];
			if (!memcmp(row->commit, oid->id, 20)) {
				/* unchanged ref: the row stands (it is decoded when shown) */
				row->used = 1;
				git_reference_free(ref);
				continue;
			}
		}
		changed = 1;
		err = mlp_run_load_oid(&run, repo, id, oid, 0, raw);
		git_reference_free(ref);
		if (err < 0) {
			/* remembered as broken, so the next listing reports it again */
			if (!row)
				row = index_add(ix);
			for (int f = 0; f < 3; f++) {
				mlp_buf_release(&row->own[f]);
				row->rec[f] = "";
				row->len[f] = 0;
			}
			memcpy(row->id, key.id, 16);
			memcpy(row->commit, oid->id, 20);
			row->broken = row->used = row->reported = 1;
			row->name_len = 0;
			row->has_ws = row->has_base = 0;
			(*skipped)++;
			if (warn)
				warn(data, mlp_error_message());
			err = 0;
			continue;
		}
		if (!row)
			row = index_add(ix);
		fill_row(row, run, raw);
		mlp_run_free(run);
	}
	git_reference_iterator_free(it);
	free(by_id);
	if (err != GIT_ITEROVER)
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	for (size_t i = 0; i < ix->nr; i++)
		if (!ix->rows[i].used)
			changed = 1;	/* a ref that is gone */
	return changed;
}

/* Loads the index and makes it current; *sig_ok when no ref had to be read. */
static int open_index(struct index *ix, struct mlp_repo *repo, size_t *skipped,
		      mlp_warn_fn warn, void *data)
{
	uint64_t sig = refs_signature(repo);
	int err = load_index(ix, repo), changed;

	if (err < 0) {
		if (warn) {
			struct mlp_buf m = MLP_BUF_INIT;
			mlp_buf_addf(&m, "index cache %s/index is unusable (%s); rebuilding it",
				     repo->mlpdir, mlp_error_message());
			warn(data, m.buf);
			mlp_buf_release(&m);
		}
		index_free(ix);
	}
	if (err == 1 && ix->sig == sig) {
		for (size_t i = 0; i < ix->nr; i++)
			ix->rows[i].used = 1;
		return 0;
	}
	changed = sync_with_refs(ix, repo, skipped, warn, data);
	if (changed < 0)
		return changed;
	/* rows were compacted by `used`; keep only those */
	{
		size_t n = 0;
		for (size_t i = 0; i < ix->nr; i++) {
			if (ix->rows[i].used)
				ix->rows[n++] = ix->rows[i];
			else {
				for (int f = 0; f < 3; f++)
					mlp_buf_release(&ix->rows[i].own[f]);
				free(ix->rows[i].own_name);
			}
		}
		ix->nr = n;
	}
	if (changed || err != 1 || ix->sig != sig)
		write_index(ix, repo, sig);
	else
		mlp_qsort(ix->rows, ix->nr, sizeof(*ix->rows), newest_row_first);
	return 0;
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

/* ---- scope by HEAD without decoding ---------------------------------------------------- */

static int oid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 20);
}

/*
 * Which rows belong to HEAD's history: a base that is HEAD or one of its
 * ancestors, no base at all, or a dirty workspace equal to a tree of that
 * history.  One walk of the history answers for every distinct base.
 */
static char *scope_rows(struct index *ix, struct mlp_repo *repo)
{
	char *keep = mlp_calloc(ix->nr ? ix->nr : 1, 1);
	git_oid head, c;
	git_revwalk *walk = NULL;
	unsigned char (*commits)[20] = NULL, (*trees)[20] = NULL;
	size_t nc = 0, nt = 0;

	if (git_reference_name_to_id(&head, repo->git, "HEAD") < 0) {
		for (size_t i = 0; i < ix->nr; i++)
			keep[i] = !ix->rows[i].has_base;
		return keep;
	}
	if (git_revwalk_new(&walk, repo->git) == 0 && git_revwalk_push(walk, &head) == 0) {
		while (git_revwalk_next(&c, walk) == 0 && nc < 10000000) {
			git_commit *commit = NULL;
			commits = mlp_realloc(commits, (nc + 1) * 20);
			memcpy(commits[nc++], c.id, 20);
			if (git_commit_lookup(&commit, repo->git, &c) == 0) {
				trees = mlp_realloc(trees, (nt + 1) * 20);
				memcpy(trees[nt++], git_commit_tree_id(commit)->id, 20);
				git_commit_free(commit);
			}
		}
	}
	git_revwalk_free(walk);
	mlp_qsort(commits, nc, 20, oid_cmp);
	mlp_qsort(trees, nt, 20, oid_cmp);
	for (size_t i = 0; i < ix->nr; i++) {
		const struct row *r = &ix->rows[i];
		keep[i] = !r->has_base || (nc && bsearch(r->base, commits, nc, 20, oid_cmp)) ||
			  (r->dirty && r->has_ws && nt && bsearch(r->workspace, trees, nt, 20, oid_cmp));
	}
	free(commits);
	free(trees);
	return keep;
}

int mlp_run_list_select(struct mlp_run_list *out, struct mlp_repo *repo,
			const struct mlp_select *sel, mlp_warn_fn warn, void *data)
{
	struct index ix = { 0 };
	char *keep = NULL;
	int err = open_index(&ix, repo, &out->skipped, warn, data);

	if (err < 0) {
		index_free(&ix);
		return err;
	}
	if (sel && sel->head_scope)
		keep = scope_rows(&ix, repo);
	for (size_t i = 0; i < ix.nr; i++) {
		struct mlp_run *run = NULL;
		if (keep && !keep[i])
			continue;
		if (sel && sel->limit && out->nr >= sel->limit)
			break;
		if (ix.rows[i].broken && !ix.rows[i].reported) {
			/* say again what is wrong with it: from git, as the first time */
			char id[MLP_ID_HEXSZ + 1];
			hex(id, ix.rows[i].id, 16);
			if (mlp_run_load(&run, repo, id, 0) < 0) {
				out->skipped++;
				if (warn)
					warn(data, mlp_error_message());
				continue;
			}
		} else if (ix.rows[i].broken) {
			continue;	/* reported while syncing */
		} else if (row_decode(&run, &ix.rows[i]) < 0) {
			/* a damaged row: the run from git, as if there were no index */
			char id[MLP_ID_HEXSZ + 1];
			hex(id, ix.rows[i].id, 16);
			if (mlp_run_load(&run, repo, id, 0) < 0) {
				out->skipped++;
				if (warn)
					warn(data, mlp_error_message());
				continue;
			}
		}
		if (sel && sel->where) {
			int match = 0;
			if ((err = mlp_query_match(sel->where, run, &match)) < 0) {
				mlp_run_free(run);
				break;
			}
			if (!match) {
				mlp_run_free(run);
				continue;
			}
		}
		list_add(out, run);
	}
	free(keep);
	if (err < 0) {
		index_free(&ix);
		return err;
	}
	index_free(&ix);
	if (out->nr > 1)
		mlp_qsort(out->runs, out->nr, sizeof(*out->runs), newest_first);
	return 0;
}

int mlp_run_list_all(struct mlp_run_list *out, struct mlp_repo *repo, mlp_warn_fn warn, void *data)
{
	return mlp_run_list_select(out, repo, NULL, warn, data);
}

int mlp_run_names(char ***names, struct mlp_repo *repo, char *const *ids, size_t n)
{
	struct index ix = { 0 };
	struct id_idx *by_id;
	size_t skipped = 0;
	int err;

	*names = mlp_calloc(n ? n : 1, sizeof(char *));
	if (!n)
		return 0;
	if ((err = open_index(&ix, repo, &skipped, NULL, NULL)) < 0) {
		index_free(&ix);
		return err;
	}
	by_id = mlp_calloc(ix.nr ? ix.nr : 1, sizeof(*by_id));
	for (size_t i = 0; i < ix.nr; i++) {
		memcpy(by_id[i].id, ix.rows[i].id, 16);
		by_id[i].idx = i;
	}
	mlp_qsort(by_id, ix.nr, sizeof(*by_id), id_cmp);
	for (size_t i = 0; i < n; i++) {
		struct id_idx key, *found;
		const struct row *r;
		if (strlen(ids[i]) != MLP_ID_HEXSZ || unhex(key.id, ids[i], 16) < 0)
			continue;
		found = ix.nr ? bsearch(&key, by_id, ix.nr, sizeof(*by_id), id_cmp) : NULL;
		r = found ? &ix.rows[found->idx] : NULL;
		if (r && !r->broken && r->name_len)
			(*names)[i] = mlp_strndup(r->name, r->name_len);
	}
	free(by_id);
	index_free(&ix);
	return 0;
}

int mlp_index_runs_of_commits(char ***ids, size_t *n, struct mlp_repo *repo, const git_oid *commits, size_t nc)
{
	struct index ix = { 0 };
	size_t skipped = 0;
	int err;

	*ids = NULL;
	*n = 0;
	if (!nc)
		return 0;
	if ((err = open_index(&ix, repo, &skipped, NULL, NULL)) < 0) {
		index_free(&ix);
		return err;
	}
	for (size_t i = 0; i < ix.nr; i++) {
		const struct row *r = &ix.rows[i];
		/* git_oid is the 20 raw bytes: the same order as oid_cmp */
		if (r->broken || !r->has_base || !bsearch(r->base, commits, nc, sizeof(*commits), oid_cmp))
			continue;
		*ids = mlp_realloc(*ids, (*n + 1) * sizeof(char *));
		(*ids)[*n] = mlp_malloc(MLP_ID_HEXSZ + 1);
		hex((*ids)[(*n)++], r->id, 16);
	}
	index_free(&ix);
	return 0;
}

/*
 * A run spec through the index: an id prefix (4+ hex) or a name, without
 * reading any ref while the index is current.  The commit ids come along,
 * so loading the run needs no ref lookup either.
 */
static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * The common case without building rows: the file is current, so its
 * mapped rows are scanned as they are.  1 when answered, 0 when the slow
 * path must bring the index up to date first.
 */
static int fast_resolve(char ***ids, git_oid **commits, int *count, struct mlp_repo *repo,
			const char *spec)
{
	char *path = index_path(repo);
	int fd = open(path, O_RDONLY | O_CLOEXEC), by_id;
	struct stat st;
	const unsigned char *m;
	void *map;
	uint64_t rows;
	size_t len = strlen(spec), n = 0;

	free(path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size < HEADER_SIZE || (uint64_t)st.st_size > INDEX_MAX_SIZE) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 0;
	m = map;
	rows = le(m + 8, 4);
	if (memcmp(m, MAGIC, 8) || le(m + 24, 8) != (uint64_t)st.st_size ||
	    rows > ((uint64_t)st.st_size - HEADER_SIZE) / ROW_SIZE || le(m + 16, 8) != refs_signature(repo)) {
		munmap(map, (size_t)st.st_size);
		return 0;
	}
	by_id = len >= 4 && len <= MLP_ID_HEXSZ && mlp_hex_valid(spec, len);
	for (int pass = by_id ? 0 : 1; pass < 2 && !n; pass++) {
		for (uint64_t i = 0; i < rows; i++) {
			const unsigned char *r = m + HEADER_SIZE + i * ROW_SIZE;
			size_t k;
			if (pass == 0) {
				for (k = 0; k < len; k++)
					if (nibble(spec[k]) != ((k & 1) ? (r[k / 2] & 15) : (r[k / 2] >> 4)))
						break;
				if (k < len)
					continue;
			} else {
				uint64_t off = le(r + 96, 8) + le(r + 104, 4) + le(r + 108, 4) + le(r + 112, 4);
				uint64_t nl = le(r + 120, 4);
				if (nl != len || off > (uint64_t)st.st_size || nl > (uint64_t)st.st_size - off ||
				    memcmp(m + off, spec, len))
					continue;
			}
			*ids = mlp_realloc(*ids, (n + 1) * sizeof(**ids));
			*commits = mlp_realloc(*commits, (n + 1) * sizeof(**commits));
			(*ids)[n] = mlp_malloc(MLP_ID_HEXSZ + 1);
			hex((*ids)[n], r, 16);
			memcpy((*commits)[n].id, r + 16, 20);
			n++;
		}
	}
	munmap(map, (size_t)st.st_size);
	*count = (int)n;
	return 1;
}

int mlp_index_resolve(char ***ids_out, git_oid **commits_out, struct mlp_repo *repo, const char *spec)
{
	struct index ix = { 0 };
	size_t skipped = 0, len = strlen(spec), n = 0;
	char **ids = NULL;
	git_oid *commits = NULL;
	int err, count = 0;

	*ids_out = NULL;
	*commits_out = NULL;
	if (fast_resolve(ids_out, commits_out, &count, repo, spec))
		return count;
	err = open_index(&ix, repo, &skipped, NULL, NULL);

	*ids_out = NULL;
	*commits_out = NULL;
	if (err < 0) {
		index_free(&ix);
		return err;
	}
	for (int pass = 0; pass < 2 && !n; pass++) {
		if (pass == 0 && !(len >= 4 && len <= MLP_ID_HEXSZ && mlp_hex_valid(spec, len)))
			continue;
		for (size_t i = 0; i < ix.nr; i++) {
			const struct row *r = &ix.rows[i];
			char id[MLP_ID_HEXSZ + 1];
			hex(id, r->id, 16);
			if (pass == 0 ? strncmp(id, spec, len) != 0
				      : (r->name_len != len || memcmp(r->name, spec, len)))
				continue;
			ids = mlp_realloc(ids, (n + 1) * sizeof(*ids));
			commits = mlp_realloc(commits, (n + 1) * sizeof(*commits));
			ids[n] = mlp_strdup(id);
			memcpy(commits[n].id, r->commit, 20);
			n++;
		}
	}
	index_free(&ix);
	*ids_out = ids;
	*commits_out = commits;
	return (int)n;
}
