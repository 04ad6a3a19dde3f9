/*
 * Opening the repository the way git would, and config lookups that honour
 * `git -c` (libgit2 1.5 reads neither GIT_CONFIG_PARAMETERS nor
 * GIT_WORK_TREE together with GIT_REPOSITORY_OPEN_FROM_ENV).
 */
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

int mlp_git_error(int code, const char *what)
{
	const git_error *e = git_error_last();

	return mlp_error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

int mlp_hex_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Config keys compare case-insensitively except for the subsection (the
 * middle part of "section.sub.name"), as in git.
 */
static char *canonical_key(const char *key)
{
	char *k = mlp_strdup(key);
	char *first = strchr(k, '.'), *last = strrchr(k, '.');

	for (char *p = k; *p; p++)
		if (!first || p < first || p > last)
			*p = (char)tolower((unsigned char)*p);
	return k;
}

static void add_param(struct mlp_repo *repo, const char *key, size_t keylen, const char *value)
{
	char *k = mlp_strndup(key, keylen);

	repo->params = mlp_realloc(repo->params, (repo->params_nr + 1) * sizeof(*repo->params));
	repo->params[repo->params_nr].key = canonical_key(k);
	repo->params[repo->params_nr].value = value ? mlp_strdup(value) : NULL;
	repo->params_nr++;
	free(k);
}

/* Reads one shell-single-quoted word ('...' with '\'' for a quote). */
static const char *sq_word(const char *p, struct mlp_buf *out)
{
	mlp_buf_reset(out);
	if (*p != '\'')
		return NULL;
	p++;
	for (;;) {
		if (!*p)
			return NULL;
		if (*p == '\'') {
			if (p[1] == '\\' && p[2] == '\'' && p[3] == '\'') {
				mlp_buf_addch(out, '\'');
				p += 4;
				continue;
			}
			return p + 1;
		}
		mlp_buf_addch(out, *p++);
	}
}

/* GIT_CONFIG_PARAMETERS: "'k'='v' 'k2'" (git >= 2.31) or "'k=v'" (older). */
static void load_config_params(struct mlp_repo *repo)
{
	const char *env = getenv("GIT_CONFIG_PARAMETERS");
	const char *count = getenv("GIT_CONFIG_COUNT");
	struct mlp_buf k = MLP_BUF_INIT, v = MLP_BUF_INIT;

	while (env && *env) {
		while (isspace((unsigned char)*env))
			env++;
		if (!*env)
			break;
		const char *p = sq_word(env, &k);
		if (!p)
			break;
		if (*p == '=') {
			const char *q = sq_word(p + 1, &v);
			if (!q)
				break;
			add_param(repo, k.buf, k.len, v.buf ? v.buf : "");
			env = q;
		} else {
			char *eq = k.buf ? strchr(k.buf, '=') : NULL;
			if (eq)
				add_param(repo, k.buf, (size_t)(eq - k.buf), eq + 1);
			else if (k.len)
				add_param(repo, k.buf, k.len, NULL);
			env = p;
		}
	}
	if (count) {
		long n = strtol(count, NULL, 10);
		for (long i = 0; i < n && i < 1000; i++) {
			char name[64];
			const char *ck, *cv;
			snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%ld", i);
			ck = getenv(name);
			snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%ld", i);
			cv = getenv(name);
			if (ck && cv)
				add_param(repo, ck, strlen(ck), cv);
		}
	}
	mlp_buf_release(&k);
	mlp_buf_release(&v);
}

static char *compute_prefix(const char *workdir)
{
	char cwd[PATH_MAX], wd[PATH_MAX];
	size_t n;

	if (!workdir || !getcwd(cwd, sizeof(cwd)) || !realpath(workdir, wd))
		return mlp_strdup("");
	n = strlen(wd);
	if (strncmp(cwd, wd, n) || (cwd[n] && cwd[n] != '/'))
		return mlp_strdup("");
	return mlp_strdup(cwd[n] ? cwd + n + 1 : "");
}

int mlp_repo_open(struct mlp_repo **out)
{
	struct mlp_repo *repo = mlp_calloc(1, sizeof(*repo));
	const char *wt_env = getenv("GIT_WORK_TREE");
	char *work_tree = wt_env ? mlp_strdup(wt_env) : NULL;
	int err;

	*out = NULL;
	git_libgit2_init();
	/* listing 100,000 runs touches every object once: a big cache only grows RSS */
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)(32 << 20));
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)(32 << 20));
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)(128 << 20));
	if (work_tree)
		unsetenv("GIT_WORK_TREE");
	err = git_repository_open_ext(&repo->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (work_tree)
		setenv("GIT_WORK_TREE", work_tree, 1);
	if (err == GIT_ENOTFOUND) {
		free(work_tree);
		free(repo);
		return mlp_error_set(MLP_ENOREPO, "not a git repository (or any of the parent directories): .git");
	}
	if (err < 0) {
		free(work_tree);
		free(repo);
		return mlp_git_error(MLP_ERROR, "cannot open repository");
	}
	if (work_tree) {
		char abs[PATH_MAX];
		if (!realpath(work_tree, abs)) {
			err = mlp_error_set(MLP_ERROR, "invalid GIT_WORK_TREE '%s': %s", work_tree, strerror(errno));
			free(work_tree);
			mlp_repo_free(repo);
			return err;
		}
		const char *cur = git_repository_workdir(repo->git);
		size_t alen = strlen(abs);
		/* libgit2 1.5 leaks its path buffer when the work tree is already
		 * this one, so only change a work tree that differs */
		if (cur && !strncmp(cur, abs, alen) && (cur[alen] == '\0' || !strcmp(cur + alen, "/")))
			;
		else if (git_repository_set_workdir(repo->git, abs, 0) < 0) {
			free(work_tree);
			mlp_repo_free(repo);
			return mlp_git_error(MLP_ERROR, "cannot use GIT_WORK_TREE");
		}
		free(work_tree);
	}
	{
		struct mlp_buf b = MLP_BUF_INIT;
		mlp_buf_adds(&b, git_repository_commondir(repo->git));
		if (b.len && b.buf[b.len - 1] != '/')
			mlp_buf_addch(&b, '/');
		mlp_buf_adds(&b, "mlp");
		repo->mlpdir = mlp_buf_detach(&b, NULL);
	}
	repo->workdir = mlp_strdup(git_repository_workdir(repo->git));
	repo->prefix = compute_prefix(repo->workdir);
	load_config_params(repo);
	*out = repo;
	return 0;
}

void mlp_repo_free(struct mlp_repo *repo)
{
	if (!repo)
		return;
	git_config_free(repo->cfg);
	git_repository_free(repo->git);
	for (size_t i = 0; i < repo->params_nr; i++) {
		free(repo->params[i].key);
		free(repo->params[i].value);
	}
	free(repo->params);
	free(repo->mlpdir);
	free(repo->workdir);
	free(repo->prefix);
	free(repo);
}

const char *mlp_repo_mlpdir(const struct mlp_repo *repo)
{
	return repo->mlpdir;
}

const char *mlp_repo_workdir(const struct mlp_repo *repo)
{
	return repo->workdir;
}

const char *mlp_repo_prefix(const struct mlp_repo *repo)
{
	return repo->prefix;
}

static int mkdir_p(const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;
	int ret = 0;

	mlp_buf_adds(&b, path);
	for (char *p = b.buf + 1; ; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = '\0';
			if (mkdir(b.buf, 0777) < 0 && errno != EEXIST) {
				ret = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", b.buf, strerror(errno));
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	mlp_buf_release(&b);
	return ret;
}

char *mlp_login_name(void)
{
	static const char *const vars[] = { "LOGNAME", "USER", "LNAME", "USERNAME" };
	struct passwd *pw;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return mlp_strdup(v);
	}
	pw = getpwuid(getuid());
	return mlp_strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
}

int mlp_repo_init(struct mlp_repo *repo, int *created)
{
	struct stat st;
	struct mlp_buf live = MLP_BUF_INIT;
	git_config *cfg = NULL;
	int32_t v;
	int err;

	*created = stat(repo->mlpdir, &st) < 0;
	mlp_buf_addf(&live, "%s/live", repo->mlpdir);
	err = mkdir_p(live.buf);
	mlp_buf_release(&live);
	if (err < 0)
		return err;
	if (git_repository_config(&cfg, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot read config");
	if (git_config_get_int32(&v, cfg, "mlp.formatversion") == GIT_ENOTFOUND) {
		git_config *local = NULL;
		if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0 ||
		    git_config_set_int32(local, "mlp.formatVersion", MLP_FORMAT_VERSION) < 0)
			err = mlp_git_error(MLP_ERROR, "cannot write config");
		git_config_free(local);
		git_config_free(repo->cfg);
		repo->cfg = NULL;
	}
	git_config_free(cfg);
	return err;
}

/*
 * The configuration as this process first read it, like git: each
 * snapshot of libgit2 stats every config file again and copies every
 * entry, and a command reads a dozen keys.  Borrowed; NULL on failure.
 */
static git_config *config(struct mlp_repo *repo)
{
	if (!repo->cfg && git_repository_config_snapshot(&repo->cfg, repo->git) < 0)
		repo->cfg = NULL;
	return repo->cfg;
}

/* Returns the `git -c` value for key: 1 found, 0 not. */
static int param_lookup(struct mlp_repo *repo, const char *key, const char **value)
{
	char *k = canonical_key(key);
	int found = 0;

	for (size_t i = repo->params_nr; i-- > 0;)
		if (!strcmp(repo->params[i].key, k)) {
			*value = repo->params[i].value;
			found = 1;
			break;
		}
	free(k);
	return found;
}

int mlp_config_get_string(struct mlp_repo *repo, const char *key, char **out)
{
	const char *v;
	git_config *cfg = NULL;
	git_buf buf = { 0 };
	int err;

	*out = NULL;
	if (param_lookup(repo, key, &v)) {
		*out = mlp_strdup(v ? v : "true");
		return 0;
	}
	if (!(cfg = config(repo)))
		return mlp_git_error(MLP_ERROR, "cannot read config");
	err = git_config_get_string_buf(&buf, cfg, key);
	if (err == GIT_ENOTFOUND)
		return MLP_ENOTFOUND;
	if (err < 0)
		return mlp_git_error(MLP_ERROR, "cannot read config");
	*out = mlp_strdup(buf.ptr);
	git_buf_dispose(&buf);
	return 0;
}

int mlp_config_get_int64(struct mlp_repo *repo, const char *key, int64_t *out, int64_t dflt)
{
	char *s = NULL, *end;
	int err = mlp_config_get_string(repo, key, &s);
	long long v;

	*out = dflt;
	if (err == MLP_ENOTFOUND)
		return 0;
	if (err < 0)
		return err;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s) {
		err = mlp_error_set(MLP_EINVALID, "bad numeric config value '%s' for '%s'", s, key);
		free(s);
		return err;
	}
	switch (tolower((unsigned char)*end)) {
	case 'k': v *= 1024; end++; break;
	case 'm': v *= 1024 * 1024; end++; break;
	case 'g': v *= 1024LL * 1024 * 1024; end++; break;
	}
	if (*end) {
		err = mlp_error_set(MLP_EINVALID, "bad numeric config value '%s' for '%s'", s, key);
		free(s);
		return err;
	}
	free(s);
	*out = v;
	return 0;
}

int mlp_config_get_bool(struct mlp_repo *repo, const char *key, int *out, int dflt)
{
	char *s = NULL;
	int err = mlp_config_get_string(repo, key, &s);

	*out = dflt;
	if (err == MLP_ENOTFOUND)
		return 0;
	if (err < 0)
		return err;
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
		 !strcmp(s, "0") || !*s)
		*out = 0;
	else
		err = mlp_error_set(MLP_EINVALID, "bad boolean config value '%s' for '%s'", s, key);
	free(s);
	return err;
}

/* ---- ref locks ------------------------------------------------------------- */

struct lock_walk {
	char **names;
	size_t nr, alloc;
};

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lock files under <dir>/<rel> (rel: "refs/mlp/..."), a few levels deep. */
static void find_locks(struct lock_walk *w, const char *dir, const char *rel, int depth)
{
	struct mlp_buf path = MLP_BUF_INIT;
	DIR *d;
	struct dirent *de;

	mlp_buf_addf(&path, "%s%s", dir, rel);
	d = opendir(path.buf);
	mlp_buf_release(&path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct mlp_buf sub = MLP_BUF_INIT;
		struct stat st;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		mlp_buf_addf(&sub, "%s/%s", rel, de->d_name);
		mlp_buf_addf(&path, "%s%s", dir, sub.buf);
		if (lstat(path.buf, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 8) {
				find_locks(w, dir, sub.buf, depth + 1);
			} else if (S_ISREG(st.st_mode) && len > 5 && !strcmp(de->d_name + len - 5, ".lock")) {
				if (w->nr == w->alloc) {
					w->alloc = w->alloc ? 2 * w->alloc : 8;
					w->names = mlp_realloc(w->names, w->alloc * sizeof(*w->names));
				}
				w->names[w->nr++] = mlp_buf_detach(&sub, NULL);
			}
		}
		mlp_buf_release(&sub);
		mlp_buf_release(&path);
	}
	closedir(d);
}

int mlp_repo_ref_locks(struct mlp_repo *repo, const char *run,
		       void (*cb)(void *data, const struct mlp_ref_lock *lock), void *data)
{
	struct mlp_buf dirb = MLP_BUF_INIT;
	const char *dir;
	struct lock_walk w = { NULL, 0, 0 };
	int64_t now = mlp_now_ms();

	mlp_buf_adds(&dirb, git_repository_commondir(repo->git));
	if (!dirb.len || dirb.buf[dirb.len - 1] != '/')
		mlp_buf_addch(&dirb, '/');
	dir = dirb.buf;

	if (run) {
		struct mlp_buf one = MLP_BUF_INIT, path = MLP_BUF_INIT;
		struct stat st;
		mlp_buf_addf(&one, MLP_REF_PREFIX "%s.lock", run);
		mlp_buf_addf(&path, "%s%s", dir, one.buf);
		if (lstat(path.buf, &st) == 0 && S_ISREG(st.st_mode)) {
			w.names = mlp_calloc(1, sizeof(*w.names));
			w.names[w.nr++] = mlp_buf_detach(&one, NULL);
		}
		mlp_buf_release(&one);
		mlp_buf_release(&path);
	} else {
		find_locks(&w, dir, "refs/mlp", 0);
		mlp_qsort(w.names, w.nr, sizeof(*w.names), cmp_cstr);
	}
	for (size_t i = 0; i < w.nr; i++) {
		struct mlp_buf path = MLP_BUF_INIT;
		struct mlp_ref_lock lock = { w.names[i], NULL, 0 };
		char id[MLP_ID_HEXSZ + 1];
		const char *base = w.names[i] + strlen(MLP_REF_PREFIX);
		struct stat st;

		mlp_buf_addf(&path, "%s%s", dir, w.names[i]);
		if (lstat(path.buf, &st) == 0) {	/* else gone since: its writer finished */
			lock.age_ms = now - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
			if (!strncmp(w.names[i], MLP_REF_PREFIX, strlen(MLP_REF_PREFIX)) &&
			    strlen(base) == MLP_ID_HEXSZ + 5 && mlp_hex_valid(base, MLP_ID_HEXSZ)) {
				memcpy(id, base, MLP_ID_HEXSZ);
				id[MLP_ID_HEXSZ] = '\0';
				lock.run = id;
			}
			cb(data, &lock);
		}
		mlp_buf_release(&path);
		free(w.names[i]);
	}
	free(w.names);
	mlp_buf_release(&dirb);
	return 0;
}

int mlp_repo_head(struct mlp_repo *repo, char base[MLP_OID_HEXSZ + 1], char **branch)
{
	git_reference *head = NULL;
	git_oid oid;
	int err;

	base[0] = '\0';
	*branch = NULL;
	err = git_reference_lookup(&head, repo->git, "HEAD");
	if (err < 0)
		return mlp_git_error(MLP_ERROR, "cannot read HEAD");
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		const char *t = git_reference_symbolic_target(head);
		if (!strncmp(t, "refs/heads/", 11))
			*branch = mlp_strdup(t + 11);
	}
	git_reference_free(head);
	err = git_reference_name_to_id(&oid, repo->git, "HEAD");
	if (err == GIT_ENOTFOUND || err == GIT_EUNBORNBRANCH)
		return 0;
	if (err < 0)
		return mlp_git_error(MLP_ERROR, "cannot resolve HEAD");
	git_oid_tostr(base, MLP_OID_HEXSZ + 1, &oid);
	return 0;
}

static char *identity_part(struct mlp_repo *repo, const char *env, const char *key)
{
	const char *e = getenv(env);
	char *v = NULL;

	if (e && *e)
		return mlp_strdup(e);
	if (!mlp_config_get_string(repo, key, &v) && v && *v)
		return v;
	free(v);
	return NULL;
}

int mlp_repo_signature(git_signature **out, struct mlp_repo *repo, int committer,
		       int64_t when_ms)
{
	char *name = identity_part(repo, committer ? "GIT_COMMITTER_NAME" : "GIT_AUTHOR_NAME", "user.name");
	char *email = identity_part(repo, committer ? "GIT_COMMITTER_EMAIL" : "GIT_AUTHOR_EMAIL", "user.email");
	struct passwd *pw = NULL;
	time_t t = (time_t)(when_ms / 1000);
	struct tm tm;
	int offset, err;

	if (!email)
		email = identity_part(repo, "EMAIL", "user.email");
	/* git falls back to the account; a tracker should record the run anyway */
	if (!name || !email)
		pw = getpwuid(getuid());
	if (!name)
		name = mlp_strdup(pw && pw->pw_name ? pw->pw_name : "unknown");
	if (!email) {
		char host[256] = "localhost";
		struct mlp_buf b = MLP_BUF_INIT;
		gethostname(host, sizeof(host) - 1);
		mlp_buf_addf(&b, "%s@%s", pw && pw->pw_name ? pw->pw_name : "unknown", host);
		email = mlp_buf_detach(&b, NULL);
	}
	localtime_r(&t, &tm);
	offset = (int)(tm.tm_gmtoff / 60);
	err = git_signature_new(out, name, email, (git_time_t)t, offset);
	free(name);
	free(email);
	if (err < 0)
		return mlp_git_error(MLP_EINVALID, "invalid identity");
	return 0;
}

int mlp_config_get_all(struct mlp_repo *repo, const char *key, char ***out, size_t *n)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	char *k = canonical_key(key);

	*out = NULL;
	*n = 0;
	if (!(cfg = config(repo))) {
		free(k);
		return mlp_git_error(MLP_ERROR, "cannot read config");
	}
	if (git_config_multivar_iterator_new(&it, cfg, key, NULL) == 0) {
		while (git_config_next(&e, it) == 0) {
			*out = mlp_realloc(*out, (*n + 1) * sizeof(char *));
			(*out)[(*n)++] = mlp_strdup(e->value ? e->value : "");
		}
		git_config_iterator_free(it);
	}
	/* `git -c` values come after the files, as in git */
	for (size_t i = 0; i < repo->params_nr; i++)
		if (!strcmp(repo->params[i].key, k)) {
			*out = mlp_realloc(*out, (*n + 1) * sizeof(char *));
			(*out)[(*n)++] = mlp_strdup(repo->params[i].value ? repo->params[i].value : "true");
		}
	free(k);
	return 0;
}

int mlp_repo_resolve_commit(struct mlp_repo *repo, const char *rev, char commit[MLP_OID_HEXSZ + 1],
			    char tree[MLP_OID_HEXSZ + 1])
{
	git_object *obj = NULL;
	git_commit *c = NULL;
	int err = git_revparse_single(&obj, repo->git, rev);

	if (err == GIT_ENOTFOUND || err == GIT_EAMBIGUOUS || err == GIT_EINVALIDSPEC)
		return mlp_error_set(MLP_ENOTFOUND, "unknown revision '%s'", rev);
	if (err < 0)
		return mlp_git_error(MLP_ERROR, rev);
	err = git_object_peel((git_object **)&c, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (err < 0)
		return mlp_error_set(MLP_ENOTFOUND, "'%s' is not a commit", rev);
	git_oid_tostr(commit, MLP_OID_HEXSZ + 1, git_commit_id(c));
	git_oid_tostr(tree, MLP_OID_HEXSZ + 1, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

void mlp_commit_infos_free(struct mlp_commit_info *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].subject);
		free(c[i].author);
	}
	free(c);
}

int mlp_repo_log(struct mlp_commit_info **out, size_t *n, struct mlp_repo *repo,
		 const char *range, size_t max)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	int err;

	*out = NULL;
	*n = 0;
	if (git_revwalk_new(&walk, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "revwalk");
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	if (strstr(range, ".."))
		err = git_revwalk_push_range(walk, range);
	else {
		git_object *obj = NULL;
		err = git_revparse_single(&obj, repo->git, range);
		if (!err) {
			git_object *c = NULL;
			err = git_object_peel(&c, obj, GIT_OBJECT_COMMIT);
			if (!err)
				err = git_revwalk_push(walk, git_object_id(c));
			git_object_free(c);
		}
		git_object_free(obj);
	}
	if (err == GIT_EUNBORNBRANCH || (err == GIT_ENOTFOUND && !strcmp(range, "HEAD"))) {
		git_revwalk_free(walk);
		return 0;
	}
	if (err < 0) {
		git_revwalk_free(walk);
		return mlp_error_set(MLP_ENOTFOUND, "bad revision range '%s'", range);
	}
	while ((!max || *n < max) && git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		struct mlp_commit_info *ci;
		if (git_commit_lookup(&c, repo->git, &oid) < 0)
			break;
		*out = mlp_realloc(*out, (*n + 1) * sizeof(**out));
		ci = &(*out)[(*n)++];
		memset(ci, 0, sizeof(*ci));
		git_oid_tostr(ci->id, sizeof(ci->id), &oid);
		ci->subject = mlp_strdup(git_commit_summary(c) ? git_commit_summary(c) : "");
		ci->author = mlp_strdup(git_commit_author(c)->name);
		ci->time = (int64_t)git_commit_time(c);
		if (git_commit_parentcount(c))
			git_oid_tostr(ci->parent, sizeof(ci->parent), git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
	git_revwalk_free(walk);
	return 0;
}

void mlp_versions(struct mlp_buf *out)
{
	int major, minor, rev;

	git_libgit2_version(&major, &minor, &rev);
	mlp_buf_addf(out, "libgit2 %d.%d.%d\n", major, minor, rev);
	mlp_versions_codecs(out);
}
