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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define ZBUF_SIZE (256u << 10)
#define STORED_MAX 65535u
#define IOV_BATCH 512

static int io_error(const char *what, const char *path)
{
	return mlp_error_set(MLP_ERROR, "cannot %s '%s': %s", what, path, strerror(errno));
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

	*crc = (uint32_t)crc32(*crc, data, (uInt)len);
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
			*crc = (uint32_t)crc32(*crc, h, 5);
			iov[n].iov_base = h;
			iov[n++].iov_len = 5;
			if (take) {
				*crc = (uint32_t)crc32(*crc, data + off, (uInt)take);
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
	tohex(hex, sum, 20);

	/* the index */
	qsort(p->entries, p->nr, sizeof(*p->entries), cmp_entry);
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
	if (p->fd >= 0)
		close(p->fd);
	if (p->tmp_path)
		unlink(p->tmp_path);
	free(p->tmp_path);
	free(p->dir);
	free(p->entries);
	free(p->zbuf);
	free(p);
}
