/*
 * Replaying a live run's journal after a crash.  With the first byte
 * even, the rest is the journal file as it is; with it odd, the rest is
 * a list of batches (u16 length, payload) that the target frames with a
 * correct header and checksum, so the fuzzer reaches the entry parser.
 */
#include "fuzz.h"
#include "journal.h"

#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	struct mlp_buf file = MLP_BUF_INIT, rec = MLP_BUF_INIT;
	struct mlp_journal_state st;
	struct mlp_run *run;
	int err;

	if (!size)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "%s/journal", fuzz_tmpdir());
	if (data[0] & 1) {
		const uint8_t *p = data + 1, *end = data + size;
		mlp_buf_adds(&file, "MLPJ1\n");
		while (end - p >= 2) {
			size_t len = (size_t)p[0] | (size_t)p[1] << 8;
			unsigned char hdr[8];
			uint32_t sum;
			p += 2;
			if (len > (size_t)(end - p))
				len = (size_t)(end - p);
			sum = XXH32(p, len, 0);
			for (int i = 0; i < 4; i++) {
				hdr[i] = (unsigned char)(len >> (8 * i));
				hdr[4 + i] = (unsigned char)(sum >> (8 * i));
			}
			mlp_buf_add(&file, hdr, 8);
			mlp_buf_add(&file, p, len);
			p += len;
		}
	} else {
		mlp_buf_add(&file, data + 1, size - 1);
	}
	fuzz_write_file(path, file.buf ? file.buf : "", file.len);
	run = mlp_run_new();
	memcpy(run->id, "0123456789abcdef0123456789abcdef", MLP_ID_HEXSZ + 1);
	err = mlp_journal_replay(path, run, &st);
	fuzz_check_error(err);
	mlp_run_summarize(run);
	/* crash recovery then stores what it replayed */
	mlp_record_encode_params(&rec, &run->params);
	mlp_record_encode_summary(&rec, run);
	mlp_record_encode_run(&rec, run);
	mlp_buf_release(&rec);
	mlp_buf_release(&file);
	mlp_run_free(run);
	return 0;
}
