/*
 * DVCLive's files as a run writes them: the input up to the first NUL is
 * dvclive/plots/metrics/train/loss.tsv, the rest dvclive/metrics.json;
 * polled once live and once at the end.
 */
#include "fuzz.h"
#include "capture.h"

#include <sys/stat.h>

static char dir[512], tsv[600], json[600];
static size_t points;

static void point(void *data, const char *key, int has_step, int64_t step, double value, int64_t t_ms)
{
	if (!key || !*key)
		__builtin_trap();
	points++;
}

static void warn(void *data, const char *msg)
{
	if (!msg || !*msg)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlp_dvclive *d;
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul ? (size_t)(nul - data) : size;

	if (!dir[0]) {
		char sub[600];
		snprintf(dir, sizeof(dir), "%s/dvclive", fuzz_tmpdir());
		mkdir(dir, 0700);
		snprintf(sub, sizeof(sub), "%s/plots", dir);
		mkdir(sub, 0700);
		snprintf(sub, sizeof(sub), "%s/plots/metrics", dir);
		mkdir(sub, 0700);
		snprintf(sub, sizeof(sub), "%s/plots/metrics/train", dir);
		mkdir(sub, 0700);
		snprintf(tsv, sizeof(tsv), "%s/loss.tsv", sub);
		snprintf(json, sizeof(json), "%s/metrics.json", dir);
	}
	fuzz_write_file(tsv, data, n);
	if (nul)
		fuzz_write_file(json, nul + 1, size - n - 1);
	else
		unlink(json);
	d = mlp_dvclive_new(dir);
	fuzz_check_error(mlp_dvclive_poll(d, 0, point, NULL, warn, NULL));
	fuzz_check_error(mlp_dvclive_poll(d, 1, point, NULL, warn, NULL));
	mlp_dvclive_free(d);
	return 0;
}
