/*
 * The workspace snapshot: the tree a run actually ran with.
 *
 * Starting from HEAD's tree (or the empty tree on an unborn branch), every
 * path that `git status` reports as different in the work tree -- staged,
 * modified, deleted or untracked-and-not-ignored -- is written as a blob
 * from the work tree or removed.  Clean repositories cost one status walk
 * and no object writes, and the snapshot then equals the base tree.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int empty_tree(git_tree **out, git_repository *git)
{
	git_treebuilder *tb = NULL;
	git_oid oid;
	int err = 0;

	if (git_treebuilder_new(&tb, git, NULL) < 0 || git_treebuilder_write(&oid, tb) < 0 ||
	    git_tree_lookup(out, git, &oid) < 0)
		err = mlp_git_error(MLP_ERROR, "empty tree");
	git_treebuilder_free(tb);
	return err;
}

int mlp_snapshot(struct mlp_repo *repo, char tree_out[MLP_OID_HEXSZ + 1], int *dirty_out,
		 int64_t max_file_size, mlp_warn_fn warn, void *data)
{
	git_status_options opts;
	git_status_list *status = NULL;
	git_object *head = NULL;
	git_tree *base = NULL;
	git_tree_update *updates = NULL;
	size_t nupdates = 0, count;
	git_oid out;
	int err = 0;

	tree_out[0] = '\0';
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	*dirty_out = 0;
	if (!repo->workdir)
		return mlp_error_set(MLP_EINVALID, "cannot snapshot a bare repository");
	err = git_revparse_single(&head, repo->git, "HEAD^{tree}");
	if (err == GIT_ENOTFOUND || err == GIT_EUNBORNBRANCH) {
		if ((err = empty_tree(&base, repo->git)) < 0)
			return err;
	} else if (err < 0) {
		return mlp_git_error(MLP_ERROR, "cannot read HEAD's tree");
	} else {
		base = (git_tree *)head;
		head = NULL;
	}
	err = 0;
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		     GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	if (git_status_list_new(&status, repo->git, &opts) < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot read the work tree status");
		goto done;
	}
	count = git_status_list_entrycount(status);
	updates = mlp_calloc(count ? count : 1, sizeof(*updates));
	for (size_t i = 0; i < count; i++) {
		const git_status_entry *e = git_status_byindex(status, i);
		const git_diff_delta *d = e->index_to_workdir ? e->index_to_workdir : e->head_to_index;
		const char *path;
		struct mlp_buf full = MLP_BUF_INIT;
		struct stat st;
		git_tree_update *u = &updates[nupdates];

		if (!d || (e->status & GIT_STATUS_IGNORED))
			continue;
		path = d->new_file.path ? d->new_file.path : d->old_file.path;
		mlp_buf_addf(&full, "%s%s", repo->workdir, path);
		if (lstat(full.buf, &st) < 0) {
			mlp_buf_release(&full);
			if (errno != ENOENT && errno != ENOTDIR) {
				err = mlp_error_set(MLP_ERROR, "cannot stat '%s': %s", path, strerror(errno));
				goto done;
			}
			/* remove only what the base has */
			git_tree_entry *te = NULL;
			if (git_tree_entry_bypath(&te, base, path) < 0)
				continue;
			git_tree_entry_free(te);
			memset(u, 0, sizeof(*u));
			u->action = GIT_TREE_UPDATE_REMOVE;
			u->path = path;
			nupdates++;
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			mlp_buf_release(&full);
			continue;
		}
		if (S_ISREG(st.st_mode) && max_file_size >= 0 && st.st_size > max_file_size) {
			git_tree_entry *te = NULL;
			if (warn) {
				struct mlp_buf w = MLP_BUF_INIT;
				mlp_buf_addf(&w, "workspace snapshot leaves out '%s' (%lld bytes > mlp.workspace.maxFileSize %lld)",
					     path, (long long)st.st_size, (long long)max_file_size);
				warn(data, w.buf);
				mlp_buf_release(&w);
			}
			mlp_buf_release(&full);
			/* left out means absent: not the stale version of the base */
			if (git_tree_entry_bypath(&te, base, path) == 0) {
				git_tree_entry_free(te);
				memset(u, 0, sizeof(*u));
				u->action = GIT_TREE_UPDATE_REMOVE;
				u->path = path;
				nupdates++;
			}
			continue;
		}
		mlp_buf_release(&full);
		memset(u, 0, sizeof(*u));
		if (git_blob_create_from_workdir(&u->id, repo->git, path) < 0) {
			err = mlp_git_error(MLP_ERROR, path);
			goto done;
		}
		u->action = GIT_TREE_UPDATE_UPSERT;
		u->path = path;
		u->filemode = S_ISLNK(st.st_mode) ? GIT_FILEMODE_LINK :
			      (st.st_mode & 0100) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		nupdates++;
	}
	if (nupdates) {
		if (git_tree_create_updated(&out, repo->git, base, nupdates, updates) < 0) {
			err = mlp_git_error(MLP_ERROR, "cannot write the workspace tree");
			goto done;
		}
	} else {
		git_oid_cpy(&out, git_tree_id(base));
	}
	*dirty_out = !git_oid_equal(&out, git_tree_id(base));
	git_oid_tostr(tree_out, MLP_OID_HEXSZ + 1, &out);
done:
	free(updates);
	git_status_list_free(status);
	git_tree_free(base);
	git_object_free(head);
	return err;
}
