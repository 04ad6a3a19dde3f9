/*
 * Adler-32 and CRC-32 (see cksum.h).
 *
 * Adler-32 with SSSE3: 32 bytes a step, s1 from byte sums (psadbw), s2
 * from the bytes weighted 32..1 (pmaddubsw); both reduced modulo 65521
 * every 5,536 bytes, below zlib's NMAX of 5,552, so no 32-bit lane
 * overflows.  The scheme is Chromium's zlib (adler32_simd.c).
 *
 * CRC-32 with PCLMULQDQ: the buffer is folded 64 bytes a step into four
 * 128-bit lanes by carry-less multiplication with x^(512+-32..) mod P, the
 * lanes into one, and the 128 bits reduced to 32 by a last fold and a
 * Barrett reduction, following Intel's "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ" (Gopal et al., 2009) for the bit-reflected
 * polynomial 0xedb88320; the constants are those of Linux's
 * crc32-pclmul_asm.S.  Bytes that do not fill 16 go through zlib.
 */
#include "cksum.h"

#include <zlib.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SIMD_CODE 1
#endif

static int force_portable;

int mlp_cksum_force_portable(int on)
{
	int old = force_portable;
	force_portable = on;
	return old;
}

#ifdef HAVE_SIMD_CODE
/*
 * CPUID leaf 1's ECX, asked the first time it is needed: not with
 * __builtin_cpu_supports(), whose libgcc constructor runs a dozen CPUID
 * instructions at every start of every git-mlp command (each one a trip
 * to the hypervisor in a VM).
 */
static unsigned cpuid1_ecx(void)
{
	static int known;
	static unsigned ecx;
	unsigned a, b, c, d;

	if (!known) {
		ecx = __get_cpuid(1, &a, &b, &c, &d) ? c : 0;
		known = 1;
	}
	return ecx;
}

static int have_adler_simd(void)
{
	return (cpuid1_ecx() & bit_SSSE3) && !force_portable;
}

static int have_crc_simd(void)
{
	unsigned ecx = cpuid1_ecx();
	return (ecx & bit_PCLMUL) && (ecx & bit_SSE4_1) && !force_portable;
}
#endif

int mlp_cksum_accelerated(void)
{
#ifdef HAVE_SIMD_CODE
	return have_adler_simd() && have_crc_simd();
#else
	return 0;
#endif
}

/* zlib's function takes at most UINT_MAX bytes a call */
static uint32_t zlib_adler(uint32_t a, const unsigned char *p, size_t n)
{
	while (n) {
		size_t take = n > (1u << 30) ? (1u << 30) : n;
		a = (uint32_t)adler32(a, p, (uInt)take);
		p += take;
		n -= take;
	}
	return a;
}

static uint32_t zlib_crc(uint32_t c, const unsigned char *p, size_t n)
{
	while (n) {
		size_t take = n > (1u << 30) ? (1u << 30) : n;
		c = (uint32_t)crc32(c, p, (uInt)take);
		p += take;
		n -= take;
	}
	return c;
}

#ifdef HAVE_SIMD_CODE

#define ADLER_BASE 65521u
#define ADLER_BLOCK 32u
#define ADLER_BLOCKS 173u	/* 173 * 32 = 5536 <= NMAX */

__attribute__((target("ssse3")))
static uint32_t adler_ssse3(uint32_t adler, const unsigned char *p, size_t n)
{
	uint32_t s1 = adler & 0xffff, s2 = adler >> 16;
	size_t blocks = n / ADLER_BLOCK;
	const __m128i tap1 = _mm_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17);
	const __m128i tap2 = _mm_setr_epi8(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
	const __m128i zero = _mm_setzero_si128();
	const __m128i ones = _mm_set1_epi16(1);

	n -= blocks * ADLER_BLOCK;
	while (blocks) {
		unsigned k = blocks < ADLER_BLOCKS ? (unsigned)blocks : ADLER_BLOCKS;
		/* v_ps: the sum of s1 before each block, times 32 at the end */
		__m128i v_ps = _mm_set_epi32(0, 0, 0, (int)(s1 * k));
		__m128i v_s2 = _mm_set_epi32(0, 0, 0, (int)s2);
		__m128i v_s1 = zero;

		blocks -= k;
		do {
			__m128i b1 = _mm_loadu_si128((const __m128i *)p);
			__m128i b2 = _mm_loadu_si128((const __m128i *)(p + 16));
			v_ps = _mm_add_epi32(v_ps, v_s1);
			v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(b1, zero));
			v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_maddubs_epi16(b1, tap1), ones));
			v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(b2, zero));
			v_s2 = _mm_add_epi32(v_s2, _mm_madd_epi16(_mm_maddubs_epi16(b2, tap2), ones));
			p += ADLER_BLOCK;
		} while (--k);
		v_s2 = _mm_add_epi32(v_s2, _mm_slli_epi32(v_ps, 5));
		v_s1 = _mm_add_epi32(v_s1, _mm_shuffle_epi32(v_s1, _MM_SHUFFLE(2, 3, 0, 1)));
		v_s1 = _mm_add_epi32(v_s1, _mm_shuffle_epi32(v_s1, _MM_SHUFFLE(1, 0, 3, 2)));
		s1 += (uint32_t)_mm_cvtsi128_si32(v_s1);
		v_s2 = _mm_add_epi32(v_s2, _mm_shuffle_epi32(v_s2, _MM_SHUFFLE(2, 3, 0, 1)));
		v_s2 = _mm_add_epi32(v_s2, _mm_shuffle_epi32(v_s2, _MM_SHUFFLE(1, 0, 3, 2)));
		s2 = (uint32_t)_mm_cvtsi128_si32(v_s2);
		s1 %= ADLER_BASE;
		s2 %= ADLER_BASE;
	}
	/* fewer than 32 bytes left: s2 stays far below 2^32 */
	while (n--) {
		s1 += *p++;
		s2 += s1;
	}
	return (s1 % ADLER_BASE) | (s2 % ADLER_BASE) << 16;
}

/*
 * The CRC register as Linux's crc32_le() has it (zlib's value is its
 * complement before and after), over n bytes, n >= 64 and a multiple of 16.
 */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc_fold(uint32_t crc, const unsigned char *p, size_t n)
{
	const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);	/* x^(4*128+-32) */
	const __m128i k3k4 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);	/* x^(128+-32) */
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124);		/* x^64 */
	const __m128i poly = _mm_set_epi64x(0x1f7011641, 0x1db710641);	/* mu, P */
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i x1 = _mm_loadu_si128((const __m128i *)p);
	__m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
	__m128i t;

	x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
	p += 64;
	n -= 64;
	for (; n >= 64; n -= 64, p += 64) {
		__m128i h1 = _mm_clmulepi64_si128(x1, k1k2, 0x11), h2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
		__m128i h3 = _mm_clmulepi64_si128(x3, k1k2, 0x11), h4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k1k2, 0x00), h1),
				   _mm_loadu_si128((const __m128i *)p));
		x2 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x2, k1k2, 0x00), h2),
				   _mm_loadu_si128((const __m128i *)(p + 16)));
		x3 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x3, k1k2, 0x00), h3),
				   _mm_loadu_si128((const __m128i *)(p + 32)));
		x4 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x4, k1k2, 0x00), h4),
				   _mm_loadu_si128((const __m128i *)(p + 48)));
	}
	/* four lanes into one */
#define FOLD(acc, next) \
	(t = _mm_clmulepi64_si128(acc, k3k4, 0x11), \
	 _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k3k4, 0x00), t), next))
	x1 = FOLD(x1, x2);
	x1 = FOLD(x1, x3);
	x1 = FOLD(x1, x4);
	for (; n >= 16; n -= 16, p += 16)
		x1 = FOLD(x1, _mm_loadu_si128((const __m128i *)p));
#undef FOLD
	/* 128 -> 64 bits (also appends the 32 zero bits of the division) */
	t = _mm_clmulepi64_si128(k3k4, x1, 0x01);
	x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
	/* 64 -> 32 bits */
	t = _mm_srli_si128(x1, 4);
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k5, 0x00);
	x1 = _mm_xor_si128(x1, t);
	/* Barrett reduction */
	t = x1;
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x10);
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x00);
	x1 = _mm_xor_si128(x1, t);
	return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

uint32_t mlp_adler32(uint32_t adler, const void *data, size_t n)
{
#ifdef HAVE_SIMD_CODE
	if (n >= 64 && have_adler_simd())
		return adler_ssse3(adler, data, n);
#endif
	return zlib_adler(adler, data, n);
}

uint32_t mlp_crc32(uint32_t crc, const void *data, size_t n)
{
	const unsigned char *p = data;

#ifdef HAVE_SIMD_CODE
	if (n >= 64 && have_crc_simd()) {
		size_t body = n & ~(size_t)15;
		crc = ~crc_fold(~crc, p, body);
		p += body;
		n -= body;
	}
#endif
	return zlib_crc(crc, p, n);
}
