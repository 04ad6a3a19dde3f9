#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const cat_usage[] = {
	"git mlp cat <run> [<path>]",
	"git mlp cat --file <file>",
	NULL
};

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

static int read_file(struct mlp_buf *out, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char chunk[65536];
	size_t n;

	if (!f)
		return error("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		mlp_buf_add(out, chunk, n);
		if (out->len > MLP_MAX_RECORD_SIZE) {
			if (f != stdin)
				fclose(f);
			return error("'%s' is larger than a record can be", path);
		}
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int cmd_cat(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *file = NULL;
	struct mlp_buf data = MLP_BUF_INIT, out = MLP_BUF_INIT;
	const char *path;
	char id[MLP_ID_HEXSZ + 1];
	int ret = 0;
	struct mlp_option opts[] = {
		OPT_STRING(0, "file", &file, "file", "decode a record from a file ('-' for stdin), e.g. as textconv"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, cat_usage, 0);
	if (file) {
		if (argc > 1)
			mlp_usage_with_options(cat_usage, opts);
		/* textconv passes the file as an extra argument */
		if (argc == 1 && !*file)
			file = argv[0];
		if (read_file(&data, file) < 0)
			return 1;
		if (mlp_record_to_json(&out, data.buf, data.len) < 0) {
			ret = error("%s: %s", file, mlp_error_message());
		} else {
			mlp_buf_addch(&out, '\n');
			write_stdout(&out);
		}
		goto done;
	}
	if (argc < 1 || argc > 2)
		mlp_usage_with_options(cat_usage, opts);
	if (mlp_repo_open(&ctx->repo) < 0)
		die_lib();
	path = argc == 2 ? argv[1] : "run.mp";
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_read_file(&data, ctx->repo, id, path) < 0) {
		ret = error("%s", mlp_error_message());
		goto done;
	}
	if (ends_with(path, ".mp") || ends_with(path, ".mlpfile")) {
		if (mlp_record_to_json(&out, data.buf, data.len) < 0)
			die("run %s: %s: %s", id, path, mlp_error_message());
		mlp_buf_addch(&out, '\n');
		write_stdout(&out);
	} else {
		write_stdout(&data);
	}
done:
	mlp_buf_release(&data);
	mlp_buf_release(&out);
	return ret ? 1 : 0;
}
