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
 * File (little-endian): "MLPIDX4\n", u32 row count, u32 size of the names,
 * u64 signature, u64 size of the file; rows of ROW_SIZE bytes sorted newest
 * first; the records; the names, together at the end so that finding a run
 * by name reads only rows and names.  Written to a temporary file and
 * renamed.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "MLPIDX4\n"
#define HEADER_SIZE 32
#define ROW_SIZE 128
#define INDEX_MAX_SIZE (8ull << 30)

struct row {
	unsigned char id[16], commit[20], workspace[20], base[20];
	unsigned char status, dirty, has_ws, has_base;
	unsigned char broken;	/* the run does not decode: reported again on each listing */
	unsigned char reported;	/* ...which happened already in this process */
	int64_t started, commit_time;
	const char *rec[3];	/* into the mapping, or into `mem` */
	uint32_t len[3];
	uint32_t name_len, name_off;	/* name_off: while rebuilding, in the names */
	const char *name;	/* the run's name (not NUL-terminated), likewise */
	uint64_t off;		/* while rebuilding: the file offset of its records */
};

struct index {
	struct row *rows;
	size_t nr;
	void *map;
	size_t map_len;
	struct mlp_buf mem;	/* the records, when the file could not be written */
	struct mlp_buf names;	/* ...and the names */
	uint64_t sig;
};

static void index_free(struct index *ix)
{
	free(ix->rows);
	if (ix->map)
		munmap(ix->map, ix->map_len);
	mlp_buf_release(&ix->mem);
	mlp_buf_release(&ix->names);
	memset(ix, 0, sizeof(*ix));
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

/* The log of recent names (see mlp_run_names()). */
static char *names_log_path(struct mlp_repo *repo)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s/names", repo->mlpdir);
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
/* Changed in the last few seconds: its stat data cannot be trusted alone. */
static int recent(const struct stat *st, time_t now)
{
	return now - st->st_mtim.tv_sec <= 2 || now - st->st_ctim.tv_sec <= 2;
}

static void hash_stat(XXH64_state_t *h, const struct stat *st)
{
	XXH64_update(h, &st->st_size, sizeof(st->st_size));
	XXH64_update(h, &st->st_ino, sizeof(st->st_ino));
	XXH64_update(h, &st->st_mtim, sizeof(st->st_mtim));
	XXH64_update(h, &st->st_ctim, sizeof(st->st_ctim));
}

/* The stat data of a loose ref, and its bytes when recent (see hash_loose). */
static void hash_loose_stat(XXH64_state_t *h, const struct stat *st, time_t now, const char *buf,
			    ssize_t n)
{
	XXH64_update(h, &st->st_ino, sizeof(st->st_ino));
	XXH64_update(h, &st->st_size, sizeof(st->st_size));
	XXH64_update(h, &st->st_mtim, sizeof(st->st_mtim));
	XXH64_update(h, &st->st_ctim, sizeof(st->st_ctim));
	if (now - st->st_mtim.tv_sec <= 2 || now - st->st_ctim.tv_sec <= 2) {
		if (n > 0)
			XXH64_update(h, buf, (size_t)n);
		else
			XXH64_update(h, "unreadable", 10);
	}
}

/*
 * A loose ref by its stat data (inode, size, times), and by its bytes
 * when it changed in the last few seconds: file times are as coarse as
 * the kernel's tick and inodes are reused, so two quick updates of a ref
 * could otherwise leave the same stat data.  A ref hashed by its bytes
 * now and by its stat data later changes the signature once more, which
 * costs a needless check of the refs, never a stale answer.
 */
static void hash_loose(XXH64_state_t *h, int dfd, const char *name, time_t now)
{
	struct stat st;
	char buf[256];
	ssize_t n = -1;

	XXH64_update(h, name, strlen(name) + 1);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		XXH64_update(h, "missing", 7);
		return;
	}
	if (now - st.st_mtim.tv_sec <= 2 || now - st.st_ctim.tv_sec <= 2) {
		int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
	}
	hash_loose_stat(h, &st, now, buf, n);
}

static void ref_add(struct mlp_index_ref **out, size_t *nr, size_t *alloc, const char *id,
		    const char *hexoid)
{
	if (*nr == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 256;
		*out = mlp_realloc(*out, *alloc * sizeof(**out));
	}
	unhex((*out)[*nr].id, id, 16);
	git_oid_fromstrn(&(*out)[*nr].oid, hexoid, MLP_OID_HEXSZ);
	(*nr)++;
}

/*
 * The run refs of packed-refs ("<oid> <name>" lines; "#" and "^" lines
 * are not refs) into `out`.
 */
static void parse_packed(struct mlp_index_ref **out, size_t *nr, size_t *alloc, const char *p, size_t len)
{
	const char *end = p + len;
	size_t plen = strlen(MLP_REF_PREFIX);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
		if (eol - p == MLP_OID_HEXSZ + 1 + (ptrdiff_t)plen + MLP_ID_HEXSZ && p[MLP_OID_HEXSZ] == ' ' &&
		    mlp_hex_valid(p, MLP_OID_HEXSZ) && !memcmp(p + MLP_OID_HEXSZ + 1, MLP_REF_PREFIX, plen) &&
		    mlp_hex_valid(p + MLP_OID_HEXSZ + 1 + plen, MLP_ID_HEXSZ))
			ref_add(out, nr, alloc, p + MLP_OID_HEXSZ + 1 + plen, p);
		p = eol + 1;
	}
}

/*
 * packed-refs, as a loose ref below: hashed into `h` by its stat data,
 * and by its bytes too while it is recent (10 MB to hash at 100,000
 * runs, every command); git replaces the file by a rename, so new
 * contents come with a new ctime at least.  With `out`, its run refs are
 * parsed too (*nr (size_t)-1 when it cannot be read); `h` may then be
 * NULL, for the refs alone.
 */
static void hash_packed(XXH64_state_t *h, const char *path, struct mlp_index_ref **out, size_t *nr,
			size_t *alloc, time_t now)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *map;
	int hash_bytes;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (h)
			XXH64_update(h, "missing", 7);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (h)
		hash_stat(h, &st);
	hash_bytes = h && recent(&st, now);
	if (st.st_size > 0 && (out || hash_bytes)) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			if (hash_bytes)
				XXH64_update(h, map, (size_t)st.st_size);
			if (out)
				parse_packed(out, nr, alloc, map, (size_t)st.st_size);
			munmap(map, (size_t)st.st_size);
		} else {
			if (hash_bytes)
				XXH64_update(h, &st.st_mtim, sizeof(st.st_mtim));
			if (out)
				*nr = (size_t)-1;	/* unread: listed by libgit2 */
		}
	}
	close(fd);
}

static int ref_id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct mlp_index_ref *)a)->id, ((const struct mlp_index_ref *)b)->id, 16);
}

/*
 * The signature of the run refs; with `out`, the refs too, read in the
 * same pass: each loose ref is opened once, its stat data and bytes
 * taken from the same file (refs are replaced by rename, never
 * rewritten in place), instead of libgit2 reading every file again.
 * Anything git would read differently from the way we parse it (a
 * symlink, a directory, a symbolic or damaged ref, an unreadable
 * packed-refs) sets *nr to (size_t)-1: libgit2 lists the refs then.
 */
static uint64_t scan_refs(struct mlp_repo *repo, struct mlp_index_ref **out, size_t *nr)
{
	const char *common = git_repository_commondir(repo->git);
	const char *sep = common[strlen(common) - 1] == '/' ? "" : "/";
	struct mlp_buf p = MLP_BUF_INIT;
	XXH64_state_t *h = XXH64_createState();
	struct loose *l = NULL;
	static const char zero_oid[MLP_OID_HEXSZ] = "0000000000000000000000000000000000000000";
	struct mlp_index_ref *loose = NULL, *hidden = NULL;
	size_t n = 0, alloc = 0, nloose = 0, aloose = 0, nhidden = 0, ahidden = 0, alloc_out = 0, npacked;
	time_t now = time(NULL);
	uint64_t sig;
	DIR *d;
	struct dirent *e;

	if (out) {
		*out = NULL;
		*nr = 0;
	}
	XXH64_reset(h, 0);
	mlp_buf_addf(&p, "%s%spacked-refs", common, sep);
	hash_packed(h, p.buf, out, nr, &alloc_out, now);
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
	mlp_qsort(l, n, sizeof(*l), loose_cmp);
	for (size_t i = 0; d && i < n; i++) {
		const char *name = l[i].name;
		struct stat st;
		char buf[256];
		ssize_t got;
		int fd;

		if (!out || *nr == (size_t)-1 || strlen(name) != MLP_ID_HEXSZ ||
		    !mlp_hex_valid(name, MLP_ID_HEXSZ)) {
			/* not a run ref (a lock file...): hashed, never listed */
			hash_loose(h, dirfd(d), name, now);
			continue;
		}
		XXH64_update(h, name, strlen(name) + 1);
		fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			/* gone meanwhile, a symlink, a directory: as hash_loose() */
			if (fd >= 0)
				close(fd);
			*nr = (size_t)-1;
			hash_loose(h, dirfd(d), name, now);
			continue;
		}
		got = read(fd, buf, sizeof(buf));
		close(fd);
		hash_loose_stat(h, &st, now, buf, got);
		if (got >= MLP_OID_HEXSZ + 1 && mlp_hex_valid(buf, MLP_OID_HEXSZ) && buf[MLP_OID_HEXSZ] == '\n' &&
		    got == MLP_OID_HEXSZ + 1)
			ref_add(&loose, &nloose, &aloose, name, buf);
		else if (got >= 5 && !memcmp(buf, "ref: ", 5))
			*nr = (size_t)-1;	/* symbolic: libgit2 decides */
		else
			ref_add(&hidden, &nhidden, &ahidden, name, zero_oid);	/* damaged: see below */
	}
	if (d)
		closedir(d);
	sig = XXH64_digest(h);
	XXH64_freeState(h);
	free(l);
	mlp_buf_release(&p);
	if (!out)
		return sig;
	if (*nr == (size_t)-1) {
		free(*out);
		free(loose);
		free(hidden);
		*out = NULL;
		return sig;
	}
	/*
	 * A loose ref hides the packed one of the same name; a damaged loose
	 * ref hides it too and is listed itself by no one, as in git.
	 */
	npacked = *nr;
	*nr = 0;
	mlp_qsort(loose, nloose, sizeof(*loose), ref_id_cmp);
	mlp_qsort(hidden, nhidden, sizeof(*hidden), ref_id_cmp);
	for (size_t i = 0; i < npacked; i++)
		if ((!nloose || !bsearch(&(*out)[i], loose, nloose, sizeof(*loose), ref_id_cmp)) &&
		    (!nhidden || !bsearch(&(*out)[i], hidden, nhidden, sizeof(*hidden), ref_id_cmp)))
			(*out)[(*nr)++] = (*out)[i];
	free(hidden);
	if (*nr + nloose > alloc_out)
		*out = mlp_realloc(*out, (*nr + nloose + 1) * sizeof(**out));
	if (nloose)
		memcpy(*out + *nr, loose, nloose * sizeof(*loose));
	*nr += nloose;
	free(loose);
	return sig;
}

static uint64_t refs_signature(struct mlp_repo *repo)
{
	return scan_refs(repo, NULL, NULL);
}

/* ---- reading ---------------------------------------------------------------- */

/*
 * Fresh memory of many megabytes (the rows of 100,000 runs are 16 MB) is
 * faulted in 2 MB at a time where the kernel allows: four thousand page
 * faults fewer.  Only the whole 2 MB pages inside the block are advised,
 * and advice that is refused changes nothing.
 */
static void huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	const uintptr_t huge = 2u << 20;
	uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1), to = ((uintptr_t)p + len) & ~(huge - 1);

	if (len >= 4 * huge && to > from)
		madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

/*
 * Rows are copied out of the mapping on every core when there are many:
 * a hundred thousand of them are 16 MB of fresh memory to fault in.
 */
struct load_job {
	struct index *ix;
	const unsigned char *names;
	uint64_t names_len, from, to, bad;
};

static void *load_rows(void *arg);

/* 0: no index; 1: loaded; <0: corrupt (message set). */
static int load_index(struct index *ix, struct mlp_repo *repo)
{
	char *path = index_path(repo);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m, *names;
	uint64_t count, size, names_len;

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
	names_len = le(m + 12, 4);
	size = le(m + 24, 8);
	if (!memcmp(m, "MLPIDX", 6) && memcmp(m, MAGIC, 8))
		return 0;	/* an older layout: rebuilt without a word */
	if (memcmp(m, MAGIC, 8) || size != ix->map_len ||
	    count > (ix->map_len - HEADER_SIZE) / ROW_SIZE ||
	    names_len > ix->map_len - HEADER_SIZE - count * ROW_SIZE)
		return mlp_error_set(MLP_ECORRUPT, "index cache is truncated or not an index");
	names = m + ix->map_len - names_len;
	ix->sig = le(m + 16, 8);
	ix->rows = mlp_calloc(count ? count : 1, sizeof(*ix->rows));
	ix->nr = (size_t)count;
	huge_pages(ix->rows, count * sizeof(*ix->rows));
	{
		struct load_job job[MLP_MAX_THREADS];
		size_t nt = mlp_threads((size_t)count);
		uint64_t bad = count;

		for (size_t t = 0; t < nt; t++) {
			job[t].ix = ix;
			job[t].names = names;
			job[t].names_len = names_len;
			job[t].from = count * t / nt;
			job[t].to = count * (t + 1) / nt;
			job[t].bad = count;
		}
		mlp_run_parts(load_rows, job, sizeof(job[0]), nt);
		for (size_t t = 0; t < nt; t++)
			if (job[t].bad < bad)
				bad = job[t].bad;
		if (bad < count)
			return mlp_error_set(MLP_ECORRUPT, "index cache row %llu points outside the file",
					     (unsigned long long)bad);
	}
	return 1;
}

/* Rows [from, to) of the mapping into ix->rows; `bad`: the first that is not sound. */
static void *load_rows(void *arg)
{
	struct load_job *j = arg;
	struct index *ix = j->ix;
	const unsigned char *m = ix->map, *names = j->names;
	uint64_t names_len = j->names_len;

	for (uint64_t i = j->from; i < j->to; i++) {
		const unsigned char *r = m + HEADER_SIZE + i * ROW_SIZE;
		struct row *row = &ix->rows[i];
		uint64_t off = le(r + 96, 8), total = 0, name_off = le(r + 124, 4);
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
			row->len[f] = (uint32_t)le(r + 104 + 4 * f, 4);
			total += row->len[f];
		}
		if (off > ix->map_len || total > ix->map_len - off) {
			j->bad = i;
			break;
		}
		for (int f = 0; f < 3; f++) {
			row->rec[f] = (const char *)m + off;
			off += row->len[f];
		}
		row->name_len = (uint32_t)le(r + 120, 4);
		if (name_off > names_len || row->name_len > names_len - name_off) {
			j->bad = i;
			break;
		}
		row->name = (const char *)names + name_off;
	}
	return NULL;
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

static int row_match(const struct row *row, const struct mlp_query *q, int *match)
{
	char id[MLP_ID_HEXSZ + 1], base[MLP_OID_HEXSZ + 1];
	struct mlp_run_view v;

	hex(id, row->id, 16);
	if (row->has_base)
		hex(base, row->base, 20);
	else
		base[0] = '\0';
	v.id = id;
	v.name = row->name;
	v.name_len = row->name_len;
	v.status = (enum mlp_status)row->status;
	v.base = base;
	v.dirty = row->dirty;
	v.started = row->started;
	for (int f = 0; f < 3; f++) {
		v.rec[f] = row->rec[f];
		v.len[f] = row->len[f];
	}
	return mlp_query_match_view(q, &v, match);
}

/* ---- rebuilding ---------------------------------------------------------------- */

static int newest_row_first(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->started != y->started)
		return x->started > y->started ? -1 : 1;
	return memcmp(x->id, y->id, 16);
}

static void put_row(unsigned char *r, const struct row *row)
{
	struct mlp_buf b = MLP_BUF_INIT;
	unsigned char flags[4] = { row->status, row->dirty, row->has_ws, row->has_base };

	mlp_buf_add(&b, row->id, 16);
	mlp_buf_add(&b, row->commit, 20);
	mlp_buf_add(&b, row->workspace, 20);
	mlp_buf_add(&b, row->base, 20);
	mlp_buf_add(&b, flags, 4);
	put(&b, (uint64_t)row->started, 8);
	put(&b, (uint64_t)row->commit_time, 8);
	put(&b, row->off, 8);
	for (int f = 0; f < 3; f++)
		put(&b, row->len[f], 4);
	put(&b, (uint64_t)!!row->broken, 4);
	put(&b, row->name_len, 4);
	put(&b, row->name_off, 4);
	memcpy(r, b.buf, ROW_SIZE);
	mlp_buf_release(&b);
}

/*
 * Where a rebuild puts the records: straight into the new index file at
 * their final offsets (the row table before them is written last), so a
 * rebuild of 100,000 runs holds no record in memory; or, when the file
 * cannot be written, into memory.
 */
struct sink {
	int fd;			/* -1: memory */
	char *tmp;		/* the temporary file */
	struct mlp_buf out;	/* the records (memory), or the ones not yet written (file) */
	struct mlp_buf names;	/* the names, written after the records */
	uint64_t base, off;	/* offset of the first record, and of the next */
	int failed;
};

static void sink_flush(struct sink *s)
{
	size_t done = 0;

	while (!s->failed && done < s->out.len) {
		ssize_t w = write(s->fd, s->out.buf + done, s->out.len - done);
		if (w <= 0)
			s->failed = 1;
		else
			done += (size_t)w;
	}
	mlp_buf_reset(&s->out);
}

static void sink_name(struct sink *s, struct row *r, const char *name, size_t len)
{
	r->name_off = (uint32_t)s->names.len;
	r->name_len = (uint32_t)len;
	mlp_buf_add(&s->names, name, len);
}

static void sink_add(struct sink *s, const void *data, size_t len)
{
	if (!len)
		return;
	mlp_buf_add(&s->out, data, len);
	s->off += len;
	if (s->fd >= 0 && s->out.len >= (1u << 20))
		sink_flush(s);
}

struct id_idx {
	unsigned char id[16];
	size_t idx;
};

/* A row's `off` in memory when its records are still those of the old index. */
#define KEPT UINT64_MAX

static int id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct id_idx *)a)->id, ((const struct id_idx *)b)->id, 16);
}

/* The run refs: ids and commits. */
static int list_refs(struct mlp_index_ref **out, size_t *nr, struct mlp_repo *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	size_t alloc = 0;
	int err;

	*out = NULL;
	*nr = 0;
	if (git_reference_iterator_glob_new(&it, repo->git, MLP_REF_PREFIX "*") < 0)
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	while (!(err = git_reference_next(&ref, it))) {
		const char *id = git_reference_name(ref) + strlen(MLP_REF_PREFIX);
		const git_oid *target = git_reference_target(ref);
		if (strlen(id) == MLP_ID_HEXSZ && mlp_hex_valid(id, MLP_ID_HEXSZ) && target) {
			if (*nr == alloc) {
				alloc = alloc ? alloc * 2 : 256;
				*out = mlp_realloc(*out, alloc * sizeof(**out));
			}
			unhex((*out)[*nr].id, id, 16);
			git_oid_cpy(&(*out)[*nr].oid, target);
			(*nr)++;
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		free(*out);
		*out = NULL;
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	}
	return 0;
}

/*
 * One row per ref into `rows`, its records into `s`: from the old index
 * `old` where the ref still names the same commit, else from git.  Runs
 * that fail to load are reported through `warn` and kept as broken rows
 * without records.
 *
 * Loading runs is what a rebuild costs (a commit, a tree and three
 * records inflated per run).  Loading them on both cores was tried: two
 * threads, each with a repository around the shared git_odb, took 40%
 * more CPU than one (libgit2's pack locks) and no less time.
 */
static size_t build_rows(struct row *rows, const struct mlp_index_ref *refs, size_t n,
			 const struct index *old, struct sink *s, struct mlp_repo *repo,
			 size_t *skipped, mlp_warn_fn warn, void *data)
{
	size_t loaded = 0;

	struct id_idx *by_id = mlp_calloc(old->nr ? old->nr : 1, sizeof(*by_id));

	for (size_t i = 0; i < old->nr; i++) {
		memcpy(by_id[i].id, old->rows[i].id, 16);
		by_id[i].idx = i;
	}
	mlp_qsort(by_id, old->nr, sizeof(*by_id), id_cmp);
	/*
	 * Every object is read once: libgit2's object cache would only grow.
	 * Nor is each object's SHA-1 computed again (12% of a rebuild): git
	 * does not either when it reads, zlib checks each object's bytes,
	 * and the records are decoded by the same bounded decoders as any.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		struct id_idx key, *found = NULL;
		struct mlp_run *run = NULL;
		struct mlp_buf raw[3];
		char id[MLP_ID_HEXSZ + 1];
		const char *name;

		memset(r, 0, sizeof(*r));
		memcpy(r->id, refs[i].id, 16);
		memcpy(r->commit, refs[i].oid.id, 20);
		r->off = s->off;
		memcpy(key.id, refs[i].id, 16);
		if (old->nr)
			found = bsearch(&key, by_id, old->nr, sizeof(*by_id), id_cmp);
		if (found && !memcmp(old->rows[found->idx].commit, r->commit, 20)) {
			/* unchanged ref: the row stands (it is decoded when shown) */
			const struct row *o = &old->rows[found->idx];
			*r = *o;
			if (s->fd < 0 && !old->mem.buf) {
				r->off = KEPT;	/* in memory: its records stay in the old mapping */
				continue;
			}
			r->off = s->off;
			for (int f = 0; f < 3; f++)
				sink_add(s, o->rec[f], o->len[f]);
			sink_name(s, r, o->name, o->name_len);
			continue;
		}
		hex(id, refs[i].id, 16);
		loaded++;
		if (mlp_run_load_oid(&run, repo, id, &refs[i].oid, 0, raw) < 0) {
			/* remembered as broken, so the next listing reports it again */
			r->broken = r->reported = 1;
			(*skipped)++;
			if (warn)
				warn(data, mlp_error_message());
			continue;
		}
		r->has_ws = run->workspace[0] && !unhex(r->workspace, run->workspace, 20);
		r->has_base = run->base[0] && !unhex(r->base, run->base, 20);
		r->status = (unsigned char)run->status;
		r->dirty = (unsigned char)!!run->dirty;
		r->started = run->started;
		r->commit_time = run->commit_time;
		for (int f = 0; f < 3; f++) {
			r->len[f] = (uint32_t)raw[f].len;	/* records are at most 64 MiB */
			sink_add(s, raw[f].buf, raw[f].len);
			mlp_buf_release(&raw[f]);
		}
		name = run->name ? run->name : "";
		sink_name(s, r, name, strlen(name));
		mlp_run_free(run);
	}
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 1);
	free(by_id);
	return loaded;
}

static void write_header(unsigned char *h, size_t nr, size_t names_len, uint64_t sig, uint64_t size)
{
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_buf_add(&b, MAGIC, 8);
	put(&b, nr, 4);
	put(&b, names_len, 4);
	put(&b, sig, 8);
	put(&b, size, 8);
	memcpy(h, b.buf, HEADER_SIZE);
	mlp_buf_release(&b);
}

/*
 * Writes header and rows at the start of the sink's file and renames it
 * into place.  0, or -1 when the file could not be written (removed).
 */
static int sink_commit(struct sink *s, const struct row *rows, size_t n, uint64_t sig,
		       const char *path)
{
	size_t len = HEADER_SIZE + n * ROW_SIZE;
	unsigned char *head = mlp_malloc(len);
	size_t done = 0;

	mlp_buf_add(&s->out, s->names.buf ? s->names.buf : "", s->names.len);
	sink_flush(s);
	write_header(head, n, s->names.len, sig, s->off + s->names.len);
	for (size_t i = 0; i < n; i++)
		put_row(head + HEADER_SIZE + i * ROW_SIZE, &rows[i]);
	while (!s->failed && done < len) {
		ssize_t w = pwrite(s->fd, head + done, len - done, (off_t)done);
		if (w <= 0)
			s->failed = 1;
		else
			done += (size_t)w;
	}
	free(head);
	if (close(s->fd) < 0)
		s->failed = 1;
	s->fd = -1;
	if (s->failed || rename(s->tmp, path) < 0) {
		unlink(s->tmp);
		return -1;
	}
	return 0;
}

/*
 * Makes `ix` hold exactly the current run refs, and writes the file
 * (best effort: a cache that cannot be written is rebuilt next time).
 */
static int rebuild(struct index *ix, struct mlp_repo *repo, uint64_t sig,
		   const struct mlp_index_refs *given, size_t *skipped, mlp_warn_fn warn, void *data)
{
	struct mlp_index_ref *refs = NULL, *listed = NULL;
	struct row *rows;
	struct sink s = { -1, NULL, MLP_BUF_INIT, MLP_BUF_INIT, 0, 0, 0 };
	char *path = index_path(repo);
	size_t n;
	int to_file, err = 0;

	if (given) {
		refs = given->e;
		n = given->nr;
	} else {
		/*
		 * The refs with their signature, taken again in the same pass:
		 * the index then carries the signature of exactly what it holds.
		 */
		sig = scan_refs(repo, &listed, &n);
		if (n == (size_t)-1 && (err = list_refs(&listed, &n, repo)) < 0) {
			free(path);
			return err;
		}
		refs = listed;
	}
	rows = mlp_calloc(n ? n : 1, sizeof(*rows));
	s.base = s.off = HEADER_SIZE + (uint64_t)n * ROW_SIZE;
	{
		struct mlp_buf tmp = MLP_BUF_INIT;
		mlp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
		s.tmp = mlp_buf_detach(&tmp, NULL);
	}
	mkdir(repo->mlpdir, 0777);	/* a bare mirror may have none yet */
	s.fd = open(s.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (s.fd >= 0 && lseek(s.fd, (off_t)s.base, SEEK_SET) < 0)
		s.failed = 1;
	to_file = s.fd >= 0;
	build_rows(rows, refs, n, ix, &s, repo, skipped, warn, data);
	mlp_qsort(rows, n, sizeof(*rows), newest_row_first);
	if (to_file) {
		size_t again = 0;
		if (sink_commit(&s, rows, n, sig, path) == 0) {
			/* it holds every run: the log of recent names is redundant */
			char *log = names_log_path(repo);
			unlink(log);
			free(log);
			/* read back through a mapping, like any current index */
			struct index fresh = { 0 };
			if (load_index(&fresh, repo) == 1 && fresh.nr == n) {
				for (size_t i = 0; i < n; i++)
					fresh.rows[i].reported = rows[i].reported;
				index_free(ix);
				*ix = fresh;
				goto done;
			}
			index_free(&fresh);
		}
		/* the file failed: again, into memory, without repeating the warnings */
		mlp_buf_reset(&s.out);
		mlp_buf_reset(&s.names);
		s.off = s.base;
		build_rows(rows, refs, n, ix, &s, repo, &again, NULL, NULL);
		mlp_qsort(rows, n, sizeof(*rows), newest_row_first);
	}
	/* in memory: point the new rows at their records; the old mapping stays */
	for (size_t i = 0; i < n; i++) {
		const char *p;
		if (rows[i].off == KEPT)
			continue;
		p = s.out.buf ? s.out.buf + (rows[i].off - s.base) : "";
		for (int f = 0; f < 3; f++) {
			rows[i].rec[f] = rows[i].len[f] ? p : "";
			p += rows[i].len[f];
		}
		rows[i].name = rows[i].name_len ? s.names.buf + rows[i].name_off : "";
	}
	free(ix->rows);
	mlp_buf_release(&ix->mem);
	mlp_buf_release(&ix->names);
	ix->rows = rows;
	rows = NULL;
	ix->nr = n;
	ix->mem = s.out;
	ix->names = s.names;
	memset(&s.out, 0, sizeof(s.out));
	memset(&s.names, 0, sizeof(s.names));
	ix->sig = sig;
done:
	free(rows);
	free(listed);
	free(s.tmp);
	mlp_buf_release(&s.out);
	mlp_buf_release(&s.names);
	free(path);
	return 0;
}

/*
 * Loads the index and makes it current; the file is rewritten when it
 * was not.  `given`: the refs just read by mlp_index_refs_read(), with
 * their signature; else only their signature is taken, and the refs are
 * read if the index is stale.
 */
static int open_index_rw(struct index *ix, struct mlp_repo *repo,
			 const struct mlp_index_refs *given, size_t *skipped, mlp_warn_fn warn, void *data)
{
	uint64_t sig = given ? given->sig : refs_signature(repo);
	int err = load_index(ix, repo);

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
	if (err == 1 && ix->sig == sig)
		return 0;
	return rebuild(ix, repo, sig, given, skipped, warn, data);
}

static int open_index(struct index *ix, struct mlp_repo *repo, size_t *skipped,
		      mlp_warn_fn warn, void *data)
{
	return open_index_rw(ix, repo, NULL, skipped, warn, data);
}

int mlp_index_refs_read(struct mlp_index_refs *out, struct mlp_repo *repo)
{
	out->sig = scan_refs(repo, &out->e, &out->nr);
	if (out->nr != (size_t)-1)
		return 0;
	/* listed after the signature: refs that change meanwhile are never taken as current */
	return list_refs(&out->e, &out->nr, repo);
}

void mlp_index_refs_release(struct mlp_index_refs *refs)
{
	free(refs->e);
	memset(refs, 0, sizeof(*refs));
}

/* ---- run names, for drawing a new one ------------------------------------ */

/*
 * `git mlp run` draws a name unused among every run, and did so from the
 * index made current: every loose ref read, the previous run (which
 * always made it stale) read from git, and the index written again, at
 * every run (1-2 ms on ext4, growing with the loose refs).  But a run's
 * name never changes, so the name the index has for an id is still its
 * name however stale the index is.  The ids are listed without opening a
 * loose ref; the names are taken from the index's rows, then from the log
 * of recent names, and only the few runs in neither are read from git.
 *
 * The log, <mlpdir>/names, is a cache like the index: "<32-hex id>
 * <name>\n" lines appended by `git mlp run` once its run has its last
 * ref, and removed whenever an index file is written (which holds every
 * run).  A line that does not read as one is ignored; a lost line costs a
 * read from git.
 */
#define NAMES_LOG_MAX (64u << 10)	/* about 1,000 runs: past it, the index is rebuilt */
#define NAMES_UNKNOWN_MAX 32		/* runs read from git before a rebuild pays */

void mlp_names_log_add(struct mlp_repo *repo, const char *id, const char *name)
{
	char *path = names_log_path(repo);
	struct mlp_buf line = MLP_BUF_INIT;
	struct stat st;
	int fd;

	if (name && strlen(id) == MLP_ID_HEXSZ && mlp_hex_valid(id, MLP_ID_HEXSZ) &&
	    mlp_name_check(name) == 0) {
		/* one write of a line with O_APPEND: lines of two runs never mix */
		mlp_buf_addf(&line, "%s %s\n", id, name);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
		if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(fd);	/* not ours to write to */
			fd = -1;
		}
		if (fd >= 0) {
			/* a cache: a torn line is ignored by readers */
			ssize_t w = write(fd, line.buf, line.len);
			(void)w;
			close(fd);
		}
	}
	mlp_error_clear();
	mlp_buf_release(&line);
	free(path);
}

struct known_name {
	unsigned char id[16];
	const char *name;
	size_t len;
};

/*
 * Names by run id, in an open-addressing table: no sorting of thousands of
 * ids at every run.  The ids come from refs, which a remote chooses, so
 * slots are picked by a hash with a seed of this process, not by the id's
 * bytes: ids made to collide cannot make the probing quadratic.
 */
struct name_table {
	struct known_name *slot;	/* name NULL: empty */
	size_t mask;
	uint64_t seed;
};

static void table_init(struct name_table *t, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	t->slot = mlp_calloc(size, sizeof(*t->slot));
	t->mask = size - 1;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)mlp_now_ms() ^ ((uint64_t)getpid() << 32);
}

static struct known_name *table_slot(const struct name_table *t, const unsigned char *id)
{
	size_t i = (size_t)XXH3_64bits_withSeed(id, 16, t->seed) & t->mask;

	while (t->slot[i].name && memcmp(t->slot[i].id, id, 16))
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

/* Adds id -> name unless the id is there already (the first one stays). */
static int table_put(struct name_table *t, const unsigned char *id, const char *name, size_t len)
{
	struct known_name *k = table_slot(t, id);

	if (k->name)
		return 0;
	memcpy(k->id, id, 16);
	k->name = name;
	k->len = len;
	return 1;
}

/*
 * The run ids of the refs, in no order, an id both packed and loose
 * twice: packed-refs is parsed and the loose refs are listed, none of
 * them opened.  -1 when they cannot be listed.
 */
static int list_run_ids(struct mlp_repo *repo, unsigned char (**ids)[16], size_t *n)
{
	const char *common = git_repository_commondir(repo->git);
	const char *sep = common[strlen(common) - 1] == '/' ? "" : "/";
	struct mlp_index_ref *packed = NULL;
	size_t npacked = 0, apacked = 0, alloc = 256;
	struct mlp_buf p = MLP_BUF_INIT;
	DIR *d;
	struct dirent *e;

	*n = 0;
	*ids = mlp_malloc(alloc * sizeof(**ids));
	/*
	 * Loose refs first, then packed-refs, as git reads them: a ref that
	 * `git pack-refs` moves meanwhile is then seen in one or the other.
	 */
	mlp_buf_addf(&p, "%s%srefs/mlp/runs", common, sep);
	d = opendir(p.buf);
	if (!d && errno != ENOENT)
		goto fail;
	while (d && (e = readdir(d))) {
		/* lock files, and anything not named as a run ref, are not runs */
		if (strlen(e->d_name) != MLP_ID_HEXSZ || e->d_type == DT_DIR)
			continue;
		if (*n == alloc) {
			alloc *= 2;
			*ids = mlp_realloc(*ids, alloc * sizeof(**ids));
		}
		if (unhex((*ids)[*n], e->d_name, 16) == 0)
			(*n)++;
	}
	if (d)
		closedir(d);
	mlp_buf_reset(&p);
	mlp_buf_addf(&p, "%s%spacked-refs", common, sep);
	hash_packed(NULL, p.buf, &packed, &npacked, &apacked, 0);
	if (npacked == (size_t)-1)
		goto fail;
	mlp_buf_release(&p);
	if (*n + npacked > alloc)
		*ids = mlp_realloc(*ids, (*n + npacked) * sizeof(**ids));
	for (size_t i = 0; i < npacked; i++)
		memcpy((*ids)[(*n)++], packed[i].id, 16);
	free(packed);
	return 0;
fail:
	mlp_buf_release(&p);
	free(*ids);
	*ids = NULL;
	*n = 0;
	return -1;
}

/*
 * The log's bytes into `buf`: its line count, or -1 when it is too long
 * to be worth reading.  Only a regular file is read (not a FIFO that
 * would block, nor through a symbolic link).
 */
static long read_names_log(struct mlp_buf *buf, struct mlp_repo *repo)
{
	char *path = names_log_path(repo);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	long lines = 0;

	free(path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (st.st_size > NAMES_LOG_MAX) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t got;
		mlp_buf_grow(buf, 65536);
		got = read(fd, buf->buf + buf->len, buf->alloc - buf->len - 1);
		if (got <= 0)
			break;
		buf->len += (size_t)got;
		if (buf->len > NAMES_LOG_MAX) {	/* grown meanwhile */
			close(fd);
			return -1;
		}
	}
	close(fd);
	for (size_t i = 0; i < buf->len; i++)
		lines += buf->buf[i] == '\n';
	return lines;
}

/* The log's well-formed lines (from read_names_log()) into `t`, pointing into `buf`. */
static void parse_names_log(struct name_table *t, struct mlp_buf *buf)
{
	char *p, *end;

	if (!buf->buf)
		return;
	for (p = buf->buf, end = buf->buf + buf->len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned char id[16];
		if (!nl)
			break;	/* a torn last line */
		*nl = '\0';
		if (nl - p > MLP_ID_HEXSZ + 1 && p[MLP_ID_HEXSZ] == ' ' && unhex(id, p, 16) == 0 &&
		    mlp_name_check(p + MLP_ID_HEXSZ + 1) == 0)
			table_put(t, id, p + MLP_ID_HEXSZ + 1, (size_t)(nl - p) - MLP_ID_HEXSZ - 1);
		p = nl + 1;
	}
	mlp_error_clear();
}

static void add_name(struct mlp_run_name **out, size_t *nr, size_t *alloc, const unsigned char *id,
		     const char *name, size_t len)
{
	if (*nr == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 64;
		*out = mlp_realloc(*out, *alloc * sizeof(**out));
	}
	hex((*out)[*nr].id, id, 16);
	(*out)[(*nr)++].name = mlp_strndup(name, len);
}

/* The names from the index made current, and written: the slow way. */
static int names_from_current_index(struct mlp_run_name **out, size_t *nr, struct mlp_repo *repo)
{
	struct index ix = { 0 };
	struct mlp_index_refs refs = { 0 };
	size_t skipped = 0, alloc = 0;
	int err = mlp_index_refs_read(&refs, repo);

	if (err < 0) {
		mlp_index_refs_release(&refs);
		return err;
	}
	err = open_index_rw(&ix, repo, &refs, &skipped, NULL, NULL);
	mlp_index_refs_release(&refs);
	if (err < 0) {
		index_free(&ix);
		return err;
	}
	for (size_t i = 0; i < ix.nr; i++)
		if (!ix.rows[i].broken && ix.rows[i].name_len)
			add_name(out, nr, &alloc, ix.rows[i].id, ix.rows[i].name, ix.rows[i].name_len);
	index_free(&ix);
	return 0;
}

int mlp_run_names(struct mlp_run_name **out, size_t *nr, struct mlp_repo *repo)
{
	unsigned char (*ids)[16] = NULL, (*unknown)[16] = NULL;
	struct name_table known = { 0 }, listed = { 0 };
	struct mlp_buf logbuf = MLP_BUF_INIT;
	struct index ix = { 0 };
	size_t nids = 0, nunknown = 0, alloc = 0;
	long loglines;
	int err = 0;

	*out = NULL;
	*nr = 0;
	if (list_run_ids(repo, &ids, &nids) < 0)
		goto slow;
	if (load_index(&ix, repo) != 1)
		index_free(&ix);	/* none, or unusable: every name is unknown */
	mlp_error_clear();
	if ((loglines = read_names_log(&logbuf, repo)) < 0)
		goto slow;
	table_init(&known, ix.nr + (size_t)loglines);
	/*
	 * A damaged run, or one without a name, has no name to take: known
	 * as such (an empty name), it is not read from git at every run.
	 */
	for (size_t i = 0; i < ix.nr; i++) {
		const struct row *r = &ix.rows[i];
		int none = r->broken || !r->name_len || !r->name;
		table_put(&known, r->id, none ? "" : r->name, none ? 0 : r->name_len);
	}
	parse_names_log(&known, &logbuf);
	table_init(&listed, nids);
	unknown = mlp_malloc((nids ? nids : 1) * sizeof(*unknown));
	for (size_t i = 0; i < nids; i++) {
		const struct known_name *k;
		if (!table_put(&listed, ids[i], "", 0))
			continue;	/* packed and loose */
		k = table_slot(&known, ids[i]);
		if (k->name) {
			if (k->len)	/* else damaged, or unnamed: no name to take */
				add_name(out, nr, &alloc, ids[i], k->name, k->len);
		} else if (nunknown < NAMES_UNKNOWN_MAX)
			memcpy(unknown[nunknown++], ids[i], 16);
		else
			goto slow;
	}
	/* a few runs new to both (made by other commands, or fetched): from git */
	for (size_t i = 0; i < nunknown; i++) {
		char id[MLP_ID_HEXSZ + 1];
		struct mlp_buf ref = MLP_BUF_INIT;
		struct mlp_run *run = NULL;
		git_oid oid;

		hex(id, unknown[i], 16);
		mlp_buf_addf(&ref, MLP_REF_PREFIX "%s", id);
		/* a damaged run has no name to take */
		if (git_reference_name_to_id(&oid, repo->git, ref.buf) == 0 &&
		    mlp_run_load_oid(&run, repo, id, &oid, 0, NULL) == 0 && run->name)
			add_name(out, nr, &alloc, unknown[i], run->name, strlen(run->name));
		mlp_run_free(run);
		mlp_buf_release(&ref);
	}
	mlp_error_clear();
	goto done;
slow:
	mlp_run_names_free(*out, *nr);
	*out = NULL;
	*nr = 0;
	err = names_from_current_index(out, nr, repo);
done:
	free(ids);
	free(unknown);
	free(known.slot);
	free(listed.slot);
	mlp_buf_release(&logbuf);
	index_free(&ix);
	if (!err && !*out)
		*out = mlp_calloc(1, sizeof(**out));
	return err;
}

void mlp_run_names_free(struct mlp_run_name *names, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(names[i].name);
	free(names);
}

void mlp_run_list_add(struct mlp_run_list *l, struct mlp_run *run)
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

/*
 * Adds the run of `row` to `out` unless the query rejects it: `run` is
 * the row decoded, or NULL to load it from git (a broken row reported
 * again, or a damaged one).  1 added, 0 left out, < 0 a query error.
 */
static int take_row(struct mlp_run_list *out, struct mlp_repo *repo, const struct row *row,
		    struct mlp_run *run, const struct mlp_select *sel, mlp_warn_fn warn, void *data)
{
	int err, match = 1;

	if (row->broken && row->reported)
		return 0;	/* reported while syncing */
	if (!run) {
		/* say what is wrong with it: from git, as if there were no index */
		char id[MLP_ID_HEXSZ + 1];
		hex(id, row->id, 16);
		if (mlp_run_load(&run, repo, id, 0) < 0) {
			out->skipped++;
			if (warn)
				warn(data, mlp_error_message());
			return 0;
		}
	}
	if (sel && sel->where && (err = mlp_query_match(sel->where, run, &match)) < 0) {
		mlp_run_free(run);
		return err;
	}
	if (!match) {
		mlp_run_free(run);
		return 0;
	}
	mlp_run_list_add(out, run);
	return 1;
}

struct decode_job {
	const struct index *ix;
	const size_t *rows;
	struct mlp_run **runs;
	size_t from, to;
};

static void *decode_some(void *arg)
{
	struct decode_job *j = arg;

	for (size_t k = j->from; k < j->to; k++) {
		const struct row *r = &j->ix->rows[j->rows[k]];
		j->runs[k] = NULL;
		if (!r->broken && row_decode(&j->runs[k], r) < 0)
			j->runs[k] = NULL;	/* loaded from git by take_row() */
	}
	return NULL;
}

/* Decodes the rows `rows` into `runs` (NULL where that fails), on every core. */
static void decode_rows(const struct index *ix, const size_t *rows, size_t n, struct mlp_run **runs)
{
	size_t nt = mlp_threads(n);
	struct decode_job job[MLP_MAX_THREADS];

	for (size_t t = 0; t < nt; t++) {
		job[t].ix = ix;
		job[t].rows = rows;
		job[t].runs = runs;
		job[t].from = n * t / nt;
		job[t].to = n * (t + 1) / nt;
	}
	mlp_run_parts(decode_some, job, sizeof(job[0]), nt);
}

/*
 * Deciding a filter from the bytes of every row: each row's params and
 * summary records sit somewhere in a mapping of a hundred megabytes, so
 * the scan waits on memory, not on the CPU.  The records of the rows a
 * little ahead are prefetched, the mapping's page tables are filled in
 * one call instead of a fault per page, and the rows are split over the
 * cores.  A verdict of 2 leaves the row to the caller: a damaged record,
 * or an error whose message must be set in the caller's thread.
 */
#define MATCH_AHEAD 16

struct match_job {
	const struct index *ix;
	const char *keep;
	const struct mlp_query *q;
	unsigned char *verdict;
	size_t from, to, part, parts;
};

static void *match_some(void *arg)
{
	struct match_job *j = arg;
	const struct row *rows = j->ix->rows;

#ifdef MADV_POPULATE_READ
	if (j->ix->map) {
		/* this part's share of the mapping's page tables, all at once */
		const size_t page = 4096, len = j->ix->map_len;
		size_t from = len * j->part / j->parts / page * page, to = len * (j->part + 1) / j->parts;
		if (j->part + 1 == j->parts)
			to = len;
		else
			to = to / page * page;
		if (to > from)
			madvise((char *)j->ix->map + from, to - from, MADV_POPULATE_READ);	/* a hint */
	}
#endif

	for (size_t i = j->from; i < j->to; i++) {
		int match = 0;
		if (i + MATCH_AHEAD < j->to) {
			const struct row *a = &rows[i + MATCH_AHEAD];
			__builtin_prefetch(a->rec[1]);
			__builtin_prefetch(a->rec[2]);
			__builtin_prefetch(a->rec[2] + 64);
		}
		if ((j->keep && !j->keep[i]) || rows[i].broken) {
			j->verdict[i] = 2;
			continue;
		}
		j->verdict[i] = row_match(&rows[i], j->q, &match) ? 2 : (unsigned char)!!match;
	}
	return NULL;
}

static unsigned char *match_rows(const struct index *ix, const char *keep, const struct mlp_query *q)
{
	size_t nt = mlp_threads(ix->nr);
	unsigned char *verdict = mlp_malloc(ix->nr ? ix->nr : 1);
	struct match_job job[MLP_MAX_THREADS];

	for (size_t t = 0; t < nt; t++) {
		job[t].ix = ix;
		job[t].keep = keep;
		job[t].q = q;
		job[t].verdict = verdict;
		job[t].part = t;
		job[t].parts = nt;
		job[t].from = ix->nr * t / nt;
		job[t].to = ix->nr * (t + 1) / nt;
	}
	mlp_run_parts(match_some, job, sizeof(job[0]), nt);
	return verdict;
}

/* ---- listings as views ------------------------------------------------------------------ */

struct view_store {
	struct index ix;
	char *hex;		/* id (33) and base (41) of each view */
};

/*
 * Hands rows `cand` over as views when all of them can be shown as they
 * are in the index: none broken, none running, every filter verdict
 * known.  The index moves into the list (1); 0 leaves everything as it was.
 */
static int views_from_rows(struct mlp_view_list *l, struct index *ix, const size_t *cand, size_t nc,
			   const unsigned char *verdict)
{
	struct view_store *st;

	for (size_t k = 0; k < nc; k++) {
		const struct row *r = &ix->rows[cand[k]];
		if (r->broken || r->status == MLP_STATUS_RUNNING || (verdict && verdict[cand[k]] == 2))
			return 0;
	}
	st = mlp_calloc(1, sizeof(*st));
	st->hex = mlp_malloc((nc ? nc : 1) * (MLP_ID_HEXSZ + 1 + MLP_OID_HEXSZ + 1));
	memset(l, 0, sizeof(*l));
	l->views = mlp_calloc(nc ? nc : 1, sizeof(*l->views));
	l->nr = nc;
	for (size_t k = 0; k < nc; k++) {
		const struct row *r = &ix->rows[cand[k]];
		struct mlp_run_view *v = &l->views[k];
		char *id = st->hex + k * (MLP_ID_HEXSZ + 1 + MLP_OID_HEXSZ + 1), *base = id + MLP_ID_HEXSZ + 1;
		hex(id, r->id, 16);
		if (r->has_base)
			hex(base, r->base, 20);
		else
			base[0] = '\0';
		v->id = id;
		v->name = r->name;
		v->name_len = r->name_len;
		v->status = (enum mlp_status)r->status;
		v->base = base;
		v->dirty = r->dirty;
		v->started = r->started;
		for (int f = 0; f < 3; f++) {
			v->rec[f] = r->rec[f];
			v->len[f] = r->len[f];
		}
	}
	/* the rows go, the mapping (and the records of a written index) stays */
	st->ix = *ix;
	free(st->ix.rows);
	st->ix.rows = NULL;
	st->ix.nr = 0;
	memset(ix, 0, sizeof(*ix));
	l->priv = st;
	l->filled = 1;
	return 1;
}

void mlp_view_list_release(struct mlp_view_list *l)
{
	struct view_store *st = l->priv;

	if (st) {
		index_free(&st->ix);
		free(st->hex);
		free(st);
	}
	free(l->views);
	memset(l, 0, sizeof(*l));
}

void mlp_view_list_truncate(struct mlp_view_list *l, size_t n)
{
	if (n < l->nr)
		l->nr = n;
}

/* Narrows `keep` (NULL: every row) to the rows based on one of `bases`. */
static char *base_rows(struct index *ix, const char *const *bases, size_t n, char *keep)
{
	unsigned char (*want)[20] = mlp_malloc((n ? n : 1) * 20);
	size_t nw = 0;

	if (!keep)
		keep = memset(mlp_malloc(ix->nr ? ix->nr : 1), 1, ix->nr ? ix->nr : 1);
	for (size_t i = 0; i < n; i++)
		if (strlen(bases[i]) == MLP_OID_HEXSZ && !unhex(want[nw], bases[i], 20))
			nw++;
	mlp_qsort(want, nw, 20, oid_cmp);
	for (size_t i = 0; i < ix->nr; i++)
		keep[i] = keep[i] && ix->rows[i].has_base && nw &&
			  bsearch(ix->rows[i].base, want, nw, 20, oid_cmp);
	free(want);
	return keep;
}

int mlp_run_list_select(struct mlp_run_list *out, struct mlp_repo *repo,
			const struct mlp_select *sel, mlp_warn_fn warn, void *data)
{
	struct index ix = { 0 };
	char *keep = NULL;
	size_t *cand = NULL, nc = 0;
	/* with a limit, rows are decoded one by one until it is reached */
	int batch = !(sel && sel->limit);
	unsigned char *verdict = NULL;
	int by_view = 0, err = open_index(&ix, repo, &out->skipped, warn, data);

	if (err < 0) {
		index_free(&ix);
		return err;
	}
	if (sel && sel->head_scope)
		keep = scope_rows(&ix, repo);
	if (sel && sel->bases)
		keep = base_rows(&ix, sel->bases, sel->nbases, keep);
	if (sel && sel->where && mlp_query_view_ok(sel->where))
		by_view = 1;
	if (batch)
		cand = mlp_malloc((ix.nr ? ix.nr : 1) * sizeof(*cand));
	if (batch && by_view && ix.nr >= MLP_PARALLEL_MIN)
		verdict = match_rows(&ix, keep, sel->where);
	for (size_t i = 0; i < ix.nr; i++) {
		const struct row *row = &ix.rows[i];
		struct mlp_run *run = NULL;
		if (keep && !keep[i])
			continue;
		if (!batch && out->nr >= sel->limit)
			break;
		if (verdict && verdict[i] == 0)
			continue;
		if (by_view && !row->broken && !(verdict && verdict[i] == 1)) {
			/* most rows fail the filter: decide from the bytes */
			int match = 0;
			err = row_match(row, sel->where, &match);
			if (err == MLP_EINVALID)
				break;
			if (!err && !match)
				continue;
			err = 0;	/* a match, or a damaged row: decoded */
		}
		if (batch) {
			cand[nc++] = i;
			continue;
		}
		if (!row->broken && row_decode(&run, row) < 0)
			run = NULL;
		if ((err = take_row(out, repo, row, run, sel, warn, data)) < 0)
			break;
		err = 0;
	}
	if (batch && err >= 0 && sel && sel->views && (!sel->where || by_view) &&
	    views_from_rows(sel->views, &ix, cand, nc, verdict)) {
		free(cand);
		free(keep);
		free(verdict);
		return 0;	/* the index is the list's now */
	}
	if (batch && err >= 0) {
		struct mlp_run **runs = mlp_calloc(nc ? nc : 1, sizeof(*runs));
		size_t k = 0;
		decode_rows(&ix, cand, nc, runs);
		for (; k < nc; k++)
			if ((err = take_row(out, repo, &ix.rows[cand[k]], runs[k], sel, warn, data)) < 0)
				break;
		for (k = err < 0 ? k + 1 : nc; k < nc; k++)
			mlp_run_free(runs[k]);
		free(runs);
		if (err > 0)
			err = 0;
	}
	free(cand);
	free(keep);
	free(verdict);
	index_free(&ix);
	if (err < 0)
		return err;
	if (out->nr > 1)
		mlp_qsort(out->runs, out->nr, sizeof(*out->runs), newest_first);
	return 0;
}

int mlp_run_list_all(struct mlp_run_list *out, struct mlp_repo *repo, mlp_warn_fn warn, void *data)
{
	return mlp_run_list_select(out, repo, NULL, warn, data);
}

/* (*names)[i]: the name of run ids[i] per the rows of `ix`, or NULL. */
static void names_in(char **names, const struct index *ix, char *const *ids, size_t n)
{
	struct id_idx *by_id = mlp_calloc(ix->nr ? ix->nr : 1, sizeof(*by_id));

	for (size_t i = 0; i < ix->nr; i++) {
		memcpy(by_id[i].id, ix->rows[i].id, 16);
		by_id[i].idx = i;
	}
	mlp_qsort(by_id, ix->nr, sizeof(*by_id), id_cmp);
	for (size_t i = 0; i < n; i++) {
		struct id_idx key, *found;
		const struct row *r;
		if (strlen(ids[i]) != MLP_ID_HEXSZ || unhex(key.id, ids[i], 16) < 0)
			continue;
		found = ix->nr ? bsearch(&key, by_id, ix->nr, sizeof(*by_id), id_cmp) : NULL;
		r = found ? &ix->rows[found->idx] : NULL;
		if (r && !r->broken && r->name_len)
			names[i] = mlp_strndup(r->name, r->name_len);
	}
	free(by_id);
}

int mlp_run_names_of(char ***names, struct mlp_repo *repo, char *const *ids, size_t n)
{
	struct index ix = { 0 };
	size_t skipped = 0;
	int err;

	*names = mlp_calloc(n ? n : 1, sizeof(char *));
	if (!n)
		return 0;
	if ((err = open_index(&ix, repo, &skipped, NULL, NULL)) < 0) {
		index_free(&ix);
		return err;
	}
	names_in(*names, &ix, ids, n);
	index_free(&ix);
	return 0;
}

int mlp_index_update(struct mlp_repo *repo, const struct mlp_index_refs *refs, char *const *ids,
		     size_t n, char **names, mlp_warn_fn warn, void *data)
{
	struct index ix = { 0 };
	size_t skipped = 0;
	int err = load_index(&ix, repo);

	if (err < 0)
		index_free(&ix);	/* replaced; the next listing says nothing either */
	if (err != 1 || ix.sig != refs->sig)
		err = rebuild(&ix, repo, refs->sig, refs, &skipped, warn, data);
	else
		err = 0;
	if (err == 0 && n)
		names_in(names, &ix, ids, n);
	index_free(&ix);
	return err;
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
	const unsigned char *m, *names;
	void *map;
	uint64_t rows, names_len;
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
	names_len = le(m + 12, 4);
	if (memcmp(m, MAGIC, 8) || le(m + 24, 8) != (uint64_t)st.st_size ||
	    rows > ((uint64_t)st.st_size - HEADER_SIZE) / ROW_SIZE ||
	    names_len > (uint64_t)st.st_size - HEADER_SIZE - rows * ROW_SIZE ||
	    le(m + 16, 8) != refs_signature(repo)) {
		munmap(map, (size_t)st.st_size);
		return 0;
	}
	names = m + st.st_size - names_len;
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
				uint64_t nl = le(r + 120, 4), off = le(r + 124, 4);
				if (nl != len || off > names_len || nl > names_len - off ||
				    memcmp(names + off, spec, len))
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
