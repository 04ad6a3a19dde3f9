/*
 * git mlp gc: drop stale rows of the artifact caches (chunk table, stat
 * cache), rebuild missing chunk table rows from the runs' artifacts and
 * pack loose run refs.  Pruning objects stays `git gc`'s job.
 */
#include "cmd.h"

static const char *const gc_usage[] = { "git mlp gc", NULL };

int cmd_gc(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_gc_stats st;
	struct mlp_option opts[] = { OPT_END() };

	argc = mlp_parse_options(argc, argv, opts, gc_usage, 0);
	if (argc)
		mlp_usage_with_options(gc_usage, opts);
	if (mlp_artifact_gc(ctx->repo, &st) < 0)
		die_lib();
	printf("chunk table: %zu rows, %zu stale dropped, %zu added from runs (%llu bytes read)\n",
	       st.chunk_rows, st.chunk_dropped, st.chunk_added, (unsigned long long)st.chunk_bytes_read);
	printf("stat cache: %zu rows, %zu stale dropped\n", st.stat_rows, st.stat_dropped);
	printf("cache files: %llu -> %llu bytes (%lld freed)\n", (unsigned long long)st.bytes_before,
	       (unsigned long long)st.bytes_after,
	       (long long)st.bytes_before - (long long)st.bytes_after);
	printf("loose run refs: %zu -> %zu\n", st.loose_refs_before, st.loose_refs_after);
	return 0;
}
