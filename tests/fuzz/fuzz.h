/*
 * Shared helpers of the libFuzzer targets (tests/fuzz/fuzz_*.c).  Each
 * target is one LLVMFuzzerTestOneInput; `make fuzz` builds them with
 * clang -fsanitize=fuzzer,address,undefined against the library sources
 * compiled the same way (build/fuzz/).  See docs/security.md.
 */
#ifndef MLP_FUZZ_H
#define MLP_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private directory for the whole fuzzing process, made on first use. */
static inline const char *fuzz_tmpdir(void)
{
	static char dir[256];

	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof(dir), "%s/mlp-fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(dir))
			__builtin_trap();
	}
	return dir;
}

/* Writes `data` to `path`, replacing it. */
static inline void fuzz_write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	const char *p = data;

	if (fd < 0)
		__builtin_trap();
	while (size) {
		ssize_t n = write(fd, p, size);
		if (n <= 0)
			__builtin_trap();
		p += n;
		size -= (size_t)n;
	}
	close(fd);
}

/* A NUL-terminated copy of the input (free() it). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		__builtin_trap();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The library must set a message with every failure. */
static inline void fuzz_check_error(int err)
{
	if (err < 0 && !*mlp_error_message())
		__builtin_trap();
	if (err < -11)
		__builtin_trap();
}

#endif
