/*
 * Pack and index writer (see pack.h).  Formats: git's
 * Documentation/gitformat-pack.txt: "PACK", version 2, object count,
 * entries, SHA-1 of everything before; the .idx v2 has a 256-entry
 * fan-out, sorted ids, CRC-32s of each entry's bytes, 31-bit offsets
 * (larger ones through a table of 64-bit offsets), the pack checksum and
 * its own checksum.
 */
#include "pack.h"
#include "internal.h"
#include "cksum.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <pthread.h>
#include <zlib.h>

#define ZBUF_SIZE (256u << 10)
#define STORED_MAX 65535u
#define IOV_BATCH 512

static int io_error(const char *what, const char *path)
{
	return mlp_error_set(MLP_ERROR, "cannot %s '%s': %s", what, path, strerror(errno));
}

#define STAGE_SIZE (8u << 20)
#define STAGE_FLUSH (4u << 20)
#define ALIGN 4096u

/*
 * The I/O thread of a counted pack: O_DIRECT writes wait for the device,
 * so they happen here while the caller fills the next buffer.  The pack
 * trailer's SHA-1 is computed here too, over each buffer just before it
 * is written: every byte of the pack goes out exactly once and in order,
 * so hashing what is written hashes the pack, and it takes a third of
 * the ingest's CPU work off the thread that reads and cuts the file.
 */
struct mlp_pack_writer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *bufs[2];	/* p->stage is bufs[cur]; the other may be in flight */
	int cur;
	const unsigned char *out;
	size_t len;
	int busy, quit, err;
	int fd;
	struct mlp_sha1 *sha;	/* the pack's; only this thread's while busy */
};

static void *writer_main(void *arg)
{
	struct mlp_pack_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		size_t off = 0;
		int e = 0;

		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mu);
		mlp_sha1_update(w->sha, w->out, w->len);
		while (off < w->len) {
			ssize_t n = write(w->fd, w->out + off, w->len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				e = n < 0 ? errno : EIO;
				break;
			}
			off += (size_t)n;
		}
		pthread_mutex_lock(&w->mu);
		if (e && !w->err)
			w->err = e;
		w->busy = 0;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits for the buffer in flight; returns the first write errno or 0. */
static int writer_wait(struct mlp_pack_writer *w)
{
	int e;

	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	pthread_mutex_unlock(&w->mu);
	return e;
}

static void writer_start(struct mlp_pack *p)
{
	struct mlp_pack_writer *w = mlp_calloc(1, sizeof(*w));
	void *mem;

	if (posix_memalign(&mem, ALIGN, STAGE_SIZE)) {
		free(w);
		return;
	}
	w->bufs[0] = p->stage;
	w->bufs[1] = mem;
	w->fd = p->fd;
	w->sha = &p->sha;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->th, NULL, writer_main, w)) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(mem);
		free(w);
		return;
	}
	p->writer = w;
}

static void writer_stop(struct mlp_pack *p)
{
	struct mlp_pack_writer *w = p->writer;

	if (!w)
		return;
	writer_wait(w);
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->bufs[1 - w->cur]);	/* bufs[cur] is p->stage, freed with the pack */
	free(w);
	p->writer = NULL;
}

static int stage_flush(struct mlp_pack *p, int all)
{
	size_t n = all ? p->stage_len : p->stage_len & ~(size_t)(ALIGN - 1);
	size_t off = 0;

	if (p->writer) {
		struct mlp_pack_writer *w = p->writer;
		int e = writer_wait(w);
		if (e) {
			errno = e;
			return io_error("write", p->tmp_path);
		}
		if (!all) {
			unsigned char *next = w->bufs[1 - w->cur];
			memcpy(next, p->stage + n, p->stage_len - n);
			pthread_mutex_lock(&w->mu);
			w->out = p->stage;
			w->len = n;
			w->busy = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			w->cur = 1 - w->cur;
			p->stage = next;
			p->stage_len -= n;
			return 0;
		}
	}
	if (all && p->direct && (n & (ALIGN - 1))) {
		/* the unaligned tail goes out through the page cache */
		int fl = fcntl(p->fd, F_GETFL);
		if (fl < 0 || fcntl(p->fd, F_SETFL, fl & ~O_DIRECT) < 0)
			return io_error("write", p->tmp_path);
		p->direct = 0;
	}
	mlp_sha1_update(&p->sha, p->stage, n);
	while (off < n) {
		ssize_t w = write(p->fd, p->stage + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_error("write", p->tmp_path);
		off += (size_t)w;
	}
	memmove(p->stage, p->stage + n, p->stage_len - n);
	p->stage_len -= n;
	return 0;
}

/* Counted packs: every byte through the staging buffer, hashed when written. */
static int emit(struct mlp_pack *p, const void *data, size_t len)
{
	const unsigned char *s = data;

	p->size += len;
	while (len) {
		size_t take = STAGE_SIZE - p->stage_len < len ? STAGE_SIZE - p->stage_len : len;
		memcpy(p->stage + p->stage_len, s, take);
		p->stage_len += take;
		s += take;
		len -= take;
		if (p->stage_len >= STAGE_FLUSH) {
			int err = stage_flush(p, 0);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

int mlp_pack_open_counted(struct mlp_pack **out, const char *objects_dir, uint32_t count)
{
	struct mlp_pack *p;
	unsigned char hdr[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2 };
	int err = mlp_pack_open(&p, objects_dir), fl;
	void *mem;

	*out = NULL;
	if (err < 0)
		return err;
	if (lseek(p->fd, 0, SEEK_SET) < 0 || ftruncate(p->fd, 0) < 0) {
		err = io_error("rewind", p->tmp_path);
		mlp_pack_abort(p);
		return err;
	}
	p->size = 0;
	p->expect = count;
	if (posix_memalign(&mem, ALIGN, STAGE_SIZE)) {
		mlp_pack_abort(p);
		return mlp_error_set(MLP_ERROR, "out of memory");
	}
	p->stage = mem;
	fl = fcntl(p->fd, F_GETFL);
	p->direct = fl >= 0 && getenv("MLP_PACK_NO_DIRECT") == NULL &&
		    fcntl(p->fd, F_SETFL, fl | O_DIRECT) == 0;
	mlp_sha1_init(&p->sha);
	writer_start(p);
	hdr[8] = (unsigned char)(count >> 24);
	hdr[9] = (unsigned char)(count >> 16);
	hdr[10] = (unsigned char)(count >> 8);
	hdr[11] = (unsigned char)count;
	if ((err = emit(p, hdr, sizeof(hdr))) < 0) {
		mlp_pack_abort(p);
		return err;
	}
	*out = p;
	return 0;
}

int mlp_pack_open(struct mlp_pack **out, const char *objects_dir)
{
	struct mlp_pack *p = mlp_calloc(1, sizeof(*p));
	struct mlp_buf b = MLP_BUF_INIT;
	static const unsigned char hdr[12] = { 'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0 };

	*out = NULL;
	p->fd = -1;
	mlp_buf_addf(&b, "%s/pack", objects_dir);
	p->dir = mlp_buf_detach(&b, NULL);
	mlp_buf_addf(&b, "%s/tmp_mlp_pack_XXXXXX", p->dir);
	p->tmp_path = mlp_buf_detach(&b, NULL);
	if (mkdir(p->dir, 0777) < 0 && errno != EEXIST) {
		int err = io_error("create", p->dir);
		mlp_pack_abort(p);
		return err;
	}
	p->fd = mkostemp(p->tmp_path, O_CLOEXEC);
	if (p->fd < 0) {
		int err = io_error("create", p->tmp_path);
		free(p->tmp_path);
		p->tmp_path = NULL;
		mlp_pack_abort(p);
		return err;
	}
	if (write(p->fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		int err = io_error("write", p->tmp_path);
		mlp_pack_abort(p);
		return err;
	}
	p->size = sizeof(hdr);
	*out = p;
	return 0;
}

size_t mlp_pack_count(const struct mlp_pack *p)
{
	return p->nr;
}

static int writev_all(struct mlp_pack *p, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(p->fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return io_error("write", p->tmp_path);
		}
		p->size += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_all(struct mlp_pack *p, const void *data, size_t len, uint32_t *crc)
{
	struct iovec iov = { (void *)data, len };

	*crc = mlp_crc32(*crc, data, len);
	if (p->expect)
		return emit(p, data, len);
	return writev_all(p, &iov, 1);
}

static size_t object_header(unsigned char *h, int type, uint64_t size)
{
	size_t n = 0;
	unsigned char c = (unsigned char)((type << 4) | (size & 15));

	size >>= 4;
	while (size) {
		h[n++] = c | 0x80;
		c = size & 0x7f;
		size >>= 7;
	}
	h[n++] = c;
	return n;
}

/* zlib "stored" blocks of at most 65535 bytes, written with writev. */
static int write_stored(struct mlp_pack *p, const unsigned char *data, size_t len, uint32_t *crc)
{
	unsigned char hdrs[IOV_BATCH][5];
	struct iovec iov[2 * IOV_BATCH];
	size_t off = 0;

	if (p->expect) {
		do {
			size_t take = len - off > STORED_MAX ? STORED_MAX : len - off;
			unsigned char h[5] = { off + take == len ? 1 : 0, (unsigned char)(take & 0xff),
					       (unsigned char)(take >> 8), (unsigned char)(~take & 0xff),
					       (unsigned char)((~take >> 8) & 0xff) };
			int err;
			if (crc) {
				*crc = mlp_crc32(*crc, h, 5);
				*crc = mlp_crc32(*crc, data + off, take);
			}
			if ((err = emit(p, h, 5)) < 0 || (err = emit(p, data + off, take)) < 0)
				return err;
			off += take;
		} while (off < len);
		return 0;
	}

	do {
		int n = 0, blocks = 0;
		while (blocks < IOV_BATCH && (off < len || (!len && !blocks))) {
			size_t take = len - off > STORED_MAX ? STORED_MAX : len - off;
			unsigned char *h = hdrs[blocks++];
			h[0] = off + take == len ? 1 : 0;
			h[1] = (unsigned char)(take & 0xff);
			h[2] = (unsigned char)(take >> 8);
			h[3] = (unsigned char)(~take & 0xff);
			h[4] = (unsigned char)((~take >> 8) & 0xff);
			*crc = mlp_crc32(*crc, h, 5);
			iov[n].iov_base = h;
			iov[n++].iov_len = 5;
			if (take) {
				*crc = mlp_crc32(*crc, data + off, take);
				iov[n].iov_base = (void *)(data + off);
				iov[n++].iov_len = take;
			}
			off += take;
			if (!len)
				break;
		}
		int err = writev_all(p, iov, n);
		if (err < 0)
			return err;
	} while (off < len);
	return 0;
}

static int write_deflated(struct mlp_pack *p, const unsigned char *data, size_t len, int level,
			  uint32_t *crc)
{
	z_stream z;
	int zerr, err = 0;

	if (!p->zbuf)
		p->zbuf = mlp_malloc(ZBUF_SIZE);
	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, level) != Z_OK)
		return mlp_error_set(MLP_ERROR, "zlib: cannot start deflate");
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = p->zbuf;
		z.avail_out = ZBUF_SIZE;
		zerr = deflate(&z, Z_FINISH);
		if (zerr != Z_OK && zerr != Z_STREAM_END && zerr != Z_BUF_ERROR) {
			err = mlp_error_set(MLP_ERROR, "zlib: deflate failed");
			break;
		}
		if ((err = write_all(p, p->zbuf, ZBUF_SIZE - z.avail_out, crc)) < 0)
			break;
	} while (zerr != Z_STREAM_END);
	deflateEnd(&z);
	return err;
}

int mlp_pack_write_blob_begin(struct mlp_pack *p, const void *data, size_t len,
			      int level, uint64_t *start, uint32_t *crc)
{
	unsigned char h[16];
	size_t n = object_header(h, 3, len);
	int err;

	*start = p->size;
	if (!crc) {
		uint32_t ignored = 0;
		if (level > 0 || !p->expect)
			return mlp_error_set(MLP_ERROR, "deferred CRC needs a stored object in a counted pack");
		h[n++] = 0x78;
		h[n++] = 0x01;
		if ((err = write_all(p, h, n, &ignored)) < 0)
			return err;
		return write_stored(p, data, len, NULL);
	}
	*crc = (uint32_t)crc32(0, NULL, 0);
	if (level > 0) {
		if ((err = write_all(p, h, n, crc)) < 0)
			return err;
		return write_deflated(p, data, len, level, crc);
	}
	h[n++] = 0x78;	/* zlib header: deflate, 32 KiB window, no dictionary */
	h[n++] = 0x01;
	if ((err = write_all(p, h, n, crc)) < 0)
		return err;
	return write_stored(p, data, len, crc);
}

uint32_t mlp_pack_stored_crc(uint64_t len, const uint32_t *block_crcs)
{
	unsigned char h[20];
	size_t n = object_header(h, 3, len);
	uLong crc;
	uint64_t off = 0;
	size_t i = 0;

	h[n++] = 0x78;
	h[n++] = 0x01;
	crc = crc32(0, h, (uInt)n);
	do {
		size_t take = len - off > MLP_PACK_BLOCK ? MLP_PACK_BLOCK : (size_t)(len - off);
		unsigned char b[5] = { off + take == len ? 1 : 0, (unsigned char)(take & 0xff),
				       (unsigned char)(take >> 8), (unsigned char)(~take & 0xff),
				       (unsigned char)((~take >> 8) & 0xff) };
		crc = crc32(crc, b, 5);
		if (take)
			crc = crc32_combine(crc, block_crcs[i], (z_off_t)take);
		i++;
		off += take;
	} while (off < len);
	return (uint32_t)crc;
}

int mlp_pack_write_blob_end(struct mlp_pack *p, uint64_t start, uint32_t crc,
			    uint32_t adler, int level, const unsigned char oid[20])
{
	struct mlp_pack_entry *e;
	int err;

	if (level <= 0) {
		unsigned char a[4] = { (unsigned char)(adler >> 24), (unsigned char)(adler >> 16),
				       (unsigned char)(adler >> 8), (unsigned char)adler };
		if ((err = write_all(p, a, 4, &crc)) < 0)
			return err;
	}
	if (p->nr == p->alloc) {
		p->alloc = p->alloc ? 2 * p->alloc : 64;
		p->entries = mlp_realloc(p->entries, p->alloc * sizeof(*p->entries));
	}
	e = &p->entries[p->nr++];
	memcpy(e->oid, oid, 20);
	e->crc = crc;
	e->offset = start;
	return 0;
}

int mlp_pack_drop_from(struct mlp_pack *p, uint64_t start)
{
	if (p->expect)
		return mlp_error_set(MLP_ERROR, "cannot take objects back from a counted pack");
	while (p->nr && p->entries[p->nr - 1].offset >= start)
		p->nr--;
	if (ftruncate(p->fd, (off_t)start) < 0 || lseek(p->fd, (off_t)start, SEEK_SET) < 0)
		return io_error("truncate", p->tmp_path);
	p->size = start;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(((const struct mlp_pack_entry *)a)->oid, ((const struct mlp_pack_entry *)b)->oid, 20);
}

static void put32(struct mlp_buf *b, uint32_t v)
{
	unsigned char c[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	mlp_buf_add(b, c, 4);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	const char *s = data;

	if (fd < 0)
		return io_error("create", path);
	while (len) {
		ssize_t w = write(fd, s, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = io_error("write", path);
			close(fd);
			unlink(path);
			return err;
		}
		s += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0) {
		unlink(path);
		return io_error("write", path);
	}
	return 0;
}

static void tohex(char *out, const unsigned char *d, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int mlp_pack_finish(struct mlp_pack *p, char name_out[41])
{
	unsigned char cnt[4], sum[20], *rbuf = NULL;
	struct mlp_sha1 c;
	struct mlp_buf idx = MLP_BUF_INIT, path = MLP_BUF_INIT;
	char hex[41];
	uint32_t fan[256] = { 0 };
	size_t large = 0;
	uint64_t off;
	int err = 0;

	if (name_out)
		name_out[0] = '\0';
	if (!p->nr) {
		mlp_pack_abort(p);
		return 0;
	}
	if (p->nr > UINT32_MAX) {
		mlp_pack_abort(p);
		return mlp_error_set(MLP_ELIMIT, "too many objects for one pack");
	}
	if (p->expect) {
		if (p->nr != p->expect) {
			mlp_pack_abort(p);
			return mlp_error_set(MLP_ERROR, "pack has %zu objects, %u announced", p->nr, p->expect);
		}
		if ((err = stage_flush(p, 1)) < 0)
			goto fail;
		writer_stop(p);
		mlp_sha1_final(sum, &p->sha);
		/* objects that ended on a block boundary left O_DIRECT on: the
		 * 20-byte trailer cannot go out that way */
		if (p->direct) {
			int fl = fcntl(p->fd, F_GETFL);
			if (fl < 0 || fcntl(p->fd, F_SETFL, fl & ~O_DIRECT) < 0) {
				err = io_error("write", p->tmp_path);
				goto fail;
			}
			p->direct = 0;
		}
		if (write(p->fd, sum, 20) != 20 || fchmod(p->fd, 0444) < 0 || close(p->fd) < 0) {
			p->fd = -1;
			err = io_error("write", p->tmp_path);
			goto fail;
		}
		p->fd = -1;
		goto indexed;
	}
	cnt[0] = (unsigned char)(p->nr >> 24);
	cnt[1] = (unsigned char)(p->nr >> 16);
	cnt[2] = (unsigned char)(p->nr >> 8);
	cnt[3] = (unsigned char)p->nr;
	if (pwrite(p->fd, cnt, 4, 8) != 4) {
		err = io_error("write", p->tmp_path);
		goto fail;
	}
	/* the header changed: hash the whole pack once more for the trailer */
	rbuf = mlp_malloc(1u << 20);
	mlp_sha1_init(&c);
	for (off = 0; off < p->size;) {
		size_t want = p->size - off > (1u << 20) ? (1u << 20) : (size_t)(p->size - off);
		ssize_t r = pread(p->fd, rbuf, want, (off_t)off);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			err = io_error("read back", p->tmp_path);
			goto fail;
		}
		mlp_sha1_update(&c, rbuf, (size_t)r);
		off += (uint64_t)r;
	}
	mlp_sha1_final(sum, &c);
	if (pwrite(p->fd, sum, 20, (off_t)p->size) != 20 || fchmod(p->fd, 0444) < 0 || close(p->fd) < 0) {
		p->fd = -1;
		err = io_error("write", p->tmp_path);
		goto fail;
	}
	p->fd = -1;
indexed:
	tohex(hex, sum, 20);

	/* the index */
	mlp_qsort(p->entries, p->nr, sizeof(*p->entries), cmp_entry);
	for (size_t i = 0; i < p->nr; i++)
		fan[p->entries[i].oid[0]]++;
	mlp_buf_add(&idx, "\377tOc", 4);
	put32(&idx, 2);
	for (uint32_t i = 0, sum_fan = 0; i < 256; i++) {
		sum_fan += fan[i];
		put32(&idx, sum_fan);
	}
	for (size_t i = 0; i < p->nr; i++)
		mlp_buf_add(&idx, p->entries[i].oid, 20);
	for (size_t i = 0; i < p->nr; i++)
		put32(&idx, p->entries[i].crc);
	for (size_t i = 0; i < p->nr; i++) {
		if (p->entries[i].offset < 0x80000000u)
			put32(&idx, (uint32_t)p->entries[i].offset);
		else
			put32(&idx, 0x80000000u | (uint32_t)large++);
	}
	for (size_t i = 0; i < p->nr; i++)
		if (p->entries[i].offset >= 0x80000000u) {
			put32(&idx, (uint32_t)(p->entries[i].offset >> 32));
			put32(&idx, (uint32_t)p->entries[i].offset);
		}
	mlp_buf_add(&idx, sum, 20);
	{
		unsigned char isum[20];
		mlp_sha1_init(&c);
		mlp_sha1_update(&c, idx.buf, idx.len);
		mlp_sha1_final(isum, &c);
		mlp_buf_add(&idx, isum, 20);
	}

	/* the pack first, then its index: git only looks at packs with one */
	mlp_buf_addf(&path, "%s/pack-%s.pack", p->dir, hex);
	if (rename(p->tmp_path, path.buf) < 0) {
		err = io_error("rename", p->tmp_path);
		goto fail;
	}
	free(p->tmp_path);
	p->tmp_path = NULL;
	mlp_buf_reset(&path);
	mlp_buf_addf(&path, "%s/tmp_mlp_idx_%s", p->dir, hex);
	unlink(path.buf);
	if ((err = write_file(path.buf, idx.buf, idx.len)) < 0)
		goto fail;
	{
		struct mlp_buf final = MLP_BUF_INIT;
		mlp_buf_addf(&final, "%s/pack-%s.idx", p->dir, hex);
		if (rename(path.buf, final.buf) < 0) {
			err = io_error("rename", path.buf);
			unlink(path.buf);
		}
		mlp_buf_release(&final);
		if (err < 0)
			goto fail;
	}
	if (name_out)
		memcpy(name_out, hex, 41);
fail:
	free(rbuf);
	mlp_buf_release(&idx);
	mlp_buf_release(&path);
	mlp_pack_abort(p);
	return err;
}

void mlp_pack_abort(struct mlp_pack *p)
{
	if (!p)
		return;
	writer_stop(p);
	if (p->fd >= 0)
		close(p->fd);
	if (p->tmp_path)
		unlink(p->tmp_path);
	free(p->tmp_path);
	free(p->dir);
	free(p->entries);
	free(p->zbuf);
	free(p->stage);
	free(p);
}

/* ---- reading stored blobs ------------------------------------------------------ */

struct reader_pack {
	char *path;			/* the .pack */
	const unsigned char *idx;	/* its .idx, mapped */
	size_t idx_len;
	uint32_t n;			/* objects */
	int fd;				/* -1 not opened yet, -2 cannot be */
	uint64_t size;
};

struct mlp_pack_reader {
	struct reader_pack *packs;
	size_t nr;
	size_t last;	/* the pack of the last hit: a file's chunks sit together */
};

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define IDX_HEAD (8 + 256 * 4)

/* Maps a version 2 index whose sizes add up; 0 when it is not one. */
static int map_idx(struct reader_pack *rp, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m;
	uint64_t n;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size < IDX_HEAD + 40 || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return 0;
	rp->idx = m;
	rp->idx_len = (size_t)st.st_size;
	n = get_be32(rp->idx + IDX_HEAD - 4);
	if (memcmp(rp->idx, "\377tOc\0\0\0\2", 8) || (uint64_t)IDX_HEAD + 28 * n + 40 > rp->idx_len) {
		munmap((void *)rp->idx, rp->idx_len);
		rp->idx = NULL;
		return 0;
	}
	rp->n = (uint32_t)n;
	return 1;
}

int mlp_pack_reader_open(struct mlp_pack_reader **out, const char *objects_dir)
{
	struct mlp_pack_reader *r = mlp_calloc(1, sizeof(*r));
	struct mlp_buf dir = MLP_BUF_INIT, path = MLP_BUF_INIT;
	size_t alloc = 0;
	DIR *d;
	struct dirent *e;

	*out = r;
	mlp_buf_addf(&dir, "%s/pack", objects_dir);
	d = opendir(dir.buf);
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct reader_pack rp;

		if (len < 9 || strncmp(e->d_name, "pack-", 5) || strcmp(e->d_name + len - 4, ".idx"))
			continue;
		memset(&rp, 0, sizeof(rp));
		mlp_buf_reset(&path);
		mlp_buf_addf(&path, "%s/%s", dir.buf, e->d_name);
		if (!map_idx(&rp, path.buf))
			continue;
		mlp_buf_reset(&path);
		mlp_buf_addf(&path, "%s/%.*s.pack", dir.buf, (int)(len - 4), e->d_name);
		rp.path = mlp_buf_detach(&path, NULL);
		rp.fd = -1;
		if (r->nr == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			r->packs = mlp_realloc(r->packs, alloc * sizeof(*r->packs));
		}
		r->packs[r->nr++] = rp;
	}
	if (d)
		closedir(d);
	mlp_buf_release(&dir);
	mlp_buf_release(&path);
	return 0;
}

void mlp_pack_reader_free(struct mlp_pack_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr; i++) {
		munmap((void *)r->packs[i].idx, r->packs[i].idx_len);
		if (r->packs[i].fd >= 0)
			close(r->packs[i].fd);
		free(r->packs[i].path);
	}
	free(r->packs);
	free(r);
}

/* The offset of `oid` in the pack, or 0 when the index does not list it. */
static uint64_t idx_find(const struct reader_pack *rp, const unsigned char oid[20])
{
	const unsigned char *fan = rp->idx + 8, *ids = rp->idx + IDX_HEAD;
	uint32_t lo = oid[0] ? get_be32(fan + 4 * (oid[0] - 1)) : 0, hi = get_be32(fan + 4 * oid[0]);
	uint32_t off32;

	if (lo > hi || hi > rp->n)
		return 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(ids + 20 * (size_t)mid, oid, 20);
		if (!c) {
			off32 = get_be32(rp->idx + IDX_HEAD + 24 * (size_t)rp->n + 4 * (size_t)mid);
			if (off32 & 0x80000000u) {
				size_t at = IDX_HEAD + 28 * (size_t)rp->n + 8 * (size_t)(off32 & 0x7fffffffu);
				if (at + 8 > rp->idx_len - 40)
					return 0;
				return (uint64_t)get_be32(rp->idx + at) << 32 | get_be32(rp->idx + at + 4);
			}
			return off32;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int pack_fd(struct reader_pack *rp)
{
	struct stat st;

	if (rp->fd == -1) {
		rp->fd = open(rp->path, O_RDONLY | O_CLOEXEC);
		if (rp->fd >= 0 && fstat(rp->fd, &st) == 0) {
			rp->size = (uint64_t)st.st_size;
			posix_fadvise(rp->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		} else {
			if (rp->fd >= 0)
				close(rp->fd);
			rp->fd = -2;
		}
	}
	return rp->fd;
}

/* preadv of the whole iovec, resumed after short reads; 0 or an errno. */
static int preadv_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = preadv(fd, iov, n > IOV_BATCH * 2 ? IOV_BATCH * 2 : n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int read_entry(struct reader_pack *rp, uint64_t off, unsigned char *buf, size_t len)
{
	unsigned char h[32], (*bh)[5];
	size_t i = 0, nblocks = (len + STORED_MAX - 1) / STORED_MAX;
	uint64_t size, data;
	unsigned shift = 4;
	struct iovec *iov;
	ssize_t got;
	int fd = pack_fd(rp), ok = 1, e;

	if (fd < 0 || off < 12 || off >= rp->size)
		return 0;
	do
		got = pread(fd, h, sizeof(h), (off_t)off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rp->path, strerror(errno));
	if (got < 16 || ((h[0] >> 4) & 7) != 3)
		return 0;
	size = h[0] & 15;
	while (h[i++] & 0x80) {
		if (i >= 11)
			return 0;
		size |= (uint64_t)(h[i] & 0x7f) << shift;
		shift += 7;
	}
	/* a zlib header for deflate without a preset dictionary */
	if (size != len || i + 2 > (size_t)got || (h[i] & 0x0f) != 8 || (h[i] << 8 | h[i + 1]) % 31 ||
	    (h[i + 1] & 0x20))
		return 0;
	data = off + i + 2;
	if (data + 5 * (uint64_t)nblocks + len + 4 + 20 > rp->size)
		return 0;
	bh = mlp_malloc(nblocks * 5);
	iov = mlp_malloc(2 * nblocks * sizeof(*iov));
	for (size_t k = 0; k < nblocks; k++) {
		size_t take = len - k * STORED_MAX > STORED_MAX ? STORED_MAX : len - k * STORED_MAX;
		iov[2 * k].iov_base = bh[k];
		iov[2 * k].iov_len = 5;
		iov[2 * k + 1].iov_base = buf + k * STORED_MAX;
		iov[2 * k + 1].iov_len = take;
	}
	e = preadv_all(fd, iov, (int)(2 * nblocks), data);
	/* stored blocks of 65535 bytes, the last one final: anything else is libgit2's */
	for (size_t k = 0; !e && ok && k < nblocks; k++) {
		size_t take = len - k * STORED_MAX > STORED_MAX ? STORED_MAX : len - k * STORED_MAX;
		ok = bh[k][0] == (k + 1 == nblocks ? 1 : 0) && bh[k][1] == (take & 0xff) &&
		     bh[k][2] == (take >> 8) && bh[k][3] == (~take & 0xff) && bh[k][4] == ((~take >> 8) & 0xff);
	}
	free(bh);
	free(iov);
	if (e)
		return e == EIO ? 0 : mlp_error_set(MLP_ERROR, "cannot read '%s': %s", rp->path, strerror(e));
	return ok;
}

int mlp_pack_read_stored(struct mlp_pack_reader *r, const unsigned char oid[20], void *buf, size_t len)
{
	if (!len || len > (1u << 30))
		return 0;
	for (size_t k = 0; k < r->nr; k++) {
		size_t i = (r->last + k) % r->nr;
		uint64_t off = idx_find(&r->packs[i], oid);
		if (off) {
			int got = read_entry(&r->packs[i], off, buf, len);
			if (got > 0)
				r->last = i;
			if (got)
				return got;
		}
	}
	return 0;
}
