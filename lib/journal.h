/*
 * The live journal: an append-only file of everything a running run has
 * ingested, so that a run whose `git mlp run` dies loses nothing that
 * reached it.  Owned by lib/live.c; replayed by crash recovery.
 *
 * File: "MLPJ1\n", then records { u32 len, u32 xxh32(payload), payload }
 * (little-endian).  A payload is a batch of entries, written with one
 * write(): a batch is applied whole or, when torn by a crash, not at all.
 * Entries: 'P' point (u16 keylen, key, i64 step, f64 value, i64 t ms),
 * 'p' param / 'g' tag (u16 keylen, key, u8 type, value),
 * 'o' (i64 offset, i64 line number consumed from $MLP_METRICS) and
 * 'a' artifact declared (u16 len, path as declared: absolute, or relative
 * to the directory the command runs in).
 */
#ifndef MLP_JOURNAL_H
#define MLP_JOURNAL_H

#include "mlp.h"

struct mlp_journal {
	int fd;		/* -1 until the first batch is written */
	char *path;	/* NULL once closed */
	struct mlp_buf batch;
	size_t entries;
	int64_t last_sync_ms;
	int dirty;	/* written since the last fdatasync */
};

/* Nothing is created before the first batch with entries is flushed. */
int mlp_journal_open(struct mlp_journal *j, const char *path);
void mlp_journal_point(struct mlp_journal *j, const char *key, int64_t step, double value, int64_t t);
void mlp_journal_kv(struct mlp_journal *j, char type, const char *key, const struct mlp_value *v);
void mlp_journal_offset(struct mlp_journal *j, int64_t offset, int64_t lineno);
void mlp_journal_artifact(struct mlp_journal *j, const char *path);
/* Writes the pending batch; fdatasync when `sync` or a second has passed. */
int mlp_journal_flush(struct mlp_journal *j, int sync);
void mlp_journal_close(struct mlp_journal *j);

struct mlp_journal_state {
	int64_t offset, lineno;	/* of $MLP_METRICS, from the last 'o' entry */
	int64_t last_t;		/* newest point time */
	size_t batches, points, artifacts;
	int torn;		/* a damaged tail was ignored */
};

/* Applies every complete batch to `run` (declared artifacts are queued). */
int mlp_journal_replay(const char *path, struct mlp_run *run, struct mlp_journal_state *st);

#endif
