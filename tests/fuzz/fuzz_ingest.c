/*
 * The $MLP_METRICS JSON-lines protocol: every line of the input into one
 * fresh run, as a training script would write them, then the records the
 * run would be stored as (encoded and decoded back).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlp_run *run = mlp_run_new();
	const char *p = (const char *)data, *end = p + size;
	struct mlp_buf rec = MLP_BUF_INIT;
	int64_t now = 1700000000000;

	memcpy(run->id, "0123456789abcdef0123456789abcdef", MLP_ID_HEXSZ + 1);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fuzz_check_error(mlp_ingest_json_line(run, p, n, now++));
		p += n + 1;
	}
	mlp_run_summarize(run);

	/* what ingest accepted must be storable and read back */
	if (mlp_record_encode_params(&rec, &run->params) == 0) {
		struct mlp_map back = MLP_MAP_INIT;
		if (mlp_record_decode_params(&back, rec.buf, rec.len) < 0 || back.nr != run->params.nr)
			__builtin_trap();
		mlp_map_clear(&back);
	}
	mlp_buf_reset(&rec);
	if (mlp_record_encode_summary(&rec, run) == 0) {
		struct mlp_run *back = mlp_run_new();
		if (mlp_record_decode_summary(back, rec.buf, rec.len) < 0 ||
		    back->summary_nr != run->summary_nr)
			__builtin_trap();
		mlp_run_free(back);
	}
	mlp_buf_reset(&rec);
	if (mlp_record_encode_run(&rec, run) == 0) {
		struct mlp_run *back = mlp_run_new();
		if (mlp_record_decode_run(back, rec.buf, rec.len) < 0 || back->tags.nr != run->tags.nr)
			__builtin_trap();
		mlp_run_free(back);
	}
	for (size_t i = 0; i < run->series_nr; i++) {
		mlp_buf_reset(&rec);
		size_t n = run->series[i].nr < MLP_CHUNK_POINTS ? run->series[i].nr : MLP_CHUNK_POINTS;
		if (mlp_record_encode_chunk(&rec, &run->series[i], 0, n) == 0) {
			struct mlp_run *back = mlp_run_new();
			if (mlp_record_decode_chunk(back, run->series[i].key, rec.buf, rec.len) < 0)
				__builtin_trap();
			mlp_run_free(back);
		}
	}
	mlp_buf_release(&rec);
	mlp_run_free(run);
	return 0;
}
