/*
 * git mlp import: runs from MLflow (FileStore or SQLite), DVCLive and DVC
 * experiment refs.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const char *const import_usage[] = {
	"git mlp import mlflow [-e <experiment>] [--dry-run] <mlruns-dir | mlflow.db>",
	"git mlp import dvclive [-n <name>] [-e <experiment>] [--base <rev>] [--dry-run] <dir>",
	"git mlp import dvc-exp [-e <experiment>] [--dry-run]",
	NULL
};

int cmd_import(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *experiment = NULL, *name = NULL, *base = NULL, *kind;
	int dry_run = 0, err;
	struct mlp_import_stats st;
	struct mlp_import_opts o;
	struct mlp_option opts[] = {
		OPT_STRING('e', "experiment", &experiment, "name", "put the runs in this experiment"),
		OPT_STRING('n', "name", &name, "name", "dvclive: the run's name"),
		OPT_STRING(0, "base", &base, "rev", "dvclive: the base commit (default HEAD)"),
		OPT_BOOL(0, "dry-run", &dry_run, "read and count; write nothing"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, import_usage, 0);
	if (argc < 1)
		mlp_usage_with_options(import_usage, opts);
	kind = argv[0];
	memset(&o, 0, sizeof(o));
	o.warn = warn_cb;
	o.dry_run = dry_run;
	o.experiment = experiment;
	o.name = name;
	o.base = base;
	if ((name || base) && strcmp(kind, "dvclive")) {
		error("--name and --base apply to 'import dvclive' only");
		mlp_usage_with_options(import_usage, opts);
	}
	if (!strcmp(kind, "mlflow") && argc == 2) {
		err = mlp_import_mlflow(ctx->repo, argv[1], &o, &st);
	} else if (!strcmp(kind, "dvclive") && argc == 2) {
		err = mlp_import_dvclive(ctx->repo, argv[1], &o, &st);
	} else if (!strcmp(kind, "dvc-exp") && argc == 1) {
		err = mlp_import_dvc_exp(ctx->repo, &o, &st);
	} else {
		if (strcmp(kind, "mlflow") && strcmp(kind, "dvclive") && strcmp(kind, "dvc-exp"))
			error("unknown source '%s' (mlflow, dvclive or dvc-exp)", kind);
		mlp_usage_with_options(import_usage, opts);
	}
	if (err < 0)
		die_lib();
	if (st.artifacts)
		warning("artifacts of %zu run%s left out: import stores params, metrics and tags",
			st.artifacts, st.artifacts == 1 ? "" : "s");
	printf("%zu %s, %zu already present", st.imported, dry_run ? "to import" : "imported", st.present);
	if (st.skipped)
		printf(", %zu skipped", st.skipped);
	if (st.no_base)
		printf(" (%zu without a base commit)", st.no_base);
	putchar('\n');
	return 0;
}
