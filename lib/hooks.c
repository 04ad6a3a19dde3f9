/*
 * The logic behind the git hooks.  The installed scripts only exec
 * `git mlp hook <name>`; everything that decides lives here, tested.
 *
 * Trust: a hook runs only because the local user ran `git mlp
 * install-hooks`.  Nothing a clone brings (tracked files, fetched refs)
 * can make one run a command: mlp.autorun.command is taken only from
 * config files the user owns, never from a file included from inside the
 * work tree.
 */
#include "internal.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const mlp_hook_names[] = {
	"pre-push", "prepare-commit-msg", "post-commit", "post-checkout", "post-merge", NULL
};

#define CHAINED ".mlp-chained"

int mlp_hooks_dir(char **out, struct mlp_repo *repo)
{
	char *hp = NULL;
	struct mlp_buf b = MLP_BUF_INIT;

	*out = NULL;
	if (mlp_config_get_string(repo, "core.hooksPath", &hp) == 0 && *hp) {
		if (hp[0] == '~' && hp[1] == '/' && getenv("HOME"))
			mlp_buf_addf(&b, "%s%s", getenv("HOME"), hp + 1);
		else if (hp[0] == '/')
			mlp_buf_adds(&b, hp);
		else	/* git runs hooks from the work tree root (GIT_DIR when bare) */
			mlp_buf_addf(&b, "%s%s%s", repo->workdir ? repo->workdir : git_repository_path(repo->git),
				     "", hp);
		free(hp);
		*out = mlp_buf_detach(&b, NULL);
		return 0;
	}
	free(hp);
	mlp_error_clear();
	mlp_buf_addf(&b, "%shooks", git_repository_commondir(repo->git));
	*out = mlp_buf_detach(&b, NULL);
	return 0;
}

void mlp_hook_script(struct mlp_buf *out, const char *name)
{
	mlp_buf_addf(out,
		     "#!/bin/sh\n"
		     MLP_HOOK_MARKER "\n"
		     "# 'git mlp install-hooks --uninstall' removes it and puts back a hook it chained.\n"
		     "exec git mlp hook %s \"$@\"\n", name);
}

static int read_small(struct mlp_buf *out, const char *path)
{
	FILE *f = fopen(path, "rb");
	char buf[4096];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && out->len < (1u << 20))
		mlp_buf_add(out, buf, n);
	fclose(f);
	if (!out->buf)
		mlp_buf_adds(out, "");
	return 0;
}

static int is_ours(const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int ours = read_small(&b, path) == 0 && strstr(b.buf, MLP_HOOK_MARKER) != NULL;
	mlp_buf_release(&b);
	return ours;
}

static int mkdir_p(const char *path)
{
	char *p = mlp_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return mkdir(path, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

static void note(mlp_note_fn fn, void *data, const char *hook, const char *what)
{
	if (fn)
		fn(data, hook, what);
}

static int write_script(const char *path, const char *name)
{
	struct mlp_buf text = MLP_BUF_INIT, tmp = MLP_BUF_INIT;
	FILE *f;
	int ok;

	mlp_hook_script(&text, name);
	mlp_buf_addf(&tmp, "%s.mlp-tmp", path);
	f = fopen(tmp.buf, "wb");
	ok = f && fwrite(text.buf, 1, text.len, f) == text.len;
	if (f && fclose(f))
		ok = 0;
	ok = ok && chmod(tmp.buf, 0755) == 0 && rename(tmp.buf, path) == 0;
	if (!ok)
		unlink(tmp.buf);
	mlp_buf_release(&text);
	mlp_buf_release(&tmp);
	return ok ? 0 : mlp_error_set(MLP_ERROR, "cannot write '%s': %s", path, strerror(errno));
}

int mlp_hooks_install(struct mlp_repo *repo, int uninstall, mlp_note_fn fn, void *data)
{
	char *dir = NULL;
	int err = 0;

	if ((err = mlp_hooks_dir(&dir, repo)) < 0)
		return err;
	if (!uninstall && mkdir_p(dir) < 0) {
		err = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", dir, strerror(errno));
		goto done;
	}
	for (size_t i = 0; mlp_hook_names[i]; i++) {
		const char *name = mlp_hook_names[i];
		struct mlp_buf path = MLP_BUF_INIT, chained = MLP_BUF_INIT;
		struct stat st;
		int exists, has_chained;

		mlp_buf_addf(&path, "%s/%s", dir, name);
		mlp_buf_addf(&chained, "%s" CHAINED, path.buf);
		exists = lstat(path.buf, &st) == 0;
		has_chained = lstat(chained.buf, &st) == 0;
		if (uninstall) {
			if (exists && !is_ours(path.buf)) {
				note(fn, data, name, "not installed by git-mlp: left alone");
			} else {
				if (exists && unlink(path.buf) < 0)
					err = mlp_error_set(MLP_ERROR, "cannot remove '%s': %s", path.buf, strerror(errno));
				else if (has_chained && rename(chained.buf, path.buf) < 0)
					err = mlp_error_set(MLP_ERROR, "cannot restore '%s': %s", path.buf, strerror(errno));
				else if (has_chained)
					note(fn, data, name, "removed; the previous hook is restored");
				else if (exists)
					note(fn, data, name, "removed");
			}
		} else if (exists && !is_ours(path.buf)) {
			if (has_chained) {
				note(fn, data, name, "left alone: an existing hook and a chained one (" CHAINED ") "
						     "are both there");
			} else if (rename(path.buf, chained.buf) < 0) {
				err = mlp_error_set(MLP_ERROR, "cannot rename '%s': %s", path.buf, strerror(errno));
			} else if ((err = write_script(path.buf, name)) < 0) {
				rename(chained.buf, path.buf);
			} else {
				note(fn, data, name, "installed; the existing hook is kept as " CHAINED
						     " and runs first");
			}
		} else {
			if ((err = write_script(path.buf, name)) == 0)
				note(fn, data, name, exists ? "up to date" : has_chained ? "installed (chaining " CHAINED ")"
											 : "installed");
		}
		mlp_buf_release(&path);
		mlp_buf_release(&chained);
		if (err < 0)
			break;
	}
done:
	free(dir);
	return err;
}

int mlp_hook_chained(char **out, struct mlp_repo *repo, const char *name)
{
	char *dir = NULL;
	struct mlp_buf b = MLP_BUF_INIT;
	int err;

	*out = NULL;
	if ((err = mlp_hooks_dir(&dir, repo)) < 0)
		return err;
	mlp_buf_addf(&b, "%s/%s" CHAINED, dir, name);
	free(dir);
	if (access(b.buf, X_OK) < 0) {
		mlp_buf_release(&b);
		return MLP_ENOTFOUND;
	}
	*out = mlp_buf_detach(&b, NULL);
	return 0;
}

/* ---- prepare-commit-msg ------------------------------------------------------------------ */

#define MAX_TRAILERS 10

int mlp_hook_prepare_commit_msg(struct mlp_repo *repo, const char *msg_file, const char *source,
				size_t *added)
{
	const char *index_file = getenv("GIT_INDEX_FILE");
	git_index *index = NULL;
	git_oid tree;
	char tree_hex[MLP_OID_HEXSZ + 1];
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_buf msg = MLP_BUF_INIT;
	const char **argv = NULL;
	size_t argc = 0;
	char **trailers = NULL;
	size_t ntrailers = 0;
	int err = 0;

	*added = 0;
	/* a merge or squash message describes other commits */
	if (source && (!strcmp(source, "merge") || !strcmp(source, "squash")))
		return 0;
	/* `git commit -a` and `git commit <paths>` commit a temporary index */
	if (index_file && *index_file ? git_index_open(&index, index_file) < 0
				     : git_repository_index(&index, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot read the index");
	if (git_index_has_conflicts(index) || git_index_write_tree_to(&tree, index, repo->git) < 0) {
		git_index_free(index);
		git_error_clear();
		return 0;	/* nothing committable yet */
	}
	git_index_free(index);
	git_oid_tostr(tree_hex, sizeof(tree_hex), &tree);
	if (read_small(&msg, msg_file) < 0)
		return mlp_error_set(MLP_ERROR, "cannot read '%s': %s", msg_file, strerror(errno));
	if ((err = mlp_run_list_all(&list, repo, NULL, NULL)) < 0)
		goto done;
	for (size_t i = 0; i < list.nr && ntrailers < MAX_TRAILERS; i++) {
		const struct mlp_run *run = list.runs[i];
		struct mlp_buf t = MLP_BUF_INIT, have = MLP_BUF_INIT;
		if (strcmp(run->workspace, tree_hex))
			continue;
		mlp_buf_addf(&have, "Mlp-Run: %.8s", run->id);
		if (strstr(msg.buf, have.buf)) {
			mlp_buf_release(&have);
			continue;	/* already there (amend, a second hook run) */
		}
		mlp_buf_addf(&t, "Mlp-Run: %.8s %s", run->id, run->name ? run->name : "-");
		if (run->summary_nr) {
			mlp_buf_addch(&t, ' ');
			mlp_run_format_metrics(&t, run, 3);
		}
		for (char *c = t.buf; *c; c++)
			if ((unsigned char)*c < 0x20)
				*c = ' ';
		trailers = mlp_realloc(trailers, (ntrailers + 1) * sizeof(char *));
		trailers[ntrailers++] = mlp_buf_detach(&t, NULL);
		mlp_buf_release(&have);
	}
	if (!ntrailers)
		goto done;
	/* git's own trailer placement: after existing trailers, before comments */
	argv = mlp_calloc(2 * ntrailers + 8, sizeof(char *));
	argv[argc++] = "git";
	argv[argc++] = "interpret-trailers";
	argv[argc++] = "--in-place";
	argv[argc++] = "--if-exists";
	argv[argc++] = "addIfDifferent";
	for (size_t i = 0; i < ntrailers; i++) {
		argv[argc++] = "--trailer";
		argv[argc++] = trailers[i];
	}
	argv[argc++] = msg_file;
	{
		struct mlp_spawn s = { 0 };
		s.argv = argv;
		s.capture_out = s.capture_err = 1;
		if ((err = mlp_spawn_run(&s)) == 0 && s.status)
			err = mlp_error_set(MLP_ERROR, "git interpret-trailers failed: %s", s.err.buf);
		mlp_spawn_release(&s);
	}
	if (!err)
		*added = ntrailers;
done:
	for (size_t i = 0; i < ntrailers; i++)
		free(trailers[i]);
	free(trailers);
	free(argv);
	mlp_buf_release(&msg);
	mlp_run_list_release(&list);
	return err;
}

/* ---- post-commit autorun ------------------------------------------------------------------ */

/* `path` (existing) lies in the work tree, outside the git directory. */
static int inside_worktree(struct mlp_repo *repo, const char *path)
{
	char real[PATH_MAX], wt[PATH_MAX], gd[PATH_MAX];
	size_t n;

	if (!repo->workdir || !realpath(path, real) || !realpath(repo->workdir, wt))
		return 0;
	n = strlen(wt);
	if (strncmp(real, wt, n) || (real[n] != '/' && real[n] != '\0'))
		return 0;
	if (realpath(git_repository_commondir(repo->git), gd)) {
		size_t g = strlen(gd);
		if (!strncmp(real, gd, g) && (real[g] == '/' || real[g] == '\0'))
			return 0;	/* .git/ is the user's, not the clone's */
	}
	return 1;
}

/* The directory a config file of `level` lives in, for relative include paths. */
static void level_dir(struct mlp_buf *b, struct mlp_repo *repo, git_config_level_t level)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	switch (level) {
	case GIT_CONFIG_LEVEL_LOCAL:
		mlp_buf_adds(b, git_repository_commondir(repo->git));
		break;
	case GIT_CONFIG_LEVEL_GLOBAL:
		mlp_buf_addf(b, "%s/", home ? home : "");
		break;
	case GIT_CONFIG_LEVEL_XDG:
		if (xdg && *xdg)
			mlp_buf_addf(b, "%s/git/", xdg);
		else
			mlp_buf_addf(b, "%s/.config/git/", home ? home : "");
		break;
	default:
		mlp_buf_adds(b, "/etc/");
		break;
	}
}

/*
 * Does any include.path / includeIf.*.path lead into the work tree?
 * Nested includes are relative to a file we cannot name: such a relative
 * path counts as leading into the work tree (refusing is the safe side).
 */
static int includes_worktree(struct mlp_repo *repo, git_config *cfg)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	int bad = 0;

	if (git_config_iterator_glob_new(&it, cfg, "^include(if\\..*)?\\.path$") < 0) {
		git_error_clear();
		return 1;
	}
	while (!bad && git_config_next(&e, it) == 0) {
		struct mlp_buf p = MLP_BUF_INIT;
		const char *v = e->value ? e->value : "";
		if (v[0] == '~' && v[1] == '/')
			mlp_buf_addf(&p, "%s%s", getenv("HOME") ? getenv("HOME") : "", v + 1);
		else if (v[0] == '/')
			mlp_buf_adds(&p, v);
		else if (e->include_depth > 0)
			bad = 1;
		else {
			level_dir(&p, repo, e->level);
			mlp_buf_adds(&p, v);
		}
		if (!bad && p.len && inside_worktree(repo, p.buf))
			bad = 1;
		mlp_buf_release(&p);
	}
	git_config_iterator_free(it);
	git_error_clear();
	return bad;
}

static int autorun_command(char **command, struct mlp_repo *repo)
{
	git_config *cfg = NULL;
	git_config_entry *e = NULL;
	int err;

	*command = NULL;
	/* `git -c` on the user's own command line */
	for (size_t i = repo->params_nr; i-- > 0;)
		if (!strcmp(repo->params[i].key, "mlp.autorun.command")) {
			if (!repo->params[i].value || !*repo->params[i].value)
				return MLP_ENOTFOUND;
			*command = mlp_strdup(repo->params[i].value);
			return 0;
		}
	if (git_repository_config_snapshot(&cfg, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot read config");
	err = git_config_get_entry(&e, cfg, "mlp.autorun.command");
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		err = MLP_ENOTFOUND;
		goto done;
	}
	if (err < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot read config");
		goto done;
	}
	if (e->level > GIT_CONFIG_LEVEL_LOCAL) {
		err = mlp_error_set(MLP_EINVALID, "ignoring mlp.autorun.command: it does not come from the "
						  "local, global or system config");
	} else if (e->include_depth > 0 && includes_worktree(repo, cfg)) {
		err = mlp_error_set(MLP_EINVALID, "ignoring mlp.autorun.command: it comes from an included "
						  "file and an include points into the work tree");
	} else if (!e->value || !*e->value) {
		err = MLP_ENOTFOUND;
	} else {
		*command = mlp_strdup(e->value);
	}
done:
	git_config_entry_free(e);
	git_config_free(cfg);
	return err;
}

static int head_touches(int *match, struct mlp_repo *repo)
{
	char **paths = NULL;
	size_t n = 0;
	git_commit *head = NULL, *parent = NULL;
	git_tree *t1 = NULL, *t0 = NULL;
	git_diff *diff = NULL;
	git_diff_options o;
	git_oid oid;
	int err = 0;

	*match = 0;
	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	if ((err = mlp_config_get_all(repo, "mlp.autorun.paths", &paths, &n)) < 0 && err != MLP_ENOTFOUND)
		return err;
	err = 0;
	if (!n) {
		*match = 1;
		goto done;
	}
	if (git_reference_name_to_id(&oid, repo->git, "HEAD") < 0 || git_commit_lookup(&head, repo->git, &oid) < 0 ||
	    git_commit_tree(&t1, head) < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot read HEAD");
		goto done;
	}
	if (git_commit_parentcount(head) && (git_commit_parent(&parent, head, 0) < 0 ||
					     git_commit_tree(&t0, parent) < 0)) {
		err = mlp_git_error(MLP_ERROR, "cannot read HEAD^");
		goto done;
	}
	o.pathspec.strings = paths;
	o.pathspec.count = n;
	if (git_diff_tree_to_tree(&diff, repo->git, t0, t1, &o) < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot diff HEAD");
		goto done;
	}
	*match = git_diff_num_deltas(diff) > 0;
done:
	git_diff_free(diff);
	git_tree_free(t0);
	git_tree_free(t1);
	git_commit_free(parent);
	git_commit_free(head);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return err;
}

int mlp_hook_autorun(char **command, int *match, struct mlp_repo *repo)
{
	int err;
	*match = 0;
	if ((err = autorun_command(command, repo)) < 0)
		return err;
	if ((err = head_touches(match, repo)) < 0) {
		free(*command);
		*command = NULL;
	}
	return err;
}

int mlp_hook_autorun_start(struct mlp_repo *repo, const char *command, long *pid_out)
{
	struct mlp_buf log = MLP_BUF_INIT;
	pid_t pid;
	int fd;

	mkdir(repo->mlpdir, 0777);
	mlp_buf_addf(&log, "%s/autorun.log", repo->mlpdir);
	fd = open(log.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0) {
		int e = errno;
		mlp_buf_release(&log);
		return mlp_error_set(MLP_ERROR, "cannot open the autorun log: %s", strerror(e));
	}
	mlp_buf_release(&log);
	{
		const char *argv[] = { "git", "mlp", "run", "--", "sh", "-c", command, NULL };
		/* the commit's temporary index is gone once the hook returns */
		static const char *const unset[] = { "GIT_INDEX_FILE", "GIT_PREFIX", NULL };
		struct mlp_child child = { argv, NULL, unset, repo->workdir, { MLP_CHILD_DEVNULL, fd, fd }, 1 };
		int e = mlp_child_spawn(&pid, &child);

		close(fd);
		if (e)
			return mlp_error_set(MLP_ERROR, "cannot run git mlp run%s%s: %s",
					     repo->workdir ? " in " : "", repo->workdir ? repo->workdir : "",
					     strerror(e));
	}
	if (pid_out)
		*pid_out = (long)pid;
	return 0;
}

/*
 * A run goes with a commit when it ran exactly that code: its workspace
 * snapshot is the commit's tree.  That is also the run an Mlp-Run trailer
 * names when one trains on a dirty tree and then commits it; the run's
 * base is then the parent, whose code the run did not run.
 */
int mlp_hook_checkout_run(char id[MLP_ID_HEXSZ + 1], struct mlp_repo *repo, const char *rev)
{
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	char commit[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];
	git_object *obj = NULL, *peeled = NULL;
	int err;

	id[0] = '\0';
	if (git_revparse_single(&obj, repo->git, rev ? rev : "HEAD") < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		git_error_clear();
		return MLP_ENOTFOUND;
	}
	git_oid_tostr(commit, sizeof(commit), git_object_id(peeled));
	git_oid_tostr(tree, sizeof(tree), git_commit_tree_id((git_commit *)peeled));
	git_object_free(peeled);
	git_object_free(obj);
	if ((err = mlp_run_list_all(&list, repo, NULL, NULL)) < 0)
		return err;
	for (size_t i = 0; i < list.nr && !id[0]; i++) {	/* newest first */
		const struct mlp_run *r = list.runs[i];
		struct mlp_run *full = NULL;
		if (r->status != MLP_STATUS_FINISHED)
			continue;
		/* a run without a snapshot (imported): a clean one of this base */
		if (r->workspace[0] ? strcmp(r->workspace, tree) : r->dirty || strcmp(r->base, commit))
			continue;
		/* the index does not know artifacts: the run itself does */
		if (mlp_run_load(&full, repo, r->id, 0) == 0 && full->artifacts[0])
			memcpy(id, r->id, MLP_ID_HEXSZ + 1);
		mlp_run_free(full);
	}
	mlp_run_list_release(&list);
	mlp_error_clear();
	return id[0] ? 0 : MLP_ENOTFOUND;
}
