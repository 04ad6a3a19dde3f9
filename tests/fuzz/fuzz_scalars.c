/*
 * Scalars in a command's output: the built-in rules and configured PCRE2
 * patterns over each line.  The first byte picks the matcher.
 */
#include "fuzz.h"
#include "capture.h"

static const char *const patterns[] = {
	"(?<key>[A-Za-z_]+)\\s*[:=]\\s*(?<value>[-+0-9.eE]+)",
	"(?<loss>[0-9.]+)",
	"epoch (?<step>\\d+).*?acc(uracy)? (?<acc>\\S+)",
	"(?<x>)",	/* matches the empty string everywhere */
	"(?<key>\\w*)(?<value>\\d*)(?<step>\\d*)",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))

static struct mlp_scalars *matchers[NPAT + 1];
static size_t points;

static void point(void *data, const char *key, int has_step, int64_t step, double value, int64_t t_ms)
{
	if (!key || !*key || strlen(key) > MLP_MAX_KEY_LEN)
		__builtin_trap();
	points++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t which;
	const char *p, *end;

	if (!size)
		return 0;
	which = data[0] % (NPAT + 1);
	if (!matchers[which]) {
		/* compiled once: the patterns are configuration, the lines are input */
		int err = which ? mlp_scalars_new(&matchers[which], &patterns[which - 1], 1)
				: mlp_scalars_new(&matchers[which], NULL, 0);
		if (err < 0)
			__builtin_trap();
	}
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		mlp_scalars_match(matchers[which], p, n, point, NULL);
		p += n + 1;
	}
	return 0;
}
