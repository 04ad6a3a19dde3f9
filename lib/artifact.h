/*
 * Artifact store internals shared with the unit tests: the content-defined
 * chunker, the .mlpfile manifest codec and the name checks readers apply
 * to untrusted trees.  The public API is in mlp.h.
 */
#ifndef MLP_ARTIFACT_H
#define MLP_ARTIFACT_H

#include "mlp.h"

/*
 * Gear-hash chunker (FastCDC style): a cut falls where a rolling hash is
 * below a threshold (probability 1/(avg - min) per position), never
 * before `min`, always at `max`.  The hash covers the last 64 bytes only,
 * so cuts depend on local content and an insertion moves at most the cuts
 * next to it.
 */
struct mlp_chunker {
	size_t min, avg, max;
	uint64_t threshold;
};

/* min >= 64, min < avg <= max. */
void mlp_chunker_init(struct mlp_chunker *c, size_t min, size_t avg, size_t max);
/*
 * Length of the chunk that starts at `p`, given `n` bytes from there: the
 * caller passes at least c->max bytes unless the file ends sooner.
 */
size_t mlp_chunker_cut(const struct mlp_chunker *c, const unsigned char *p, size_t n);

/* .mlpfile: {"v":1,"size":N,"xxh128":"<32 hex>","chunks":K,"mode":"100644"} */
struct mlp_manifest {
	uint64_t size;
	char xxh128[33];
	uint64_t chunks;
	unsigned mode;	/* 0100644 or 0100755 */
};
int mlp_manifest_encode(struct mlp_buf *out, const struct mlp_manifest *m);
/* Untrusted input: MLP_ECORRUPT / MLP_EVERSION / MLP_ELIMIT on anything odd. */
int mlp_manifest_decode(struct mlp_manifest *m, const void *data, size_t len);

/* A path component a reader accepts: not "", ".", "..", ".git" (any case), no '/'. */
int mlp_artifact_name_ok(const char *name, size_t len);
/* A whole relative path of acceptable components, at most MLP_MAX_PATH_LEN. */
int mlp_artifact_path_ok(const char *path);

#endif
