/*
 * A bounded msgpack reader over a byte buffer.  msgpack-c's unpacker
 * allocates whatever a header claims before reading it (an array32 of
 * 2^32 nils costs gigabytes), so records from other people's
 * repositories are read with this cursor instead: every count is checked
 * against the bytes left, every length against MLP_MAX_STR_LEN, and
 * nesting against MLP_MAX_DEPTH.  Nothing here allocates.
 * Writing uses msgpack-c's packer (record.c).
 */
#ifndef MLP_MP_H
#define MLP_MP_H

#include "mlp.h"

struct mlp_mp {
	const unsigned char *p, *end;
};

enum mlp_mp_kind {
	MLP_MP_NIL, MLP_MP_BOOL, MLP_MP_INT, MLP_MP_FLOAT, MLP_MP_STR,
	MLP_MP_BIN, MLP_MP_ARRAY, MLP_MP_MAP, MLP_MP_EXT, MLP_MP_BAD
};

void mlp_mp_init(struct mlp_mp *r, const void *data, size_t len);
enum mlp_mp_kind mlp_mp_peek(const struct mlp_mp *r);
int mlp_mp_read_map(struct mlp_mp *r, uint32_t *n);
int mlp_mp_read_array(struct mlp_mp *r, uint32_t *n);
int mlp_mp_read_str(struct mlp_mp *r, const char **s, uint32_t *len);
int mlp_mp_read_bin(struct mlp_mp *r, const unsigned char **s, uint32_t *len);
int mlp_mp_read_int(struct mlp_mp *r, int64_t *out);
int mlp_mp_read_uint(struct mlp_mp *r, uint64_t *out);
int mlp_mp_read_double(struct mlp_mp *r, double *out);	/* floats and ints */
int mlp_mp_read_bool(struct mlp_mp *r, int *out);
int mlp_mp_read_nil(struct mlp_mp *r);
/* A scalar (nil/bool/int/float/str) into a typed value. */
int mlp_mp_read_value(struct mlp_mp *r, struct mlp_value *out);
/*
 * The same, but a string is a view into the buffer (not NUL-terminated,
 * not owned): never mlp_value_clear() it.
 */
int mlp_mp_read_value_view(struct mlp_mp *r, struct mlp_value *out);
/* A string into a NUL-terminated copy; refuses embedded NULs. */
int mlp_mp_read_cstr(struct mlp_mp *r, char **out);
int mlp_mp_skip(struct mlp_mp *r);

#endif
