/*
 * The artifact records of a run tree: artifacts.mp (the file list) and
 * a chunked file's .mlpfile manifest, both untrusted, then the renderers
 * over what decoded; the input as a path goes through the name checks
 * that keep checkout inside its target.
 */
#include "fuzz.h"
#include "artifact.h"

#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mlp_manifest m;
	struct mlp_run *run = mlp_run_new();
	struct mlp_buf b = MLP_BUF_INIT;
	char *path;
	int err;

	err = mlp_manifest_decode(&m, data, size);
	fuzz_check_error(err);
	if (!err && m.mode != 0100644 && m.mode != 0100755)
		__builtin_trap();

	err = mlp_artifact_decode_list(run, data, size);
	fuzz_check_error(err);
	if (!err) {
		for (size_t i = 0; i < run->artifact_nr; i++)
			if (!mlp_artifact_path_ok(run->artifact[i].path))
				__builtin_trap();	/* a hostile path got through */
		mlp_render_artifacts(&b, run);
		mlp_render_artifacts_json(&b, run);
		mlp_buf_reset(&b);
		/* reported: entries without an oid or xxh128 decode (as "") but
		 * do not encode back; round-trip only complete entries */
		int complete = 1;
		for (size_t i = 0; i < run->artifact_nr; i++)
			if (!run->artifact[i].oid[0] || !run->artifact[i].xxh128[0])
				complete = 0;
		if (complete && mlp_artifact_encode_list(&b, run) == 0) {
			struct mlp_run *back = mlp_run_new();
			if (mlp_artifact_decode_list(back, b.buf, b.len) < 0 ||
			    back->artifact_nr != run->artifact_nr)
				__builtin_trap();
			mlp_run_free(back);
		}
	}

	/* an accepted path has no empty, ".", ".." or ".git" component */
	path = fuzz_cstr(data, size);
	if (mlp_artifact_path_ok(path)) {
		size_t len = strlen(path);
		if (path[0] == '/' || path[len - 1] == '/' || strstr(path, "//"))
			__builtin_trap();
		for (char *save = NULL, *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save))
			if (!strcmp(c, ".") || !strcmp(c, "..") || !strcasecmp(c, ".git"))
				__builtin_trap();
	}
	free(path);
	mlp_buf_release(&b);
	mlp_run_free(run);
	return 0;
}
