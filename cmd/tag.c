/*
 * git mlp tag <run> [<key>=<value>...] [-d <key>]...: show, set or delete
 * a run's tags; git mlp note <run> [-m <text> | -F <file> | --clear]:
 * show or set its note.  Both amend the recorded run with compare-and-swap.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const tag_usage[] = {
	"git mlp tag <run> [<key>=<value>...] [-d <key>]...",
	NULL
};

static const char *const note_usage[] = {
	"git mlp note <run> [-m <text> | -F <file> | --clear]",
	NULL
};

static int save(struct mlp_ctx *ctx, struct mlp_run *run)
{
	int err = mlp_run_save(ctx->repo, run, NULL);

	if (err == MLP_ECONFLICT)
		return error("%s; try again", mlp_error_message());
	if (err < 0)
		die_lib();
	return 0;
}

int cmd_tag(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_strlist del = { 0 };
	char id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL;
	int ret = 0, changed = 0;
	struct mlp_option opts[] = {
		OPT_LIST('d', "delete", &del, "key", "delete a tag (repeatable)"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, tag_usage, 0);
	if (argc < 1)
		mlp_usage_with_options(tag_usage, opts);
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
		die_lib();
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char *key;
		struct mlp_value v;
		if (!eq || eq == argv[i]) {
			error("'%s' is not of the form key=value", argv[i]);
			mlp_usage_with_options(tag_usage, opts);
		}
		key = mlp_strndup(argv[i], (size_t)(eq - argv[i]));
		if (mlp_key_check("tag", key) < 0)
			die_lib();
		memset(&v, 0, sizeof(v));
		mlp_value_set_str(&v, eq + 1, strlen(eq + 1));	/* tags are text */
		mlp_map_set(&run->tags, key, &v);
		free(key);
		changed = 1;
	}
	for (size_t i = 0; i < del.nr; i++) {
		if (mlp_map_remove(&run->tags, del.items[i]) < 0)
			ret = error("run %.8s has no tag '%s'", run->id, del.items[i]);
		else
			changed = 1;
	}
	if (changed && save(ctx, run) < 0)
		ret = -1;
	if (!changed && !del.nr)
		for (size_t i = 0; i < run->tags.nr; i++) {
			struct mlp_buf b = MLP_BUF_INIT;
			mlp_value_format(&b, &run->tags.items[i].val);
			printf("%s=%s\n", term_text(run->tags.items[i].key), term_text(b.buf));
			mlp_buf_release(&b);
		}
	mlp_run_free(run);
	mlp_strlist_free(&del);
	return ret ? 1 : 0;
}

static char *read_all(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	struct mlp_buf b = MLP_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		die("cannot open '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		mlp_buf_add(&b, chunk, n);
		if (b.len > (1u << 20))
			die("'%s': a note is at most 1 MiB", path);
	}
	if (f != stdin)
		fclose(f);
	return mlp_buf_detach(&b, NULL);
}

int cmd_note(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *msg = NULL, *file = NULL;
	int clear = 0, ret = 0;
	char id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL;
	struct mlp_option opts[] = {
		OPT_STRING('m', "message", &msg, "text", "set the note to this text"),
		OPT_STRING('F', "file", &file, "file", "set the note from a file ('-' for stdin)"),
		OPT_BOOL(0, "clear", &clear, "remove the note"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, note_usage, 0);
	if (argc != 1 || (!!msg + !!file + clear) > 1)
		mlp_usage_with_options(note_usage, opts);
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
		die_lib();
	if (!msg && !file && !clear) {
		if (run->note) {
			struct mlp_buf b = MLP_BUF_INIT;
			mlp_text_sanitizes(&b, run->note, MLP_TEXT_NL | MLP_TEXT_TAB);
			if (!b.len || b.buf[b.len - 1] != '\n')
				mlp_buf_addch(&b, '\n');
			write_stdout(&b);
			mlp_buf_release(&b);
		}
		else
			ret = 1;	/* "no": there is no note */
		mlp_run_free(run);
		return ret;
	}
	free(run->note);
	run->note = clear ? NULL : msg ? mlp_strdup(msg) : read_all(file);
	if (run->note && memchr(run->note, '\0', strlen(run->note) + 1) != run->note + strlen(run->note))
		die("a note cannot hold a NUL byte");
	ret = save(ctx, run) < 0;
	mlp_run_free(run);
	return ret;
}
