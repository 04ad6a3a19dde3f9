#include "mp.h"

#include <stdlib.h>
#include <string.h>

#define CORRUPT(what) mlp_error_set(MLP_ECORRUPT, "corrupt record: %s", what)

void mlp_mp_init(struct mlp_mp *r, const void *data, size_t len)
{
	r->p = data;
	r->end = data ? r->p + len : r->p;	/* no bytes: a NULL pointer may not be offset */
}

static size_t left(const struct mlp_mp *r)
{
	return (size_t)(r->end - r->p);
}

/* A big-endian number of n = 1, 2, 4 or 8 bytes. */
static uint64_t be(const unsigned char *p, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v8;
	uint32_t v4;
	uint16_t v2;

	switch (n) {
	case 8:
		memcpy(&v8, p, 8);
		return __builtin_bswap64(v8);
	case 4:
		memcpy(&v4, p, 4);
		return __builtin_bswap32(v4);
	case 2:
		memcpy(&v2, p, 2);
		return __builtin_bswap16(v2);
	default:
		return p[0];
	}
#else
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
#endif
}

enum mlp_mp_kind mlp_mp_peek(const struct mlp_mp *r)
{
	unsigned c;

	if (r->p >= r->end)
		return MLP_MP_BAD;
	c = *r->p;
	if (c <= 0x7f || c >= 0xe0)
		return MLP_MP_INT;
	if ((c & 0xf0) == 0x80)
		return MLP_MP_MAP;
	if ((c & 0xf0) == 0x90)
		return MLP_MP_ARRAY;
	if ((c & 0xe0) == 0xa0)
		return MLP_MP_STR;
	switch (c) {
	case 0xc0: return MLP_MP_NIL;
	case 0xc2: case 0xc3: return MLP_MP_BOOL;
	case 0xc4: case 0xc5: case 0xc6: return MLP_MP_BIN;
	case 0xc7: case 0xc8: case 0xc9: return MLP_MP_EXT;
	case 0xca: case 0xcb: return MLP_MP_FLOAT;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MLP_MP_INT;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return MLP_MP_EXT;
	case 0xd9: case 0xda: case 0xdb: return MLP_MP_STR;
	case 0xdc: case 0xdd: return MLP_MP_ARRAY;
	case 0xde: case 0xdf: return MLP_MP_MAP;
	}
	return MLP_MP_BAD;
}

static int read_len(struct mlp_mp *r, int n, uint32_t *out)
{
	if (left(r) < (size_t)n)
		return CORRUPT("truncated length");
	*out = (uint32_t)be(r->p, n);
	r->p += n;
	return 0;
}

/* A container of n entries needs at least one byte per element. */
static int container(struct mlp_mp *r, uint32_t *n, int is_map)
{
	unsigned c;
	int err;

	if (r->p >= r->end)
		return CORRUPT("truncated");
	c = *r->p++;
	if (is_map && (c & 0xf0) == 0x80)
		*n = c & 0x0f;
	else if (!is_map && (c & 0xf0) == 0x90)
		*n = c & 0x0f;
	else if (c == (is_map ? 0xde : 0xdc)) {
		if ((err = read_len(r, 2, n)) < 0)
			return err;
	} else if (c == (is_map ? 0xdf : 0xdd)) {
		if ((err = read_len(r, 4, n)) < 0)
			return err;
	} else {
		r->p--;
		return CORRUPT(is_map ? "expected a map" : "expected an array");
	}
	if ((uint64_t)*n * (is_map ? 2 : 1) > left(r))
		return CORRUPT("count larger than the record");
	return 0;
}

int mlp_mp_read_map(struct mlp_mp *r, uint32_t *n)
{
	return container(r, n, 1);
}

int mlp_mp_read_array(struct mlp_mp *r, uint32_t *n)
{
	return container(r, n, 0);
}

static int raw(struct mlp_mp *r, const unsigned char **s, uint32_t *len, int str)
{
	unsigned c;
	int err = 0;

	if (r->p >= r->end)
		return CORRUPT("truncated");
	c = *r->p++;
	if (str && (c & 0xe0) == 0xa0)
		*len = c & 0x1f;
	else if (c == (str ? 0xd9 : 0xc4))
		err = read_len(r, 1, len);
	else if (c == (str ? 0xda : 0xc5))
		err = read_len(r, 2, len);
	else if (c == (str ? 0xdb : 0xc6))
		err = read_len(r, 4, len);
	else {
		r->p--;
		return CORRUPT(str ? "expected a string" : "expected binary data");
	}
	if (err < 0)
		return err;
	if (*len > left(r))
		return CORRUPT("length larger than the record");
	if (*len > MLP_MAX_STR_LEN)
		return mlp_error_set(MLP_ELIMIT, "corrupt record: a string of %u bytes is over the limit", *len);
	*s = r->p;
	r->p += *len;
	return 0;
}

int mlp_mp_read_str(struct mlp_mp *r, const char **s, uint32_t *len)
{
	return raw(r, (const unsigned char **)s, len, 1);
}

int mlp_mp_read_bin(struct mlp_mp *r, const unsigned char **s, uint32_t *len)
{
	return raw(r, s, len, 0);
}

int mlp_mp_read_cstr(struct mlp_mp *r, char **out)
{
	const char *s;
	uint32_t len;
	int err = mlp_mp_read_str(r, &s, &len);

	if (err < 0)
		return err;
	if (memchr(s, '\0', len))
		return CORRUPT("string with a NUL byte");
	*out = mlp_strndup(s, len);
	return 0;
}

static int read_number(struct mlp_mp *r, int64_t *i, uint64_t *u, double *d, int *kind)
{
	unsigned c;
	int n = 0;

	if (r->p >= r->end)
		return CORRUPT("truncated");
	c = *r->p;
	if (c <= 0x7f) {
		r->p++;
		*kind = 0;
		*i = c;
		return 0;
	}
	if (c >= 0xe0) {
		r->p++;
		*kind = 0;
		*i = (int8_t)c;
		return 0;
	}
	switch (c) {
	case 0xcc: case 0xd0: n = 1; break;
	case 0xcd: case 0xd1: n = 2; break;
	case 0xce: case 0xd2: case 0xca: n = 4; break;
	case 0xcf: case 0xd3: case 0xcb: n = 8; break;
	default:
		return CORRUPT("expected a number");
	}
	if (left(r) < (size_t)n + 1)
		return CORRUPT("truncated number");
	uint64_t v = be(r->p + 1, n);
	r->p += 1 + n;
	if (c == 0xca) {
		float f;
		uint32_t w = (uint32_t)v;
		memcpy(&f, &w, 4);
		*d = f;
		*kind = 2;
	} else if (c == 0xcb) {
		memcpy(d, &v, 8);
		*kind = 2;
	} else if (c >= 0xcc && c <= 0xcf) {
		*u = v;
		*kind = 1;
	} else {
		switch (n) {
		case 1: *i = (int8_t)v; break;
		case 2: *i = (int16_t)v; break;
		case 4: *i = (int32_t)v; break;
		default: *i = (int64_t)v; break;
		}
		*kind = 0;
	}
	return 0;
}

int mlp_mp_read_int(struct mlp_mp *r, int64_t *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double d;
	int kind, err;
	const unsigned char *save = r->p;

	if ((err = read_number(r, &i, &u, &d, &kind)) < 0)
		return err;
	if (kind == 2) {
		r->p = save;
		return CORRUPT("expected an integer");
	}
	if (kind == 1) {
		if (u > INT64_MAX) {
			r->p = save;
			return CORRUPT("integer out of range");
		}
		i = (int64_t)u;
	}
	*out = i;
	return 0;
}

int mlp_mp_read_uint(struct mlp_mp *r, uint64_t *out)
{
	int64_t i = 0;
	int err = mlp_mp_read_int(r, &i);

	if (err < 0)
		return err;
	if (i < 0)
		return CORRUPT("negative count");
	*out = (uint64_t)i;
	return 0;
}

int mlp_mp_read_double(struct mlp_mp *r, double *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double d = 0;
	int kind, err;

	if ((err = read_number(r, &i, &u, &d, &kind)) < 0)
		return err;
	*out = kind == 2 ? d : kind == 1 ? (double)u : (double)i;
	return 0;
}

int mlp_mp_read_bool(struct mlp_mp *r, int *out)
{
	if (r->p >= r->end || (*r->p != 0xc2 && *r->p != 0xc3))
		return CORRUPT("expected a boolean");
	*out = *r->p++ == 0xc3;
	return 0;
}

int mlp_mp_read_nil(struct mlp_mp *r)
{
	if (r->p >= r->end || *r->p != 0xc0)
		return CORRUPT("expected nil");
	r->p++;
	return 0;
}

int mlp_mp_read_value_view(struct mlp_mp *r, struct mlp_value *out)
{
	int64_t i = 0;
	uint64_t u = 0;
	double d = 0;
	int kind, err;
	const char *s;
	uint32_t len;

	memset(out, 0, sizeof(*out));
	switch (mlp_mp_peek(r)) {
	case MLP_MP_NIL:
		r->p++;
		out->type = MLP_NIL;
		return 0;
	case MLP_MP_BOOL:
		out->type = MLP_BOOL;
		return mlp_mp_read_bool(r, &out->u.b);
	case MLP_MP_INT:
	case MLP_MP_FLOAT:
		if ((err = read_number(r, &i, &u, &d, &kind)) < 0)
			return err;
		if (kind == 2) {
			out->type = MLP_FLOAT;
			out->u.f = d;
		} else if (kind == 1 && u > INT64_MAX) {
			out->type = MLP_FLOAT;
			out->u.f = (double)u;
		} else {
			out->type = MLP_INT;
			out->u.i = kind == 1 ? (int64_t)u : i;
		}
		return 0;
	case MLP_MP_STR:
		if ((err = mlp_mp_read_str(r, &s, &len)) < 0)
			return err;
		out->type = MLP_STR;
		out->u.str.s = (char *)s;
		out->u.str.len = len;
		return 0;
	default:
		return CORRUPT("expected a scalar value");
	}
}

int mlp_mp_read_value(struct mlp_mp *r, struct mlp_value *out)
{
	int err = mlp_mp_read_value_view(r, out);

	if (!err && out->type == MLP_STR) {
		const char *view = out->u.str.s;
		size_t len = out->u.str.len;
		out->type = MLP_NIL;	/* the view is not ours to free */
		mlp_value_set_str(out, view, len);
	}
	return err;
}

/*
 * Skipping walks nested containers with an explicit count of pending
 * elements instead of recursion, so a hostile depth costs no stack.
 */
int mlp_mp_skip(struct mlp_mp *r)
{
	/* every element costs a byte, so the work is bounded by the input */
	uint64_t pending = 1;

	while (pending) {
		uint32_t n, len;
		size_t need;
		unsigned c;
		int err;

		pending--;
		if (r->p >= r->end)
			return CORRUPT("truncated");
		c = *r->p;
		/* the common scalars by their first byte, without decoding them */
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			r->p++;
			continue;
		}
		switch (c) {
		case 0xcc: case 0xd0: need = 2; break;
		case 0xcd: case 0xd1: need = 3; break;
		case 0xce: case 0xd2: case 0xca: need = 5; break;
		case 0xcf: case 0xd3: case 0xcb: need = 9; break;
		default: need = 0; break;
		}
		if (need) {
			if (left(r) < need)
				return CORRUPT("truncated number");
			r->p += need;
			continue;
		}
		switch (mlp_mp_peek(r)) {
		case MLP_MP_STR:
		case MLP_MP_BIN: {
			const unsigned char *s;
			if ((err = raw(r, &s, &len, mlp_mp_peek(r) == MLP_MP_STR)) < 0)
				return err;
			break;
		}
		case MLP_MP_ARRAY:
		case MLP_MP_MAP: {
			int is_map = mlp_mp_peek(r) == MLP_MP_MAP;
			if ((err = container(r, &n, is_map)) < 0)
				return err;
			pending += (uint64_t)n * (is_map ? 2 : 1);
			break;
		}
		case MLP_MP_EXT: {
			uint32_t size = 0;
			c = *r->p++;
			if (c >= 0xd4 && c <= 0xd8)
				size = 1u << (c - 0xd4);
			else if ((err = read_len(r, c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4, &size)) < 0)
				return err;
			if ((uint64_t)size + 1 > left(r))
				return CORRUPT("truncated extension");
			r->p += size + 1;
			break;
		}
		default:
			return CORRUPT("unknown type byte");
		}
	}
	return 0;
}
