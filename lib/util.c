/*
 * Errors, buffers, allocators, typed values and sorted maps.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char error_msg[1024];

const char *mlp_error_message(void)
{
	return error_msg[0] ? error_msg : "unknown error";
}

int mlp_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
	va_end(ap);
	return code;
}

void mlp_error_clear(void)
{
	error_msg[0] = '\0';
}

/*
 * Running out of memory leaves no sane way to go on without losing data
 * half-written, so the allocators abort, like git's xmalloc().
 */
static void oom(void)
{
	static const char msg[] = "fatal: out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	abort(); /* mlp-allow-seam */
}

void *mlp_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *mlp_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *mlp_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *mlp_strndup(const char *s, size_t n)
{
	char *p = mlp_malloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *mlp_strdup(const char *s)
{
	return s ? mlp_strndup(s, strlen(s)) : NULL;
}

void mlp_buf_grow(struct mlp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		oom();
	if (need <= b->alloc)
		return;
	b->alloc = b->alloc ? b->alloc : 64;
	while (b->alloc < need)
		b->alloc = b->alloc * 3 / 2 + 16;
	b->buf = mlp_realloc(b->buf, b->alloc);
}

void mlp_buf_add(struct mlp_buf *b, const void *data, size_t len)
{
	mlp_buf_grow(b, len);
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void mlp_buf_adds(struct mlp_buf *b, const char *s)
{
	mlp_buf_add(b, s, strlen(s));
}

void mlp_buf_addch(struct mlp_buf *b, int c)
{
	char ch = (char)c;
	mlp_buf_add(b, &ch, 1);
}

void mlp_buf_vaddf(struct mlp_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	mlp_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		mlp_buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void mlp_buf_addf(struct mlp_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlp_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

size_t mlp_threads(size_t n)
{
	long cpus = n < MLP_PARALLEL_MIN ? 1 : sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 2 ? 1 : cpus > MLP_MAX_THREADS ? MLP_MAX_THREADS : (size_t)cpus;
}

void mlp_run_parts(void *(*fn)(void *), void *parts, size_t size, size_t nt)
{
	pthread_t th[MLP_MAX_THREADS];
	size_t started = 1;
	char *p = parts;

	if (nt > MLP_MAX_THREADS)
		nt = MLP_MAX_THREADS;
	for (size_t k = 1; k < nt; k++, started++)
		if (pthread_create(&th[k], NULL, fn, p + k * size))
			break;
	fn(p);
	for (size_t k = started; k < nt; k++)
		fn(p + k * size);
	for (size_t k = 1; k < started; k++)
		pthread_join(th[k], NULL);
}

void mlp_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	const char *p = base;
	size_t i = 1;

	if (n < 2)
		return;
	while (i < n && cmp(p + (i - 1) * size, p + i * size) <= 0)
		i++;
	if (i < n)
		qsort(base, n, size, cmp);
}

void mlp_buf_reset(struct mlp_buf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

void mlp_buf_release(struct mlp_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
}

char *mlp_buf_detach(struct mlp_buf *b, size_t *len)
{
	char *p;

	if (!b->buf)
		mlp_buf_grow(b, 0), b->buf[0] = '\0';
	p = b->buf;
	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	return p;
}

int64_t mlp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- values ------------------------------------------------------------- */

void mlp_value_clear(struct mlp_value *v)
{
	if (v->type == MLP_STR)
		free(v->u.str.s);
	memset(v, 0, sizeof(*v));
}

void mlp_value_set_str(struct mlp_value *v, const char *s, size_t len)
{
	mlp_value_clear(v);
	v->type = MLP_STR;
	v->u.str.s = mlp_strndup(s, len);
	v->u.str.len = len;
}

void mlp_value_copy(struct mlp_value *dst, const struct mlp_value *src)
{
	if (src->type == MLP_STR) {
		dst->type = MLP_STR;
		dst->u.str.s = mlp_strndup(src->u.str.s, src->u.str.len);
		dst->u.str.len = src->u.str.len;
	} else {
		*dst = *src;
	}
}

void mlp_value_parse(struct mlp_value *out, const char *s, size_t len)
{
	char *tmp, *end;

	memset(out, 0, sizeof(*out));
	if (len == 4 && !memcmp(s, "true", 4)) {
		out->type = MLP_BOOL;
		out->u.b = 1;
		return;
	}
	if (len == 5 && !memcmp(s, "false", 5)) {
		out->type = MLP_BOOL;
		return;
	}
	if (len == 4 && !memcmp(s, "null", 4)) {
		out->type = MLP_NIL;
		return;
	}
	/* strtoll/strtod need a terminator and accept leading space: guard both */
	if (len && len < 512 && memchr(s, '\0', len) == NULL &&
	    !(s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '+')) {
		tmp = mlp_strndup(s, len);
		errno = 0;
		long long ll = strtoll(tmp, &end, 10);
		if (!errno && *end == '\0' && end != tmp) {
			out->type = MLP_INT;
			out->u.i = ll;
			free(tmp);
			return;
		}
		errno = 0;
		double d = strtod(tmp, &end);
		if (!errno && *end == '\0' && end != tmp && isfinite(d) &&
		    strpbrk(tmp, "xXpP") == NULL) {
			out->type = MLP_FLOAT;
			out->u.f = d;
			free(tmp);
			return;
		}
		free(tmp);
	}
	mlp_value_set_str(out, s, len);
}

void mlp_value_format(struct mlp_buf *b, const struct mlp_value *v)
{
	switch (v->type) {
	case MLP_NIL:
		mlp_buf_adds(b, "null");
		break;
	case MLP_BOOL:
		mlp_buf_adds(b, v->u.b ? "true" : "false");
		break;
	case MLP_INT: {
		/* "%lld" without printf: listings format a value per cell */
		char tmp[24], *p = tmp + sizeof(tmp);
		uint64_t u = v->u.i < 0 ? 0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (v->u.i < 0)
			*--p = '-';
		mlp_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
		break;
	}
	case MLP_FLOAT:
		mlp_buf_addf(b, "%.6g", v->u.f);
		break;
	case MLP_STR:
		mlp_buf_add(b, v->u.str.s, v->u.str.len);
		break;
	}
}

int mlp_value_equal(const struct mlp_value *a, const struct mlp_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case MLP_NIL:
		return 1;
	case MLP_BOOL:
		return !a->u.b == !b->u.b;
	case MLP_INT:
		return a->u.i == b->u.i;
	case MLP_FLOAT:
		return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
	case MLP_STR:
		return a->u.str.len == b->u.str.len &&
		       !memcmp(a->u.str.s, b->u.str.s, a->u.str.len);
	}
	return 0;
}

/* ---- sorted maps --------------------------------------------------------- */

static size_t map_find(const struct mlp_map *m, const char *key, int *found)
{
	size_t lo = 0, hi = m->nr;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->items[mid].key, key);
		if (!c) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void mlp_map_set(struct mlp_map *m, const char *key, struct mlp_value *val)
{
	int found;
	size_t pos = map_find(m, key, &found);

	if (found) {
		mlp_value_clear(&m->items[pos].val);
		m->items[pos].val = *val;
		memset(val, 0, sizeof(*val));
		return;
	}
	/* appending in order is the common case (decoding): skip the memmove */
	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 8;
		m->items = mlp_realloc(m->items, m->alloc * sizeof(*m->items));
	}
	memmove(m->items + pos + 1, m->items + pos, (m->nr - pos) * sizeof(*m->items));
	m->items[pos].key = mlp_strdup(key);
	m->items[pos].val = *val;
	memset(val, 0, sizeof(*val));
	m->nr++;
}

int mlp_map_add_new(struct mlp_map *m, const char *key, size_t klen, struct mlp_value *val)
{
	char *k;

	/* in key order, as records are written: an append, unique by order */
	if (m->nr && strncmp(m->items[m->nr - 1].key, key, klen) >= 0) {
		int found;
		k = mlp_strndup(key, klen);
		map_find(m, k, &found);
		if (found) {
			free(k);
			return MLP_EINVALID;
		}
		mlp_map_set(m, k, val);
		free(k);
		return 0;
	}
	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 8;
		m->items = mlp_realloc(m->items, m->alloc * sizeof(*m->items));
	}
	m->items[m->nr].key = mlp_strndup(key, klen);
	m->items[m->nr].val = *val;
	memset(val, 0, sizeof(*val));
	m->nr++;
	return 0;
}

const struct mlp_value *mlp_map_get(const struct mlp_map *m, const char *key)
{
	int found;
	size_t pos = map_find(m, key, &found);
	return found ? &m->items[pos].val : NULL;
}

int mlp_map_remove(struct mlp_map *m, const char *key)
{
	int found;
	size_t pos = map_find(m, key, &found);

	if (!found)
		return MLP_ENOTFOUND;
	free(m->items[pos].key);
	mlp_value_clear(&m->items[pos].val);
	memmove(m->items + pos, m->items + pos + 1, (m->nr - pos - 1) * sizeof(*m->items));
	m->nr--;
	return 0;
}

void mlp_map_clear(struct mlp_map *m)
{
	for (size_t i = 0; i < m->nr; i++) {
		free(m->items[i].key);
		mlp_value_clear(&m->items[i].val);
	}
	free(m->items);
	m->items = NULL;
	m->nr = m->alloc = 0;
}

void mlp_map_copy(struct mlp_map *dst, const struct mlp_map *src)
{
	for (size_t i = 0; i < src->nr; i++) {
		struct mlp_value v;
		mlp_value_copy(&v, &src->items[i].val);
		mlp_map_set(dst, src->items[i].key, &v);
	}
}

int mlp_key_check(const char *what, const char *key)
{
	size_t len = strlen(key);

	if (!len)
		return mlp_error_set(MLP_EINVALID, "empty %s key", what);
	if (len > MLP_MAX_KEY_LEN)
		return mlp_error_set(MLP_ELIMIT, "%s key '%.40s...' is %zu bytes long; the limit is %d",
				     what, key, len, MLP_MAX_KEY_LEN);
	return 0;
}

int mlp_parse_assignment(char **key_out, struct mlp_value *val_out, const char *arg)
{
	const char *eq = strchr(arg, '=');

	*key_out = NULL;
	if (!eq)
		return mlp_error_set(MLP_EINVALID, "'%s' is not of the form key=value", arg);
	if (eq == arg)
		return mlp_error_set(MLP_EINVALID, "'%s' has an empty key", arg);
	*key_out = mlp_strndup(arg, (size_t)(eq - arg));
	mlp_value_parse(val_out, eq + 1, strlen(eq + 1));
	return 0;
}
