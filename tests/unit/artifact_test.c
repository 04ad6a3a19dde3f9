/*
 * lib/sha1.c, lib/cksum.c, lib/pack.c, lib/artifact.c: SHA-1 against
 * known vectors (both block functions), Adler-32 and CRC-32 against zlib at
 * every length, alignment and start value that matters, the chunker (deterministic, bounds, resistant to
 * a shifted start), the pack writer (objects readable by libgit2 and git,
 * `git fsck --strict` clean), manifest and artifacts.mp decoding of hostile
 * input, and a capture/checkout round trip in a temporary repository.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mlp.h"
#include "internal.h"
#include "testrepo.h"
#include "artifact.h"
#include "pack.h"
#include "sha1.h"
#include "cksum.h"
#include "dio.h"


static void hex(char *out, const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static unsigned char *random_bytes(size_t n, uint64_t seed)
{
	unsigned char *b = malloc(n ? n : 1);
	uint64_t x = seed;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)(x >> 24);
	}
	return b;
}

/* ---- SHA-1 ------------------------------------------------------------------------ */

static void check_sha(const char *msg, size_t len, const char *want)
{
	unsigned char d[20];
	char h[41];
	struct mlp_sha1 c;

	/* fed in odd pieces to cross block boundaries */
	mlp_sha1_init(&c);
	for (size_t off = 0; off < len;) {
		size_t take = len - off < 7 ? len - off : 7 + off % 61;
		if (take > len - off)
			take = len - off;
		mlp_sha1_update(&c, msg + off, take);
		off += take;
	}
	mlp_sha1_final(d, &c);
	hex(h, d, 20);
	assert_string_equal(h, want);
}

static void test_sha1_vectors(void **state)
{
	(void)state;
	for (int portable = 0; portable < 2; portable++) {
		int old = mlp_sha1_force_portable(portable);
		char *million = malloc(1000000);
		unsigned char d[20];
		char h[41];

		check_sha("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
		check_sha("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
		check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
			  "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
		memset(million, 'a', 1000000);
		check_sha(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
		free(million);
		mlp_sha1_blob(d, "", 0);
		hex(h, d, 20);
		assert_string_equal(h, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
		mlp_sha1_blob(d, "hello\n", 6);
		hex(h, d, 20);
		assert_string_equal(h, "ce013625030ba8dba906f756967f9e9ca394464a");
		mlp_sha1_force_portable(old);
	}
}

static void test_sha1_implementations_agree(void **state)
{
	unsigned char *b = random_bytes(300000, 42), a1[20], a2[20];

	(void)state;
	for (size_t len = 0; len < 300000; len = len * 3 + 1) {
		int old = mlp_sha1_force_portable(1);
		mlp_sha1_blob(a1, b, len);
		mlp_sha1_force_portable(0);
		mlp_sha1_blob(a2, b, len);
		mlp_sha1_force_portable(old);
		assert_memory_equal(a1, a2, 20);
	}
	free(b);
}

/* ---- Adler-32 and CRC-32 -------------------------------------------------------- */

static void test_cksum_known_values(void **state)
{
	(void)state;
	for (int portable = 0; portable < 2; portable++) {
		int old = mlp_cksum_force_portable(portable);
		static const char quick[] = "The quick brown fox jumps over the lazy dog";
		char zeros[100000];
		memset(zeros, 0, sizeof(zeros));
		assert_int_equal(mlp_crc32(0, "123456789", 9), 0xcbf43926u);
		assert_int_equal(mlp_crc32(0, quick, strlen(quick)), 0x414fa339u);
		assert_int_equal(mlp_adler32(1, "Wikipedia", 9), 0x11e60398u);
		assert_int_equal(mlp_adler32(1, "", 0), 1);
		assert_int_equal(mlp_crc32(0, "", 0), 0);
		/* all-zero input: s2 grows with s1 = 1 each byte */
		assert_int_equal(mlp_adler32(1, zeros, sizeof(zeros)),
				 (uint32_t)adler32(1, (const Bytef *)zeros, sizeof(zeros)));
		mlp_cksum_force_portable(old);
	}
}

/* The SIMD code is used exactly when the CPU has it, as /proc/cpuinfo says. */
static void test_cksum_accelerated_per_cpu(void **state)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	int want = -1;

	(void)state;
#if !defined(__x86_64__)
	skip();
#endif
	if (!f)
		skip();
	while (want < 0 && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			want = strstr(line, " ssse3") && strstr(line, " pclmulqdq") && strstr(line, " sse4_1");
	fclose(f);
	if (want < 0)
		skip();
	assert_int_equal(mlp_cksum_accelerated(), want);
	mlp_cksum_force_portable(1);
	assert_int_equal(mlp_cksum_accelerated(), 0);
	mlp_cksum_force_portable(0);
}

/*
 * Every length up to a few blocks of each algorithm (so every tail and
 * fold path), odd alignments, running values carried between calls, and
 * bytes of 0xff (the largest sums Adler-32 can meet).
 */
static void test_cksum_agrees_with_zlib(void **state)
{
	size_t n = 3 * 65536 + 77;
	unsigned char *b = random_bytes(n + 64, 7), *ff = malloc(n);

	(void)state;
	memset(ff, 0xff, n);
	for (size_t len = 0; len < 700; len++)
		for (size_t align = 0; align < 3; align++) {
			uLong zc = crc32(0x12345678, b + align, (uInt)len);
			uLong za = adler32(0xfff00fff, b + align, (uInt)len);
			assert_int_equal(mlp_crc32(0x12345678, b + align, len), (uint32_t)zc);
			assert_int_equal(mlp_adler32(0xfff00fff, b + align, len), (uint32_t)za);
		}
	for (size_t len = 700; len < n; len = len * 2 + 13) {
		assert_int_equal(mlp_crc32(0, b + 5, len), (uint32_t)crc32(0, b + 5, (uInt)len));
		assert_int_equal(mlp_adler32(1, b + 5, len), (uint32_t)adler32(1, b + 5, (uInt)len));
		assert_int_equal(mlp_adler32(1, ff, len), (uint32_t)adler32(1, ff, (uInt)len));
		assert_int_equal(mlp_adler32(0xfff0fff0, ff, len), (uint32_t)adler32(0xfff0fff0, ff, (uInt)len));
		assert_int_equal(mlp_crc32(0xffffffff, ff, len), (uint32_t)crc32(0xffffffff, ff, (uInt)len));
	}
	/* in pieces, as the pack writer feeds them */
	{
		uint32_t c = 0, a = 1;
		for (size_t off = 0; off < n;) {
			size_t take = (off * 7 + 1000) % 9000;
			if (take > n - off)
				take = n - off;
			c = mlp_crc32(c, b + off, take);
			a = mlp_adler32(a, b + off, take);
			off += take;
		}
		assert_int_equal(c, (uint32_t)crc32(0, b, (uInt)n));
		assert_int_equal(a, (uint32_t)adler32(1, b, (uInt)n));
	}
	free(b);
	free(ff);
}

/* ---- the chunker ---------------------------------------------------------------------- */

/* Offsets of every cut of a buffer, as the store would find them. */
static size_t cut_all(const struct mlp_chunker *c, const unsigned char *p, size_t n,
		      size_t *cuts, size_t max)
{
	size_t off = 0, k = 0;

	while (off < n && k < max) {
		size_t len = mlp_chunker_cut(c, p + off, n - off);
		off += len;
		cuts[k++] = off;
	}
	return k;
}

/* The byte-at-a-time recurrence the fast loop must match. */
static size_t reference_cut(const struct mlp_chunker *c, const unsigned char *p, size_t n,
			    const uint64_t *gear)
{
	size_t limit = n < c->max ? n : c->max;
	uint64_t h = 0;

	if (n <= c->min)
		return n;
	for (size_t i = c->min - 64; i < limit; i++) {
		h = (h << 1) + gear[p[i]];
		if (i >= c->min && h < UINT64_MAX / (c->avg - c->min))
			return i + 1;
	}
	return limit;
}

static void test_chunker_bounds_and_determinism(void **state)
{
	struct mlp_chunker c;
	size_t n = 8u << 20, cuts1[4096], cuts2[4096], k1, k2, prev = 0;
	unsigned char *b = random_bytes(n, 7);

	(void)state;
	mlp_chunker_init(&c, 16 << 10, 64 << 10, 256 << 10);
	k1 = cut_all(&c, b, n, cuts1, 4096);
	k2 = cut_all(&c, b, n, cuts2, 4096);
	assert_int_equal(k1, k2);
	assert_memory_equal(cuts1, cuts2, k1 * sizeof(size_t));
	assert_int_equal(cuts1[k1 - 1], n);
	for (size_t i = 0; i < k1; i++) {
		size_t len = cuts1[i] - prev;
		assert_true(len <= c.max);
		if (i + 1 < k1)
			assert_true(len > c.min);
		prev = cuts1[i];
	}
	/* the average lands near the target on random data */
	assert_true(n / k1 > 40 << 10 && n / k1 < 160 << 10);
	free(b);
}

static void test_chunker_matches_reference(void **state)
{
	struct mlp_chunker c;
	uint64_t gear[256];
	size_t n = 4u << 20;
	unsigned char *b = random_bytes(n, 99);

	(void)state;
	mlp_chunker_init(&c, 4096, 16384, 65536);
	/* recover the table through the chunker itself would be circular: recompute it */
	{
		uint64_t x = 0x6d6c702d67656172ull;
		for (int i = 0; i < 256; i++) {
			uint64_t z = (x += 0x9e3779b97f4a7c15ull);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			gear[i] = z ^ (z >> 31);
		}
	}
	for (size_t off = 0; off < n - 70000; off += 12345)
		assert_int_equal(mlp_chunker_cut(&c, b + off, n - off),
				 reference_cut(&c, b + off, n - off, gear));
	free(b);
}

static void test_chunker_min_max(void **state)
{
	struct mlp_chunker c;
	unsigned char *zeros = calloc(1, 1 << 20);

	(void)state;
	mlp_chunker_init(&c, 16 << 10, 64 << 10, 256 << 10);
	/* constant data never matches: every chunk is cut at max */
	assert_int_equal(mlp_chunker_cut(&c, zeros, 1 << 20), 256 << 10);
	/* shorter than min: one chunk */
	assert_int_equal(mlp_chunker_cut(&c, zeros, 1000), 1000);
	assert_int_equal(mlp_chunker_cut(&c, zeros, 16 << 10), 16 << 10);
	free(zeros);
	/* the format's parameters */
	mlp_chunker_init(&c, MLP_CHUNK_MIN, MLP_CHUNK_AVG, MLP_CHUNK_MAX);
	assert_int_equal(c.min, 1 << 20);
	assert_int_equal(c.max, 16 << 20);
}

/* Inserting a byte near the start changes at most the chunks around it. */
static void test_chunker_shift_resistance(void **state)
{
	struct mlp_chunker c;
	size_t n = 8u << 20, cuts1[4096], cuts2[4096], k1, k2, common = 0;
	unsigned char *b = random_bytes(n + 1, 3), *shifted = malloc(n + 1);

	(void)state;
	mlp_chunker_init(&c, 16 << 10, 64 << 10, 256 << 10);
	memcpy(shifted, b, 1000);
	shifted[1000] = 0x5a;
	memcpy(shifted + 1001, b + 1000, n - 1000);
	k1 = cut_all(&c, b, n, cuts1, 4096);
	k2 = cut_all(&c, shifted, n + 1, cuts2, 4096);
	/* chunks after the first resynchronised cut are identical */
	for (size_t i = 0; i < k1; i++)
		for (size_t j = 0; j < k2; j++)
			if (cuts2[j] == cuts1[i] + 1 && i > 0 && j > 0 &&
			    cuts2[j - 1] == cuts1[i - 1] + 1)
				common++;
	assert_true(k1 - common <= 2);
	/* an overwritten stretch in the middle changes only the chunks around it */
	memcpy(shifted, b, n);
	for (size_t i = 4u << 20; i < (4u << 20) + 100000; i++)
		shifted[i] ^= 0xa5;
	k2 = cut_all(&c, shifted, n, cuts2, 4096);
	common = 0;
	for (size_t i = 0; i < k1; i++)
		for (size_t j = 0; j < k2; j++)
			if (cuts2[j] == cuts1[i] && (i == 0 ? j == 0 : j > 0 && cuts2[j - 1] == cuts1[i - 1]))
				common++;
	assert_true(k1 - common <= 3);
	free(b);
	free(shifted);
}

/* ---- records ----------------------------------------------------------------------- */

static void test_manifest_round_trip(void **state)
{
	struct mlp_manifest m = { 5u << 20, "0123456789abcdef0123456789abcdef", 2, 0100755 }, back;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	mlp_manifest_encode(&b, &m);
	assert_int_equal(mlp_manifest_decode(&back, b.buf, b.len), 0);
	assert_int_equal(back.size, m.size);
	assert_int_equal(back.chunks, 2);
	assert_int_equal(back.mode, 0100755);
	assert_string_equal(back.xxh128, m.xxh128);
	mlp_buf_release(&b);
}

static void manifest_bytes(struct mlp_buf *b, int v, uint64_t size, const char *xxh, uint64_t chunks,
			   const char *mode)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, mode ? 5 : 4);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "v", 1);
	msgpack_pack_int(&pk, v);
	msgpack_pack_str(&pk, 4);
	msgpack_pack_str_body(&pk, "size", 4);
	msgpack_pack_uint64(&pk, size);
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "xxh128", 6);
	msgpack_pack_str(&pk, strlen(xxh));
	msgpack_pack_str_body(&pk, xxh, strlen(xxh));
	msgpack_pack_str(&pk, 6);
	msgpack_pack_str_body(&pk, "chunks", 6);
	msgpack_pack_uint64(&pk, chunks);
	if (mode) {
		msgpack_pack_str(&pk, 4);
		msgpack_pack_str_body(&pk, "mode", 4);
		msgpack_pack_str(&pk, strlen(mode));
		msgpack_pack_str_body(&pk, mode, strlen(mode));
	}
	mlp_buf_reset(b);
	mlp_buf_add(b, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

static void test_manifest_hostile(void **state)
{
	static const char good[] = "0123456789abcdef0123456789abcdef";
	struct mlp_manifest m;
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	manifest_bytes(&b, 1, 3u << 20, good, 1, "100644");
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), 0);
	manifest_bytes(&b, 2, 3u << 20, good, 1, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_EVERSION);
	manifest_bytes(&b, 1, 3u << 20, "0123", 1, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	manifest_bytes(&b, 1, 3u << 20, "0123456789abcdef0123456789abcdeZ", 1, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	/* one 16 MiB chunk cannot hold 17 MiB; 0 chunks nothing */
	manifest_bytes(&b, 1, 17u << 20, good, 1, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	manifest_bytes(&b, 1, 0, good, 0, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	/* a billion chunks, and far more chunks than bytes allow */
	manifest_bytes(&b, 1, 1u << 30, good, 1000000000ull, NULL);
	assert_true(mlp_manifest_decode(&m, b.buf, b.len) < 0);
	manifest_bytes(&b, 1, 10, good, 500, NULL);
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	manifest_bytes(&b, 1, 3u << 20, good, 1, "120000");
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	manifest_bytes(&b, 1, 3u << 20, good, 1, "100644");
	mlp_buf_addch(&b, 0xc0);	/* trailing bytes */
	assert_int_equal(mlp_manifest_decode(&m, b.buf, b.len), MLP_ECORRUPT);
	/* every truncation fails cleanly */
	manifest_bytes(&b, 1, 3u << 20, good, 1, "100644");
	for (size_t len = 0; len < b.len; len++)
		assert_true(mlp_manifest_decode(&m, b.buf, len) < 0);
	assert_int_equal(mlp_manifest_decode(&m, "\xdf\xff\xff\xff\xff", 5), MLP_ECORRUPT);
	mlp_buf_release(&b);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(mlp_artifact_path_ok("a/b/c.pt"));
	assert_true(mlp_artifact_path_ok(".hidden/x"));
	assert_true(mlp_artifact_path_ok("..."));
	assert_false(mlp_artifact_path_ok(""));
	assert_false(mlp_artifact_path_ok("/abs"));
	assert_false(mlp_artifact_path_ok("a//b"));
	assert_false(mlp_artifact_path_ok("a/"));
	assert_false(mlp_artifact_path_ok("../x"));
	assert_false(mlp_artifact_path_ok("a/./b"));
	assert_false(mlp_artifact_path_ok("a/../b"));
	assert_false(mlp_artifact_path_ok(".git/config"));
	assert_false(mlp_artifact_path_ok("x/.GIT/hooks"));
	assert_false(mlp_artifact_name_ok("a\0b", 3));
	assert_false(mlp_artifact_name_ok("a/b", 3));
}

static void test_list_round_trip_and_hostile(void **state)
{
	struct mlp_run *run = mlp_run_new(), *back = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;
	static const unsigned char lying[] = { 0x82, 0xa1, 'v', 0x01, 0xa5, 'f', 'i', 'l', 'e', 's',
					       0xdd, 0xff, 0xff, 0xff, 0xff };

	(void)state;
	run->artifact = calloc(2, sizeof(*run->artifact));
	run->artifact_nr = 2;
	run->artifact[0].path = strdup("a/model.pt");
	run->artifact[0].type = MLP_ART_CHUNKED;
	run->artifact[0].mode = 0100644;
	strcpy(run->artifact[0].oid, "0123456789012345678901234567890123456789");
	strcpy(run->artifact[0].xxh128, "0123456789abcdef0123456789abcdef");
	run->artifact[0].size = 5u << 20;
	run->artifact[0].chunks = 2;
	run->artifact[0].new_bytes = 1u << 20;
	run->artifact[1].path = strdup("link");
	run->artifact[1].type = MLP_ART_SYMLINK;
	run->artifact[1].mode = 0120000;
	strcpy(run->artifact[1].oid, "0123456789012345678901234567890123456789");
	strcpy(run->artifact[1].xxh128, "0123456789abcdef0123456789abcdef");
	run->artifact[1].size = 3;
	run->artifact[1].chunks = 1;
	mlp_artifact_encode_list(&b, run);
	assert_int_equal(mlp_artifact_decode_list(back, b.buf, b.len), 0);
	assert_int_equal(back->artifact_nr, 2);
	assert_string_equal(back->artifact[0].path, "a/model.pt");
	assert_int_equal(back->artifact[0].type, MLP_ART_CHUNKED);
	assert_int_equal(back->artifact[0].new_bytes, 1u << 20);
	assert_int_equal(back->artifact[1].mode, 0120000);
	{
		struct mlp_buf r = MLP_BUF_INIT;
		mlp_render_artifacts(&r, back);
		assert_non_null(strstr(r.buf, "artifacts:\n"));
		assert_non_null(strstr(r.buf, "a/model.pt  5.0 MiB, 2 chunks, 1.0 MiB new"));
		mlp_buf_reset(&r);
		mlp_render_artifacts_json(&r, back);
		assert_non_null(strstr(r.buf, "\"path\": \"a/model.pt\""));
		mlp_buf_release(&r);
	}
	/* truncations, a lying count, hostile paths */
	for (size_t len = 0; len < b.len; len++)
		assert_true(mlp_artifact_decode_list(back, b.buf, len) < 0);
	assert_true(mlp_artifact_decode_list(back, lying, sizeof(lying)) < 0);
	free(run->artifact[0].path);
	run->artifact[0].path = strdup("../../etc/passwd");
	mlp_buf_reset(&b);
	mlp_artifact_encode_list(&b, run);
	assert_int_equal(mlp_artifact_decode_list(back, b.buf, b.len), MLP_ECORRUPT);
	free(run->artifact[0].path);
	run->artifact[0].path = strdup(".git/hooks/pre-commit");
	mlp_buf_reset(&b);
	mlp_artifact_encode_list(&b, run);
	assert_int_equal(mlp_artifact_decode_list(back, b.buf, b.len), MLP_ECORRUPT);
	assert_int_equal(back->artifact_nr, 0);
	mlp_buf_release(&b);
	mlp_run_free(run);
	mlp_run_free(back);
}

/*
 * A file entry without oid or xxh128 used to decode as empty strings,
 * which then did not encode back (docs/security.md finding 7): corrupt,
 * naming the file.
 */
static void test_list_entry_needs_oid_and_xxh128(void **state)
{
	static const char *const keys[] = { "path", "type", "mode", "oid", "size", "xxh128", "chunks", "new_bytes" };
	struct mlp_run *run = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;

	(void)state;
	for (int drop = -1; drop < 8; drop++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		int err;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "v", 1);
		msgpack_pack_int(&pk, 1);
		msgpack_pack_str_with_body(&pk, "files", 5);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_map(&pk, drop < 0 ? 8 : 7);
		for (int k = 0; k < 8; k++) {
			const char *v = NULL;
			if (k == drop)
				continue;
			msgpack_pack_str_with_body(&pk, keys[k], strlen(keys[k]));
			switch (k) {
			case 0: v = "models/small.txt"; break;
			case 1: v = "file"; break;
			case 2: v = "100644"; break;
			case 3: v = "0123456789012345678901234567890123456789"; break;
			case 5: v = "0123456789abcdef0123456789abcdef"; break;
			}
			if (v)
				msgpack_pack_str_with_body(&pk, v, strlen(v));
			else
				msgpack_pack_uint64(&pk, 1);
		}
		err = mlp_artifact_decode_list(run, sb.data, sb.size);
		if (drop == 3 || drop == 5) {
			assert_int_equal(err, MLP_ECORRUPT);
			assert_non_null(strstr(mlp_error_message(), "'models/small.txt' has no"));
			assert_non_null(strstr(mlp_error_message(), keys[drop]));
			assert_int_equal(run->artifact_nr, 0);
		} else if (drop == 0) {
			assert_int_equal(err, MLP_ECORRUPT);	/* no path: as before */
		} else {
			/* what decodes encodes back to the same bytes' meaning */
			assert_int_equal(err, 0);
			assert_int_equal(run->artifact_nr, 1);
			mlp_buf_reset(&b);
			assert_int_equal(mlp_artifact_encode_list(&b, run), 0);
			assert_int_equal(mlp_artifact_decode_list(run, b.buf, b.len), 0);
			assert_string_equal(run->artifact[0].oid, "0123456789012345678901234567890123456789");
		}
		msgpack_sbuffer_destroy(&sb);
	}
	mlp_buf_release(&b);
	mlp_run_free(run);
}

/* ---- in a repository ------------------------------------------------------------------ */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static int repo_setup(void **state)
{
	struct mlp_repo *repo = NULL;
	int created;

	if (test_repo_enter("artifact", "echo hello >file.txt && git add file.txt && git commit -q -m init") < 0 || mlp_repo_open(&repo) < 0 || mlp_repo_init(repo, &created) < 0)
		return -1;
	*state = repo;
	return 0;
}

static int repo_teardown(void **state)
{
	mlp_repo_free(*state);
	return test_repo_leave();
}

static void write_pack(struct mlp_repo *repo, int counted, unsigned char oids[][20],
		       unsigned char **data, const size_t *lens, size_t n)
{
	struct mlp_pack *p = NULL;
	char name[41];
	struct mlp_buf objdir = MLP_BUF_INIT;

	mlp_buf_addf(&objdir, "%sobjects", git_repository_commondir(repo->git));
	if (counted)
		assert_int_equal(mlp_pack_open_counted(&p, objdir.buf, (uint32_t)n), 0);
	else
		assert_int_equal(mlp_pack_open(&p, objdir.buf), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t start;
		uint32_t crc;
		int level = (int)(i % 2);
		uLong adler = adler32(0, NULL, 0);
		mlp_sha1_blob(oids[i], data[i], lens[i]);
		adler = adler32(adler, data[i], (uInt)lens[i]);
		assert_int_equal(mlp_pack_write_blob_begin(p, data[i], lens[i], level, &start, &crc), 0);
		assert_int_equal(mlp_pack_write_blob_end(p, start, crc, (uint32_t)adler, level, oids[i]), 0);
	}
	assert_int_equal(mlp_pack_finish(p, name), 0);
	assert_int_equal(strlen(name), 40);
	mlp_buf_release(&objdir);
}

static void test_pack_writer(void **state)
{
	struct mlp_repo *repo = *state;
	size_t lens[5] = { 0, 1, 70000, 200000, 3u << 20 };
	unsigned char *data[5], oids[5][20];
	git_odb *odb = NULL;

	for (size_t i = 0; i < 5; i++)
		data[i] = random_bytes(lens[i], i + 1);
	memset(data[3], 'x', lens[3]);	/* compressible: written at level 1 */
	for (int counted = 0; counted < 2; counted++) {
		data[2][0] ^= (unsigned char)(counted + 1);	/* new ids each round */
		data[4][0] ^= (unsigned char)(counted + 1);
		write_pack(repo, counted, oids, data, lens, 5);
		assert_int_equal(git_repository_odb(&odb, repo->git), 0);
		git_odb_refresh(odb);
		for (size_t i = 0; i < 5; i++) {
			git_oid oid;
			git_blob *blob = NULL;
			char h[41];
			memcpy(oid.id, oids[i], 20);
			assert_int_equal(git_blob_lookup(&blob, repo->git, &oid), 0);
			assert_int_equal((size_t)git_blob_rawsize(blob), lens[i]);
			assert_memory_equal(git_blob_rawcontent(blob), data[i], lens[i] ? lens[i] : 0);
			git_blob_free(blob);
			hex(h, oids[i], 20);
			sh("test \"$(git cat-file -s %s)\" = %zu", h, lens[i]);
		}
		git_odb_free(odb);
		odb = NULL;
	}
	sh("git verify-pack .git/objects/pack/*.idx >/dev/null");
	sh("git fsck --strict >/dev/null 2>&1");
	for (size_t i = 0; i < 5; i++)
		free(data[i]);
}

/*
 * A counted pack goes out with O_DIRECT in aligned blocks; when its objects
 * end exactly on a block boundary the 20-byte trailer must still be written
 * (12 header + 3 object header + 2 zlib + 5 block + 12262 + 4 Adler-32 bytes
 * = 3 * 4096).
 */
static void test_pack_counted_aligned_end(void **state)
{
	struct mlp_repo *repo = *state;
	size_t len = 12262;
	unsigned char *data = random_bytes(len, 99), oid[1][20];
	char h[41];

	write_pack(repo, 1, oid, &data, &len, 1);
	hex(h, oid[0], 20);
	sh("test \"$(git cat-file -s %s)\" = %zu", h, len);
	sh("test \"$(stat -c %%s .git/objects/pack/*.pack)\" = %d", 3 * 4096 + 20);
	sh("git verify-pack .git/objects/pack/*.idx >/dev/null");
	free(data);
}

/*
 * The pack reader gives back exactly the stored (level 0) blobs of a pack,
 * and declines deflated ones, unknown ids, a wrong size and an entry whose
 * block headers were damaged, so that libgit2 takes over (and fails).
 */
static void test_pack_reader(void **state)
{
	struct mlp_repo *repo = *state;
	size_t lens[5] = { 0, 1, 70000, 200000, 3u << 20 };
	unsigned char *data[5], oids[5][20], *buf = malloc(4u << 20), missing[20];
	struct mlp_pack_reader *r = NULL;
	struct mlp_buf objdir = MLP_BUF_INIT;

	for (size_t i = 0; i < 5; i++)
		data[i] = random_bytes(lens[i], i + 30);
	mlp_buf_addf(&objdir, "%sobjects", git_repository_commondir(repo->git));
	write_pack(repo, 1, oids, data, lens, 5);	/* even objects stored, odd ones deflated */
	assert_int_equal(mlp_pack_reader_open(&r, objdir.buf), 0);
	/* blob 0 is empty: nothing to copy, libgit2's */
	assert_int_equal(mlp_pack_read_stored(r, oids[0], buf, 0), 0);
	assert_int_equal(mlp_pack_read_stored(r, oids[1], buf, 1), 0);
	for (size_t i = 2; i < 5; i += 2) {
		memset(buf, 0, lens[i]);
		assert_int_equal(mlp_pack_read_stored(r, oids[i], buf, lens[i]), 1);
		assert_memory_equal(buf, data[i], lens[i]);
		assert_int_equal(mlp_pack_read_stored(r, oids[i], buf, lens[i] - 1), 0);
	}
	assert_int_equal(mlp_pack_read_stored(r, oids[3], buf, lens[3]), 0);
	memcpy(missing, oids[4], 20);
	missing[19] ^= 1;
	assert_int_equal(mlp_pack_read_stored(r, missing, buf, lens[4]), 0);
	mlp_pack_reader_free(r);

	/* NLEN of the second block of blob 2 (at its offset + 3 header bytes
	 * + 2 zlib + 5 + 65535 + 3) no longer matches LEN */
	{
		char h[41];
		hex(h, oids[2], 20);
		sh("cd .git/objects/pack && off=$(git show-index <$(ls *.idx) | awk '$2 == \"%s\" { print $1 }') && test -n \"$off\" && "
		   "chmod u+w *.pack && printf '\\377' | dd of=$(ls *.pack) bs=1 seek=$((off + 3 + 2 + 5 + 65535 + 3)) "
		   "conv=notrunc status=none", h);
	}
	assert_int_equal(mlp_pack_reader_open(&r, objdir.buf), 0);
	assert_int_equal(mlp_pack_read_stored(r, oids[2], buf, lens[2]), 0);
	assert_int_equal(mlp_pack_read_stored(r, oids[4], buf, lens[4]), 1);
	assert_memory_equal(buf, data[4], lens[4]);
	mlp_pack_reader_free(r);
	/* no pack directory at all */
	assert_int_equal(mlp_pack_reader_open(&r, "/nonexistent"), 0);
	assert_int_equal(mlp_pack_read_stored(r, oids[4], buf, lens[4]), 0);
	mlp_pack_reader_free(r);
	for (size_t i = 0; i < 5; i++)
		free(data[i]);
	free(buf);
	mlp_buf_release(&objdir);
}

/* dio: any sizes of reserve, through O_DIRECT and without, gives the exact file */
static void test_dio_writer(void **state)
{
	size_t n = 40u << 20, steps[] = { 1, 4095, 4096, 4097, 16u << 20, 65535, 3u << 20, 12345 };
	unsigned char *want = random_bytes(n, 5);

	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		const char *path = mode == 2 ? "/dev/shm/mlp-dio-test" : "dio.out";
		struct mlp_dio *w = NULL;
		size_t off = 0, k = 0;
		unsigned char *back;
		FILE *f;
		int fd;

		if (mode == 2 && access("/dev/shm", W_OK) != 0)
			continue;	/* tmpfs: no O_DIRECT, plain writes */
		if (mode == 1)
			setenv("MLP_CHECKOUT_NO_DIRECT", "1", 1);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		assert_true(fd >= 0);
		assert_int_equal(mlp_dio_open(&w, fd, mode == 0 ? n : 0), 0);
		while (off < n) {
			size_t take = steps[k++ % (sizeof(steps) / sizeof(steps[0]))];
			unsigned char *p;
			if (take > n - off)
				take = n - off;
			p = mlp_dio_reserve(w, take);
			assert_non_null(p);
			memcpy(p, want + off, take);
			mlp_dio_commit(w, take);
			off += take;
		}
		assert_int_equal(mlp_dio_finish(w), 0);
		assert_int_equal(close(fd), 0);
		unsetenv("MLP_CHECKOUT_NO_DIRECT");
		back = malloc(n + 1);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fread(back, 1, n + 1, f), n);
		fclose(f);
		assert_memory_equal(back, want, n);
		free(back);
		unlink(path);
	}
	free(want);
}

static void test_pack_empty_is_removed(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_pack *p = NULL;
	struct mlp_buf objdir = MLP_BUF_INIT;

	mlp_buf_addf(&objdir, "%sobjects", git_repository_commondir(repo->git));
	assert_int_equal(mlp_pack_open(&p, objdir.buf), 0);
	assert_int_equal(mlp_pack_finish(p, NULL), 0);
	sh("test -z \"$(ls .git/objects/pack | grep tmp_)\"");
	mlp_buf_release(&objdir);
}

static void test_capture_and_checkout(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_run *run = mlp_run_new(), *back = NULL;
	const char *paths[] = { "big.bin", "small.txt", "dir", "tool.sh", "link" };
	struct mlp_checkout_opts co = { 0 };
	size_t stored = 0, written = 0, failed = 0, problems = 99;
	unsigned char *big = random_bytes(5u << 20, 11);
	FILE *f;

	f = fopen("big.bin", "wb");
	fwrite(big, 1, 5u << 20, f);
	fclose(f);
	sh("printf 'small\\n' >small.txt && mkdir -p dir/sub && printf x >dir/sub/f && "
	   "printf '#!/bin/sh\\n' >tool.sh && chmod +x tool.sh && ln -sf small.txt link");
	assert_int_equal(mlp_run_new_id(run), 0);
	run->name = strdup("art");
	assert_int_equal(mlp_artifact_capture(repo, run, paths, 5, NULL, &stored), 0);
	assert_int_equal(stored, 5);
	assert_int_equal(run->artifact_nr, 5);
	assert_string_equal(run->artifact[0].path, "big.bin");
	assert_int_equal(run->artifact[0].type, MLP_ART_CHUNKED);
	assert_int_equal(run->artifact[0].new_bytes, 5u << 20);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), 0);
	assert_string_equal(back->artifacts, run->artifacts);
	assert_int_equal(back->artifact_nr, 5);
	assert_int_equal(mlp_artifact_verify(repo, back, NULL, NULL, &problems), 0);
	assert_int_equal(problems, 0);
	co.dir = "out";
	assert_int_equal(mlp_artifact_checkout(repo, back, NULL, 0, &co, &written, &failed), 0);
	assert_int_equal(written, 5);
	assert_int_equal(failed, 0);
	sh("cmp big.bin out/big.bin && cmp dir/sub/f out/dir/sub/f && test -x out/tool.sh && "
	   "test \"$(readlink out/link)\" = small.txt");
	/* storing again: the same chunks, nothing new */
	{
		struct mlp_run *again = mlp_run_new();
		assert_int_equal(mlp_run_new_id(again), 0);
		assert_int_equal(mlp_artifact_capture(repo, again, paths, 1, NULL, &stored), 0);
		assert_int_equal(again->artifact[0].new_bytes, 0);
		assert_string_equal(again->artifact[0].oid, run->artifact[0].oid);
		mlp_run_free(again);
	}
	/* outside the work tree */
	{
		const char *bad[] = { "../x" };
		sh("touch ../x");
		assert_int_equal(mlp_artifact_capture(repo, run, bad, 1, NULL, &stored), MLP_EINVALID);
	}
	sh("git fsck --strict >/dev/null 2>&1");
	free(big);
	mlp_run_free(run);
	mlp_run_free(back);
}

/* A run whose only artifact is `path` with `content`, stored and saved. */
static struct mlp_run *run_with(struct mlp_repo *repo, const char *path, const char *content)
{
	struct mlp_run *run = mlp_run_new(), *back = NULL;
	size_t stored = 0;
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(mlp_run_new_id(run), 0);
	assert_int_equal(mlp_artifact_capture(repo, run, &path, 1, NULL, &stored), 0);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	assert_int_equal(mlp_run_load(&back, repo, run->id, 0), 0);
	mlp_run_free(run);
	return back;
}

static void test_checkout_replaceable(void **state)
{
	/* a differing file is overwritten only when it is the replaceable run's artifact */
	struct mlp_repo *repo = *state;
	struct mlp_run *a = run_with(repo, "model.bin", "weights-a\n");
	struct mlp_run *b = run_with(repo, "model.bin", "weights-b\n");
	struct mlp_run *other = run_with(repo, "other.bin", "weights-b\n");
	struct mlp_checkout_opts co = { 0 };
	size_t written = 0, failed = 0;

	/* model.bin is b's: without replaceable it is refused */
	assert_int_equal(mlp_artifact_checkout(repo, a, NULL, 0, &co, &written, &failed), 0);
	assert_int_equal(failed, 1);
	sh("test \"$(cat model.bin)\" = weights-b");
	/* the same bytes under another path of the replaceable run do not count */
	co.replaceable = other;
	assert_int_equal(mlp_artifact_checkout(repo, a, NULL, 0, &co, &written, &failed), 0);
	assert_int_equal(failed, 1);
	sh("test \"$(cat model.bin)\" = weights-b");
	co.replaceable = b;
	assert_int_equal(mlp_artifact_checkout(repo, a, NULL, 0, &co, &written, &failed), 0);
	assert_int_equal(failed, 0);
	assert_int_equal(written, 1);
	sh("test \"$(cat model.bin)\" = weights-a");
	/* edited after it was stored: not b's any more, kept */
	sh("echo edited >model.bin");
	assert_int_equal(mlp_artifact_checkout(repo, a, NULL, 0, &co, &written, &failed), 0);
	assert_int_equal(failed, 1);
	sh("test \"$(cat model.bin)\" = edited");
	mlp_run_free(a);
	mlp_run_free(b);
	mlp_run_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_sha1_implementations_agree),
		cmocka_unit_test(test_cksum_known_values),
		cmocka_unit_test(test_cksum_accelerated_per_cpu),
		cmocka_unit_test(test_cksum_agrees_with_zlib),
		cmocka_unit_test(test_chunker_bounds_and_determinism),
		cmocka_unit_test(test_chunker_matches_reference),
		cmocka_unit_test(test_chunker_min_max),
		cmocka_unit_test(test_chunker_shift_resistance),
		cmocka_unit_test(test_manifest_round_trip),
		cmocka_unit_test(test_manifest_hostile),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_list_round_trip_and_hostile),
		cmocka_unit_test(test_list_entry_needs_oid_and_xxh128),
		cmocka_unit_test_setup_teardown(test_pack_writer, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_pack_counted_aligned_end, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_pack_empty_is_removed, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_pack_reader, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_dio_writer, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_capture_and_checkout, repo_setup, repo_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_replaceable, repo_setup, repo_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
