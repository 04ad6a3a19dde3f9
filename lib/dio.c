/*
 * The sequential file writer of dio.h.
 *
 * Two buffers of 16 MiB and a bit: the caller fills one while the thread
 * writes the other.  With O_DIRECT a write must start and end on a 4 KiB
 * boundary, so a buffer goes out up to its last boundary and the tail is
 * carried into the next one; the last block is padded with zeros and the
 * file cut back to its real size at the end.  A file system that refuses
 * O_DIRECT (flag or first write) gets ordinary writes from the same
 * buffers.
 */
#include "dio.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIGN 4096u
#define BUF_SIZE ((size_t)MLP_DIO_MAX_RESERVE + 2 * ALIGN)

struct mlp_dio {
	int fd;
	int aligned;		/* the caller's side: submit whole blocks, pad the last */
	int direct;		/* the writing side: O_DIRECT still on */
	unsigned char *bufs[2];
	int cur;		/* bufs[cur] is being filled */
	size_t fill;		/* bytes in it */
	uint64_t off;		/* file offset of its first byte */
	uint64_t total;		/* bytes committed */

	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, busy, quit, err;
	const unsigned char *out;
	size_t out_len;
	uint64_t out_off;
};

/* Writes out_len bytes at out_off; 0 or an errno. */
static int write_out(struct mlp_dio *w, const unsigned char *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && w->direct) {
			/* the file system took the flag but not the write */
			int fl = fcntl(w->fd, F_GETFL);
			if (fl < 0 || fcntl(w->fd, F_SETFL, fl & ~O_DIRECT) < 0)
				return errno;
			w->direct = 0;
			continue;
		}
		if (n <= 0)
			return n < 0 ? errno : EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct mlp_dio *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		int e;
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mu);
		e = write_out(w, w->out, w->out_len, w->out_off);
		pthread_mutex_lock(&w->mu);
		if (e && !w->err)
			w->err = e;
		w->busy = 0;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits for the buffer in flight; the first write error's errno or 0. */
static int wait_idle(struct mlp_dio *w)
{
	int e;

	if (!w->started)
		return w->err;
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	pthread_mutex_unlock(&w->mu);
	return e;
}

/* Hands bufs[cur][0..n) to the thread (or writes it) and moves the rest of the fill over. */
static int submit(struct mlp_dio *w, size_t n)
{
	unsigned char *next = w->bufs[1 - w->cur];
	int e = wait_idle(w);

	if (e)
		return e;
	if (!n)
		return 0;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->out = w->bufs[w->cur];
		w->out_len = n;
		w->out_off = w->off;
		w->busy = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	} else if ((e = write_out(w, w->bufs[w->cur], n, w->off)) != 0) {
		w->err = e;
		return e;
	}
	/* the thread only reads the buffer it writes: copying from it is safe */
	memcpy(next, w->bufs[w->cur] + n, w->fill - n);
	w->fill -= n;
	w->off += n;
	w->cur = 1 - w->cur;
	return 0;
}

int mlp_dio_open(struct mlp_dio **out, int fd, uint64_t size)
{
	struct mlp_dio *w = mlp_calloc(1, sizeof(*w));
	void *a = NULL, *b = NULL;
	int fl;

	*out = NULL;
	if (posix_memalign(&a, ALIGN, BUF_SIZE) || posix_memalign(&b, ALIGN, BUF_SIZE)) {
		free(a);
		free(w);
		return mlp_error_set(MLP_ERROR, "out of memory");
	}
	w->bufs[0] = a;
	w->bufs[1] = b;
	w->fd = fd;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* the blocks in one piece, before any data; where the file system
	 * cannot (no emulation by writing zeros), it costs only speed */
	if (size)
		(void)!fallocate(fd, 0, 0, (off_t)size);
	fl = fcntl(fd, F_GETFL);
	w->direct = fl >= 0 && !getenv("MLP_CHECKOUT_NO_DIRECT") && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0;
	w->aligned = w->direct;
	w->started = pthread_create(&w->th, NULL, writer_main, w) == 0;
	*out = w;
	return 0;
}

unsigned char *mlp_dio_reserve(struct mlp_dio *w, size_t len)
{
	int e = w->err;

	if (!e && w->fill + len > BUF_SIZE)
		e = submit(w, w->aligned ? w->fill & ~(size_t)(ALIGN - 1) : w->fill);
	if (!e && len > BUF_SIZE - w->fill)
		e = EINVAL;	/* more than MLP_DIO_MAX_RESERVE */
	if (e) {
		mlp_error_set(MLP_ERROR, "write failed: %s", strerror(e));
		return NULL;
	}
	return w->bufs[w->cur] + w->fill;
}

void mlp_dio_commit(struct mlp_dio *w, size_t len)
{
	w->fill += len;
	w->total += len;
}

static void stop(struct mlp_dio *w)
{
	if (w->started) {
		wait_idle(w);
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->started = 0;
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->bufs[0]);
	free(w->bufs[1]);
	free(w);
}

int mlp_dio_finish(struct mlp_dio *w)
{
	size_t n = w->fill;
	int e;

	if (w->aligned && (n & (ALIGN - 1))) {
		size_t pad = ALIGN - (n & (ALIGN - 1));
		memset(w->bufs[w->cur] + n, 0, pad);
		n += pad;
		w->fill = n;
	}
	e = submit(w, n);
	if (!e)
		e = wait_idle(w);
	/* padding, or blocks allocated for a size that turned out different */
	if (!e && ftruncate(w->fd, (off_t)w->total) < 0)
		e = errno;
	stop(w);
	if (e)
		return mlp_error_set(MLP_ERROR, "write failed: %s", strerror(e));
	return 0;
}

void mlp_dio_abort(struct mlp_dio *w)
{
	if (w)
		stop(w);
}
