/*
 * Params and metrics files a training script writes (params.yaml,
 * Hydra's config.yaml, params.json, metrics.json): the first byte picks
 * YAML or JSON and params or metrics; the rest is the file.
 */
#include "fuzz.h"
#include "capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[512];
	struct mlp_map m = MLP_MAP_INIT;
	int err;

	if (!size)
		return 0;
	snprintf(path, sizeof(path), "%s/params.%s", fuzz_tmpdir(), data[0] & 1 ? "json" : "yaml");
	fuzz_write_file(path, data + 1, size - 1);
	err = (data[0] & 2) ? mlp_read_metrics_file(&m, path) : mlp_read_params_file(&m, path);
	fuzz_check_error(err);
	for (size_t i = 0; i < m.nr; i++) {
		if (!m.items[i].key[0])
			__builtin_trap();
		if ((data[0] & 2) && m.items[i].val.type != MLP_INT && m.items[i].val.type != MLP_FLOAT)
			__builtin_trap();	/* metrics are numbers */
	}
	/* what a params file gave must be storable as params.mp */
	if (!err && !(data[0] & 2)) {
		struct mlp_buf rec = MLP_BUF_INIT;
		if (mlp_record_encode_params(&rec, &m) == 0) {
			struct mlp_map back = MLP_MAP_INIT;
			if (mlp_record_decode_params(&back, rec.buf, rec.len) < 0)
				__builtin_trap();
			mlp_map_clear(&back);
		}
		mlp_buf_release(&rec);
	}
	mlp_map_clear(&m);
	unlink(path);
	return 0;
}
