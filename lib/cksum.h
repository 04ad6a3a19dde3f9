/*
 * The two checksums a packfile needs besides SHA-1: zlib's Adler-32 (the
 * trailer of each object's zlib stream) and CRC-32 (of each entry, in the
 * .idx).  Same values and calling convention as zlib's adler32() and
 * crc32(), any length; with the CPU's SSSE3 and PCLMULQDQ instructions
 * they run at several times zlib's speed, which matters because artifact
 * ingest computes both over every new byte.
 */
#ifndef MLP_CKSUM_H
#define MLP_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* adler32(adler, p, n) and crc32(crc, p, n) of zlib; start from 1 and 0. */
uint32_t mlp_adler32(uint32_t adler, const void *p, size_t n);
uint32_t mlp_crc32(uint32_t crc, const void *p, size_t n);
/* Forces zlib's code (tests compare both); returns the old setting. */
int mlp_cksum_force_portable(int on);
/* 1 when the CPU instructions are used. */
int mlp_cksum_accelerated(void);

#endif
