/*
 * Plain SHA-1 (FIPS 180-4), for ids of the blobs the artifact store writes
 * and for pack trailers.  Not collision-detecting: it hashes only data this
 * process itself is writing, and git re-checks objects with SHA-1DC on
 * fsck and on fetch.  Uses the CPU's SHA instructions when it has them.
 */
#ifndef MLP_SHA1_H
#define MLP_SHA1_H

#include <stddef.h>
#include <stdint.h>

struct mlp_sha1 {
	uint32_t h[5];
	uint64_t len;		/* bytes hashed */
	unsigned char buf[64];
	size_t buf_len;
};

void mlp_sha1_init(struct mlp_sha1 *c);
void mlp_sha1_update(struct mlp_sha1 *c, const void *data, size_t len);
void mlp_sha1_final(unsigned char out[20], struct mlp_sha1 *c);
/* The git object id of a blob: SHA-1 of "blob <len>\0" + data. */
void mlp_sha1_blob(unsigned char out[20], const void *data, size_t len);
/* 1 when the CPU's SHA extensions are used. */
int mlp_sha1_accelerated(void);
/* Forces the portable code (tests compare both); returns the old setting. */
int mlp_sha1_force_portable(int on);

#endif
