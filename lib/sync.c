/*
 * Sharing runs through git remotes.
 *
 * The transport is the user's own `git`: libgit2's transports would need
 * their own credentials, ssh and proxy setup, and push a 1 GiB run five
 * times slower (DESIGN.md).  We never force an update on either side:
 *
 * - push uses `+`-less refspecs, so the remote moves only by fast-forward.
 *   A run that was changed in two clones is rejected as non-fast-forward;
 *   we fetch the remote's version, merge both into a commit that has both
 *   as parents, and push again (now a fast-forward).
 * - fetch uses a `+`-less refspec too, so git itself takes new runs and
 *   fast-forwards with a locked compare-and-swap and refuses the rest;
 *   those are then merged here.
 *
 * Run commits are replaced, not chained, by every local save, so "is it a
 * fast-forward" alone cannot tell "changed here" from "changed on both
 * sides".  We remember per remote the commit each run had there when we
 * last agreed (<mlpdir>/sync/<remote>, a cache): it is the common version
 * of a three-way merge, and it tells fetch --prune which runs are safe to
 * delete.  Losing the file only makes merges two-way (a union).
 */
#include "internal.h"
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BATCH 1000		/* refspecs per git invocation: far below ARG_MAX */

/*
 * The refspec of one run is a pattern, refs/mlp/runs/<id>*, never the
 * plain name: git matches an exact refspec against every ref it could
 * abbreviate (six formatted names per ref and refspec, on both sides), so
 * 100 runs among 10,000 refs cost 2 s of git's time and 1,000 cost 20 s.
 * A pattern is a prefix comparison per ref.  Ids have a fixed length, so
 * the pattern names that run alone (any longer name is not a run).
 */
#define RUN_PATTERN MLP_REF_PREFIX "%s*"
#define DEFAULT_RETRIES 8

/* ---- spawning ------------------------------------------------------------------- */

static int write_some(int fd, const char **p, size_t *n)
{
	ssize_t w = write(fd, *p, *n);
	if (w < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	*p += w;
	*n -= (size_t)w;
	return 0;
}

int mlp_spawn_run(struct mlp_spawn *s)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int status;
	pid_t pid;
	const char *in = s->in;
	size_t in_left = s->in_len;
	struct sigaction ign, old_pipe;
	struct mlp_child child;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);

	s->status = -1;
	if ((s->in && pipe2(inp, O_CLOEXEC) < 0) ||
	    (s->capture_out && pipe2(outp, O_CLOEXEC) < 0) ||
	    (s->capture_err && pipe2(errp, O_CLOEXEC) < 0)) {
		mlp_error_set(MLP_ERROR, "cannot create a pipe: %s", strerror(errno));
		goto fail;
	}
	memset(&child, 0, sizeof(child));
	child.argv = s->argv;
	child.env_add = s->env_add;
	child.dir = s->dir;
	child.fd[0] = s->in ? inp[0] : MLP_CHILD_DEVNULL;
	child.fd[1] = s->capture_out ? outp[1] : -1;
	child.fd[2] = s->capture_err ? errp[1] : -1;
	if ((status = mlp_child_spawn(&pid, &child))) {
		/* not found, no such directory...: as from a shell, 127 */
		s->status = 127;
		mlp_buf_adds(&s->out, "");
		mlp_buf_adds(&s->err, strerror(status));
		for (int i = 0; i < 2; i++) {
			if (inp[i] >= 0)
				close(inp[i]);
			if (outp[i] >= 0)
				close(outp[i]);
			if (errp[i] >= 0)
				close(errp[i]);
		}
		return 0;
	}
	/* a child that does not read all its input must not kill us */
	sigaction(SIGPIPE, &ign, &old_pipe);
	if (inp[0] >= 0)
		close(inp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	inp[0] = outp[1] = errp[1] = -1;
	if (inp[1] >= 0)
		fcntl(inp[1], F_SETFL, O_NONBLOCK);
	if (s->in && !in_left) {
		close(inp[1]);
		inp[1] = -1;
	}
	/* feed stdin while draining both outputs: no deadlock on big pushes */
	while (inp[1] >= 0 || outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd pfd[3];
		int nfd = 0, iw = -1, io = -1, ie = -1;
		char buf[65536];
		if (inp[1] >= 0) {
			iw = nfd;
			pfd[nfd++] = (struct pollfd){ inp[1], POLLOUT, 0 };
		}
		if (outp[0] >= 0) {
			io = nfd;
			pfd[nfd++] = (struct pollfd){ outp[0], POLLIN, 0 };
		}
		if (errp[0] >= 0) {
			ie = nfd;
			pfd[nfd++] = (struct pollfd){ errp[0], POLLIN, 0 };
		}
		if (poll(pfd, (nfds_t)nfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (iw >= 0 && pfd[iw].revents) {
			if ((pfd[iw].revents & (POLLERR | POLLHUP)) || write_some(inp[1], &in, &in_left) < 0 ||
			    !in_left) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		for (int k = 0; k < 2; k++) {
			int idx = k ? ie : io;
			int *fd = k ? &errp[0] : &outp[0];
			struct mlp_buf *b = k ? &s->err : &s->out;
			ssize_t r;
			if (idx < 0 || !pfd[idx].revents)
				continue;
			r = read(*fd, buf, sizeof(buf));
			if (r > 0) {
				mlp_buf_add(b, buf, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 127 << 8;
			break;
		}
	sigaction(SIGPIPE, &old_pipe, NULL);
	s->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!s->out.buf)
		mlp_buf_adds(&s->out, "");
	if (!s->err.buf)
		mlp_buf_adds(&s->err, "");
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return MLP_ERROR;
}

void mlp_spawn_release(struct mlp_spawn *s)
{
	mlp_buf_release(&s->out);
	mlp_buf_release(&s->err);
}

/* "<what>: <the current message>" (vsnprintf must not read what it writes). */
static int error_wrap(int code, const char *what)
{
	char *msg = mlp_strdup(mlp_error_message());
	mlp_error_set(code, "%s: %s", what, msg);
	free(msg);
	return code;
}

/* A growing argv for git. */
struct argv {
	char **v;
	size_t nr, alloc;
};

static void argv_push(struct argv *a, const char *s)
{
	if (a->nr + 2 > a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 32;
		a->v = mlp_realloc(a->v, a->alloc * sizeof(char *));
	}
	a->v[a->nr++] = mlp_strdup(s);
	a->v[a->nr] = NULL;
}

static void argv_pushf(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argv_pushf(struct argv *a, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	argv_push(a, b.buf);
	mlp_buf_release(&b);
}

static void argv_clear(struct argv *a)
{
	for (size_t i = 0; i < a->nr; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* The git we spawn sees this environment on top of ours: no recursion
 * through our own pre-push hook, and messages we can parse. */
static const char *const git_env[] = { MLP_HOOK_GUARD "=1", "LC_ALL=C", "LANGUAGE=C", NULL };

static int run_git(struct mlp_spawn *s, const struct argv *a, const char *in, size_t in_len)
{
	memset(s, 0, sizeof(*s));
	s->argv = (const char *const *)a->v;
	s->env_add = git_env;
	s->in = in;
	s->in_len = in_len;
	s->capture_out = s->capture_err = 1;
	if (mlp_spawn_run(s) < 0)
		return error_wrap(MLP_ERROR, "cannot run git");
	if (s->status == 127)
		return mlp_error_set(MLP_ERROR, "cannot run git (exit 127): %s", s->err.buf);
	return 0;
}

/* git's last "fatal:"/"error:" line, for a message. */
static const char *git_reason(struct mlp_buf *err)
{
	char *p = err->buf, *best = NULL;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (!strncmp(p, "fatal: ", 7) || (!best && !strncmp(p, "error: ", 7)))
			best = p;
		if (!nl)
			break;
		p = nl + 1;
	}
	if (!best)
		best = err->buf;
	for (char *q = err->buf; q && *q; q++)
		if (*q == '\n' && q[1] == '\0')
			*q = '\0';
	if (best) {
		char *nl = strchr(best, '\n');
		if (nl)
			*nl = '\0';
	}
	return best && *best ? best : "git failed";
}

/* ---- ref maps: id -> commit, sorted by id ------------------------------------------- */

struct refent {
	char id[MLP_ID_HEXSZ + 1];
	char oid[MLP_OID_HEXSZ + 1];
};

struct refmap {
	struct refent *e;
	size_t nr, alloc;
};

static void refmap_add(struct refmap *m, const char *id, const char *oid)
{
	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 64;
		m->e = mlp_realloc(m->e, m->alloc * sizeof(*m->e));
	}
	memcpy(m->e[m->nr].id, id, MLP_ID_HEXSZ);
	m->e[m->nr].id[MLP_ID_HEXSZ] = '\0';
	snprintf(m->e[m->nr].oid, sizeof(m->e[m->nr].oid), "%s", oid);
	m->nr++;
}

static int refent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct refent *)a)->id, ((const struct refent *)b)->id);
}

static void refmap_sort(struct refmap *m)
{
	size_t k = 0;
	mlp_qsort(m->e, m->nr, sizeof(*m->e), refent_cmp);
	for (size_t i = 0; i < m->nr; i++)	/* later duplicates win */
		if (k && !strcmp(m->e[k - 1].id, m->e[i].id))
			m->e[k - 1] = m->e[i];
		else
			m->e[k++] = m->e[i];
	m->nr = k;
}

static struct refent *refmap_get(const struct refmap *m, const char *id)
{
	struct refent key;
	if (!m->nr)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, m->e, m->nr, sizeof(*m->e), refent_cmp);
}

static void refmap_set(struct refmap *m, const char *id, const char *oid)
{
	struct refent *e = refmap_get(m, id);
	if (e) {
		snprintf(e->oid, sizeof(e->oid), "%s", oid);
		return;
	}
	refmap_add(m, id, oid);
	refmap_sort(m);
}

/* Entries for `ids` (empty commit when new), sorted once: later sets find them. */
static void refmap_reserve(struct refmap *m, char *const *ids, size_t n, size_t stride)
{
	size_t before = m->nr;
	for (size_t i = 0; i < n; i++) {
		const char *id = stride ? (const char *)ids + i * stride : ids[i];
		struct refent key;
		/* only the sorted part is searched; new ids are unique already */
		snprintf(key.id, sizeof(key.id), "%s", id);
		if (!before || !bsearch(&key, m->e, before, sizeof(*m->e), refent_cmp))
			refmap_add(m, id, "");
	}
	if (m->nr != before)
		refmap_sort(m);
}

static void refmap_release(struct refmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static int valid_id(const char *s, size_t len)
{
	return len == MLP_ID_HEXSZ && mlp_hex_valid(s, len);
}

/* The refs read for the index cache (mlp_index_refs_read), as a map. */
static void refs_from_index(struct refmap *out, const struct mlp_index_refs *refs)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < refs->nr; i++) {
		char id[MLP_ID_HEXSZ + 1], hex[MLP_OID_HEXSZ + 1];
		for (int k = 0; k < 16; k++) {
			id[2 * k] = digits[refs->e[i].id[k] >> 4];
			id[2 * k + 1] = digits[refs->e[i].id[k] & 15];
		}
		id[MLP_ID_HEXSZ] = '\0';
		git_oid_tostr(hex, sizeof(hex), &refs->e[i].oid);
		refmap_add(out, id, hex);
	}
	refmap_sort(out);
}

/* The run refs here: one pass over the loose ones (see mlp_index_refs_read). */
static int local_refs(struct refmap *out, struct mlp_repo *repo)
{
	struct mlp_index_refs refs = { 0 };
	int err = mlp_index_refs_read(&refs, repo);

	if (err == 0)
		refs_from_index(out, &refs);
	mlp_index_refs_release(&refs);
	return err;
}

/* `git ls-remote <remote>` of the run refs */
static int remote_refs(struct refmap *out, const char *remote)
{
	struct argv a = { 0 };
	struct mlp_spawn s;
	char *p;
	int err;

	argv_push(&a, "git");
	argv_push(&a, "ls-remote");
	argv_push(&a, "--refs");
	argv_push(&a, remote);
	argv_push(&a, MLP_REF_PREFIX "*");
	err = run_git(&s, &a, NULL, 0);
	argv_clear(&a);
	if (err < 0)
		return err;
	if (s.status) {
		err = mlp_error_set(MLP_ERROR, "cannot list the runs of '%s': %s", remote, git_reason(&s.err));
		mlp_spawn_release(&s);
		return err;
	}
	for (p = s.out.buf; *p;) {
		char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
		if (nl)
			*nl = '\0';
		if (tab && tab - p == MLP_OID_HEXSZ && !strncmp(tab + 1, MLP_REF_PREFIX, strlen(MLP_REF_PREFIX))) {
			const char *id = tab + 1 + strlen(MLP_REF_PREFIX);
			*tab = '\0';
			if (valid_id(id, strlen(id)) && mlp_hex_valid(p, MLP_OID_HEXSZ))
				refmap_add(out, id, p);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	mlp_spawn_release(&s);
	refmap_sort(out);
	return 0;
}

/* ---- what we last agreed on with each remote -------------------------------------------- */

static char *state_path(struct mlp_repo *repo, const char *remote)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s/sync/", repo->mlpdir);
	mlp_key_encode(&b, remote);
	return mlp_buf_detach(&b, NULL);
}

static void state_load(struct refmap *m, struct mlp_repo *repo, const char *remote)
{
	char *path = state_path(repo, remote), line[128];
	FILE *f = fopen(path, "r");

	free(path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		/* "<id> <oid>\n"; anything else is skipped: it is only a cache */
		if (strlen(line) == MLP_ID_HEXSZ + 1 + MLP_OID_HEXSZ + 1 && line[MLP_ID_HEXSZ] == ' ' &&
		    valid_id(line, MLP_ID_HEXSZ) && mlp_hex_valid(line + MLP_ID_HEXSZ + 1, MLP_OID_HEXSZ)) {
			line[MLP_ID_HEXSZ + 1 + MLP_OID_HEXSZ] = '\0';
			refmap_add(m, line, line + MLP_ID_HEXSZ + 1);
		}
	}
	fclose(f);
	refmap_sort(m);
}

static void state_save(struct refmap *m, struct mlp_repo *repo, const char *remote)
{
	char *path = state_path(repo, remote);
	struct mlp_buf tmp = MLP_BUF_INIT, data = MLP_BUF_INIT, dir = MLP_BUF_INIT;
	int fd;

	mlp_buf_addf(&dir, "%s/sync", repo->mlpdir);
	mkdir(repo->mlpdir, 0777);
	mkdir(dir.buf, 0777);
	mlp_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	for (size_t i = 0; i < m->nr; i++)
		mlp_buf_addf(&data, "%s %s\n", m->e[i].id, m->e[i].oid);
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd >= 0) {
		const char *p = data.buf ? data.buf : "";
		size_t n = data.len;
		while (n && write_some(fd, &p, &n) == 0)
			;
		if (close(fd) == 0 && !n)
			rename(tmp.buf, path);
		else
			unlink(tmp.buf);
	}
	free(path);
	mlp_buf_release(&tmp);
	mlp_buf_release(&data);
	mlp_buf_release(&dir);
}

/* ---- results ---------------------------------------------------------------------------- */

const char *mlp_sync_state_name(enum mlp_sync_state s)
{
	static const char *const names[] = {
		"pushed", "up to date", "new", "updated", "merged", "ahead",
		"rejected", "deleted", "kept", "differs", "remote only"
	};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static struct mlp_sync_item *result_add(struct mlp_sync_result *r, const char *id, const char *old,
					const char *oid, enum mlp_sync_state st, const char *reason)
{
	struct mlp_sync_item *it;
	if (r->nr == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 64;
		r->items = mlp_realloc(r->items, r->alloc * sizeof(*r->items));
	}
	it = &r->items[r->nr++];
	memset(it, 0, sizeof(*it));
	snprintf(it->id, sizeof(it->id), "%s", id);
	snprintf(it->old, sizeof(it->old), "%s", old ? old : "");
	snprintf(it->oid, sizeof(it->oid), "%s", oid ? oid : "");
	it->state = st;
	it->reason = reason ? mlp_strdup(reason) : NULL;
	if (st == MLP_SYNC_MERGED)
		r->merged++;
	if (st == MLP_SYNC_REJECTED)
		r->rejected++;
	return it;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mlp_sync_item *)a)->id, ((const struct mlp_sync_item *)b)->id);
}

static void result_sort(struct mlp_sync_result *r)
{
	mlp_qsort(r->items, r->nr, sizeof(*r->items), item_cmp);
}

void mlp_sync_result_release(struct mlp_sync_result *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		free(r->items[i].reason);
		free(r->items[i].name);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

size_t mlp_sync_count(const struct mlp_sync_result *r, enum mlp_sync_state s)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nr; i++)
		n += r->items[i].state == s;
	return n;
}

void mlp_sync_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static void warnf(const struct mlp_sync_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(const struct mlp_sync_opts *o, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;
	if (!o || !o->warn)
		return;
	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	o->warn(o->warn_data, b.buf);
	mlp_buf_release(&b);
}

/* ---- remotes and selection -------------------------------------------------------------- */

int mlp_sync_default_remote(char **out, struct mlp_repo *repo)
{
	git_reference *head = NULL;
	git_buf buf = { 0 };
	git_remote *r = NULL;

	*out = NULL;
	if (git_repository_head(&head, repo->git) == 0 && git_reference_is_branch(head) &&
	    git_branch_upstream_remote(&buf, repo->git, git_reference_name(head)) == 0) {
		*out = mlp_strdup(buf.ptr);
		git_buf_dispose(&buf);
	}
	git_reference_free(head);
	git_error_clear();
	if (*out)
		return 0;
	if (git_remote_lookup(&r, repo->git, "origin") == 0) {
		git_remote_free(r);
		*out = mlp_strdup("origin");
		return 0;
	}
	git_error_clear();
	return mlp_error_set(MLP_ENOTFOUND, "no remote given, no upstream and no 'origin'");
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Runs whose base is one of the commits: the index has every run's base, nothing is decoded. */
static int runs_of_commits(char ***ids, size_t *n, struct mlp_repo *repo, git_oid *commits, size_t nc)
{
	mlp_qsort(commits, nc, sizeof(*commits), oid_cmp);
	return mlp_index_runs_of_commits(ids, n, repo, commits, nc);
}

/* The commits of a walk: from `tips`, hiding `hide` (when present here) and a glob. */
static int walk_commits(git_oid **out, size_t *n, struct mlp_repo *repo, const git_oid *tips, size_t ntips,
			const git_oid *hide, size_t nhide, const char *hide_glob)
{
	git_revwalk *w = NULL;
	git_oid c;
	size_t pushed = 0;

	*out = NULL;
	*n = 0;
	if (git_revwalk_new(&w, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "revwalk");
	for (size_t i = 0; i < ntips; i++)
		if (git_revwalk_push(w, &tips[i]) == 0)
			pushed++;
	for (size_t i = 0; i < nhide; i++)
		git_revwalk_hide(w, &hide[i]);	/* unknown here: nothing to hide */
	if (hide_glob)
		git_revwalk_hide_glob(w, hide_glob);
	git_error_clear();
	while (pushed && git_revwalk_next(&c, w) == 0) {
		*out = mlp_realloc(*out, (*n + 1) * sizeof(git_oid));
		git_oid_cpy(&(*out)[(*n)++], &c);
	}
	git_revwalk_free(w);
	return 0;
}

int mlp_sync_select(char ***ids, size_t *n, struct mlp_repo *repo, const char *range, int *no_upstream)
{
	git_oid *commits = NULL, tip, up;
	size_t nc = 0;
	git_object *obj = NULL;
	int err = 0;

	*ids = NULL;
	*n = 0;
	if (no_upstream)
		*no_upstream = 0;
	if (range) {
		git_revspec spec;
		if (git_revparse(&spec, repo->git, range) < 0)
			return mlp_error_set(MLP_ENOTFOUND, "bad revision '%s'", range);
		if (spec.flags & GIT_REVSPEC_SINGLE) {
			git_object *c = NULL;
			if (git_object_peel(&c, spec.from, GIT_OBJECT_COMMIT) == 0) {
				commits = mlp_malloc(sizeof(git_oid));
				git_oid_cpy(&commits[nc++], git_object_id(c));
			}
			git_object_free(c);
		} else {
			git_oid from = *git_object_id(spec.from), to = *git_object_id(spec.to);
			err = walk_commits(&commits, &nc, repo, &to, 1, &from, 1, NULL);
		}
		git_object_free(spec.from);
		git_object_free(spec.to);
		if (err < 0)
			return err;
		goto found;
	}
	if (git_reference_name_to_id(&tip, repo->git, "HEAD") < 0) {
		git_error_clear();
		return 0;	/* unborn: no commits, no runs to go with them */
	}
	if (git_revparse_single(&obj, repo->git, "@{upstream}") == 0) {
		git_object *c = NULL;
		if (git_object_peel(&c, obj, GIT_OBJECT_COMMIT) == 0)
			git_oid_cpy(&up, git_object_id(c));
		git_object_free(c);
		git_object_free(obj);
		err = walk_commits(&commits, &nc, repo, &tip, 1, &up, 1, NULL);
		if (err < 0)
			return err;
	} else {
		git_error_clear();
		if (no_upstream)
			*no_upstream = 1;
	}
	commits = mlp_realloc(commits, (nc + 1) * sizeof(git_oid));
	git_oid_cpy(&commits[nc++], &tip);
found:
	err = runs_of_commits(ids, n, repo, commits, nc);
	free(commits);
	return err;
}

int mlp_sync_add_fetch_refspec(struct mlp_repo *repo, const char *remote, int *added)
{
	static const char spec[] = MLP_REF_PREFIX "*:" MLP_REF_PREFIX "*";
	git_remote *r = NULL;
	git_strarray have = { 0 };
	int err = 0;

	*added = 0;
	if (git_remote_lookup(&r, repo->git, remote) < 0) {
		git_error_clear();
		return mlp_error_set(MLP_ENOTFOUND, "no such remote '%s'", remote);
	}
	if (git_remote_get_fetch_refspecs(&have, r) < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot read the remote's fetch refspecs");
		goto done;
	}
	for (size_t i = 0; i < have.count; i++) {
		const char *s = have.strings[i];
		if (*s == '+')
			s++;
		if (!strcmp(s, spec) || !strcmp(s, "refs/mlp/*:refs/mlp/*"))
			goto done;	/* already there */
	}
	if (git_remote_add_fetch(repo->git, remote, spec) < 0) {
		err = mlp_git_error(MLP_ERROR, "cannot add the fetch refspec");
		goto done;
	}
	*added = 1;
done:
	git_strarray_dispose(&have);
	git_remote_free(r);
	return err;
}

/* ---- merging two versions of a run ----------------------------------------------------------- */

static int opt_equal(const struct mlp_value *a, const struct mlp_value *b)
{
	if (!a || !b)
		return a == b;
	return mlp_value_equal(a, b);
}

static void note_value(struct mlp_buf *b, const struct mlp_value *v)
{
	if (!v) {
		mlp_buf_adds(b, "(unset)");
		return;
	}
	mlp_buf_addch(b, '\'');
	mlp_value_format(b, v);
	mlp_buf_addch(b, '\'');
}

/*
 * Three-way per key when the common version is known: a side that did
 * not change a key takes the other side's value (or removal).  Otherwise,
 * and for keys changed on both sides, nothing is dropped: a key set on
 * one side only is kept, and for two different values the newer run
 * commit's wins, with a note naming the other value.
 */
static void merge_map(struct mlp_map *a, const struct mlp_map *b, const struct mlp_map *o,
		      int b_wins, const char *what, struct mlp_buf *report)
{
	struct mlp_map keys = MLP_MAP_INIT;

	for (size_t i = 0; i < a->nr; i++) {
		struct mlp_value nil = { MLP_NIL, { 0 } };
		mlp_map_set(&keys, a->items[i].key, &nil);
	}
	for (size_t i = 0; i < b->nr; i++) {
		struct mlp_value nil = { MLP_NIL, { 0 } };
		mlp_map_set(&keys, b->items[i].key, &nil);
	}
	for (size_t i = 0; i < keys.nr; i++) {
		const char *k = keys.items[i].key;
		const struct mlp_value *va = mlp_map_get(a, k), *vb = mlp_map_get(b, k);
		const struct mlp_value *vo = o ? mlp_map_get(o, k) : NULL;
		struct mlp_value copy;

		if (opt_equal(va, vb))
			continue;
		if (o && opt_equal(va, vo)) {
			/* only they changed it */
		} else if (o && opt_equal(vb, vo)) {
			continue;	/* only we changed it */
		} else if (!va) {
			/* set on their side only */
		} else if (!vb) {
			continue;
		} else {
			mlp_buf_addf(report, "%s '%s': both sides changed it; kept ", what, k);
			note_value(report, b_wins ? vb : va);
			mlp_buf_adds(report, ", the other had ");
			note_value(report, b_wins ? va : vb);
			mlp_buf_addch(report, '\n');
			if (!b_wins)
				continue;
		}
		if (!vb) {
			mlp_map_remove(a, k);
			continue;
		}
		mlp_value_copy(&copy, vb);
		mlp_map_set(a, k, &copy);
	}
	mlp_map_clear(&keys);
}

struct point {
	int64_t step, t;
	double value;
};

static int point_cmp(const void *x, const void *y)
{
	const struct point *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

/* Every point of either side, once: checkpoints of one run are prefixes. */
static void merge_series(struct mlp_run *a, const struct mlp_run *b)
{
	for (size_t i = 0; i < b->series_nr; i++) {
		const struct mlp_series *sb = &b->series[i];
		struct mlp_series *sa = (struct mlp_series *)mlp_run_series(a, sb->key);
		struct point *p;
		size_t n = 0, k = 0;

		if (!sa) {
			for (size_t j = 0; j < sb->nr; j++)
				mlp_run_add_point(a, sb->key, sb->step[j], sb->value[j], sb->t[j]);
			continue;
		}
		p = mlp_malloc((sa->nr + sb->nr + 1) * sizeof(*p));
		for (size_t j = 0; j < sa->nr; j++)
			p[n++] = (struct point){ sa->step[j], sa->t[j], sa->value[j] };
		for (size_t j = 0; j < sb->nr; j++)
			p[n++] = (struct point){ sb->step[j], sb->t[j], sb->value[j] };
		mlp_qsort(p, n, sizeof(*p), point_cmp);
		for (size_t j = 0; j < n; j++)
			if (!k || point_cmp(&p[k - 1], &p[j]))
				p[k++] = p[j];
		/* added again, so that count, first, last, min and max (summary.mp) are the merged ones */
		sa->nr = 0;
		sa->count = 0;
		for (size_t j = 0; j < k; j++)
			mlp_run_add_point(a, sb->key, p[j].step, p[j].value, p[j].t);
		free(p);
	}
}

static void copy_artifacts(struct mlp_run *a, const struct mlp_run *b)
{
	mlp_run_clear_artifacts(a);
	memcpy(a->artifacts, b->artifacts, sizeof(a->artifacts));
	a->artifact = mlp_calloc(b->artifact_nr ? b->artifact_nr : 1, sizeof(*a->artifact));
	for (size_t i = 0; i < b->artifact_nr; i++) {
		a->artifact[i] = b->artifact[i];
		a->artifact[i].path = mlp_strdup(b->artifact[i].path);
	}
	a->artifact_nr = b->artifact_nr;
}

static int load_at(struct mlp_run **out, struct mlp_repo *repo, const char *id, const char *hex,
		   unsigned flags)
{
	git_oid oid;
	if (git_oid_fromstr(&oid, hex) < 0)
		return mlp_error_set(MLP_EINVALID, "bad object id '%s'", hex);
	return mlp_run_load_oid(out, repo, id, &oid, flags, NULL);
}

int mlp_sync_merge_run(struct mlp_repo *repo, const char *id, const char *ours, const char *theirs,
		       const char *common, char out[MLP_OID_HEXSZ + 1], struct mlp_buf *report)
{
	struct mlp_run *a = NULL, *b = NULL, *o = NULL;
	git_oid oa, ob, saved, merged, base;
	git_commit *ca = NULL, *cb = NULL, *cs = NULL, *cbase = NULL;
	git_reference *ref = NULL;
	struct mlp_buf refname = MLP_BUF_INIT;
	int b_wins, err;

	if ((err = load_at(&a, repo, id, ours, MLP_LOAD_SERIES)) < 0 ||
	    (err = load_at(&b, repo, id, theirs, MLP_LOAD_SERIES)) < 0)
		goto done;
	/*
	 * The common version is only a hint: without it the merge is a union.
	 * It is often one of the two sides itself (a push whose remote did not
	 * change since we last agreed is still no fast-forward, as run commits
	 * are not chained): then that side changed nothing, and the other's
	 * values win everywhere.
	 */
	if (common && !strcmp(common, theirs))
		load_at(&o, repo, id, theirs, 0);
	else if (common && !strcmp(common, ours))
		load_at(&o, repo, id, ours, 0);
	else if (common && load_at(&o, repo, id, common, 0) < 0)
		o = NULL;
	mlp_error_clear();
	git_oid_fromstr(&oa, ours);
	git_oid_fromstr(&ob, theirs);
	if (git_commit_lookup(&ca, repo->git, &oa) < 0 || git_commit_lookup(&cb, repo->git, &ob) < 0) {
		err = mlp_git_error(MLP_ECORRUPT, "run commit");
		goto done;
	}
	/* ties (finished runs keep their end time as commit time) go by id,
	 * so that two clones merging at once pick the same values */
	b_wins = git_commit_time(cb) != git_commit_time(ca) ? git_commit_time(cb) > git_commit_time(ca)
							     : git_oid_cmp(&ob, &oa) > 0;
	merge_map(&a->tags, &b->tags, o ? &o->tags : NULL, b_wins, "tag", report);
	merge_map(&a->params, &b->params, o ? &o->params : NULL, b_wins, "param", report);
	if ((a->note ? a->note : "")[0] || (b->note ? b->note : "")[0]) {
		const char *na = a->note ? a->note : "", *nb = b->note ? b->note : "";
		const char *no = o && o->note ? o->note : "";
		if (!strcmp(na, nb) || (o && !strcmp(nb, no))) {
			/* keep ours */
		} else if ((o && !strcmp(na, no)) || !*na) {
			free(a->note);
			a->note = *nb ? mlp_strdup(nb) : NULL;
		} else if (*nb) {
			/* both wrote a note: keep both, newer first */
			struct mlp_buf n = MLP_BUF_INIT;
			mlp_buf_addf(&n, "%s\n\n%s", b_wins ? nb : na, b_wins ? na : nb);
			free(a->note);
			a->note = mlp_buf_detach(&n, NULL);
			mlp_buf_adds(report, "note: both sides changed it; kept both\n");
		}
	}
	if (a->status == MLP_STATUS_RUNNING && b->status != MLP_STATUS_RUNNING) {
		a->status = b->status;
		a->ended = b->ended;
		a->has_exit_code = b->has_exit_code;
		a->exit_code = b->exit_code;
		a->signal = b->signal;
		a->cpu_ms = b->cpu_ms;
		a->maxrss_kb = b->maxrss_kb;
	}
	merge_series(a, b);
	if (!a->artifacts[0] && b->artifacts[0])
		copy_artifacts(a, b);
	else if (b->artifacts[0] && strcmp(a->artifacts, b->artifacts))
		mlp_buf_adds(report, "artifacts: both sides differ; kept ours (theirs stay reachable "
				     "from the merged commit)\n");

	/* the run writer makes the tree; then the same commit gets both versions as parents */
	if ((err = mlp_run_save(repo, a, NULL)) < 0)
		goto done;
	git_oid_fromstr(&saved, a->commit);
	if (git_commit_lookup(&cs, repo->git, &saved) < 0) {
		err = mlp_git_error(MLP_ERROR, "merged run commit");
		goto done;
	}
	{
		const git_commit *parents[3];
		size_t np = 0;
		git_tree *tree = NULL;
		if (a->base[0] && git_oid_fromstr(&base, a->base) == 0 &&
		    git_commit_lookup(&cbase, repo->git, &base) == 0)
			parents[np++] = cbase;
		parents[np++] = ca;
		parents[np++] = cb;
		if (git_commit_tree(&tree, cs) < 0 ||
		    git_commit_create(&merged, repo->git, NULL, git_commit_author(cs), git_commit_committer(cs),
				      NULL, git_commit_message(cs), tree, np, parents) < 0) {
			git_tree_free(tree);
			err = mlp_git_error(MLP_ERROR, "cannot write the merged run commit");
			goto done;
		}
		git_tree_free(tree);
	}
	mlp_buf_addf(&refname, MLP_REF_PREFIX "%s", id);
	if (git_reference_create_matching(&ref, repo->git, refname.buf, &merged, 1, &saved,
					  "git-mlp: merge run") < 0) {
		err = mlp_git_error(MLP_ECONFLICT, "run changed meanwhile");
		goto done;
	}
	git_oid_tostr(out, MLP_OID_HEXSZ + 1, &merged);
done:
	git_reference_free(ref);
	git_commit_free(ca);
	git_commit_free(cb);
	git_commit_free(cs);
	git_commit_free(cbase);
	mlp_buf_release(&refname);
	mlp_run_free(a);
	mlp_run_free(b);
	mlp_run_free(o);
	return err;
}

/* ---- fetching single runs into a scratch namespace --------------------------------------- */

static void tmp_ref(struct mlp_buf *b, const char *id)
{
	mlp_buf_addf(b, "refs/mlp/tmp/%ld/%s", (long)getpid(), id);
}

/* Fetches the remote's commits of `ids` under refs/mlp/tmp/<pid>/<id>. */
static int fetch_tmp(struct mlp_repo *repo, const char *remote, char *const *ids, size_t n,
		     struct mlp_buf *why)
{
	for (size_t i = 0; i < n; i += BATCH) {
		struct argv a = { 0 };
		struct mlp_spawn s;
		int err;
		argv_push(&a, "git");
		argv_push(&a, "fetch");
		argv_push(&a, "--quiet");
		argv_push(&a, "--no-tags");
		argv_push(&a, "--no-prune");
		argv_push(&a, "--no-write-fetch-head");
		argv_push(&a, "--no-recurse-submodules");
		argv_push(&a, remote);
		for (size_t j = i; j < n && j < i + BATCH; j++) {
			struct mlp_buf b = MLP_BUF_INIT;
			mlp_buf_addf(&b, "+" RUN_PATTERN ":", ids[j]);
			tmp_ref(&b, ids[j]);
			mlp_buf_addch(&b, '*');
			argv_push(&a, b.buf);
			mlp_buf_release(&b);
		}
		err = run_git(&s, &a, NULL, 0);
		argv_clear(&a);
		if (err < 0)
			return err;
		if (s.status)
			mlp_buf_adds(why, git_reason(&s.err));
		mlp_spawn_release(&s);
	}
	(void)repo;
	return 0;
}

static int tmp_get(char hex[MLP_OID_HEXSZ + 1], struct mlp_repo *repo, const char *id)
{
	struct mlp_buf b = MLP_BUF_INIT;
	git_oid oid;
	int err;
	tmp_ref(&b, id);
	err = git_reference_name_to_id(&oid, repo->git, b.buf);
	mlp_buf_release(&b);
	git_error_clear();
	if (err < 0)
		return MLP_ENOTFOUND;
	git_oid_tostr(hex, MLP_OID_HEXSZ + 1, &oid);
	return 0;
}

static void tmp_clear(struct mlp_repo *repo, char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mlp_buf b = MLP_BUF_INIT;
		git_reference *r = NULL;
		tmp_ref(&b, ids[i]);
		if (git_reference_lookup(&r, repo->git, b.buf) == 0)
			git_reference_delete(r);
		git_reference_free(r);
		mlp_buf_release(&b);
	}
	git_error_clear();
}

static int is_descendant(struct mlp_repo *repo, const char *desc, const char *anc)
{
	git_oid d, a;
	if (git_oid_fromstr(&d, desc) < 0 || git_oid_fromstr(&a, anc) < 0)
		return 0;
	if (git_oid_equal(&d, &a))
		return 1;
	return git_graph_descendant_of(repo->git, &d, &a) == 1;
}

static int have_object(struct mlp_repo *repo, const char *hex)
{
	git_odb *odb = NULL;
	git_oid oid;
	int ok;
	if (git_oid_fromstr(&oid, hex) < 0 || git_repository_odb(&odb, repo->git) < 0)
		return 0;
	ok = git_odb_exists(odb, &oid);
	git_odb_free(odb);
	return ok;
}

/* ---- push ----------------------------------------------------------------------------------- */

/* A remote-side failure that is worth another try. */
static int transient(const char *s)
{
	static const char *const words[] = {
		"lock", "Unable to create", "unable to create", "failed to update ref",
		"Connection reset", "unexpected disconnect", "the remote end hung up", NULL
	};
	for (size_t i = 0; words[i]; i++)
		if (s && strstr(s, words[i]))
			return 1;
	return 0;
}

struct pushed_ref {
	char id[MLP_ID_HEXSZ + 1];
	char flag;		/* porcelain flag, 0 when git printed no line */
	char *summary;
};

static int pushed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pushed_ref *)a)->id, ((const struct pushed_ref *)b)->id);
}

/*
 * `git push --porcelain` lines: "<flag>\t<src>:<dst>\t<summary> (<reason>)".
 * Returns the refs git reported, keyed by the id of the destination.
 */
static void parse_porcelain(struct pushed_ref **out, size_t *n, char *text)
{
	char *p = text;
	while (p && *p) {
		char *nl = strchr(p, '\n'), *t1, *t2, *colon;
		if (nl)
			*nl = '\0';
		t1 = strchr(p, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t1 == p + 1 && t2) {
			*t2 = '\0';
			colon = strrchr(t1 + 1, ':');
			if (colon && !strncmp(colon + 1, MLP_REF_PREFIX, strlen(MLP_REF_PREFIX))) {
				const char *id = colon + 1 + strlen(MLP_REF_PREFIX);
				if (valid_id(id, strlen(id))) {
					*out = mlp_realloc(*out, (*n + 1) * sizeof(**out));
					memcpy((*out)[*n].id, id, MLP_ID_HEXSZ + 1);
					(*out)[*n].flag = *p;
					(*out)[*n].summary = mlp_strdup(t2 + 1);
					(*n)++;
				}
			}
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* One `git push` of the given ids (all runs with a glob when ids is NULL). */
static int push_once(struct pushed_ref **got, size_t *ngot, struct mlp_buf *failure, const char *remote,
		     char *const *ids, size_t n, int deleting)
{
	struct argv a = { 0 };
	struct mlp_spawn s;
	int err;

	argv_push(&a, "git");
	argv_push(&a, "push");
	argv_push(&a, "--porcelain");
	argv_push(&a, "--no-follow-tags");
	argv_push(&a, "--recurse-submodules=no");
	argv_push(&a, remote);
	if (!ids)
		argv_push(&a, MLP_REF_PREFIX "*:" MLP_REF_PREFIX "*");
	for (size_t i = 0; ids && i < n; i++)
		if (deleting)
			argv_pushf(&a, ":" MLP_REF_PREFIX "%s", ids[i]);
		else
			argv_pushf(&a, RUN_PATTERN ":" RUN_PATTERN, ids[i], ids[i]);
	err = run_git(&s, &a, NULL, 0);
	argv_clear(&a);
	if (err < 0)
		return err;
	parse_porcelain(got, ngot, s.out.buf);
	if (s.status)
		mlp_buf_adds(failure, git_reason(&s.err));
	mlp_spawn_release(&s);
	return 0;
}

static void backoff(size_t attempt)
{
	struct timespec ts;
	long ms = 50L << (attempt < 5 ? attempt : 5);
	ms += (long)(((unsigned)getpid() * 7919u + (unsigned)attempt * 104729u) % (unsigned)ms);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int sync_push_or_delete(struct mlp_repo *repo, const char *remote, char *const *ids_in, size_t n_in,
			       int deleting, const struct mlp_sync_opts *o, struct mlp_sync_result *res)
{
	struct refmap local = { 0 }, state = { 0 }, merged_from = { 0 };
	char last_transient[200] = "";
	char **todo = NULL, **again = NULL, **diverged = NULL;
	size_t ntodo = 0, nagain = 0, ndiv = 0, max = o && o->max_retries > 0 ? (size_t)o->max_retries
									  : DEFAULT_RETRIES;
	int all = !ids_in && !deleting, err = 0;

	if ((err = local_refs(&local, repo)) < 0)
		return err;
	state_load(&state, repo, remote);
	if (ids_in) {
		todo = mlp_calloc(n_in + 1, sizeof(char *));
		for (size_t i = 0; i < n_in; i++) {
			if (!deleting && !refmap_get(&local, ids_in[i])) {
				result_add(res, ids_in[i], NULL, NULL, MLP_SYNC_REJECTED, "no such run here");
				continue;
			}
			todo[ntodo++] = mlp_strdup(ids_in[i]);
		}
	} else {
		todo = mlp_calloc(local.nr + 1, sizeof(char *));
		for (size_t i = 0; i < local.nr; i++)
			todo[ntodo++] = mlp_strdup(local.e[i].id);
	}
	mlp_qsort(todo, ntodo, sizeof(char *), strp_cmp);
	refmap_reserve(&state, todo, ntodo, 0);

	for (size_t attempt = 0; ntodo; attempt++) {
		struct pushed_ref *got = NULL;
		size_t ngot = 0, ntransient = 0;
		struct mlp_buf failure = MLP_BUF_INIT;

		if (all && attempt == 0) {
			err = push_once(&got, &ngot, &failure, remote, NULL, 0, 0);
		} else {
			for (size_t i = 0; i < ntodo && err >= 0; i += BATCH)
				err = push_once(&got, &ngot, &failure, remote, todo + i,
						ntodo - i < BATCH ? ntodo - i : BATCH, deleting);
		}
		if (err >= 0 && !ngot && failure.len && !transient(failure.buf))
			err = mlp_error_set(MLP_ERROR, "cannot push to '%s': %s", remote, failure.buf);
		if (err < 0) {
			mlp_buf_release(&failure);
			goto done;
		}
		mlp_qsort(got, ngot, sizeof(*got), pushed_cmp);
		for (size_t i = 0; i < ntodo; i++) {
			struct pushed_ref key, *g;
			struct refent *l = refmap_get(&local, todo[i]);
			const char *oid = l ? l->oid : "";
			snprintf(key.id, sizeof(key.id), "%s", todo[i]);
			g = ngot ? bsearch(&key, got, ngot, sizeof(*got), pushed_cmp) : NULL;
			if (!g) {
				/* git said nothing about it: after success it was up to date */
				if (!failure.len) {
					if (!deleting) {
						result_add(res, todo[i], oid, oid, MLP_SYNC_UPTODATE, NULL);
						refmap_set(&state, todo[i], oid);
					} else {
						result_add(res, todo[i], NULL, NULL, MLP_SYNC_DELETED, NULL);
					}
				} else if (transient(failure.buf) && attempt < max) {
					ntransient++;
					snprintf(last_transient, sizeof(last_transient), "%s", failure.buf);
					again = mlp_realloc(again, (nagain + 1) * sizeof(char *));
					again[nagain++] = todo[i];
					todo[i] = NULL;
				} else {
					result_add(res, todo[i], oid, NULL, MLP_SYNC_REJECTED, failure.buf);
				}
				continue;
			}
			if (g->flag == '=' || g->flag == ' ' || g->flag == '*' || g->flag == '+' || g->flag == '-') {
				if (deleting) {
					struct refent *st = refmap_get(&state, todo[i]);
					result_add(res, todo[i], NULL, NULL, MLP_SYNC_DELETED, NULL);
					if (st)
						st->oid[0] = '\0';
				} else {
					struct refent *mf = refmap_get(&merged_from, todo[i]);
					result_add(res, todo[i], mf ? mf->oid : oid, oid,
						   mf ? MLP_SYNC_MERGED
						      : g->flag == '=' ? MLP_SYNC_UPTODATE : MLP_SYNC_PUSHED, NULL);
					refmap_set(&state, todo[i], oid);
				}
			} else if (!deleting && (strstr(g->summary, "non-fast-forward") ||
						 strstr(g->summary, "fetch first") ||
						 strstr(g->summary, "stale info"))) {
				diverged = mlp_realloc(diverged, (ndiv + 1) * sizeof(char *));
				diverged[ndiv++] = todo[i];
				todo[i] = NULL;
			} else if (transient(g->summary) && attempt < max) {
				ntransient++;
				snprintf(last_transient, sizeof(last_transient), "%s", g->summary);
				again = mlp_realloc(again, (nagain + 1) * sizeof(char *));
				again[nagain++] = todo[i];
				todo[i] = NULL;
			} else {
				result_add(res, todo[i], oid, NULL, MLP_SYNC_REJECTED, g->summary);
			}
		}
		for (size_t i = 0; i < ngot; i++)
			free(got[i].summary);
		free(got);
		mlp_buf_release(&failure);

		/* diverged: fetch theirs, merge, and push the merge (a fast-forward) */
		if (ndiv) {
			struct mlp_buf why = MLP_BUF_INIT;
			if ((err = fetch_tmp(repo, remote, diverged, ndiv, &why)) < 0) {
				mlp_buf_release(&why);
				goto done;
			}
			for (size_t i = 0; i < ndiv; i++) {
				char theirs[MLP_OID_HEXSZ + 1], merged[MLP_OID_HEXSZ + 1];
				struct refent *l = refmap_get(&local, diverged[i]), *st = refmap_get(&state, diverged[i]);
				struct mlp_buf report = MLP_BUF_INIT;
				int merr;
				if (tmp_get(theirs, repo, diverged[i]) < 0) {
					result_add(res, diverged[i], l->oid, NULL, MLP_SYNC_REJECTED,
						   why.len ? why.buf : "diverged, and the remote's version cannot be fetched");
					continue;
				}
				merr = mlp_sync_merge_run(repo, diverged[i], l->oid, theirs,
							  st && st->oid[0] ? st->oid : NULL, merged, &report);
				if (merr < 0) {
					struct mlp_buf m = MLP_BUF_INIT;
					mlp_buf_addf(&m, "diverged and cannot merge: %s", mlp_error_message());
					result_add(res, diverged[i], l->oid, NULL, MLP_SYNC_REJECTED, m.buf);
					mlp_buf_release(&m);
				} else {
					/* the remote unchanged since we last agreed: only we changed the
					 * run, and the merge just makes our version a fast-forward */
					if (!st || strcmp(st->oid, theirs)) {
						warnf(o, "run %.8s was changed on '%s' too; merged both versions%s%s",
						      diverged[i], remote, report.len ? ":\n" : "",
						      report.len ? report.buf : "");
						refmap_set(&merged_from, diverged[i], l->oid);
						l = refmap_get(&local, diverged[i]);
					}
					snprintf(l->oid, sizeof(l->oid), "%s", merged);
					again = mlp_realloc(again, (nagain + 1) * sizeof(char *));
					again[nagain++] = mlp_strdup(diverged[i]);
				}
				mlp_buf_release(&report);
			}
			tmp_clear(repo, diverged, ndiv);
			mlp_buf_release(&why);
			for (size_t i = 0; i < ndiv; i++)
				free(diverged[i]);
			ndiv = 0;
		}
		for (size_t i = 0; i < ntodo; i++)
			free(todo[i]);
		free(todo);
		todo = again;
		ntodo = nagain;
		again = NULL;
		nagain = 0;
		if (ntodo) {
			if (attempt >= max) {
				for (size_t i = 0; i < ntodo; i++)
					result_add(res, todo[i], NULL, NULL, MLP_SYNC_REJECTED, "gave up after retries");
				break;
			}
			if (ntransient) {
				res->retries++;
				warnf(o, "remote busy (%s); retrying %zu run%s (attempt %zu of %zu)",
				      last_transient, ntransient, ntransient == 1 ? "" : "s", attempt + 2, max + 1);
				backoff(attempt);
			}
		}
	}
	result_sort(res);
	{
		/* drop deleted entries from the state */
		size_t k = 0;
		for (size_t i = 0; i < state.nr; i++)
			if (state.e[i].oid[0])
				state.e[k++] = state.e[i];
		state.nr = k;
	}
	state_save(&state, repo, remote);
done:
	for (size_t i = 0; i < ntodo; i++)
		free(todo[i]);
	free(todo);
	for (size_t i = 0; i < nagain; i++)
		free(again[i]);
	free(again);
	free(diverged);
	refmap_release(&local);
	refmap_release(&state);
	refmap_release(&merged_from);
	return err;
}

int mlp_sync_push(struct mlp_repo *repo, const char *remote, char *const *ids, size_t n,
		  const struct mlp_sync_opts *o, struct mlp_sync_result *res)
{
	return sync_push_or_delete(repo, remote, ids, n, 0, o, res);
}

int mlp_sync_delete_remote(struct mlp_repo *repo, const char *remote, char *const *ids, size_t n,
			   const struct mlp_sync_opts *o, struct mlp_sync_result *res)
{
	return sync_push_or_delete(repo, remote, ids, n, 1, o, res);
}

/* ---- fetch ----------------------------------------------------------------------------------- */

static int fetch_runs(const char *remote, char *const *ids, size_t n, int glob, struct mlp_buf *stderr_out)
{
	for (size_t i = 0; i < (glob ? 1 : n); i += BATCH) {
		struct argv a = { 0 };
		struct mlp_spawn s;
		int err;
		argv_push(&a, "git");
		argv_push(&a, "fetch");
		argv_push(&a, "--quiet");
		argv_push(&a, "--no-tags");
		argv_push(&a, "--no-prune");	/* fetch.prune would delete runs never pushed */
		argv_push(&a, "--no-write-fetch-head");
		argv_push(&a, "--no-recurse-submodules");
		argv_push(&a, remote);
		if (glob)
			argv_push(&a, MLP_REF_PREFIX "*:" MLP_REF_PREFIX "*");
		for (size_t j = i; !glob && j < n && j < i + BATCH; j++)
			argv_pushf(&a, RUN_PATTERN ":" RUN_PATTERN, ids[j], ids[j]);
		err = run_git(&s, &a, NULL, 0);
		argv_clear(&a);
		if (err < 0)
			return err;
		mlp_buf_add(stderr_out, s.err.buf, s.err.len);
		mlp_spawn_release(&s);
	}
	return 0;
}

static int set_ref(struct mlp_repo *repo, const char *id, const char *to, const char *from, const char *msg)
{
	struct mlp_buf name = MLP_BUF_INIT;
	git_reference *r = NULL;
	git_oid t, f;
	int err;
	mlp_buf_addf(&name, MLP_REF_PREFIX "%s", id);
	git_oid_fromstr(&t, to);
	if (from && from[0]) {
		git_oid_fromstr(&f, from);
		err = git_reference_create_matching(&r, repo->git, name.buf, &t, 1, &f, msg);
	} else {
		err = git_reference_create(&r, repo->git, name.buf, &t, 0, msg);
	}
	git_reference_free(r);
	mlp_buf_release(&name);
	if (err < 0)
		return mlp_git_error(MLP_ECONFLICT, "run changed meanwhile");
	return 0;
}

/* The remote's version decodes as run `id`: one we may take or merge. */
static int check_theirs(struct mlp_repo *repo, const char *id, const char *theirs)
{
	struct mlp_run *run = NULL;
	int err = load_at(&run, repo, id, theirs, 0);
	mlp_run_free(run);
	if (err < 0) {
		char what[80];
		snprintf(what, sizeof(what), "the remote's version %.12s is unreadable", theirs);
		return error_wrap(err, what);
	}
	return 0;
}

int mlp_sync_reconcile(enum mlp_sync_state *state, char out[MLP_OID_HEXSZ + 1], struct mlp_repo *repo,
		       const char *id, const char *ours, const char *theirs, const char *common,
		       struct mlp_buf *report)
{
	int err;

	snprintf(out, MLP_OID_HEXSZ + 1, "%s", ours);
	if (!strcmp(ours, theirs)) {
		*state = MLP_SYNC_UPTODATE;
		return 0;
	}
	if (is_descendant(repo, ours, theirs) || (common && !strcmp(common, theirs))) {
		/* the remote has nothing we lack: our changes are not pushed yet */
		*state = MLP_SYNC_AHEAD;
		return 0;
	}
	if ((err = check_theirs(repo, id, theirs)) < 0)
		return err;
	/*
	 * A fast-forward (theirs is a merge that has ours as a parent), or ours
	 * unchanged since we last agreed: take theirs.  Run commits are
	 * replaced, not chained, so the second is the usual case.
	 */
	if (is_descendant(repo, theirs, ours) || (common && !strcmp(common, ours))) {
		if ((err = set_ref(repo, id, theirs, ours, "git-mlp: fetch")) < 0)
			return err;
		snprintf(out, MLP_OID_HEXSZ + 1, "%s", theirs);
		*state = MLP_SYNC_UPDATED;
		return 0;
	}
	if ((err = mlp_sync_merge_run(repo, id, ours, theirs, common, out, report)) < 0)
		return error_wrap(err, "diverged and cannot merge");
	*state = MLP_SYNC_MERGED;
	return 0;
}

int mlp_sync_fetch(struct mlp_repo *repo, const char *remote, int prune, const struct mlp_sync_opts *o,
		   struct mlp_sync_result *res)
{
	struct refmap remote_m = { 0 }, local = { 0 }, state = { 0 }, after = { 0 };
	struct mlp_index_refs fetched = { 0 };
	char **todo = NULL, **missing = NULL;
	size_t ntodo = 0, nmissing = 0;
	struct mlp_buf fetch_err = MLP_BUF_INIT;
	int err;

	if ((err = remote_refs(&remote_m, remote)) < 0 || (err = local_refs(&local, repo)) < 0)
		goto done;
	state_load(&state, repo, remote);
	refmap_reserve(&state, (char *const *)remote_m.e, remote_m.nr, sizeof(*remote_m.e));
	todo = mlp_calloc(remote_m.nr + 1, sizeof(char *));
	for (size_t i = 0; i < remote_m.nr; i++) {
		struct refent *l = refmap_get(&local, remote_m.e[i].id);
		if (l && !strcmp(l->oid, remote_m.e[i].oid)) {
			refmap_set(&state, l->id, l->oid);
			continue;
		}
		todo[ntodo++] = remote_m.e[i].id;
	}
	if (ntodo) {
		/* one glob refspec when many differ: git matches it in one pass */
		if ((err = fetch_runs(remote, todo, ntodo, ntodo > BATCH, &fetch_err)) < 0)
			goto done;
		/* read the way the index cache reads them: it is updated from them below */
		if ((err = mlp_index_refs_read(&fetched, repo)) < 0)
			goto done;
		refs_from_index(&after, &fetched);
	}
	for (size_t i = 0; i < ntodo; i++) {
		struct refent *r = refmap_get(&remote_m, todo[i]);
		struct refent *l = refmap_get(&local, todo[i]), *now = refmap_get(&after, todo[i]);
		if (now && !strcmp(now->oid, r->oid)) {
			result_add(res, r->id, l ? l->oid : NULL, r->oid, l ? MLP_SYNC_UPDATED : MLP_SYNC_NEW, NULL);
			refmap_set(&state, r->id, r->oid);
			continue;
		}
		if (!have_object(repo, r->oid)) {
			missing = mlp_realloc(missing, (nmissing + 1) * sizeof(char *));
			missing[nmissing++] = r->id;
		}
	}
	if (nmissing) {
		struct mlp_buf why = MLP_BUF_INIT;
		err = fetch_tmp(repo, remote, missing, nmissing, &why);
		mlp_buf_release(&why);
		if (err < 0)
			goto done;
	}
	for (size_t i = 0; i < ntodo; i++) {
		struct refent *r = refmap_get(&remote_m, todo[i]);
		struct refent *now = refmap_get(&after, todo[i]), *st = refmap_get(&state, todo[i]);
		char theirs[MLP_OID_HEXSZ + 1], merged[MLP_OID_HEXSZ + 1];
		struct mlp_buf report = MLP_BUF_INIT;
		enum mlp_sync_state state_after;

		if (now && !strcmp(now->oid, r->oid))
			continue;	/* done above */
		snprintf(theirs, sizeof(theirs), "%s", r->oid);
		if (!have_object(repo, theirs) && tmp_get(theirs, repo, r->id) < 0) {
			result_add(res, r->id, now ? now->oid : NULL, r->oid, MLP_SYNC_REJECTED,
				   fetch_err.len ? git_reason(&fetch_err) : "cannot fetch the remote's version");
			continue;
		}
		if (!now) {
			/* could not be created (a lock?), or deleted meanwhile here */
			result_add(res, r->id, NULL, theirs, MLP_SYNC_REJECTED,
				   fetch_err.len ? git_reason(&fetch_err) : "cannot create the run ref");
			continue;
		}
		if (mlp_sync_reconcile(&state_after, merged, repo, r->id, now->oid, theirs,
				       st && st->oid[0] ? st->oid : NULL, &report) < 0) {
			result_add(res, r->id, now->oid, theirs, MLP_SYNC_REJECTED, mlp_error_message());
		} else if (state_after == MLP_SYNC_MERGED) {
			warnf(o, "run %.8s diverged from '%s'; merged both versions (push to share the merge)%s%s",
			      r->id, remote, report.len ? ":\n" : "", report.len ? report.buf : "");
			result_add(res, r->id, now->oid, merged, MLP_SYNC_MERGED, report.len ? report.buf : NULL);
			refmap_set(&state, r->id, theirs);
		} else {
			result_add(res, r->id, now->oid, merged, state_after, NULL);
			refmap_set(&state, r->id, theirs);
		}
		mlp_buf_release(&report);
	}
	if (nmissing)
		tmp_clear(repo, missing, nmissing);
	if (prune) {
		struct refmap cur = { 0 };
		if ((err = local_refs(&cur, repo)) < 0)
			goto done;
		for (size_t i = 0; i < cur.nr; i++) {
			struct refent *st = refmap_get(&state, cur.e[i].id);
			if (refmap_get(&remote_m, cur.e[i].id) || !st || !st->oid[0])
				continue;	/* on the remote, or never shared with it */
			if (strcmp(st->oid, cur.e[i].oid)) {
				result_add(res, cur.e[i].id, cur.e[i].oid, cur.e[i].oid, MLP_SYNC_KEPT,
					   "deleted on the remote but changed here");
				continue;
			}
			{
				struct mlp_run *run = mlp_run_new();
				memcpy(run->id, cur.e[i].id, sizeof(run->id));
				memcpy(run->commit, cur.e[i].oid, sizeof(run->commit));
				if (mlp_run_delete(repo, run) < 0)
					result_add(res, run->id, run->commit, NULL, MLP_SYNC_REJECTED,
						   mlp_error_message());
				else
					result_add(res, run->id, run->commit, NULL, MLP_SYNC_DELETED, NULL);
				mlp_run_free(run);
			}
			st->oid[0] = '\0';
		}
		refmap_release(&cur);
		{
			size_t k = 0;
			for (size_t i = 0; i < state.nr; i++)
				if (state.e[i].oid[0])
					state.e[k++] = state.e[i];
			state.nr = k;
		}
	}
	state_save(&state, repo, remote);
	result_sort(res);
	/*
	 * The index cache, from the refs read after the fetch: the result
	 * lines name the runs, and the next listing needs them too.  Refs
	 * moved since (merges, prune) change the signature, so the next
	 * reader brings those rows up to date.  A cache: failing is no error.
	 */
	if (fetched.nr) {
		char **ids = mlp_calloc(res->nr + 1, sizeof(char *));
		char **names = mlp_calloc(res->nr + 1, sizeof(char *));
		for (size_t i = 0; i < res->nr; i++)
			ids[i] = res->items[i].id;
		if (mlp_index_update(repo, &fetched, ids, res->nr, names, NULL, NULL) < 0)
			mlp_error_clear();
		for (size_t i = 0; i < res->nr; i++)
			res->items[i].name = names[i];
		free(ids);
		free(names);
	}
done:
	mlp_index_refs_release(&fetched);
	free(todo);
	free(missing);
	mlp_buf_release(&fetch_err);
	refmap_release(&remote_m);
	refmap_release(&local);
	refmap_release(&after);
	refmap_release(&state);
	return err;
}

int mlp_sync_ls_remote(struct mlp_repo *repo, const char *remote, struct mlp_sync_result *res)
{
	struct refmap remote_m = { 0 }, local = { 0 };
	int err;

	if ((err = remote_refs(&remote_m, remote)) < 0 || (err = local_refs(&local, repo)) < 0)
		goto done;
	for (size_t i = 0; i < remote_m.nr; i++) {
		struct refent *l = refmap_get(&local, remote_m.e[i].id);
		result_add(res, remote_m.e[i].id, l ? l->oid : NULL, remote_m.e[i].oid,
			   !l ? MLP_SYNC_REMOTE_ONLY : strcmp(l->oid, remote_m.e[i].oid) ? MLP_SYNC_DIFFERS
											 : MLP_SYNC_UPTODATE,
			   NULL);
	}
done:
	refmap_release(&remote_m);
	refmap_release(&local);
	return err;
}

/* ---- which remote, which runs ---------------------------------------------------------------- */

int mlp_sync_is_remote(struct mlp_repo *repo, const char *name)
{
	git_remote *r = NULL;
	struct stat st;
	if (git_remote_lookup(&r, repo->git, name) == 0) {
		git_remote_free(r);
		return 1;
	}
	git_error_clear();
	/* a URL, scp-like address or path, as git accepts them */
	return strstr(name, "://") || strchr(name, ':') || strchr(name, '/') ||
	       (stat(name, &st) == 0 && S_ISDIR(st.st_mode));
}

int mlp_sync_remotes(char ***out, size_t *n, struct mlp_repo *repo)
{
	git_strarray names = { 0 };
	*out = NULL;
	*n = 0;
	if (git_remote_list(&names, repo->git) < 0)
		return mlp_git_error(MLP_ERROR, "cannot list remotes");
	*out = mlp_calloc(names.count + 1, sizeof(char *));
	for (size_t i = 0; i < names.count; i++)
		(*out)[(*n)++] = mlp_strdup(names.strings[i]);
	git_strarray_dispose(&names);
	return 0;
}

int mlp_hook_pre_push_runs(char ***ids, size_t *n, struct mlp_repo *repo, const char *remote,
			   const char *lines, size_t len)
{
	git_oid *tips = NULL, *hide = NULL, *commits = NULL;
	size_t ntips = 0, nhide = 0, nc = 0;
	struct mlp_buf glob = MLP_BUF_INIT;
	char *copy = mlp_strndup(lines ? lines : "", len), *p = copy;
	git_remote *r = NULL;
	int err;

	*ids = NULL;
	*n = 0;
	/* "<local ref> SP <local oid> SP <remote ref> SP <remote oid> LF" */
	while (p && *p) {
		char *nl = strchr(p, '\n'), lref[4096], loid[64], rref[4096], roid[64];
		git_oid l, rr;
		if (nl)
			*nl = '\0';
		if (strlen(p) < sizeof(lref) && sscanf(p, "%4095s %63s %4095s %63s", lref, loid, rref, roid) == 4) {
			if (git_oid_fromstr(&l, loid) == 0 && !git_oid_is_zero(&l)) {
				tips = mlp_realloc(tips, (ntips + 1) * sizeof(git_oid));
				git_oid_cpy(&tips[ntips++], &l);
			}
			if (git_oid_fromstr(&rr, roid) == 0 && !git_oid_is_zero(&rr)) {
				hide = mlp_realloc(hide, (nhide + 1) * sizeof(git_oid));
				git_oid_cpy(&hide[nhide++], &rr);
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
	/* what the remote is known to have already is not "being pushed" */
	if (remote && git_remote_lookup(&r, repo->git, remote) == 0)
		mlp_buf_addf(&glob, "refs/remotes/%s/*", remote);
	git_remote_free(r);
	git_error_clear();
	err = walk_commits(&commits, &nc, repo, tips, ntips, hide, nhide, glob.len ? glob.buf : NULL);
	if (err >= 0)
		err = runs_of_commits(ids, n, repo, commits, nc);
	free(tips);
	free(hide);
	free(commits);
	mlp_buf_release(&glob);
	return err;
}
