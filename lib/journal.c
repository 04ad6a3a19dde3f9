#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static const char header[] = "MLPJ1\n";
#define MAX_BATCH (256u << 20)

/*
 * The file is created with the first batch: a run that ingests nothing
 * (most short ones) never creates it, and a missing journal replays as an
 * empty one.
 */
static int create_file(struct mlp_journal *j)
{
	struct stat st;

	j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (j->fd < 0)
		return mlp_error_set(MLP_ERROR, "cannot create journal '%s': %s", j->path, strerror(errno));
	if (fstat(j->fd, &st) == 0 && st.st_size == 0 &&
	    write(j->fd, header, sizeof(header) - 1) != (ssize_t)(sizeof(header) - 1)) {
		int e = errno;
		/* a header half written reads as torn: start again next time */
		if (ftruncate(j->fd, 0) < 0 || e == 0)
			e = e ? e : ENOSPC;
		close(j->fd);
		j->fd = -1;
		return mlp_error_set(MLP_ERROR, "cannot write the journal: %s", strerror(e));
	}
	return 0;
}

int mlp_journal_open(struct mlp_journal *j, const char *path)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->path = mlp_strdup(path);
	j->last_sync_ms = mlp_now_ms();
	return 0;
}

static void put(struct mlp_buf *b, uint64_t v, int n)
{
	unsigned char tmp[8];
	for (int i = 0; i < n; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	mlp_buf_add(b, tmp, (size_t)n);
}

static void put_key(struct mlp_buf *b, const char *key)
{
	size_t len = strlen(key);
	if (len > 0xffff)
		len = 0xffff;	/* keys are capped far below this on ingest */
	put(b, len, 2);
	mlp_buf_add(b, key, len);
}

void mlp_journal_point(struct mlp_journal *j, const char *key, int64_t step, double value, int64_t t)
{
	uint64_t bits;

	memcpy(&bits, &value, 8);
	mlp_buf_addch(&j->batch, 'P');
	put_key(&j->batch, key);
	put(&j->batch, (uint64_t)step, 8);
	put(&j->batch, bits, 8);
	put(&j->batch, (uint64_t)t, 8);
	j->entries++;
}

void mlp_journal_kv(struct mlp_journal *j, char type, const char *key, const struct mlp_value *v)
{
	uint64_t bits;

	mlp_buf_addch(&j->batch, type);
	put_key(&j->batch, key);
	mlp_buf_addch(&j->batch, (int)v->type);
	switch (v->type) {
	case MLP_NIL: break;
	case MLP_BOOL: mlp_buf_addch(&j->batch, !!v->u.b); break;
	case MLP_INT: put(&j->batch, (uint64_t)v->u.i, 8); break;
	case MLP_FLOAT: memcpy(&bits, &v->u.f, 8); put(&j->batch, bits, 8); break;
	case MLP_STR:
		put(&j->batch, v->u.str.len, 4);
		mlp_buf_add(&j->batch, v->u.str.s, v->u.str.len);
		break;
	}
	j->entries++;
}

void mlp_journal_offset(struct mlp_journal *j, int64_t offset, int64_t lineno)
{
	mlp_buf_addch(&j->batch, 'o');
	put(&j->batch, (uint64_t)offset, 8);
	put(&j->batch, (uint64_t)lineno, 8);
	j->entries++;
}

void mlp_journal_artifact(struct mlp_journal *j, const char *path)
{
	size_t len = strlen(path);

	if (!len || len > 0xffff)
		return;	/* declarations are capped at MLP_MAX_PATH_LEN on ingest */
	mlp_buf_addch(&j->batch, 'a');
	put(&j->batch, len, 2);
	mlp_buf_add(&j->batch, path, len);
	j->entries++;
}

int mlp_journal_flush(struct mlp_journal *j, int sync)
{
	int64_t now = mlp_now_ms();
	int err;

	if (!j->path)
		return 0;	/* closed */
	if (j->fd < 0 && j->batch.len && (err = create_file(j)) < 0)
		return err;
	if (j->batch.len) {
		struct mlp_buf rec = MLP_BUF_INIT;
		size_t off = 0;
		put(&rec, j->batch.len, 4);
		put(&rec, XXH32(j->batch.buf, j->batch.len, 0), 4);
		mlp_buf_add(&rec, j->batch.buf, j->batch.len);
		off_t start = lseek(j->fd, 0, SEEK_END);
		while (off < rec.len) {
			ssize_t w = write(j->fd, rec.buf + off, rec.len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				int e = errno;
				mlp_buf_release(&rec);
				/* cut the torn record off so later batches stay readable;
				 * the batch stays pending for the next try */
				if (start >= 0 && ftruncate(j->fd, start) < 0)
					e = errno;
				return mlp_error_set(MLP_ERROR, "cannot write the journal: %s", strerror(e ? e : ENOSPC));
			}
			off += (size_t)w;
		}
		mlp_buf_release(&rec);
		mlp_buf_reset(&j->batch);
		j->entries = 0;
		j->dirty = 1;
	}
	if (j->dirty && (sync || now - j->last_sync_ms >= 1000)) {
		if (fdatasync(j->fd) < 0)
			return mlp_error_set(MLP_ERROR, "cannot sync the journal: %s", strerror(errno));
		j->dirty = 0;
		j->last_sync_ms = now;
	}
	return 0;
}

void mlp_journal_close(struct mlp_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->path);
	j->path = NULL;
	mlp_buf_release(&j->batch);
}

static uint64_t get(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* One batch; MLP_ECORRUPT when an entry runs past its end. */
static int apply_batch(const unsigned char *p, size_t len, struct mlp_run *run,
		       struct mlp_journal_state *st)
{
	const unsigned char *end = p + len;
	struct mlp_buf key = MLP_BUF_INIT;
	int err = 0;

	while (p < end && !err) {
		char type = (char)*p++;
		size_t klen;

		if (type == 'o') {
			if (end - p < 16) {
				err = MLP_ECORRUPT;
				break;
			}
			st->offset = (int64_t)get(p, 8);
			st->lineno = (int64_t)get(p + 8, 8);
			p += 16;
			continue;
		}
		if (end - p < 2) {
			err = MLP_ECORRUPT;
			break;
		}
		klen = (size_t)get(p, 2);
		p += 2;
		/* an artifact path has the layout of a key, and any length up to 64 KiB */
		if ((size_t)(end - p) < klen || !klen || (type != 'a' && klen > MLP_MAX_KEY_LEN) ||
		    memchr(p, 0, klen)) {
			err = MLP_ECORRUPT;
			break;
		}
		mlp_buf_reset(&key);
		mlp_buf_add(&key, p, klen);
		p += klen;
		if (type == 'a') {
			mlp_run_queue_artifact(run, key.buf);
			st->artifacts++;
		} else if (type == 'P') {
			uint64_t bits;
			double v;
			if (end - p < 24) {
				err = MLP_ECORRUPT;
				break;
			}
			bits = get(p + 8, 8);
			memcpy(&v, &bits, 8);
			if (run->series_nr < MLP_MAX_METRIC_KEYS || mlp_run_series(run, key.buf))
				mlp_run_add_point(run, key.buf, (int64_t)get(p, 8), v, (int64_t)get(p + 16, 8));
			if ((int64_t)get(p + 16, 8) > st->last_t)
				st->last_t = (int64_t)get(p + 16, 8);
			st->points++;
			p += 24;
		} else if (type == 'p' || type == 'g') {
			struct mlp_value v;
			uint64_t bits;
			memset(&v, 0, sizeof(v));
			if (end - p < 1) {
				err = MLP_ECORRUPT;
				break;
			}
			v.type = (enum mlp_type)*p++;
			switch (v.type) {
			case MLP_NIL: break;
			case MLP_BOOL:
				if (end - p < 1) { err = MLP_ECORRUPT; break; }
				v.u.b = !!*p++;
				break;
			case MLP_INT:
				if (end - p < 8) { err = MLP_ECORRUPT; break; }
				v.u.i = (int64_t)get(p, 8);
				p += 8;
				break;
			case MLP_FLOAT:
				if (end - p < 8) { err = MLP_ECORRUPT; break; }
				bits = get(p, 8);
				memcpy(&v.u.f, &bits, 8);
				p += 8;
				break;
			case MLP_STR: {
				size_t sl;
				if (end - p < 4) { err = MLP_ECORRUPT; break; }
				sl = (size_t)get(p, 4);
				p += 4;
				if ((size_t)(end - p) < sl) { err = MLP_ECORRUPT; break; }
				mlp_value_set_str(&v, (const char *)p, sl);
				p += sl;
				break;
			}
			default:
				err = MLP_ECORRUPT;
			}
			if (!err)
				mlp_map_set(type == 'p' ? &run->params : &run->tags, key.buf, &v);
			mlp_value_clear(&v);
		} else {
			err = MLP_ECORRUPT;
		}
	}
	mlp_buf_release(&key);
	return err;
}

/*
 * Whether `len` more bytes are in the file after `pos`.  A batch header
 * comes from a file that a crash (or anyone) may have damaged: its length
 * is checked against the file before a buffer of that size is allocated.
 * The file may still be growing under a live writer, hence a second look.
 */
static int bytes_left(int fd, off_t *size, uint64_t pos, uint64_t len)
{
	struct stat st;

	if (pos <= (uint64_t)*size && len <= (uint64_t)*size - pos)
		return 1;
	if (fstat(fd, &st) < 0)
		return 0;
	*size = st.st_size;
	return pos <= (uint64_t)*size && len <= (uint64_t)*size - pos;
}

int mlp_journal_replay(const char *path, struct mlp_run *run, struct mlp_journal_state *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char hdr[8];
	char magic[sizeof(header) - 1];
	struct mlp_buf batch = MLP_BUF_INIT;
	int err = 0;
	off_t size = 0;
	uint64_t pos = sizeof(magic);

	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return errno == ENOENT ? 0 : mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path, strerror(errno));
	if (read(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic) || memcmp(magic, header, sizeof(magic))) {
		close(fd);
		st->torn = 1;
		return 0;	/* created but never written: nothing to replay */
	}
	for (;;) {
		ssize_t n = read(fd, hdr, sizeof(hdr));
		size_t len, got = 0;
		if (n == 0)
			break;
		if (n != (ssize_t)sizeof(hdr)) {
			st->torn = 1;
			break;
		}
		len = (size_t)get(hdr, 4);
		pos += sizeof(hdr);
		if (len > MAX_BATCH || !bytes_left(fd, &size, pos, len)) {
			st->torn = 1;
			break;
		}
		pos += len;
		mlp_buf_reset(&batch);
		mlp_buf_grow(&batch, len);
		while (got < len) {
			n = read(fd, batch.buf + got, len - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		batch.len = got;
		if (got != len || XXH32(batch.buf, len, 0) != (uint32_t)get(hdr + 4, 4)) {
			st->torn = 1;
			break;
		}
		/* a batch that checks out but does not parse was not written by us */
		if (apply_batch((const unsigned char *)batch.buf, len, run, st) < 0) {
			st->torn = 1;
			break;
		}
		st->batches++;
	}
	close(fd);
	mlp_buf_release(&batch);
	return err;
}
