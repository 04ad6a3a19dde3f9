/*
 * Writing blobs into a git packfile directly (pack v2 + index v2).
 *
 * Why not libgit2: its loose backend deflates at ~45 MB/s (and writes
 * corrupt objects when asked for level 0), and git_odb_write_pack re-hashes
 * every object with SHA-1DC while indexing.  Here each object is a zlib
 * stream of "stored" blocks (level 0) unless the caller asks for level 1,
 * its id and CRC are computed as it is written, and the index is written
 * from those.  The pack only becomes visible to git (renamed into
 * objects/pack/) in mlp_pack_finish(); until then nothing refers to it.
 *
 * The object count sits in the pack header, which the trailer checksum
 * covers, and is only known at the end: mlp_pack_finish() patches the
 * header and hashes the file once more.
 */
#ifndef MLP_PACK_H
#define MLP_PACK_H

#include "mlp.h"
#include "sha1.h"

struct mlp_pack_writer;

struct mlp_pack_entry {
	unsigned char oid[20];
	uint32_t crc;
	uint64_t offset;
};

struct mlp_pack {
	int fd;
	char *dir;		/* objects/pack */
	char *tmp_path;
	uint64_t size;		/* bytes written */
	struct mlp_pack_entry *entries;
	size_t nr, alloc;
	unsigned char *zbuf;	/* deflate output */

	/* counted packs: the count is known up front, so the trailer is
	 * hashed as the bytes go out, and they go out with O_DIRECT */
	uint32_t expect;	/* 0: not counted */
	struct mlp_sha1 sha;
	unsigned char *stage;	/* aligned staging buffer being filled */
	size_t stage_len;
	int direct;
	struct mlp_pack_writer *writer;	/* writes full buffers on its own thread */
};

/* Starts a temporary pack in <objects_dir>/pack. */
int mlp_pack_open(struct mlp_pack **out, const char *objects_dir);
/*
 * A pack of exactly `count` objects: no second pass over the file at the
 * end, and no page cache filled with data nobody reads soon (O_DIRECT
 * where the file system has it).  mlp_pack_drop_from() is not available.
 */
int mlp_pack_open_counted(struct mlp_pack **out, const char *objects_dir, uint32_t count);

/*
 * Appends one blob.  `oid` is its id (mlp_sha1_blob()), computed by the
 * caller, possibly on another thread while this writes.  `level` 0 stores,
 * 1..9 deflates.  `adler` is the zlib Adler-32 of the data when level is 0
 * (the caller may compute it elsewhere too); ignored otherwise.
 * mlp_pack_write_blob_begin/end split the job so that the id can arrive
 * after the bytes have been written.
 */
int mlp_pack_write_blob_begin(struct mlp_pack *p, const void *data, size_t len,
			      int level, uint64_t *start, uint32_t *crc);
int mlp_pack_write_blob_end(struct mlp_pack *p, uint64_t start, uint32_t crc,
			    uint32_t adler, int level, const unsigned char oid[20]);
/*
 * With crc == NULL, mlp_pack_write_blob_begin() (level 0) leaves the CRC
 * to the caller, who computes the CRC-32 of each 65535-byte block of the
 * data elsewhere and combines them here into the CRC of the entry so far.
 */
#define MLP_PACK_BLOCK 65535u
uint32_t mlp_pack_stored_crc(uint64_t len, const uint32_t *block_crcs);

/* Forgets the last object written (it existed already): truncates. */
int mlp_pack_drop_from(struct mlp_pack *p, uint64_t start);

/* Objects in the pack so far. */
size_t mlp_pack_count(const struct mlp_pack *p);

/*
 * Completes the pack (header, trailer, index) and moves it into place;
 * with no objects the temporary file is removed.  The object is freed.
 * `name_out` (may be NULL) receives the pack's checksum in hex.
 */
int mlp_pack_finish(struct mlp_pack *p, char name_out[41]);
/* Removes the temporary pack and frees the object (NULL-safe). */
void mlp_pack_abort(struct mlp_pack *p);

/*
 * Reading blobs back without inflating them: a blob that sits in a pack as
 * a zlib stream of stored blocks (what the writer above makes, and what
 * `git repack` keeps as it is) is copied from the pack straight into the
 * caller's buffer with one preadv(), the block headers checked on the
 * way.  The zlib Adler-32 is not checked: the caller verifies the bytes
 * (artifact checkout checks the XXH3-128 of the whole file).  Anything
 * else (deflated, a delta, loose, in an alternate, a damaged entry) is
 * left to libgit2.
 */
struct mlp_pack_reader;

/* The packs of <objects_dir>/pack as they are now (their indexes mapped). */
int mlp_pack_reader_open(struct mlp_pack_reader **out, const char *objects_dir);
void mlp_pack_reader_free(struct mlp_pack_reader *r);
/*
 * Copies blob `oid`, which must be `len` bytes, into `buf`: 1 when done,
 * 0 when it is not there in that form (`buf` may have been written to),
 * negative on a read error.
 */
int mlp_pack_read_stored(struct mlp_pack_reader *r, const unsigned char oid[20],
			 void *buf, size_t len);

#endif
