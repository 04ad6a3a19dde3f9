/*
 * The artifact store: files of a run kept as git objects under
 * artifacts/<path> of the run tree (docs/format.md, "Artifacts").
 *
 * Storing a file: a small one (< MLP_CHUNK_MIN) is one blob; a larger one
 * is cut by the content-defined chunker into chunks of 1-16 MiB, each a
 * blob, gathered in a tree with a .mlpfile manifest.  Every chunk is first
 * hashed with XXH3-128 (tens of GB/s) and looked up in the chunk table
 * (<mlpdir>/chunks: xxh128 -> blob id), so known content costs neither
 * SHA-1 nor I/O.  New chunks are written straight into a packfile
 * (pack.c), uncompressed unless a sample shows they compress, while a
 * second thread computes their SHA-1.  A file whose (path, device, inode,
 * size, mtime, ctime) are in the stat cache (<mlpdir>/statcache) is not
 * read at all.  Both caches are rebuilt as a side effect of storing and
 * may be deleted at any time; a cached id is trusted only once the object
 * database confirms it has the object.
 *
 * Reading (checkout, verify) treats every tree, name and manifest as
 * untrusted: counts, sizes and names are checked before use, and writes
 * go through directory descriptors opened with O_NOFOLLOW so that no name
 * or symlink can lead outside the target directory.
 */
#define XXH_INLINE_ALL
#include "artifact.h"
#include "cksum.h"
#include "dio.h"
#include "internal.h"
#include "mp.h"
#include "pack.h"
#include "sha1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#define READ_BLOCK (4u << 20)
#define PACK_SPLIT (1ull << 30)	/* start a new pack after this many bytes */
#define SAMPLE_SIZE (16u << 10)

/* ---- small helpers ------------------------------------------------------------ */

static void hex_of(char *out, const unsigned char *d, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(unsigned char *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static void xxh_hex(char out[33], XXH128_hash_t h)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h);
	hex_of(out, c.digest, 16);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *mode_str(unsigned mode)
{
	return mode == 0100755 ? "100755" : mode == 0120000 ? "120000" : "100644";
}

static const char *type_str(enum mlp_artifact_type t)
{
	return t == MLP_ART_CHUNKED ? "chunked" : t == MLP_ART_SYMLINK ? "symlink" : "file";
}

int mlp_artifact_name_ok(const char *name, size_t len)
{
	if (!len || len > 255)
		return 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (len == 4 && name[0] == '.' && (name[1] | 32) == 'g' && (name[2] | 32) == 'i' &&
	    (name[3] | 32) == 't')
		return 0;
	return !memchr(name, '/', len) && !memchr(name, '\0', len);
}

int mlp_artifact_path_ok(const char *path)
{
	size_t len = strlen(path);
	const char *p = path;

	if (!len || len > MLP_MAX_PATH_LEN)
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!mlp_artifact_name_ok(p, n))
			return 0;
		if (!slash)
			return 1;
		p = slash + 1;
	}
}

/* ---- the chunker ---------------------------------------------------------------- */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* The table is part of the format's behaviour (where cuts fall, hence
 * dedup across versions): splitmix64 from a fixed seed, never to change. */
static void gear_init(void)
{
	uint64_t x = 0x6d6c702d67656172ull;	/* "mlp-gear" */

	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		gear[i] = z ^ (z >> 31);
	}
}

void mlp_chunker_init(struct mlp_chunker *c, size_t min, size_t avg, size_t max)
{
	pthread_once(&gear_once, gear_init);
	c->min = min;
	c->avg = avg;
	c->max = max;
	/* P(cut) per position past min = 1 / (avg - min): chunks average avg */
	c->threshold = avg > min ? UINT64_MAX / (uint64_t)(avg - min) : UINT64_MAX;
}

/*
 * One threshold everywhere (no "normalized chunking" with a stricter test
 * before avg): two chunkings that started at different offsets then see
 * the same cut candidates, so after a change the cuts fall back into step
 * at the first candidate past both starts + min.
 */
size_t mlp_chunker_cut(const struct mlp_chunker *c, const unsigned char *p, size_t n)
{
	size_t i, limit = n < c->max ? n : c->max;
	uint64_t h = 0, t = c->threshold;

	if (n <= c->min)
		return n;
	/* the hash only sees the last 64 bytes: warm it up just before min */
	for (i = c->min - 64; i < c->min; i++)
		h = (h << 1) + gear[p[i]];
	/*
	 * Two bytes a step: h2 = (h << 2) + (g[a] << 1) + g[b] depends on h
	 * through one shift and one add, so the loop runs at about twice the
	 * speed of the byte-wise recurrence; h1 is checked on the side.
	 */
	for (; i + 1 < limit; i += 2) {
		uint64_t ga = gear[p[i]], h1 = (h << 1) + ga;
		h = (h << 2) + (ga << 1) + gear[p[i + 1]];
		if (h1 < t)
			return i + 1;
		if (h < t)
			return i + 2;
	}
	for (; i < limit; i++) {
		h = (h << 1) + gear[p[i]];
		if (h < t)
			return i + 1;
	}
	return limit;
}

/* ---- records: .mlpfile and artifacts.mp ------------------------------------------ */

static int sbuf_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

int mlp_manifest_encode(struct mlp_buf *out, const struct mlp_manifest *m)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, sbuf_write);
	msgpack_pack_map(&pk, 5);
	pack_str(&pk, "v");
	msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	pack_str(&pk, "size");
	msgpack_pack_uint64(&pk, m->size);
	pack_str(&pk, "xxh128");
	pack_str(&pk, m->xxh128);
	pack_str(&pk, "chunks");
	msgpack_pack_uint64(&pk, m->chunks);
	pack_str(&pk, "mode");
	pack_str(&pk, mode_str(m->mode));
	return 0;
}

static int read_version(struct mlp_mp *r, const char *what)
{
	int64_t v;

	if (mlp_mp_read_int(r, &v) < 0)
		return mlp_error_set(MLP_ECORRUPT, "%s: \"v\" is not an integer", what);
	if (v > MLP_FORMAT_VERSION)
		return mlp_error_set(MLP_EVERSION, "%s uses format %lld; this git-mlp reads format %d",
				     what, (long long)v, MLP_FORMAT_VERSION);
	if (v < 1)
		return mlp_error_set(MLP_ECORRUPT, "%s: bad version %lld", what, (long long)v);
	return 0;
}

static int read_hex_field(struct mlp_mp *r, char *out, size_t hexlen, const char *what)
{
	const char *s;
	uint32_t len;
	unsigned char tmp[32];

	if (mlp_mp_read_str(r, &s, &len) < 0 || len != hexlen || unhex(tmp, s, hexlen / 2) < 0)
		return mlp_error_set(MLP_ECORRUPT, "%s is not %zu hex digits", what, hexlen);
	memcpy(out, s, hexlen);
	out[hexlen] = '\0';
	return 0;
}

static int read_mode(struct mlp_mp *r, unsigned *mode, int allow_link)
{
	const char *s;
	uint32_t len;

	if (mlp_mp_read_str(r, &s, &len) < 0 || len != 6)
		return mlp_error_set(MLP_ECORRUPT, "bad mode");
	if (!memcmp(s, "100644", 6))
		*mode = 0100644;
	else if (!memcmp(s, "100755", 6))
		*mode = 0100755;
	else if (allow_link && !memcmp(s, "120000", 6))
		*mode = 0120000;
	else
		return mlp_error_set(MLP_ECORRUPT, "bad mode '%.6s'", s);
	return 0;
}

static int key_is(const char *k, uint32_t klen, const char *want)
{
	return klen == strlen(want) && !memcmp(k, want, klen);
}

int mlp_manifest_decode(struct mlp_manifest *m, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n;
	int seen = 0, err;

	memset(m, 0, sizeof(*m));
	m->mode = 0100644;
	mlp_mp_init(&r, data, len);
	if (len > 4096)
		return mlp_error_set(MLP_ELIMIT, ".mlpfile is %zu bytes", len);
	if (mlp_mp_read_map(&r, &n) < 0)
		return mlp_error_set(MLP_ECORRUPT, ".mlpfile is not a map");
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t klen;
		uint64_t u;

		if (mlp_mp_read_str(&r, &k, &klen) < 0)
			return mlp_error_set(MLP_ECORRUPT, ".mlpfile: key is not a string");
		if (key_is(k, klen, "v")) {
			if ((err = read_version(&r, ".mlpfile")) < 0)
				return err;
			seen |= 1;
		} else if (key_is(k, klen, "size")) {
			if (mlp_mp_read_uint(&r, &u) < 0 || u > (uint64_t)MLP_MAX_FILE_CHUNKS * MLP_CHUNK_MAX)
				return mlp_error_set(MLP_ECORRUPT, ".mlpfile: bad size");
			m->size = u;
			seen |= 2;
		} else if (key_is(k, klen, "xxh128")) {
			if ((err = read_hex_field(&r, m->xxh128, 32, ".mlpfile: xxh128")) < 0)
				return err;
			seen |= 4;
		} else if (key_is(k, klen, "chunks")) {
			if (mlp_mp_read_uint(&r, &u) < 0)
				return mlp_error_set(MLP_ECORRUPT, ".mlpfile: bad chunk count");
			if (u > MLP_MAX_FILE_CHUNKS)
				return mlp_error_set(MLP_ELIMIT, ".mlpfile: %llu chunks", (unsigned long long)u);
			m->chunks = u;
			seen |= 8;
		} else if (key_is(k, klen, "mode")) {
			if ((err = read_mode(&r, &m->mode, 0)) < 0)
				return err;
		} else if (mlp_mp_skip(&r) < 0) {
			return mlp_error_set(MLP_ECORRUPT, ".mlpfile does not decode");
		}
	}
	if (r.p != r.end)
		return mlp_error_set(MLP_ECORRUPT, ".mlpfile: bytes after the record");
	if (seen != 15)
		return mlp_error_set(MLP_ECORRUPT, ".mlpfile: missing v, size, xxh128 or chunks");
	if (!m->chunks || m->chunks > (m->size + MLP_CHUNK_MIN - 1) / MLP_CHUNK_MIN + 1 ||
	    m->size > m->chunks * (uint64_t)MLP_CHUNK_MAX)
		return mlp_error_set(MLP_ECORRUPT, ".mlpfile: %llu chunks cannot hold %llu bytes",
				     (unsigned long long)m->chunks, (unsigned long long)m->size);
	return 0;
}

void mlp_run_clear_artifacts(struct mlp_run *run)
{
	for (size_t i = 0; i < run->artifact_nr; i++)
		free(run->artifact[i].path);
	free(run->artifact);
	run->artifact = NULL;
	run->artifact_nr = 0;
	for (size_t i = 0; i < run->artifact_queue_nr; i++)
		free(run->artifact_queue[i]);
	free(run->artifact_queue);
	run->artifact_queue = NULL;
	run->artifact_queue_nr = 0;
}

static void clear_list(struct mlp_run *run)
{
	for (size_t i = 0; i < run->artifact_nr; i++)
		free(run->artifact[i].path);
	free(run->artifact);
	run->artifact = NULL;
	run->artifact_nr = 0;
}

void mlp_run_queue_artifact(struct mlp_run *run, const char *path)
{
	for (size_t i = 0; i < run->artifact_queue_nr; i++)
		if (!strcmp(run->artifact_queue[i], path))
			return;
	run->artifact_queue = mlp_realloc(run->artifact_queue,
					  (run->artifact_queue_nr + 1) * sizeof(char *));
	run->artifact_queue[run->artifact_queue_nr++] = mlp_strdup(path);
}

int mlp_artifact_encode_list(struct mlp_buf *out, const struct mlp_run *run)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, sbuf_write);
	msgpack_pack_map(&pk, 2);
	pack_str(&pk, "v");
	msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	pack_str(&pk, "files");
	msgpack_pack_array(&pk, run->artifact_nr);
	for (size_t i = 0; i < run->artifact_nr; i++) {
		const struct mlp_artifact *a = &run->artifact[i];
		msgpack_pack_map(&pk, 8);
		pack_str(&pk, "path");
		pack_str(&pk, a->path);
		pack_str(&pk, "type");
		pack_str(&pk, type_str(a->type));
		pack_str(&pk, "mode");
		pack_str(&pk, mode_str(a->mode));
		pack_str(&pk, "oid");
		pack_str(&pk, a->oid);
		pack_str(&pk, "size");
		msgpack_pack_uint64(&pk, a->size);
		pack_str(&pk, "xxh128");
		pack_str(&pk, a->xxh128);
		pack_str(&pk, "chunks");
		msgpack_pack_uint64(&pk, a->chunks);
		pack_str(&pk, "new_bytes");
		msgpack_pack_uint64(&pk, a->new_bytes);
	}
	return 0;
}

static int cmp_artifact(const void *a, const void *b)
{
	return strcmp(((const struct mlp_artifact *)a)->path, ((const struct mlp_artifact *)b)->path);
}

static int decode_file(struct mlp_mp *r, struct mlp_artifact *a)
{
	uint32_t n;
	int err;

	if (mlp_mp_read_map(r, &n) < 0)
		return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: a file is not a map");
	a->mode = 0100644;
	for (uint32_t i = 0; i < n; i++) {
		const char *k, *s;
		uint32_t klen, slen;

		if (mlp_mp_read_str(r, &k, &klen) < 0)
			return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: key is not a string");
		if (key_is(k, klen, "path")) {
			free(a->path);
			a->path = NULL;
			if (mlp_mp_read_cstr(r, &a->path) < 0 || !mlp_artifact_path_ok(a->path))
				return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: bad path");
		} else if (key_is(k, klen, "type")) {
			if (mlp_mp_read_str(r, &s, &slen) < 0)
				return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: bad type");
			if (key_is(s, slen, "file"))
				a->type = MLP_ART_FILE;
			else if (key_is(s, slen, "chunked"))
				a->type = MLP_ART_CHUNKED;
			else if (key_is(s, slen, "symlink"))
				a->type = MLP_ART_SYMLINK;
			else
				return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: unknown type");
		} else if (key_is(k, klen, "mode")) {
			if ((err = read_mode(r, &a->mode, 1)) < 0)
				return err;
		} else if (key_is(k, klen, "oid")) {
			if ((err = read_hex_field(r, a->oid, 40, "artifacts.mp: oid")) < 0)
				return err;
		} else if (key_is(k, klen, "xxh128")) {
			if ((err = read_hex_field(r, a->xxh128, 32, "artifacts.mp: xxh128")) < 0)
				return err;
		} else if (key_is(k, klen, "size") || key_is(k, klen, "chunks") ||
			   key_is(k, klen, "new_bytes")) {
			uint64_t u;
			if (mlp_mp_read_uint(r, &u) < 0)
				return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: bad %.*s", (int)klen, k);
			if (k[0] == 's')
				a->size = u;
			else if (k[0] == 'c')
				a->chunks = u;
			else
				a->new_bytes = u;
		} else if (mlp_mp_skip(r) < 0) {
			return mlp_error_set(MLP_ECORRUPT, "artifacts.mp does not decode");
		}
	}
	if (!a->path)
		return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: a file has no path");
	/* every writer records both; without them the entry cannot be checked or written back */
	if (!a->oid[0] || !a->xxh128[0])
		return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: '%s' has no %s", a->path,
				     !a->oid[0] ? "oid" : "xxh128");
	if ((a->type == MLP_ART_SYMLINK) != (a->mode == 0120000))
		return mlp_error_set(MLP_ECORRUPT, "artifacts.mp: '%s': type and mode disagree", a->path);
	return 0;
}

int mlp_artifact_decode_list(struct mlp_run *run, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n, files = 0;
	int err = 0, seen_v = 0, seen_files = 0;

	clear_list(run);
	mlp_mp_init(&r, data, len);
	if (mlp_mp_read_map(&r, &n) < 0)
		return mlp_error_set(MLP_ECORRUPT, "artifacts.mp is not a map");
	for (uint32_t i = 0; i < n && !err; i++) {
		const char *k;
		uint32_t klen;

		if (mlp_mp_read_str(&r, &k, &klen) < 0) {
			err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp: key is not a string");
		} else if (key_is(k, klen, "v")) {
			if (seen_v) {
				err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp: \"v\" twice");
				break;
			}
			err = read_version(&r, "artifacts.mp");
			seen_v = 1;
		} else if (key_is(k, klen, "files")) {
			/* twice is corrupt even when the first list is empty */
			if (seen_files++) {
				err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp: \"files\" twice");
				break;
			}
			/* a file takes at least ~16 bytes: a lying count fails here, not in malloc */
			if (mlp_mp_read_array(&r, &files) < 0 || files > (size_t)(r.end - r.p) / 8 + 1) {
				err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp: \"files\" is not an array");
				break;
			}
			if (files > MLP_MAX_ARTIFACTS) {
				err = mlp_error_set(MLP_ELIMIT, "artifacts.mp lists %u files", files);
				break;
			}
			run->artifact = mlp_calloc(files ? files : 1, sizeof(*run->artifact));
			for (uint32_t j = 0; j < files && !err; j++) {
				err = decode_file(&r, &run->artifact[j]);
				run->artifact_nr = j + 1;
			}
		} else if (mlp_mp_skip(&r) < 0) {
			err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp does not decode");
		}
	}
	if (!err && r.p != r.end)
		err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp: bytes after the record");
	if (!err && !seen_v)
		err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp has no version");
	if (!err) {
		mlp_qsort(run->artifact, run->artifact_nr, sizeof(*run->artifact), cmp_artifact);
		for (size_t i = 1; i < run->artifact_nr && !err; i++)
			if (!strcmp(run->artifact[i - 1].path, run->artifact[i].path))
				err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp lists '%s' twice",
						    run->artifact[i].path);
	}
	if (err)
		clear_list(run);
	return err;
}

static void human_size(struct mlp_buf *b, uint64_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (!u)
		mlp_buf_addf(b, "%llu B", (unsigned long long)n);
	else
		mlp_buf_addf(b, "%.1f %s", v, unit[u]);
}

void mlp_render_artifacts(struct mlp_buf *b, const struct mlp_run *run)
{
	uint64_t total = 0, fresh = 0;

	if (!run->artifact_nr)
		return;
	mlp_buf_adds(b, "artifacts:\n");
	for (size_t i = 0; i < run->artifact_nr; i++) {
		const struct mlp_artifact *a = &run->artifact[i];

		mlp_buf_adds(b, "  ");
		mlp_text_sanitizes(b, a->path, 0);
		if (a->type == MLP_ART_SYMLINK) {
			mlp_buf_adds(b, "  (symlink)\n");
			continue;
		}
		mlp_buf_adds(b, "  ");
		human_size(b, a->size);
		mlp_buf_addf(b, ", %llu chunk%s", (unsigned long long)a->chunks, a->chunks == 1 ? "" : "s");
		if (a->mode == 0100755)
			mlp_buf_adds(b, ", executable");
		if (a->new_bytes >= a->size)
			mlp_buf_adds(b, ", new");
		else if (!a->new_bytes)
			mlp_buf_adds(b, ", deduplicated");
		else {
			mlp_buf_adds(b, ", ");
			human_size(b, a->new_bytes);
			mlp_buf_adds(b, " new");
		}
		mlp_buf_addch(b, '\n');
		total += a->size;
		fresh += a->new_bytes < a->size ? a->new_bytes : a->size;
	}
	mlp_buf_addf(b, "  (%zu file%s, ", run->artifact_nr, run->artifact_nr == 1 ? "" : "s");
	human_size(b, total);
	mlp_buf_adds(b, ", ");
	human_size(b, fresh);
	mlp_buf_adds(b, " new when stored)\n");
}

void mlp_render_artifacts_json(struct mlp_buf *b, const struct mlp_run *run)
{
	mlp_buf_addch(b, '[');
	for (size_t i = 0; i < run->artifact_nr; i++) {
		const struct mlp_artifact *a = &run->artifact[i];
		if (i)
			mlp_buf_adds(b, ", ");
		mlp_buf_adds(b, "{\"path\": ");
		mlp_json_str(b, a->path, strlen(a->path));
		mlp_buf_addf(b, ", \"type\": \"%s\", \"mode\": \"%s\", \"oid\": \"%s\", \"size\": %llu, "
			     "\"xxh128\": \"%s\", \"chunks\": %llu, \"new_bytes\": %llu}",
			     type_str(a->type), mode_str(a->mode), a->oid, (unsigned long long)a->size,
			     a->xxh128, (unsigned long long)a->chunks, (unsigned long long)a->new_bytes);
	}
	mlp_buf_addch(b, ']');
}

/* ---- caches --------------------------------------------------------------------- */

/*
 * Chunk table file: "MLPCHUNKS1\n", then rows of 16 bytes xxh128
 * (canonical) + 20 bytes blob id.  In memory: open addressing on the
 * xxh128's first 8 bytes.
 */
#define CHUNKS_MAGIC "MLPCHUNKS1\n"
#define STAT_MAGIC "MLPSTAT1\n"

struct chunk_row {
	unsigned char xxh[16];
	unsigned char oid[20];
	unsigned char verified;	/* confirmed in the odb in this process */
};

struct chunk_table {
	struct chunk_row *rows;
	size_t nr, alloc;
	uint32_t *slots;	/* row index + 1; 0 = empty */
	size_t nslots;
	int dirty;
	uint64_t file_size;
};

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void ct_rehash(struct chunk_table *t)
{
	size_t n = t->nslots ? t->nslots : 1024;

	while (n < 2 * (t->nr + 1))
		n *= 2;
	free(t->slots);
	t->slots = mlp_calloc(n, sizeof(*t->slots));
	t->nslots = n;
	for (size_t i = 0; i < t->nr; i++) {
		size_t s = rd64(t->rows[i].xxh) & (n - 1);
		while (t->slots[s])
			s = (s + 1) & (n - 1);
		t->slots[s] = (uint32_t)(i + 1);
	}
}

static struct chunk_row *ct_find(struct chunk_table *t, const unsigned char xxh[16])
{
	if (!t->nslots)
		return NULL;
	for (size_t s = rd64(xxh) & (t->nslots - 1); t->slots[s]; s = (s + 1) & (t->nslots - 1))
		if (!memcmp(t->rows[t->slots[s] - 1].xxh, xxh, 16))
			return &t->rows[t->slots[s] - 1];
	return NULL;
}

static struct chunk_row *ct_put(struct chunk_table *t, const unsigned char xxh[16], const unsigned char oid[20])
{
	struct chunk_row *r = ct_find(t, xxh);

	if (r) {
		if (memcmp(r->oid, oid, 20)) {
			memcpy(r->oid, oid, 20);
			t->dirty = 1;
		}
		return r;
	}
	if (t->nr == t->alloc) {
		t->alloc = t->alloc ? 2 * t->alloc : 256;
		t->rows = mlp_realloc(t->rows, t->alloc * sizeof(*t->rows));
	}
	r = &t->rows[t->nr++];
	memcpy(r->xxh, xxh, 16);
	memcpy(r->oid, oid, 20);
	r->verified = 0;
	t->dirty = 1;
	if (2 * (t->nr + 1) > t->nslots) {
		ct_rehash(t);
	} else {
		size_t s = rd64(xxh) & (t->nslots - 1);
		while (t->slots[s])
			s = (s + 1) & (t->nslots - 1);
		t->slots[s] = (uint32_t)t->nr;
	}
	return r;
}

static void ct_free(struct chunk_table *t)
{
	free(t->rows);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static int read_whole(struct mlp_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t r;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
		close(fd);
		return -1;
	}
	mlp_buf_grow(out, (size_t)st.st_size + 1);
	while ((r = read(fd, out->buf + out->len, out->alloc - out->len - 1)) > 0) {
		out->len += (size_t)r;
		if (out->len + 1 >= out->alloc)
			mlp_buf_grow(out, 65536);
	}
	out->buf[out->len] = '\0';
	close(fd);
	return r < 0 ? -1 : 0;
}

/* Writes a cache file atomically: temp file in the same directory, rename. */
static int write_atomic(const char *path, const void *data, size_t len)
{
	struct mlp_buf tmp = MLP_BUF_INIT;
	const char *s = data;
	int fd, err = 0;

	mlp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0) {
		err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", tmp.buf, strerror(errno));
		goto done;
	}
	while (len) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", tmp.buf, strerror(errno));
			break;
		}
		s += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && !err)
		err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", tmp.buf, strerror(errno));
	if (!err && rename(tmp.buf, path) < 0)
		err = mlp_error_set(MLP_ERROR, "cannot rename '%s': %s", tmp.buf, strerror(errno));
	if (err)
		unlink(tmp.buf);
done:
	mlp_buf_release(&tmp);
	return err;
}

static void ct_load(struct chunk_table *t, const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t hl = strlen(CHUNKS_MAGIC);

	/* a damaged or foreign file is simply not used: this is a cache */
	if (read_whole(&b, path, (size_t)1 << 32) == 0 && b.len >= hl &&
	    !memcmp(b.buf, CHUNKS_MAGIC, hl) && (b.len - hl) % 36 == 0) {
		t->file_size = b.len;
		for (size_t off = hl; off < b.len; off += 36)
			ct_put(t, (unsigned char *)b.buf + off, (unsigned char *)b.buf + off + 16);
	}
	t->dirty = 0;
	mlp_buf_release(&b);
}

static int ct_save(struct chunk_table *t, const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	mlp_buf_adds(&b, CHUNKS_MAGIC);
	for (size_t i = 0; i < t->nr; i++) {
		mlp_buf_add(&b, t->rows[i].xxh, 16);
		mlp_buf_add(&b, t->rows[i].oid, 20);
	}
	err = write_atomic(path, b.buf, b.len);
	t->file_size = b.len;
	mlp_buf_release(&b);
	if (!err)
		t->dirty = 0;
	return err;
}

/*
 * Stat cache file: "MLPSTAT1\n", then rows: u32 path length, path,
 * u64 dev, ino, size, mtime ns, ctime ns, u8 type, u32 mode, 20-byte id,
 * 16-byte xxh128, u64 chunks (host byte order: the file never leaves
 * this machine).
 */
struct stat_row {
	char *path;
	uint64_t dev, ino, size;
	int64_t mtime, ctime;
	uint8_t type;
	uint32_t mode;
	unsigned char oid[20];
	unsigned char xxh[16];
	uint64_t chunks;
};

struct stat_cache {
	struct stat_row *rows;
	size_t nr, alloc;
	int dirty;
	uint64_t file_size;
};

static struct stat_row *sc_find(struct stat_cache *c, const char *path)
{
	/* linear is fine for the few hundred files of a run; sorted on save */
	size_t lo = 0, hi = c->nr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(c->rows[mid].path, path);
		if (!d)
			return &c->rows[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void sc_put(struct stat_cache *c, const struct stat_row *row)
{
	size_t lo = 0, hi = c->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(c->rows[mid].path, row->path);
		if (!d) {
			free(c->rows[mid].path);
			c->rows[mid] = *row;
			c->rows[mid].path = mlp_strdup(row->path);
			c->dirty = 1;
			return;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->nr == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 64;
		c->rows = mlp_realloc(c->rows, c->alloc * sizeof(*c->rows));
	}
	memmove(c->rows + lo + 1, c->rows + lo, (c->nr - lo) * sizeof(*c->rows));
	c->rows[lo] = *row;
	c->rows[lo].path = mlp_strdup(row->path);
	c->nr++;
	c->dirty = 1;
}

static void sc_free(struct stat_cache *c)
{
	for (size_t i = 0; i < c->nr; i++)
		free(c->rows[i].path);
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

#define STAT_FIXED (8 * 5 + 1 + 4 + 20 + 16 + 8)

static void sc_load(struct stat_cache *c, const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t off = strlen(STAT_MAGIC);

	if (read_whole(&b, path, (size_t)1 << 30) == 0 && b.len >= off &&
	    !memcmp(b.buf, STAT_MAGIC, off)) {
		c->file_size = b.len;
		while (off + 4 <= b.len) {
			struct stat_row r;
			uint32_t plen;
			const unsigned char *p;
			char *name;

			memcpy(&plen, b.buf + off, 4);
			if (plen > MLP_MAX_PATH_LEN || off + 4 + plen + STAT_FIXED > b.len)
				break;
			name = mlp_strndup(b.buf + off + 4, plen);
			p = (unsigned char *)b.buf + off + 4 + plen;
			r.path = name;
			memcpy(&r.dev, p, 8);
			memcpy(&r.ino, p + 8, 8);
			memcpy(&r.size, p + 16, 8);
			memcpy(&r.mtime, p + 24, 8);
			memcpy(&r.ctime, p + 32, 8);
			r.type = p[40];
			memcpy(&r.mode, p + 41, 4);
			memcpy(r.oid, p + 45, 20);
			memcpy(r.xxh, p + 65, 16);
			memcpy(&r.chunks, p + 81, 8);
			if (strlen(name) == plen && mlp_artifact_path_ok(name))
				sc_put(c, &r);
			free(name);
			off += 4 + plen + STAT_FIXED;
		}
	}
	c->dirty = 0;
	mlp_buf_release(&b);
}

static int sc_save(struct stat_cache *c, const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	mlp_buf_adds(&b, STAT_MAGIC);
	for (size_t i = 0; i < c->nr; i++) {
		const struct stat_row *r = &c->rows[i];
		uint32_t plen = (uint32_t)strlen(r->path);
		mlp_buf_add(&b, &plen, 4);
		mlp_buf_add(&b, r->path, plen);
		mlp_buf_add(&b, &r->dev, 8);
		mlp_buf_add(&b, &r->ino, 8);
		mlp_buf_add(&b, &r->size, 8);
		mlp_buf_add(&b, &r->mtime, 8);
		mlp_buf_add(&b, &r->ctime, 8);
		mlp_buf_add(&b, &r->type, 1);
		mlp_buf_add(&b, &r->mode, 4);
		mlp_buf_add(&b, r->oid, 20);
		mlp_buf_add(&b, r->xxh, 16);
		mlp_buf_add(&b, &r->chunks, 8);
	}
	err = write_atomic(path, b.buf, b.len);
	c->file_size = b.len;
	mlp_buf_release(&b);
	if (!err)
		c->dirty = 0;
	return err;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int stat_matches(const struct stat_row *r, const struct stat *st)
{
	return r->dev == (uint64_t)st->st_dev && r->ino == (uint64_t)st->st_ino &&
	       r->size == (uint64_t)st->st_size && r->mtime == ts_ns(&st->st_mtim) &&
	       r->ctime == ts_ns(&st->st_ctim);
}

/* ---- the SHA-1 thread ------------------------------------------------------------ */

/*
 * One job at a time: the main thread posts a chunk, writes it into the
 * pack while this thread computes the blob id and Adler-32, then waits.
 */
struct hasher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, state;	/* 0 idle, 1 job posted, 2 done, 3 quit */
	const unsigned char *data;
	size_t len;
	int want_adler;
	unsigned char oid[20];
	uint32_t adler;
	uint32_t *bcrc;		/* when set: CRC-32 of each stored block */
};

static void hash_job(const unsigned char *data, size_t len, int want_adler,
		     unsigned char oid[20], uint32_t *adler, uint32_t *bcrc)
{
	mlp_sha1_blob(oid, data, len);
	if (bcrc)
		for (size_t off = 0, i = 0; off < len; off += MLP_PACK_BLOCK, i++)
			bcrc[i] = mlp_crc32(0, data + off, len - off > MLP_PACK_BLOCK ? MLP_PACK_BLOCK : len - off);
	if (want_adler)
		*adler = mlp_adler32(1, data, len);
}

static void *hasher_main(void *arg)
{
	struct hasher *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->state != 1 && h->state != 3)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->state == 3)
			break;
		pthread_mutex_unlock(&h->mu);
		hash_job(h->data, h->len, h->want_adler, h->oid, &h->adler, h->bcrc);
		pthread_mutex_lock(&h->mu);
		h->state = 2;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void hasher_post(struct hasher *h, const unsigned char *data, size_t len, int want_adler,
			uint32_t *bcrc)
{
	pthread_mutex_lock(&h->mu);
	h->bcrc = bcrc;
	h->data = data;
	h->len = len;
	h->want_adler = want_adler;
	h->state = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void hasher_wait(struct hasher *h, unsigned char oid[20], uint32_t *adler)
{
	pthread_mutex_lock(&h->mu);
	while (h->state != 2)
		pthread_cond_wait(&h->cv, &h->mu);
	memcpy(oid, h->oid, 20);
	*adler = h->adler;
	h->state = 0;
	pthread_mutex_unlock(&h->mu);
}

static void hasher_stop(struct hasher *h)
{
	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	h->state = 3;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	h->started = 0;
}

/* ---- storing ---------------------------------------------------------------------- */

struct store {
	struct mlp_repo *repo;
	git_odb *odb;
	char *objects_dir;
	char *chunks_path, *stat_path;
	struct mlp_pack *pack;
	struct chunk_table ct;
	struct stat_cache sc;
	struct hasher hasher;
	int threads;
	struct mlp_chunker chunker;
	unsigned char *buf;
	size_t buf_size;
	const struct mlp_artifact_opts *o;
	struct mlp_progress prog;
	int64_t start_ms, last_progress_ms;
	/* results */
	struct mlp_artifact *files;
	size_t files_nr, files_alloc;
};

static void progress(struct store *s, int final)
{
	int64_t now;

	if (!s->o || !s->o->progress)
		return;
	now = mono_ms();
	if (!final && now - s->last_progress_ms < 100)
		return;
	s->last_progress_ms = now;
	s->prog.elapsed_ms = now - s->start_ms;
	s->o->progress(s->o->progress_data, &s->prog, final);
}

static void swarn(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void swarn(struct store *s, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;

	if (!s->o || !s->o->warn)
		return;
	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	s->o->warn(s->o->warn_data, b.buf);
	mlp_buf_release(&b);
}

static int store_open(struct store *s, struct mlp_repo *repo, const struct mlp_artifact_opts *o)
{
	struct mlp_buf b = MLP_BUF_INIT;
	const char *env = getenv("MLP_ARTIFACT_THREADS");

	memset(s, 0, sizeof(*s));
	s->repo = repo;
	s->o = o;
	if (git_repository_odb(&s->odb, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot open object database");
	mlp_buf_addf(&b, "%sobjects", git_repository_commondir(repo->git));
	s->objects_dir = mlp_buf_detach(&b, NULL);
	mlp_buf_addf(&b, "%s/chunks", repo->mlpdir);
	s->chunks_path = mlp_buf_detach(&b, NULL);
	mlp_buf_addf(&b, "%s/statcache", repo->mlpdir);
	s->stat_path = mlp_buf_detach(&b, NULL);
	mkdir(repo->mlpdir, 0777);
	ct_load(&s->ct, s->chunks_path);
	sc_load(&s->sc, s->stat_path);
	mlp_chunker_init(&s->chunker, MLP_CHUNK_MIN, MLP_CHUNK_AVG, MLP_CHUNK_MAX);
	s->threads = env && *env ? atoi(env) : 2;
	s->start_ms = s->last_progress_ms = mono_ms();
	s->prog.what = "storing";
	return 0;
}

static int store_flush_pack(struct store *s)
{
	int err = 0;

	if (s->pack) {
		err = mlp_pack_finish(s->pack, NULL);
		s->pack = NULL;
		git_odb_refresh(s->odb);
	}
	return err;
}

/* Finishes the pack and writes the caches; 0 or the first error. */
static int store_close(struct store *s, int ok)
{
	int err = 0;

	hasher_stop(&s->hasher);
	if (ok)
		err = store_flush_pack(s);
	else
		mlp_pack_abort(s->pack);
	s->pack = NULL;
	/* caches are best effort: a failure to write one costs speed, not data */
	if (ok && !err && s->ct.dirty)
		ct_save(&s->ct, s->chunks_path);
	if (ok && !err && s->sc.dirty)
		sc_save(&s->sc, s->stat_path);
	ct_free(&s->ct);
	sc_free(&s->sc);
	git_odb_free(s->odb);
	free(s->objects_dir);
	free(s->chunks_path);
	free(s->stat_path);
	free(s->buf);
	for (size_t i = 0; i < s->files_nr; i++)
		free(s->files[i].path);
	free(s->files);
	return err;
}

static int odb_has(struct store *s, const unsigned char raw[20], int refresh)
{
	git_oid oid;

	memcpy(oid.id, raw, 20);
	return git_odb_exists_ext(s->odb, &oid, refresh ? 0 : GIT_ODB_LOOKUP_NO_REFRESH);
}

/*
 * Deflate pays only when a sample shrinks by more than a fifth.  The
 * sample is 16 KiB: deflating 64 KiB of incompressible data cost 2.7 ms
 * a chunk, a sixth of a whole ingest's CPU, and the ratio of weight-like
 * data comes out the same within a percent (0.931 vs 0.932).
 */
static int choose_level(const unsigned char *data, size_t len)
{
	unsigned char out[SAMPLE_SIZE + 1024];
	uLongf outlen = sizeof(out);
	size_t n = len < SAMPLE_SIZE ? len : SAMPLE_SIZE;
	const unsigned char *from = data + (len - n) / 2;

	if (n < 512)
		return 0;
	if (compress2(out, &outlen, from, (uLong)n, 1) != Z_OK)
		return 0;
	return outlen * 5 < n * 4 ? 1 : 0;
}

static int hash_and_write(struct store *s, struct mlp_pack *pack, const unsigned char *data,
			  size_t len, int level, unsigned char oid[20], uint64_t *start,
			  uint32_t *crc, uint32_t *adler);

/*
 * Stores one blob (a chunk or a small file) unless the chunk table or the
 * object database has it; *fresh says whether bytes were written.
 */
static int store_blob(struct store *s, const unsigned char *data, size_t len,
		      unsigned char oid[20], int *fresh)
{
	XXH128_hash_t x = XXH3_128bits(data, len);
	XXH128_canonical_t xc;
	struct chunk_row *row;
	uint64_t start;
	uint32_t crc, adler = 0;
	int level, err;

	*fresh = 0;
	XXH128_canonicalFromHash(&xc, x);
	row = ct_find(&s->ct, xc.digest);
	if (row && (row->verified || odb_has(s, row->oid, 0) || odb_has(s, row->oid, 1))) {
		row->verified = 1;
		memcpy(oid, row->oid, 20);
		return 0;
	}
	if (!s->pack || s->pack->size > PACK_SPLIT) {
		if ((err = store_flush_pack(s)) < 0)
			return err;
		if ((err = mlp_pack_open(&s->pack, s->objects_dir)) < 0)
			return err;
	}
	level = choose_level(data, len);
	err = hash_and_write(s, s->pack, data, len, level, oid, &start, &crc, &adler);
	if (err < 0)
		return err;
	/* the chunk table was lost, or another file had this content: no duplicate */
	if (odb_has(s, oid, 0)) {
		if ((err = mlp_pack_drop_from(s->pack, start)) < 0)
			return err;
	} else {
		int dup = 0;
		for (size_t i = 0; i < s->pack->nr && !dup; i++)
			dup = !memcmp(s->pack->entries[i].oid, oid, 20);
		if (dup) {
			if ((err = mlp_pack_drop_from(s->pack, start)) < 0)
				return err;
		} else {
			if ((err = mlp_pack_write_blob_end(s->pack, start, crc, adler, level, oid)) < 0)
				return err;
			*fresh = 1;
		}
	}
	row = ct_put(&s->ct, xc.digest, oid);
	row->verified = 1;
	return 0;
}

/* The blob id on the second thread while this one writes the bytes. */
static int hash_and_write(struct store *s, struct mlp_pack *pack, const unsigned char *data,
			  size_t len, int level, unsigned char oid[20], uint64_t *start,
			  uint32_t *crc, uint32_t *adler)
{
	int err;

	*adler = 0;
	if (s->threads > 1 && len >= (256u << 10)) {
		if (!s->hasher.started) {
			pthread_mutex_init(&s->hasher.mu, NULL);
			pthread_cond_init(&s->hasher.cv, NULL);
			s->hasher.state = 0;
			if (pthread_create(&s->hasher.th, NULL, hasher_main, &s->hasher) == 0)
				s->hasher.started = 1;
			else
				s->threads = 1;
		}
	}
	if (s->hasher.started && len >= (256u << 10)) {
		/* in a counted pack the block CRCs are the other thread's too */
		uint32_t *bcrc = NULL;
		if (pack->expect && level == 0)
			bcrc = mlp_malloc((len / MLP_PACK_BLOCK + 2) * sizeof(uint32_t));
		hasher_post(&s->hasher, data, len, level == 0, bcrc);
		err = mlp_pack_write_blob_begin(pack, data, len, level, start, bcrc ? NULL : crc);
		hasher_wait(&s->hasher, oid, adler);
		if (bcrc)
			*crc = mlp_pack_stored_crc(len, bcrc);
		free(bcrc);
	} else {
		hash_job(data, len, level == 0, oid, adler, NULL);
		err = mlp_pack_write_blob_begin(pack, data, len, level, start, crc);
	}
	return err;
}

static int odb_write(struct store *s, unsigned char out[20], const void *data, size_t len,
		     git_object_t type)
{
	git_oid oid;

	if (git_odb_write(&oid, s->odb, data, len, type) < 0)
		return mlp_git_error(MLP_ERROR, "cannot write object");
	memcpy(out, oid.id, 20);
	return 0;
}

static struct mlp_artifact *add_file(struct store *s, const char *rel)
{
	struct mlp_artifact *a;

	if (s->files_nr == s->files_alloc) {
		s->files_alloc = s->files_alloc ? 2 * s->files_alloc : 16;
		s->files = mlp_realloc(s->files, s->files_alloc * sizeof(*s->files));
	}
	a = &s->files[s->files_nr++];
	memset(a, 0, sizeof(*a));
	a->path = mlp_strdup(rel);
	return a;
}

static int read_full(int fd, unsigned char *buf, size_t want, size_t *got)
{
	*got = 0;
	while (*got < want) {
		ssize_t r = read(fd, buf + *got, want - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (!r)
			break;
		*got += (size_t)r;
	}
	return 0;
}

/* Builds the tree of a chunked file: .mlpfile first, then 000000... */
static int chunk_tree(struct store *s, unsigned char out[20], const unsigned char *oids,
		      size_t n, const struct mlp_manifest *m)
{
	struct mlp_buf rec = MLP_BUF_INIT, tree = MLP_BUF_INIT;
	unsigned char moid[20];
	char name[32];
	int err;

	mlp_manifest_encode(&rec, m);
	if ((err = odb_write(s, moid, rec.buf, rec.len, GIT_OBJECT_BLOB)) < 0)
		goto done;
	mlp_buf_adds(&tree, "100644 .mlpfile");
	mlp_buf_addch(&tree, '\0');
	mlp_buf_add(&tree, moid, 20);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "100644 %06zu", i);
		mlp_buf_add(&tree, name, strlen(name) + 1);
		mlp_buf_add(&tree, oids + 20 * i, 20);
	}
	err = odb_write(s, out, tree.buf, tree.len, GIT_OBJECT_TREE);
done:
	mlp_buf_release(&rec);
	mlp_buf_release(&tree);
	return err;
}

/* 1 when the file changed while it was read: its bytes may be torn. */
static int changed_since(int fd, const struct stat *before)
{
	struct stat now;

	return fstat(fd, &now) < 0 || now.st_size != before->st_size ||
	       ts_ns(&now.st_mtim) != ts_ns(&before->st_mtim) ||
	       ts_ns(&now.st_ctim) != ts_ns(&before->st_ctim);
}

/*
 * A large file in two passes over it (the second from the page cache):
 * first cut it and look every chunk up, so that the number of new chunks
 * is known; then write exactly those into a counted pack, whose trailer
 * is hashed on the way out instead of by re-reading the pack.
 */
struct cut {
	uint32_t len;
	unsigned char xxh[16];
	int state;	/* 0 known, 1 new (first of its content in the file), 2 repeat */
};

static int chunk_pass(struct store *s, int fd, const char *rel, struct cut **cuts, size_t *ncuts,
		      const struct cut *replay, size_t nreplay, XXH3_state_t *xs,
		      int (*each)(struct store *s, const unsigned char *p, size_t len, size_t i, void *data),
		      void *data)
{
	size_t start = 0, end = 0, i = 0, alloc = 0;
	int eof = 0, err = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rel, strerror(errno));
	if (replay) {
		/* the cuts are known: read each chunk where it is needed, no moving */
		for (i = 0; i < nreplay; i++) {
			size_t got;
			if (read_full(fd, s->buf, replay[i].len, &got) < 0)
				return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rel, strerror(errno));
			if (got != replay[i].len)
				return mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
			if ((err = each(s, s->buf, got, i, data)) < 0)
				return err;
		}
		return 0;
	}
	for (;;) {
		size_t cut;
		while (!eof && end - start < s->chunker.max) {
			size_t got;
			if (s->buf_size - end < READ_BLOCK) {
				memmove(s->buf, s->buf + start, end - start);
				end -= start;
				start = 0;
			}
			if (read_full(fd, s->buf + end, READ_BLOCK, &got) < 0)
				return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rel, strerror(errno));
			end += got;
			eof = got < READ_BLOCK;
		}
		if (start == end)
			break;
		if (replay) {
			if (i >= nreplay || replay[i].len > end - start)
				return mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
			cut = replay[i].len;
		} else {
			cut = mlp_chunker_cut(&s->chunker, s->buf + start, end - start);
			if (xs)
				XXH3_128bits_update(xs, s->buf + start, cut);
			if (i == alloc) {
				alloc = alloc ? 2 * alloc : 256;
				*cuts = mlp_realloc(*cuts, alloc * sizeof(**cuts));
			}
			(*cuts)[i].len = (uint32_t)cut;
			if (i >= MLP_MAX_FILE_CHUNKS)
				return mlp_error_set(MLP_ELIMIT, "'%s' is too large", rel);
		}
		if ((err = each(s, s->buf + start, cut, i, data)) < 0)
			return err;
		start += cut;
		i++;
	}
	if (replay && i != nreplay)
		return mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
	if (ncuts)
		*ncuts = i;
	return 0;
}

struct large_ctx {
	struct cut *cuts;
	size_t ncuts;
	unsigned char *oids;
	uint64_t new_bytes;
	struct mlp_pack *pack;
	const char *rel;
};

static int first_pass(struct store *s, const unsigned char *p, size_t len, size_t i, void *data)
{
	struct large_ctx *c = data;
	struct cut *ct = &c->cuts[i];
	XXH128_canonical_t xc;
	struct chunk_row *row;

	XXH128_canonicalFromHash(&xc, XXH3_128bits(p, len));
	memcpy(ct->xxh, xc.digest, 16);
	row = ct_find(&s->ct, ct->xxh);
	ct->state = 1;
	if (row && (row->verified || odb_has(s, row->oid, 0) > 0 || odb_has(s, row->oid, 1) > 0)) {
		row->verified = 1;
		ct->state = 0;
	} else {
		for (size_t j = 0; j < i; j++)
			if (c->cuts[j].state == 1 && !memcmp(c->cuts[j].xxh, ct->xxh, 16)) {
				ct->state = 2;
				break;
			}
	}
	return 0;
}

static int second_pass(struct store *s, const unsigned char *p, size_t len, size_t i, void *data)
{
	struct large_ctx *c = data;
	struct cut *ct = &c->cuts[i];
	XXH128_canonical_t xc;
	unsigned char *oid = c->oids + 20 * i;
	int err;

	if (ct->state != 1) {
		struct chunk_row *row = ct_find(&s->ct, ct->xxh);
		if (!row)
			return mlp_error_set(MLP_ERROR, "chunk table lost a row");
		memcpy(oid, row->oid, 20);
		s->prog.done += len;
		progress(s, 0);
		return 0;
	}
	/* a change between the passes shows in the file's times (checked after) */
	(void)xc;
	{
		uint64_t start;
		uint32_t crc, adler;
		int level = choose_level(p, len);
		struct chunk_row *row;
		if ((err = hash_and_write(s, c->pack, p, len, level, oid, &start, &crc, &adler)) < 0 ||
		    (err = mlp_pack_write_blob_end(c->pack, start, crc, adler, level, oid)) < 0)
			return err;
		row = ct_put(&s->ct, ct->xxh, oid);
		row->verified = 1;
	}
	c->new_bytes += len;
	s->prog.done += len;
	s->prog.new_bytes += len;
	progress(s, 0);
	return 0;
}

static int store_large(struct store *s, int fd, const struct stat *st, const char *rel,
		       XXH3_state_t *xs, unsigned char **oids_out, size_t *n_out,
		       uint64_t *new_bytes, uint64_t *total)
{
	struct large_ctx c;
	size_t fresh = 0;
	int err;

	memset(&c, 0, sizeof(c));
	c.rel = rel;
	err = chunk_pass(s, fd, rel, &c.cuts, &c.ncuts, NULL, 0, xs, first_pass, &c);
	*total = 0;
	for (size_t i = 0; !err && i < c.ncuts; i++) {
		*total += c.cuts[i].len;
		fresh += c.cuts[i].state == 1;
	}
	if (!err && (*total != (uint64_t)st->st_size || changed_since(fd, st)))
		err = mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
	if (!err && fresh)
		err = mlp_pack_open_counted(&c.pack, s->objects_dir, (uint32_t)fresh);
	c.oids = mlp_calloc(c.ncuts + 1, 20);
	if (!err)
		err = chunk_pass(s, fd, rel, NULL, NULL, c.cuts, c.ncuts, NULL, second_pass, &c);
	if (!err && changed_since(fd, st))
		err = mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
	if (c.pack) {
		if (!err) {
			err = mlp_pack_finish(c.pack, NULL);
			git_odb_refresh(s->odb);
		} else {
			mlp_pack_abort(c.pack);
		}
	}
	free(c.cuts);
	if (err) {
		free(c.oids);
		return err;
	}
	*oids_out = c.oids;
	*n_out = c.ncuts;
	*new_bytes = c.new_bytes;
	return 0;
}

static int store_regular(struct store *s, const char *abs, const char *rel, const struct stat *lst)
{
	struct stat st;
	struct stat_row *cached = sc_find(&s->sc, rel);
	unsigned mode = (lst->st_mode & 0111) ? 0100755 : 0100644;
	struct mlp_artifact *a;
	XXH3_state_t *xs = NULL;
	unsigned char *oids = NULL;
	size_t n_oids = 0;
	int fd, err = 0, fresh;
	uint64_t new_bytes = 0;
	unsigned char oid[20];

	if (cached && stat_matches(cached, lst) && cached->mode == mode &&
	    (cached->type == MLP_ART_FILE || cached->type == MLP_ART_CHUNKED) &&
	    odb_has(s, cached->oid, 1) > 0) {
		a = add_file(s, rel);
		a->type = cached->type;
		a->mode = mode;
		hex_of(a->oid, cached->oid, 20);
		a->size = cached->size;
		hex_of(a->xxh128, cached->xxh, 16);
		a->chunks = cached->chunks;
		s->prog.done += a->size;
		return 0;
	}
	fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return mlp_error_set(MLP_ERROR, "cannot open '%s': %s", rel, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_dev != lst->st_dev || st.st_ino != lst->st_ino) {
		close(fd);
		return mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
	}
	s->prog.path = rel;
	if (!s->buf) {
		s->buf_size = 2 * (size_t)MLP_CHUNK_MAX;
		s->buf = mlp_malloc(s->buf_size);
	}
	xs = XXH3_createState();
	XXH3_128bits_reset(xs);
	if ((uint64_t)st.st_size < MLP_CHUNK_MIN) {
		size_t got;
		/* a small file is one blob; read one byte more to see it did not grow */
		if (read_full(fd, s->buf, MLP_CHUNK_MIN, &got) < 0) {
			err = mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rel, strerror(errno));
			goto done;
		}
		if (got != (size_t)st.st_size || changed_since(fd, &st)) {
			err = mlp_error_set(MLP_ECONFLICT, "'%s' changed while it was stored", rel);
			goto done;
		}
		XXH3_128bits_update(xs, s->buf, got);
		if ((err = store_blob(s, s->buf, got, oid, &fresh)) < 0)
			goto done;
		a = add_file(s, rel);
		a->type = MLP_ART_FILE;
		hex_of(a->oid, oid, 20);
		a->chunks = 1;
		new_bytes = fresh ? got : 0;
		s->prog.done += got;
		s->prog.new_bytes += new_bytes;
	} else {
		struct mlp_manifest m;
		uint64_t total = 0;

		if ((err = store_large(s, fd, &st, rel, xs, &oids, &n_oids, &new_bytes, &total)) < 0)
			goto done;
		memset(&m, 0, sizeof(m));
		m.size = total;
		xxh_hex(m.xxh128, XXH3_128bits_digest(xs));
		m.chunks = n_oids;
		m.mode = mode;
		if ((err = chunk_tree(s, oid, oids, n_oids, &m)) < 0)
			goto done;
		a = add_file(s, rel);
		a->type = MLP_ART_CHUNKED;
		hex_of(a->oid, oid, 20);
		a->chunks = n_oids;
	}
	a->mode = mode;
	a->size = (uint64_t)st.st_size;
	xxh_hex(a->xxh128, XXH3_128bits_digest(xs));
	a->new_bytes = new_bytes;
	/* remember it, unless it changed so recently that a same-tick write could hide */
	{
		int64_t now = now_ns(), newest = ts_ns(&st.st_mtim);
		if (ts_ns(&st.st_ctim) > newest)
			newest = ts_ns(&st.st_ctim);
		if (now - newest > 100000000) {
			struct stat_row r;
			XXH128_canonical_t c;
			r.path = (char *)rel;
			r.dev = (uint64_t)st.st_dev;
			r.ino = (uint64_t)st.st_ino;
			r.size = (uint64_t)st.st_size;
			r.mtime = ts_ns(&st.st_mtim);
			r.ctime = ts_ns(&st.st_ctim);
			r.type = (uint8_t)a->type;
			r.mode = mode;
			unhex(r.oid, a->oid, 20);
			XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xs));
			memcpy(r.xxh, c.digest, 16);
			r.chunks = a->chunks;
			sc_put(&s->sc, &r);
		}
	}
done:
	XXH3_freeState(xs);
	free(oids);
	close(fd);
	return err;
}

static int store_symlink(struct store *s, const char *abs, const char *rel)
{
	char target[MLP_MAX_PATH_LEN + 1];
	ssize_t n = readlink(abs, target, sizeof(target));
	struct mlp_artifact *a;
	unsigned char oid[20];
	int err;

	if (n < 0)
		return mlp_error_set(MLP_ERROR, "cannot read link '%s': %s", rel, strerror(errno));
	if ((size_t)n > MLP_MAX_PATH_LEN)
		return mlp_error_set(MLP_ELIMIT, "link '%s' is too long", rel);
	if ((err = odb_write(s, oid, target, (size_t)n, GIT_OBJECT_BLOB)) < 0)
		return err;
	a = add_file(s, rel);
	a->type = MLP_ART_SYMLINK;
	a->mode = 0120000;
	hex_of(a->oid, oid, 20);
	a->size = (uint64_t)n;
	xxh_hex(a->xxh128, XXH3_128bits(target, (size_t)n));
	a->chunks = 1;
	return 0;
}

static int store_path(struct store *s, const char *abs, const char *rel, int depth);

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int store_dir(struct store *s, const char *abs, const char *rel, int depth)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t nr = 0, alloc = 0;
	struct mlp_buf a = MLP_BUF_INIT, r = MLP_BUF_INIT;
	int err = 0;

	if (depth > MLP_MAX_DEPTH * 8)
		return mlp_error_set(MLP_ELIMIT, "'%s' is nested too deeply", rel);
	if (!(d = opendir(abs)))
		return mlp_error_set(MLP_ERROR, "cannot open directory '%s': %s", rel, strerror(errno));
	while ((e = readdir(d))) {
		if (!mlp_artifact_name_ok(e->d_name, strlen(e->d_name)))
			continue;	/* ".", "..", and never a .git */
		if (!strcmp(e->d_name, ".mlpfile")) {
			swarn(s, "'%s/.mlpfile' cannot be stored (the name is reserved); skipped", rel);
			continue;
		}
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 32;
			names = mlp_realloc(names, alloc * sizeof(*names));
		}
		names[nr++] = mlp_strdup(e->d_name);
	}
	closedir(d);
	mlp_qsort(names, nr, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nr && !err; i++) {
		mlp_buf_reset(&a);
		mlp_buf_reset(&r);
		mlp_buf_addf(&a, "%s/%s", abs, names[i]);
		mlp_buf_addf(&r, "%s/%s", rel, names[i]);
		err = store_path(s, a.buf, r.buf, depth + 1);
	}
	for (size_t i = 0; i < nr; i++)
		free(names[i]);
	free(names);
	mlp_buf_release(&a);
	mlp_buf_release(&r);
	return err;
}

static int store_path(struct store *s, const char *abs, const char *rel, int depth)
{
	struct stat st;

	if (lstat(abs, &st) < 0) {
		if (errno == ENOENT)
			return mlp_error_set(MLP_ENOTFOUND, "artifact '%s' does not exist", rel);
		return mlp_error_set(MLP_ERROR, "cannot store '%s': %s", rel, strerror(errno));
	}
	if (S_ISLNK(st.st_mode))
		return store_symlink(s, abs, rel);
	if (S_ISDIR(st.st_mode))
		return store_dir(s, abs, rel, depth);
	if (S_ISREG(st.st_mode))
		return store_regular(s, abs, rel, &st);
	swarn(s, "artifact '%s' is not a file, directory or symlink; skipped", rel);
	return 0;
}

/* ---- from a user's path to a path in the work tree ------------------------------ */

/*
 * The path relative to the work tree root of `path` (relative to `cwd`).
 * Directories on the way are resolved (a symlinked directory that leads
 * out of the work tree is refused); the last component is kept as it is,
 * so a symlink is stored as a link.
 */
static int work_tree_path(struct mlp_repo *repo, const char *cwd, const char *path,
			  char **abs_out, char **rel_out)
{
	struct mlp_buf full = MLP_BUF_INIT, parent = MLP_BUF_INIT, out = MLP_BUF_INIT;
	char *wd = NULL, *rp = NULL, *base;
	const char *workdir = mlp_repo_workdir(repo);
	size_t wl;
	int err = 0;

	*abs_out = *rel_out = NULL;
	if (!workdir)
		return mlp_error_set(MLP_EINVALID, "artifacts need a work tree");
	if (path[0] == '/')
		mlp_buf_adds(&full, path);
	else
		mlp_buf_addf(&full, "%s/%s", cwd, path);
	while (full.len > 1 && full.buf[full.len - 1] == '/')
		full.buf[--full.len] = '\0';
	base = strrchr(full.buf, '/');
	mlp_buf_add(&parent, full.buf, (size_t)(base - full.buf));
	if (!parent.len)
		mlp_buf_addch(&parent, '/');
	base++;
	if (!(wd = realpath(workdir, NULL))) {
		err = mlp_error_set(MLP_ERROR, "cannot resolve the work tree: %s", strerror(errno));
		goto done;
	}
	if (!(rp = realpath(parent.buf, NULL))) {
		err = mlp_error_set(errno == ENOENT ? MLP_ENOTFOUND : MLP_ERROR,
				    "cannot store '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!strcmp(base, "..") || !strcmp(base, ".")) {
		/* "dir/.." and "." name directories: resolve them whole */
		free(rp);
		if (!(rp = realpath(full.buf, NULL))) {
			err = mlp_error_set(MLP_ERROR, "cannot store '%s': %s", path, strerror(errno));
			goto done;
		}
		base = strrchr(rp, '/');
		*base++ = '\0';
		mlp_buf_reset(&parent);
		mlp_buf_adds(&parent, *rp ? rp : "/");
		mlp_buf_reset(&full);
		mlp_buf_addf(&full, "%s/%s", parent.buf, base);	/* base points into rp */
		base = full.buf + parent.len + 1;
		free(rp);
		rp = mlp_strdup(parent.buf);
	}
	wl = strlen(wd);
	if (strncmp(rp, wd, wl) || (rp[wl] && rp[wl] != '/')) {
		err = mlp_error_set(MLP_EINVALID, "'%s' is outside the work tree", path);
		goto done;
	}
	if (rp[wl])
		mlp_buf_addf(&out, "%s/", rp + wl + 1);
	mlp_buf_adds(&out, base);
	if (!out.len || !*base) {
		err = mlp_error_set(MLP_EINVALID, "'%s' is the whole work tree; name files or directories in it", path);
		goto done;
	}
	if (!mlp_artifact_path_ok(out.buf) || !strcmp(base, ".mlpfile")) {
		err = mlp_error_set(MLP_EINVALID, "'%s' cannot be stored (a .git directory?)", path);
		goto done;
	}
	{
		/* `base` may point into `full` itself */
		struct mlp_buf a = MLP_BUF_INIT;
		mlp_buf_addf(&a, "%s/%s", rp, base);
		*abs_out = mlp_buf_detach(&a, NULL);
	}
	*rel_out = mlp_buf_detach(&out, NULL);
done:
	free(wd);
	free(rp);
	mlp_buf_release(&full);
	mlp_buf_release(&parent);
	mlp_buf_release(&out);
	return err;
}

/* ---- the artifacts tree ------------------------------------------------------------ */

struct tree_item {
	const char *name;
	size_t len;
	int is_tree;
	unsigned mode;
	unsigned char oid[20];
};

/* git's order: names compare as if a tree's had a '/' after it */
static int cmp_item(const void *pa, const void *pb)
{
	const struct tree_item *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = a->len > n ? (unsigned char)a->name[n] : a->is_tree ? '/' : 0;
	cb = b->len > n ? (unsigned char)b->name[n] : b->is_tree ? '/' : 0;
	return (int)ca - (int)cb;
}

/* files[lo..hi) share the first `skip` bytes of their path (a directory). */
static int build_tree(git_odb *odb, unsigned char out[20], struct mlp_artifact *files,
		      size_t lo, size_t hi, size_t skip)
{
	struct tree_item *items = mlp_calloc(hi - lo + 1, sizeof(*items));
	struct mlp_buf tree = MLP_BUF_INIT;
	size_t n = 0, i = lo;
	int err = 0;
	git_oid oid;

	while (i < hi && !err) {
		const char *rest = files[i].path + skip;
		const char *slash = strchr(rest, '/');
		struct tree_item *it = &items[n++];

		it->name = rest;
		if (!slash) {
			it->len = strlen(rest);
			it->is_tree = files[i].type == MLP_ART_CHUNKED;
			it->mode = it->is_tree ? 040000 : files[i].mode;
			if (unhex(it->oid, files[i].oid, 20) < 0)
				err = mlp_error_set(MLP_ECORRUPT, "bad id of '%s'", files[i].path);
			i++;
		} else {
			size_t j = i + 1, len = (size_t)(slash - rest);
			while (j < hi && !strncmp(files[j].path + skip, rest, len + 1))
				j++;
			it->len = len;
			it->is_tree = 1;
			it->mode = 040000;
			err = build_tree(odb, it->oid, files, i, j, skip + len + 1);
			i = j;
		}
	}
	mlp_qsort(items, n, sizeof(*items), cmp_item);
	for (size_t k = 0; k < n && !err; k++) {
		if (k && !cmp_item(&items[k - 1], &items[k]))
			err = mlp_error_set(MLP_EINVALID, "'%.*s' is stored twice", (int)items[k].len, items[k].name);
		mlp_buf_addf(&tree, "%o ", items[k].mode);
		mlp_buf_add(&tree, items[k].name, items[k].len);
		mlp_buf_addch(&tree, '\0');
		mlp_buf_add(&tree, items[k].oid, 20);
	}
	if (!err) {
		if (git_odb_write(&oid, odb, tree.buf, tree.len, GIT_OBJECT_TREE) < 0)
			err = mlp_git_error(MLP_ERROR, "cannot write the artifacts tree");
		else
			memcpy(out, oid.id, 20);
	}
	free(items);
	mlp_buf_release(&tree);
	return err;
}

static int under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* Replaces the run's entries at or under each captured root by the new files. */
static int merge_into_run(struct store *s, struct mlp_run *run, char **roots, size_t nroots)
{
	struct mlp_artifact *all = mlp_calloc(run->artifact_nr + s->files_nr + 1, sizeof(*all));
	size_t n = 0;
	unsigned char tree[20];
	int err;

	for (size_t i = 0; i < run->artifact_nr; i++) {
		struct mlp_artifact *a = &run->artifact[i];
		int drop = 0;
		unsigned char raw[20];
		for (size_t r = 0; r < nroots && !drop; r++)
			drop = under(a->path, roots[r]);
		/* a stored file where a new one needs a directory */
		for (size_t f = 0; f < s->files_nr && !drop; f++)
			drop = under(s->files[f].path, a->path);
		/* an entry of a damaged list whose object is gone would break the tree */
		if (!drop && (unhex(raw, a->oid, 20) < 0 || odb_has(s, raw, 1) <= 0)) {
			swarn(s, "artifact '%s' of run %s is missing from the repository; dropped", a->path, run->id);
			drop = 1;
		}
		if (drop) {
			free(a->path);
			continue;
		}
		all[n++] = *a;
	}
	for (size_t f = 0; f < s->files_nr; f++) {
		all[n++] = s->files[f];
		s->files[f].path = NULL;
	}
	s->files_nr = 0;
	free(run->artifact);
	/* a path captured twice (a glob and a name): once */
	mlp_qsort(all, n, sizeof(*all), cmp_artifact);
	{
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (k && !strcmp(all[k - 1].path, all[i].path)) {
				free(all[k - 1].path);
				all[k - 1] = all[i];
				continue;
			}
			all[k++] = all[i];
		}
		n = k;
	}
	run->artifact = all;
	run->artifact_nr = n;
	if (!n) {
		run->artifacts[0] = '\0';
		return 0;
	}
	if ((err = build_tree(s->odb, tree, all, 0, n, 0)) < 0)
		return err;
	hex_of(run->artifacts, tree, 20);
	return 0;
}

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int mlp_artifact_capture(struct mlp_repo *repo, struct mlp_run *run,
			 const char *const *paths, size_t n,
			 const struct mlp_artifact_opts *o, size_t *stored)
{
	struct store s;
	char here[PATH_MAX];
	const char *cwd = o && o->cwd ? o->cwd : getcwd(here, sizeof(here));
	char **roots = NULL;
	size_t nroots = 0;
	int err = 0, quiet = o && o->quiet;
	struct mlp_buf pat = MLP_BUF_INIT;

	if (stored)
		*stored = 0;
	if (!n)
		return 0;
	if (!cwd)
		return mlp_error_set(MLP_ERROR, "cannot get the current directory: %s", strerror(errno));
	if ((err = store_open(&s, repo, o)) < 0) {
		store_close(&s, 0);
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		glob_t g;
		size_t nm = 1;
		int globbed = 0;

		memset(&g, 0, sizeof(g));
		if (has_glob(paths[i])) {
			mlp_buf_reset(&pat);
			if (paths[i][0] == '/')
				mlp_buf_adds(&pat, paths[i]);
			else
				mlp_buf_addf(&pat, "%s/%s", cwd, paths[i]);
			if (glob(pat.buf, 0, NULL, &g) != 0 || !g.gl_pathc) {
				if (!quiet)
					swarn(&s, "artifact '%s' matches no file", paths[i]);
				globfree(&g);
				continue;
			}
			nm = g.gl_pathc;
			globbed = 1;
		}
		for (size_t k = 0; k < nm && !err; k++) {
			const char *p = globbed ? g.gl_pathv[k] : paths[i];
			char *abs = NULL, *rel = NULL;
			size_t before = s.files_nr;
			int e = work_tree_path(repo, cwd, p, &abs, &rel);

			if (e == MLP_ENOTFOUND) {
				if (!quiet)
					swarn(&s, "artifact '%s' does not exist", p);
				continue;
			}
			if (e < 0) {
				err = e;
				break;
			}
			e = store_path(&s, abs, rel, 0);
			if (e == MLP_ECONFLICT || e == MLP_ENOTFOUND) {
				/* being written right now: the next capture gets it */
				if (!quiet)
					swarn(&s, "%s", mlp_error_message());
				for (size_t f = before; f < s.files_nr; f++)
					free(s.files[f].path);
				s.files_nr = before;
			} else if (e < 0) {
				err = e;
			} else {
				roots = mlp_realloc(roots, (nroots + 1) * sizeof(*roots));
				roots[nroots++] = rel;
				rel = NULL;
			}
			free(abs);
			free(rel);
		}
		globfree(&g);
	}
	progress(&s, 1);
	if (!err) {
		size_t got = s.files_nr;
		/* chunks must be in the object database before trees name them */
		if ((err = store_flush_pack(&s)) == 0 && nroots)
			err = merge_into_run(&s, run, roots, nroots);
		if (!err && stored)
			*stored = got;
	}
	{
		int cerr = store_close(&s, !err);
		if (!err)
			err = cerr;
	}
	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	mlp_buf_release(&pat);
	return err;
}

int mlp_artifact_capture_queue(struct mlp_repo *repo, struct mlp_run *run,
			       const struct mlp_artifact_opts *o)
{
	char **q = run->artifact_queue;
	size_t n = run->artifact_queue_nr;
	int err;

	if (!n)
		return 0;
	run->artifact_queue = NULL;
	run->artifact_queue_nr = 0;
	err = mlp_artifact_capture(repo, run, (const char *const *)q, n, o, NULL);
	for (size_t i = 0; i < n; i++)
		free(q[i]);
	free(q);
	return err;
}

/* ---- reading: one file of an untrusted artifacts tree -------------------------------- */

/* What a file of the tree holds, checked before a byte is written. */
struct source {
	enum mlp_artifact_type type;
	unsigned mode;
	git_oid oid;		/* blob, or tree of chunks */
	uint64_t size;
	char xxh128[33];	/* expected; "" when nothing records it */
	git_blob *blob;		/* small file or symlink: loaded */
	git_oid *chunks;	/* chunked: ids in order */
	uint32_t *chunk_len;	/* and sizes, from the objects' headers */
	uint64_t nchunks;
};

static void source_free(struct source *src)
{
	git_blob_free(src->blob);
	free(src->chunks);
	free(src->chunk_len);
	memset(src, 0, sizeof(*src));
}

static int blob_size(git_odb *odb, const git_oid *oid, size_t *len)
{
	git_object_t type;

	if (git_odb_read_header(len, &type, odb, oid) < 0)
		return mlp_git_error(MLP_ECORRUPT, "missing object");
	if (type != GIT_OBJECT_BLOB)
		return mlp_error_set(MLP_ECORRUPT, "object is not a blob");
	return 0;
}

static const struct mlp_artifact *listed(const struct mlp_run *run, const char *path)
{
	size_t lo = 0, hi = run->artifact_nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(run->artifact[mid].path, path);
		if (!c)
			return &run->artifact[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Loads a tree entry as a source; every count and size checked. */
static int source_open(struct source *src, git_repository *git, git_odb *odb,
		       const git_tree_entry *e, int chunked, const struct mlp_artifact *rec)
{
	git_filemode_t fm = git_tree_entry_filemode(e);
	size_t len;
	int err;

	memset(src, 0, sizeof(*src));
	git_oid_cpy(&src->oid, git_tree_entry_id(e));
	if (!chunked) {
		if (fm != GIT_FILEMODE_BLOB && fm != GIT_FILEMODE_BLOB_EXECUTABLE && fm != GIT_FILEMODE_LINK)
			return mlp_error_set(MLP_ECORRUPT, "unexpected mode %o", (unsigned)fm);
		src->type = fm == GIT_FILEMODE_LINK ? MLP_ART_SYMLINK : MLP_ART_FILE;
		src->mode = (unsigned)fm;
		if ((err = blob_size(odb, &src->oid, &len)) < 0)
			return err;
		if (len > (src->type == MLP_ART_SYMLINK ? (size_t)MLP_MAX_PATH_LEN : (size_t)MLP_CHUNK_MAX))
			return mlp_error_set(MLP_ELIMIT, "a single blob of %zu bytes (larger than the writer makes)", len);
		if (git_blob_lookup(&src->blob, git, &src->oid) < 0)
			return mlp_git_error(MLP_ECORRUPT, "cannot read blob");
		src->size = (uint64_t)git_blob_rawsize(src->blob);
		if (src->type == MLP_ART_SYMLINK) {
			if (!src->size || memchr(git_blob_rawcontent(src->blob), '\0', src->size))
				return mlp_error_set(MLP_ECORRUPT, "bad symlink target");
		}
		if (rec && rec->type == src->type && rec->xxh128[0] && rec->size == src->size)
			memcpy(src->xxh128, rec->xxh128, 33);
		else if (rec && (rec->type != src->type || rec->size != src->size))
			return mlp_error_set(MLP_ECORRUPT, "artifacts.mp disagrees with the tree (type or size)");
		return 0;
	}
	{
		git_tree *t = NULL;
		const git_tree_entry *me;
		git_blob *mb = NULL;
		struct mlp_manifest m;
		uint64_t sum = 0;
		size_t count;

		if (git_tree_lookup(&t, git, &src->oid) < 0)
			return mlp_git_error(MLP_ECORRUPT, "cannot read the tree of chunks");
		count = git_tree_entrycount(t);
		me = git_tree_entry_byname(t, ".mlpfile");
		err = 0;
		if (!me || git_tree_entry_type(me) != GIT_OBJECT_BLOB) {
			err = mlp_error_set(MLP_ECORRUPT, "no .mlpfile manifest");
		} else if ((err = blob_size(odb, git_tree_entry_id(me), &len)) == 0) {
			if (len > 4096)
				err = mlp_error_set(MLP_ELIMIT, ".mlpfile is %zu bytes", len);
			else if (git_blob_lookup(&mb, git, git_tree_entry_id(me)) < 0)
				err = mlp_git_error(MLP_ECORRUPT, ".mlpfile");
			else
				err = mlp_manifest_decode(&m, git_blob_rawcontent(mb), (size_t)git_blob_rawsize(mb));
		}
		git_blob_free(mb);
		if (!err && count != m.chunks + 1)
			err = mlp_error_set(MLP_ECORRUPT, "manifest says %llu chunks, the tree has %zu entries",
					    (unsigned long long)m.chunks, count - 1);
		if (!err) {
			src->type = MLP_ART_CHUNKED;
			src->mode = m.mode;
			src->size = m.size;
			memcpy(src->xxh128, m.xxh128, 33);
			src->nchunks = m.chunks;
			src->chunks = mlp_calloc(m.chunks, sizeof(git_oid));
			src->chunk_len = mlp_calloc(m.chunks, sizeof(uint32_t));
		}
		/* .mlpfile sorts first; then exactly 000000, 000001, ... */
		for (uint64_t i = 0; !err && i < m.chunks; i++) {
			const git_tree_entry *ce = git_tree_entry_byindex(t, (size_t)i + 1);
			const char *name = git_tree_entry_name(ce);
			char want[32];
			snprintf(want, sizeof(want), "%06llu", (unsigned long long)i);
			if (strcmp(name, want) || git_tree_entry_type(ce) != GIT_OBJECT_BLOB) {
				err = mlp_error_set(MLP_ECORRUPT, "chunk %llu is missing or misnamed ('%s')",
						    (unsigned long long)i, name);
				break;
			}
			if ((err = blob_size(odb, git_tree_entry_id(ce), &len)) < 0)
				break;
			if (len > MLP_CHUNK_MAX || (!len && m.size)) {
				err = mlp_error_set(MLP_ECORRUPT, "chunk %llu has %zu bytes", (unsigned long long)i, len);
				break;
			}
			sum += len;
			src->chunk_len[i] = (uint32_t)len;
			git_oid_cpy(&src->chunks[i], git_tree_entry_id(ce));
		}
		if (!err && git_tree_entry_byindex(t, 0) != me)
			err = mlp_error_set(MLP_ECORRUPT, "unexpected entry before .mlpfile");
		if (!err && sum != m.size)
			err = mlp_error_set(MLP_ECORRUPT, "manifest size %llu disagrees with its chunks (%llu bytes)",
					    (unsigned long long)m.size, (unsigned long long)sum);
		if (!err && rec && (rec->type != MLP_ART_CHUNKED || rec->size != m.size ||
				    (rec->xxh128[0] && strcmp(rec->xxh128, m.xxh128))))
			err = mlp_error_set(MLP_ECORRUPT, "artifacts.mp disagrees with the manifest");
		git_tree_free(t);
		return err;
	}
}

/*
 * Chunk i of a chunked source into `dst` (exactly its size): straight from
 * its pack when it is stored there as the writer stores it (`pr` may be
 * NULL), through libgit2 otherwise.
 */
static int chunk_fetch(struct source *src, git_repository *git, struct mlp_pack_reader *pr,
		       uint64_t i, unsigned char *dst)
{
	size_t len = src->chunk_len[i];
	git_blob *b = NULL;
	int got = pr ? mlp_pack_read_stored(pr, src->chunks[i].id, dst, len) : 0;

	if (got)
		return got < 0 ? got : 0;
	if (git_blob_lookup(&b, git, &src->chunks[i]) < 0)
		return mlp_git_error(MLP_ECORRUPT, "cannot read chunk");
	if ((size_t)git_blob_rawsize(b) != len) {
		git_blob_free(b);
		return mlp_error_set(MLP_ECORRUPT, "chunk %llu changed size while it was read",
				     (unsigned long long)i);
	}
	memcpy(dst, git_blob_rawcontent(b), len);
	git_blob_free(b);
	return 0;
}

/*
 * Streams the content to `out` (checkout of a chunked file: the chunks are
 * read straight into the writer's buffers), else to `sink` (may be NULL),
 * and checks the XXH3-128 it should have.  Chunks are read one at a time:
 * memory stays bounded.
 */
static int source_read(struct source *src, git_repository *git, struct mlp_pack_reader *pr,
		       struct mlp_dio *out, int (*sink)(void *data, const void *buf, size_t len), void *data,
		       uint64_t *progress_bytes, void (*tick)(void *), void *tick_data)
{
	XXH3_state_t *xs = XXH3_createState();
	char got[33];
	uint64_t total = 0;
	unsigned char *scratch = NULL;
	int err = 0;

	XXH3_128bits_reset(xs);
	if (src->type != MLP_ART_CHUNKED) {
		const void *p = git_blob_rawcontent(src->blob);
		size_t len = (size_t)git_blob_rawsize(src->blob);
		XXH3_128bits_update(xs, p, len);
		if (sink)
			err = sink(data, p, len);
		total = len;
	} else {
		for (uint64_t i = 0; i < src->nchunks && !err; i++) {
			size_t len = src->chunk_len[i];
			unsigned char *dst;
			if (len > MLP_CHUNK_MAX || total + len > src->size) {
				err = mlp_error_set(MLP_ECORRUPT, "chunk %llu is larger than recorded",
						    (unsigned long long)i);
				break;
			}
			if (out) {
				if (!(dst = mlp_dio_reserve(out, len))) {
					err = MLP_ERROR;
					break;
				}
			} else {
				if (!scratch)
					scratch = mlp_malloc(MLP_CHUNK_MAX);
				dst = scratch;
			}
			if ((err = chunk_fetch(src, git, pr, i, dst)) < 0)
				break;
			XXH3_128bits_update(xs, dst, len);
			if (out)
				mlp_dio_commit(out, len);
			else if (sink)
				err = sink(data, dst, len);
			total += len;
			if (progress_bytes)
				*progress_bytes += len;
			if (tick)
				tick(tick_data);
		}
	}
	free(scratch);
	xxh_hex(got, XXH3_128bits_digest(xs));
	XXH3_freeState(xs);
	if (!err && total != src->size)
		err = mlp_error_set(MLP_ECORRUPT, "content is %llu bytes, %llu recorded",
				    (unsigned long long)total, (unsigned long long)src->size);
	if (!err && src->xxh128[0] && strcmp(got, src->xxh128))
		err = mlp_error_set(MLP_ECORRUPT, "content does not match its recorded xxh128");
	if (!err && !src->xxh128[0])
		memcpy(src->xxh128, got, 33);
	return err;
}

/* The expected xxh128 of a source whose record has none (a small blob). */
static void source_expect(struct source *src)
{
	if (!src->xxh128[0] && src->blob)
		xxh_hex(src->xxh128, XXH3_128bits(git_blob_rawcontent(src->blob),
						  (size_t)git_blob_rawsize(src->blob)));
}

/* ---- walking the tree ----------------------------------------------------------- */

struct walk {
	git_repository *git;
	git_odb *odb;
	const struct mlp_run *run;
	const char *const *sel;
	size_t nsel;
	unsigned char *sel_hit;
	/* called per file; `e` and the path stay valid during the call */
	int (*file)(struct walk *w, const char *path, const git_tree_entry *e, int chunked);
	void (*problem)(struct walk *w, const char *path, const char *msg);
	void *data;
	size_t files, problems;
};

static int selected(struct walk *w, const char *path, int is_dir)
{
	int any = 0;

	if (!w->nsel)
		return 1;
	for (size_t i = 0; i < w->nsel; i++) {
		if (under(path, w->sel[i])) {
			w->sel_hit[i] = 1;
			any = 1;
		} else if (is_dir && under(w->sel[i], path)) {
			any = 1;	/* a selection lies deeper */
		}
	}
	return any;
}

static int walk_tree(struct walk *w, const git_oid *oid, const char *prefix, int depth)
{
	git_tree *t = NULL;
	struct mlp_buf path = MLP_BUF_INIT;
	size_t n;
	int err = 0;

	if (depth > MLP_MAX_DEPTH * 8) {
		w->problems++;
		w->problem(w, prefix, "nested too deeply");
		return 0;
	}
	if (git_tree_lookup(&t, w->git, oid) < 0) {
		w->problems++;
		w->problem(w, *prefix ? prefix : "artifacts", "tree is missing or not a tree");
		return 0;
	}
	n = git_tree_entrycount(t);
	if (n > MLP_MAX_ARTIFACTS) {
		w->problems++;
		w->problem(w, *prefix ? prefix : "artifacts", "too many entries");
		git_tree_free(t);
		return 0;
	}
	for (size_t i = 0; i < n && err >= 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);

		mlp_buf_reset(&path);
		if (*prefix)
			mlp_buf_addf(&path, "%s/", prefix);
		mlp_buf_adds(&path, name);
		if (!mlp_artifact_name_ok(name, strlen(name)) || !strcmp(name, ".mlpfile") ||
		    path.len > MLP_MAX_PATH_LEN) {
			w->problems++;
			w->problem(w, path.buf, "refusing an unsafe name in the artifacts tree");
			continue;
		}
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			git_tree *sub = NULL;
			int chunked = 0;
			if (git_tree_lookup(&sub, w->git, git_tree_entry_id(e)) == 0) {
				chunked = git_tree_entry_byname(sub, ".mlpfile") != NULL;
				git_tree_free(sub);
			}
			if (!selected(w, path.buf, !chunked))
				continue;
			if (chunked) {
				w->files++;
				err = w->file(w, path.buf, e, 1);
			} else {
				err = walk_tree(w, git_tree_entry_id(e), path.buf, depth + 1);
			}
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			if (!selected(w, path.buf, 0))
				continue;
			w->files++;
			err = w->file(w, path.buf, e, 0);
		} else {
			w->problems++;
			w->problem(w, path.buf, "not a file, directory or symlink (a submodule?)");
		}
	}
	git_tree_free(t);
	mlp_buf_release(&path);
	return err;
}

static int walk_run(struct walk *w, struct mlp_repo *repo, const struct mlp_run *run,
		    const char *const *sel, size_t nsel)
{
	git_oid root;
	int err;

	w->git = repo->git;
	w->run = run;
	w->sel = sel;
	w->nsel = nsel;
	w->sel_hit = mlp_calloc(nsel + 1, 1);
	if (git_repository_odb(&w->odb, repo->git) < 0) {
		free(w->sel_hit);
		return mlp_git_error(MLP_ERROR, "cannot open object database");
	}
	if (!run->artifacts[0]) {
		err = 0;
	} else if (git_oid_fromstr(&root, run->artifacts) < 0) {
		err = mlp_error_set(MLP_ECORRUPT, "bad artifacts tree id");
	} else {
		err = walk_tree(w, &root, "", 0);
	}
	for (size_t i = 0; i < nsel && err >= 0; i++)
		if (!w->sel_hit[i]) {
			w->problems++;
			w->problem(w, sel[i], "no such artifact in the run");
		}
	free(w->sel_hit);
	git_odb_free(w->odb);
	return err;
}

/* ---- verify (fsck) -------------------------------------------------------------- */

struct verify_ctx {
	void (*problem)(void *data, const char *path, const char *msg);
	void *data;
	char **seen;
	size_t seen_nr;
};

static void verify_problem(struct walk *w, const char *path, const char *msg)
{
	struct verify_ctx *v = w->data;
	if (v->problem)
		v->problem(v->data, path, msg);
}

static int verify_file(struct walk *w, const char *path, const git_tree_entry *e, int chunked)
{
	const struct mlp_artifact *rec = listed(w->run, path);
	struct source src;
	int err;

	if (!rec && w->run->artifact_nr) {
		w->problems++;
		verify_problem(w, path, "in the artifacts tree but not in artifacts.mp");
	}
	err = source_open(&src, w->git, w->odb, e, chunked, rec);
	if (!err)
		err = source_read(&src, w->git, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (err < 0) {
		w->problems++;
		verify_problem(w, path, mlp_error_message());
	}
	source_free(&src);
	return 0;
}

int mlp_artifact_verify(struct mlp_repo *repo, const struct mlp_run *run,
			void (*problem)(void *data, const char *path, const char *msg),
			void *data, size_t *nproblems)
{
	struct verify_ctx v = { problem, data, NULL, 0 };
	struct walk w;
	int err;

	memset(&w, 0, sizeof(w));
	w.file = verify_file;
	w.problem = verify_problem;
	w.data = &v;
	err = walk_run(&w, repo, run, NULL, 0);
	/* every listed file must be in the tree */
	if (err >= 0 && run->artifact_nr) {
		git_oid root;
		git_tree *t = NULL;
		if (!run->artifacts[0] || git_oid_fromstr(&root, run->artifacts) < 0 ||
		    git_tree_lookup(&t, repo->git, &root) < 0) {
			w.problems++;
			verify_problem(&w, "artifacts", "artifacts.mp lists files but the run has no artifacts tree");
		} else {
			for (size_t i = 0; i < run->artifact_nr; i++) {
				git_tree_entry *te = NULL;
				if (git_tree_entry_bypath(&te, t, run->artifact[i].path) < 0) {
					w.problems++;
					verify_problem(&w, run->artifact[i].path, "listed in artifacts.mp but not in the tree");
				}
				git_tree_entry_free(te);
			}
		}
		git_tree_free(t);
	}
	if (nproblems)
		*nproblems = w.problems;
	return err < 0 ? err : 0;
}

/* ---- checkout ------------------------------------------------------------------- */

struct checkout_ctx {
	const struct mlp_checkout_opts *o;
	struct mlp_pack_reader *packs;	/* chunks read without libgit2 */
	int root;		/* directory fd of the target */
	size_t written, failed;
	unsigned tmp_seq;
	struct mlp_progress prog;
	int64_t start_ms, last_ms;
};

static void co_error(struct walk *w, const char *path, const char *msg)
{
	struct checkout_ctx *c = w->data;
	struct mlp_buf b = MLP_BUF_INIT;

	c->failed++;
	mlp_buf_addf(&b, "%s: %s", path, msg);
	if (c->o && c->o->error)
		c->o->error(c->o->error_data, b.buf);
	mlp_buf_release(&b);
}

static void co_tick(void *data)
{
	struct checkout_ctx *c = data;
	int64_t now = mono_ms();

	if (!c->o || !c->o->progress || now - c->last_ms < 100)
		return;
	c->last_ms = now;
	c->prog.elapsed_ms = now - c->start_ms;
	c->o->progress(c->o->progress_data, &c->prog, 0);
}

/* Opens the directory holding `path` under the root, creating it; no symlink followed. */
static int open_parent(int root, const char *path, const char **base)
{
	int fd = dup(root);
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		char comp[256];
		int next;

		if (!slash)
			break;
		if ((size_t)(slash - p) >= sizeof(comp)) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, comp, 0777) < 0 && errno != EEXIST) {
				close(fd);
				return -1;
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(fd);
		if (next < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				errno = ENOTDIR;
			return -1;
		}
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

static int fd_sink(void *data, const void *buf, size_t len)
{
	int fd = *(int *)data;
	const char *s = buf;

	while (len) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return mlp_error_set(MLP_ERROR, "write failed: %s", strerror(errno));
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* XXH3-128 of an existing file, for "already up to date". */
static int file_xxh(int dfd, const char *name, char out[33])
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	XXH3_state_t *xs;
	unsigned char *buf;
	ssize_t r;

	if (fd < 0)
		return -1;
	xs = XXH3_createState();
	buf = mlp_malloc(1u << 20);
	XXH3_128bits_reset(xs);
	while ((r = read(fd, buf, 1u << 20)) > 0)
		XXH3_128bits_update(xs, buf, (size_t)r);
	xxh_hex(out, XXH3_128bits_digest(xs));
	XXH3_freeState(xs);
	free(buf);
	close(fd);
	return r < 0 ? -1 : 0;
}

/* A link's target may not leave the target directory, judged by its text. */
static int link_stays_inside(const char *path, const char *target, size_t len)
{
	long depth = 0;
	const char *p = target, *end = target + len;

	if (!len || target[0] == '/')
		return 0;
	for (const char *q = path; *q; q++)
		depth += *q == '/';
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n + (slash ? 1 : 0);
	}
	return 1;
}

/* The regular file in the way is o->replaceable's artifact at `path`, byte for byte. */
static int replaceable(const struct checkout_ctx *c, int dfd, const char *base, const char *path,
		       const struct stat *st)
{
	const struct mlp_artifact *a = c->o && c->o->replaceable ? listed(c->o->replaceable, path) : NULL;
	char have[33];

	return a && a->type != MLP_ART_SYMLINK && a->xxh128[0] && S_ISREG(st->st_mode) &&
	       (uint64_t)st->st_size == a->size && file_xxh(dfd, base, have) == 0 && !strcmp(have, a->xxh128);
}

static int checkout_file(struct walk *w, const char *path, const git_tree_entry *e, int chunked)
{
	struct checkout_ctx *c = w->data;
	struct source src;
	const char *base = NULL;
	char tmp[64], have[33];
	struct stat st;
	int dfd = -1, fd = -1, err;

	c->prog.path = path;
	err = source_open(&src, w->git, w->odb, e, chunked, listed(w->run, path));
	if (err < 0) {
		co_error(w, path, mlp_error_message());
		goto done;
	}
	source_expect(&src);
	dfd = open_parent(c->root, path, &base);
	if (dfd < 0) {
		co_error(w, path, errno == ENOTDIR ? "a file or symlink on its way is in the way"
			 : strerror(errno));
		goto done;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			co_error(w, path, "a directory is in the way");
			goto done;
		}
		if (src.type != MLP_ART_SYMLINK && S_ISREG(st.st_mode) && src.xxh128[0] &&
		    (uint64_t)st.st_size == src.size && file_xxh(dfd, base, have) == 0 &&
		    !strcmp(have, src.xxh128)) {
			/* already there: only the mode may need fixing */
			if ((st.st_mode & 0111 ? 0100755u : 0100644u) != src.mode)
				fchmodat(dfd, base, src.mode == 0100755 ? (st.st_mode | 0111) & 07777
					 : st.st_mode & 07666, 0);
			c->written++;
			c->prog.done += src.size;
			goto done;
		}
		if (src.type == MLP_ART_SYMLINK && S_ISLNK(st.st_mode)) {
			char cur[MLP_MAX_PATH_LEN + 1];
			ssize_t n = readlinkat(dfd, base, cur, sizeof(cur));
			if (n >= 0 && (uint64_t)n == src.size &&
			    !memcmp(cur, git_blob_rawcontent(src.blob), (size_t)n)) {
				c->written++;
				goto done;
			}
		}
		if ((!c->o || !c->o->force) && !replaceable(c, dfd, base, path, &st)) {
			co_error(w, path, "exists and differs; not overwritten (use --force)");
			goto done;
		}
	}
	snprintf(tmp, sizeof(tmp), ".mlp-tmp-%ld-%u", (long)getpid(), c->tmp_seq++);
	if (src.type == MLP_ART_SYMLINK) {
		const char *target = git_blob_rawcontent(src.blob);
		char *t = mlp_strndup(target, (size_t)src.size);
		if (!link_stays_inside(path, target, (size_t)src.size)) {
			co_error(w, path, "symlink target leads outside the target directory; refused");
			free(t);
			goto done;
		}
		if (symlinkat(t, dfd, tmp) < 0 || renameat(dfd, tmp, dfd, base) < 0) {
			co_error(w, path, strerror(errno));
			unlinkat(dfd, tmp, 0);
		} else {
			c->written++;
		}
		free(t);
		goto done;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    src.mode == 0100755 ? 0777 : 0666);
	if (fd < 0) {
		co_error(w, path, strerror(errno));
		goto done;
	}
	if (src.type == MLP_ART_CHUNKED) {
		/* large: read into big buffers written on another thread */
		struct mlp_dio *dio = NULL;
		err = mlp_dio_open(&dio, fd, src.size);
		if (!err)
			err = source_read(&src, w->git, c->packs, dio, NULL, NULL, &c->prog.done, co_tick, c);
		if (!err)
			err = mlp_dio_finish(dio);
		else
			mlp_dio_abort(dio);
	} else {
		err = source_read(&src, w->git, NULL, NULL, fd_sink, &fd, NULL, NULL, NULL);
		if (!err)
			c->prog.done += src.size;
	}
	if (!err && close(fd) < 0)
		err = mlp_error_set(MLP_ERROR, "write failed: %s", strerror(errno));
	else if (err)
		close(fd);
	fd = -1;
	if (!err && renameat(dfd, tmp, dfd, base) < 0)
		err = mlp_error_set(MLP_ERROR, "cannot rename into place: %s", strerror(errno));
	if (err) {
		unlinkat(dfd, tmp, 0);
		co_error(w, path, mlp_error_message());
	} else {
		c->written++;
	}
done:
	if (dfd >= 0)
		close(dfd);
	source_free(&src);
	return 0;
}

static void checkout_problem(struct walk *w, const char *path, const char *msg)
{
	co_error(w, path, msg);
}

int mlp_artifact_checkout(struct mlp_repo *repo, const struct mlp_run *run,
			  const char *const *paths, size_t n,
			  const struct mlp_checkout_opts *o, size_t *written, size_t *failed)
{
	struct checkout_ctx c;
	struct walk w;
	const char *dir = o && o->dir ? o->dir : mlp_repo_workdir(repo);
	char **sel = mlp_calloc(n + 1, sizeof(char *));
	int err;

	*written = *failed = 0;
	if (!dir) {
		free(sel);
		return mlp_error_set(MLP_EINVALID, "no work tree: use -o <dir>");
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);
		const char *p = paths[i];
		while (len && p[len - 1] == '/')
			len--;
		while (len > 2 && p[0] == '.' && p[1] == '/') {
			p += 2;
			len -= 2;
		}
		sel[i] = mlp_strndup(p, len);
	}
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.start_ms = c.last_ms = mono_ms();
	c.prog.what = "checking out";
	if (o && o->dir && mkdir(dir, 0777) < 0 && errno != EEXIST) {
		err = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	c.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.root < 0) {
		err = mlp_error_set(MLP_ERROR, "cannot open '%s': %s", dir, strerror(errno));
		goto done;
	}
	for (size_t i = 0; i < run->artifact_nr; i++)
		c.prog.total += run->artifact[i].size;
	memset(&w, 0, sizeof(w));
	w.file = checkout_file;
	w.problem = checkout_problem;
	w.data = &c;
	{
		struct mlp_buf objdir = MLP_BUF_INIT;
		mlp_buf_addf(&objdir, "%sobjects", git_repository_commondir(repo->git));
		mlp_pack_reader_open(&c.packs, objdir.buf);
		mlp_buf_release(&objdir);
	}
	/* every file is checked against its xxh128 as a whole: skip libgit2's
	 * per-object SHA-1, which would halve the speed */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	/* and keep the pack windows libgit2 maps (and so the RSS) bounded */
	{
		size_t old_limit = 0, old_size = 0;
		git_libgit2_opts(GIT_OPT_GET_MWINDOW_MAPPED_LIMIT, &old_limit);
		git_libgit2_opts(GIT_OPT_GET_MWINDOW_SIZE, &old_size);
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)64 << 20);
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)32 << 20);
		err = walk_run(&w, repo, run, (const char *const *)sel, n);
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, old_limit);
		git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, old_size);
	}
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
	mlp_pack_reader_free(c.packs);
	close(c.root);
	if (o && o->progress) {
		c.prog.elapsed_ms = mono_ms() - c.start_ms;
		c.prog.path = NULL;
		o->progress(o->progress_data, &c.prog, 1);
	}
	*written = c.written;
	*failed = c.failed;
done:
	for (size_t i = 0; i < n; i++)
		free(sel[i]);
	free(sel);
	return err < 0 ? err : 0;
}

/* ---- gc ---------------------------------------------------------------------------- */

static size_t count_loose(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	struct mlp_buf p = MLP_BUF_INIT;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		mlp_buf_reset(&p);
		mlp_buf_addf(&p, "%s/%s", dir, e->d_name);
		if (lstat(p.buf, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8)
			n += count_loose(p.buf, depth + 1);
		else if (S_ISREG(st.st_mode))
			n++;
	}
	closedir(d);
	mlp_buf_release(&p);
	return n;
}

/*
 * Rebuilding the chunk table from the runs: every blob of every run's
 * artifacts tree (small files and chunks, not manifests or links) that no
 * row names yet is read once and its XXH3-128 recorded.  Trees shared by
 * many runs are walked once.  A table that was kept costs only the walk;
 * a deleted one costs one read of the stored artifacts.
 */
struct oidset {
	unsigned char *keys;	/* 20 bytes per slot; all zero = empty */
	size_t nr, nslots;
};

static int oidset_add(struct oidset *s, const unsigned char oid[20])
{
	static const unsigned char zero[20];
	size_t i;

	if (!memcmp(oid, zero, 20))
		return 0;
	if (2 * (s->nr + 1) > s->nslots) {
		struct oidset n = { NULL, 0, s->nslots ? 2 * s->nslots : 1024 };
		n.keys = mlp_calloc(n.nslots, 20);
		for (size_t k = 0; k < s->nslots; k++)
			if (memcmp(s->keys + 20 * k, zero, 20))
				oidset_add(&n, s->keys + 20 * k);
		free(s->keys);
		*s = n;
	}
	for (i = rd64(oid) & (s->nslots - 1); memcmp(s->keys + 20 * i, zero, 20); i = (i + 1) & (s->nslots - 1))
		if (!memcmp(s->keys + 20 * i, oid, 20))
			return 0;
	memcpy(s->keys + 20 * i, oid, 20);
	s->nr++;
	return 1;
}

struct rebuild {
	struct store *s;
	struct oidset blobs, trees;
	size_t added;
	uint64_t bytes_read;
};

static void rebuild_blob(struct rebuild *rb, const git_oid *oid)
{
	git_odb_object *obj = NULL;
	size_t len;
	git_object_t type;
	XXH128_canonical_t xc;

	if (!oidset_add(&rb->blobs, oid->id))
		return;
	/* another repository's run may name anything: only blobs the writer could make */
	if (git_odb_read_header(&len, &type, rb->s->odb, oid) < 0 || type != GIT_OBJECT_BLOB ||
	    len > MLP_CHUNK_MAX || git_odb_read(&obj, rb->s->odb, oid) < 0)
		return;
	XXH128_canonicalFromHash(&xc, XXH3_128bits(git_odb_object_data(obj), git_odb_object_size(obj)));
	if (!ct_find(&rb->s->ct, xc.digest)) {
		ct_put(&rb->s->ct, xc.digest, oid->id)->verified = 1;
		rb->added++;
	}
	rb->bytes_read += git_odb_object_size(obj);
	git_odb_object_free(obj);
}

static void rebuild_tree(struct rebuild *rb, const git_oid *oid, int depth)
{
	git_tree *t = NULL;
	size_t n;

	if (depth > MLP_MAX_DEPTH * 8 || !oidset_add(&rb->trees, oid->id) ||
	    git_tree_lookup(&t, rb->s->repo->git, oid) < 0)
		return;
	n = git_tree_entrycount(t);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		git_filemode_t fm = git_tree_entry_filemode(e);

		if (fm == GIT_FILEMODE_TREE)
			rebuild_tree(rb, git_tree_entry_id(e), depth + 1);
		else if ((fm == GIT_FILEMODE_BLOB || fm == GIT_FILEMODE_BLOB_EXECUTABLE) &&
			 strcmp(git_tree_entry_name(e), ".mlpfile"))
			rebuild_blob(rb, git_tree_entry_id(e));
	}
	git_tree_free(t);
}

static int rebuild_chunk_table(struct store *s, size_t *added, uint64_t *bytes_read)
{
	struct rebuild rb;
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int err = 0;

	memset(&rb, 0, sizeof(rb));
	rb.s = s;
	/* rows kept are known: their blobs need no reading */
	for (size_t i = 0; i < s->ct.nr; i++)
		oidset_add(&rb.blobs, s->ct.rows[i].oid);
	if (git_reference_iterator_glob_new(&it, s->repo->git, MLP_REF_PREFIX "*") < 0)
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	while ((err = git_reference_next(&ref, it)) == 0) {
		git_commit *c = NULL;
		git_tree *root = NULL;
		const git_tree_entry *e;
		git_oid target;

		if (git_reference_name_to_id(&target, s->repo->git, git_reference_name(ref)) == 0 &&
		    git_commit_lookup(&c, s->repo->git, &target) == 0 && git_commit_tree(&root, c) == 0 &&
		    (e = git_tree_entry_byname(root, "artifacts")) && git_tree_entry_type(e) == GIT_OBJECT_TREE)
			rebuild_tree(&rb, git_tree_entry_id(e), 0);
		git_tree_free(root);
		git_commit_free(c);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	free(rb.blobs.keys);
	free(rb.trees.keys);
	*added = rb.added;
	*bytes_read = rb.bytes_read;
	if (err != GIT_ITEROVER)
		return mlp_git_error(MLP_ERROR, "cannot list run refs");
	return 0;
}

int mlp_artifact_gc(struct mlp_repo *repo, struct mlp_gc_stats *st)
{
	struct store s;
	struct mlp_buf refs = MLP_BUF_INIT, path = MLP_BUF_INIT;
	git_refdb *refdb = NULL;
	const char *wd = mlp_repo_workdir(repo);
	size_t kept;
	int err;

	memset(st, 0, sizeof(*st));
	if ((err = store_open(&s, repo, NULL)) < 0) {
		store_close(&s, 0);
		return err;
	}
	git_odb_refresh(s.odb);
	st->bytes_before = s.ct.file_size + s.sc.file_size;
	st->chunk_rows = s.ct.nr;
	kept = 0;
	for (size_t i = 0; i < s.ct.nr; i++)
		if (odb_has(&s, s.ct.rows[i].oid, 0) > 0)
			s.ct.rows[kept++] = s.ct.rows[i];
	st->chunk_dropped = s.ct.nr - kept;
	s.ct.nr = kept;
	ct_rehash(&s.ct);
	if ((err = rebuild_chunk_table(&s, &st->chunk_added, &st->chunk_bytes_read)) < 0) {
		store_close(&s, 0);
		return err;
	}
	st->stat_rows = s.sc.nr;
	kept = 0;
	for (size_t i = 0; i < s.sc.nr; i++) {
		struct stat_row *r = &s.sc.rows[i];
		struct stat fst;
		int keep = 0;
		mlp_buf_reset(&path);
		if (wd) {
			mlp_buf_addf(&path, "%s%s", wd, r->path);
			keep = lstat(path.buf, &fst) == 0 && S_ISREG(fst.st_mode) && stat_matches(r, &fst) &&
			       odb_has(&s, r->oid, 0) > 0;
		}
		if (keep)
			s.sc.rows[kept++] = *r;
		else
			free(r->path);
	}
	st->stat_dropped = s.sc.nr - kept;
	s.sc.nr = kept;
	if ((err = ct_save(&s.ct, s.chunks_path)) == 0)
		err = sc_save(&s.sc, s.stat_path);
	st->bytes_after = s.ct.file_size + s.sc.file_size;
	if (!s.ct.nr && !s.sc.nr) {
		/* nothing was cached: leave no empty files behind */
		unlink(s.chunks_path);
		unlink(s.stat_path);
		st->bytes_after = 0;
	}
	mlp_buf_addf(&refs, "%srefs/mlp", git_repository_commondir(repo->git));
	st->loose_refs_before = count_loose(refs.buf, 0);
	if (!err && st->loose_refs_before) {
		if (git_repository_refdb(&refdb, repo->git) < 0 || git_refdb_compress(refdb) < 0)
			err = mlp_git_error(MLP_ERROR, "cannot pack refs");
		git_refdb_free(refdb);
	}
	st->loose_refs_after = count_loose(refs.buf, 0);
	s.ct.dirty = s.sc.dirty = 0;
	{
		int cerr = store_close(&s, 1);
		if (!err)
			err = cerr;
	}
	mlp_buf_release(&refs);
	mlp_buf_release(&path);
	return err;
}
