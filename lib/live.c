/*
 * Live runs: everything between the "running" commit and the final one.
 *
 * A live run owns <mlpdir>/live/<id>/:
 *   owner          host, pid, the pid's start time and the boot id
 *   journal        everything ingested (journal.h), fdatasync'ed each second
 *   metrics.jsonl  $MLP_METRICS, appended to by the command
 *   stdout/stderr  the command's output as it comes
 *   summary.mp     latest summaries, so `ls` shows a live run's values
 *
 * Nothing is locked while the command runs: refs change only by
 * compare-and-swap.  When the owner dies without finishing, any later
 * git-mlp command on the same host sees a dead owner (no such pid, or a
 * pid of another process: a different start time or boot) and finishes
 * the run as "crashed" from the journal.  Another host's live run is
 * never touched.
 */
#include "internal.h"
#include "journal.h"
#include "capture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new run's first commit is written once its command has run this long. */
#define MLP_LIVE_FIRST_COMMIT_MS 1000

struct mlp_live {
	struct mlp_repo *repo;
	struct mlp_run *run;
	char *dir, *metrics, *out, *err, *journal_path, *summary_path;
	struct mlp_journal journal;
	int64_t offset, lineno;
	int64_t journaled_offset, journaled_lineno;	/* in the journal's last 'o' entry */
	int64_t checkpoint_ms, last_checkpoint, last_summary;
	size_t summary_points;	/* points when summary.mp was last written */
	size_t points;
	mlp_warn_fn warn;
	void *warn_data;
	int failed_journal;
	/* the run as it started, until its first commit (committed) is written */
	struct mlp_buf start_rec[3];	/* run.mp, params.mp, (no summary.mp) */
	int committed;

	/* capture with no code changes */
	struct mlp_scalars *scalars;
	struct shadow { char *key; int has_step; int64_t step; double value; int64_t t; } *shadow;
	size_t shadow_nr, shadow_alloc;
	int structured;		/* $MLP_METRICS or DVCLive delivered metrics */
	struct mlp_dvclive *dvclive;
	struct mlp_sysmon *sysmon;
	int64_t system_ms, last_system;
	long child;
	char *params_file, *metrics_file;

	/* artifacts: declared up front or through $MLP_METRICS */
	char **artifacts;
	size_t nartifacts;
	char *cwd;
	mlp_progress_fn progress;
	void *progress_data;
};

/*
 * Moves newly declared paths into the live run's list and journals each
 * one, so that a recovery after a crash stores them too.
 */
static void take_artifact_queue(struct mlp_live *l)
{
	for (size_t i = 0; i < l->run->artifact_queue_nr; i++) {
		size_t j;
		for (j = 0; j < l->nartifacts; j++)
			if (!strcmp(l->artifacts[j], l->run->artifact_queue[i]))
				break;
		if (j == l->nartifacts) {
			mlp_journal_artifact(&l->journal, l->run->artifact_queue[i]);
			l->artifacts = mlp_realloc(l->artifacts, (l->nartifacts + 1) * sizeof(char *));
			l->artifacts[l->nartifacts++] = l->run->artifact_queue[i];
		} else {
			free(l->run->artifact_queue[i]);
		}
	}
	free(l->run->artifact_queue);
	l->run->artifact_queue = NULL;
	l->run->artifact_queue_nr = 0;
}

/* Stores the declared artifacts into the run (not saved yet). */
static void capture_artifacts(struct mlp_live *l, int final)
{
	struct mlp_artifact_opts ao = { 0 };

	take_artifact_queue(l);
	if (!l->nartifacts)
		return;
	ao.cwd = l->cwd;
	ao.quiet = !final;
	ao.warn = l->warn;
	ao.warn_data = l->warn_data;
	if (final) {
		ao.progress = l->progress;
		ao.progress_data = l->progress_data;
	}
	if (mlp_artifact_capture(l->repo, l->run, (const char *const *)l->artifacts, l->nartifacts,
				 &ao, NULL) < 0 && l->warn) {
		struct mlp_buf b = MLP_BUF_INIT;
		mlp_buf_addf(&b, "cannot store artifacts: %s", mlp_error_message());
		l->warn(l->warn_data, b.buf);
		mlp_buf_release(&b);
	}
}

static void remove_dir(const char *dir);

static char *path_in(const char *dir, const char *name)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s/%s", dir, name);
	return mlp_buf_detach(&b, NULL);
}

static void warnf(struct mlp_live *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(struct mlp_live *l, const char *fmt, ...)
{
	struct mlp_buf b = MLP_BUF_INIT;
	va_list ap;

	if (!l->warn)
		return;
	va_start(ap, fmt);
	mlp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	l->warn(l->warn_data, b.buf);
	mlp_buf_release(&b);
}

static char *resolve_path(const char *cwd, const char *path)
{
	struct mlp_buf b = MLP_BUF_INIT;

	if (!path)
		return NULL;
	if (path[0] == '/' || !cwd)
		mlp_buf_adds(&b, path);
	else
		mlp_buf_addf(&b, "%s/%s", cwd, path);
	return mlp_buf_detach(&b, NULL);
}

/* A point from a capture channel: into the run and the journal. */
static void live_point(void *data, const char *key, int has_step, int64_t step, double value, int64_t t)
{
	struct mlp_live *l = data;

	if (mlp_key_check("metric", key) < 0)
		return;
	if (l->run->series_nr >= MLP_MAX_METRIC_KEYS && !mlp_run_series(l->run, key))
		return;
	if (!has_step)
		step = mlp_run_next_step(l->run, key);
	mlp_run_add_point(l->run, key, step, value, t);
	mlp_journal_point(&l->journal, key, step, value, t);
}

/* Output scalars wait a second: a script that also reports through
 * $MLP_METRICS or DVCLive prints its numbers too, and those win. */
static void shadow_point(void *data, const char *key, int has_step, int64_t step, double value, int64_t t)
{
	struct mlp_live *l = data;
	struct shadow *sp;

	if (l->structured || l->shadow_nr >= 1000000)
		return;
	if (l->shadow_nr == l->shadow_alloc) {
		l->shadow_alloc = l->shadow_alloc ? l->shadow_alloc * 2 : 64;
		l->shadow = mlp_realloc(l->shadow, l->shadow_alloc * sizeof(*l->shadow));
	}
	sp = &l->shadow[l->shadow_nr++];
	sp->key = mlp_strdup(key);
	sp->has_step = has_step;
	sp->step = step;
	sp->value = value;
	sp->t = t;
}

static void promote_shadow(struct mlp_live *l, int all)
{
	int64_t now = mlp_now_ms();
	size_t i = 0;

	if (l->structured) {
		for (i = 0; i < l->shadow_nr; i++)
			free(l->shadow[i].key);
		l->shadow_nr = 0;
		return;
	}
	for (; i < l->shadow_nr && (all || now - l->shadow[i].t >= 1000); i++) {
		struct shadow *sp = &l->shadow[i];
		live_point(l, sp->key, sp->has_step, sp->step, sp->value, sp->t);
		free(sp->key);
	}
	if (i && l->shadow_nr > i)
		memmove(l->shadow, l->shadow + i, (l->shadow_nr - i) * sizeof(*l->shadow));
	l->shadow_nr -= i;
}

void mlp_live_output_line(struct mlp_live *l, int stream, const char *s, size_t len)
{
	(void)stream;
	if (l->scalars && !l->structured)
		mlp_scalars_match(l->scalars, s, len, shadow_point, l);
}

void mlp_live_set_child(struct mlp_live *l, long pid)
{
	if (l->child == pid)
		return;
	l->child = pid;
	if (l->sysmon) {
		mlp_sysmon_free(l->sysmon);
		l->sysmon = mlp_sysmon_new(pid);
	}
}

static void read_params_file(struct mlp_live *l)
{
	struct mlp_map m = MLP_MAP_INIT;

	if (!l->params_file)
		return;
	if (mlp_read_params_file(&m, l->params_file) < 0)
		warnf(l, "params file: %s", mlp_error_message());
	for (size_t i = 0; i < m.nr; i++)
		if (l->run->params.nr < MLP_MAX_PARAMS || mlp_map_get(&l->run->params, m.items[i].key))
			mlp_live_set(l, 'p', m.items[i].key, &m.items[i].val);
	mlp_map_clear(&m);
}

static void capture_tick(struct mlp_live *l, int final)
{
	int64_t now = mlp_now_ms();

	if (l->dvclive) {
		struct mlp_map m = MLP_MAP_INIT;
		int changed = 0;
		mlp_dvclive_poll(l->dvclive, final, live_point, l, l->warn, l->warn_data);
		if (mlp_dvclive_seen(l->dvclive))
			l->structured = 1;
		if (mlp_dvclive_params(l->dvclive, &m, &changed) < 0)
			warnf(l, "dvclive params: %s", mlp_error_message());
		for (size_t i = 0; changed && i < m.nr; i++)
			mlp_live_set(l, 'p', m.items[i].key, &m.items[i].val);
		mlp_map_clear(&m);
	}
	if (l->sysmon && l->child > 0 && !final && now - l->last_system >= l->system_ms) {
		mlp_sysmon_sample(l->sysmon, live_point, l);
		l->last_system = now;
	}
	promote_shadow(l, final);
}

/* ---- who owns a live run ----------------------------------------------------- */

static void read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

static void boot_id(char out[64])
{
	read_small("/proc/sys/kernel/random/boot_id", out, 64);
	out[strcspn(out, "\n")] = '\0';
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
int64_t mlp_pid_start_time(long pid)
{
	char path[64], buf[1024], *p;
	long long v = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	read_small(path, buf, sizeof(buf));
	p = strrchr(buf, ')');	/* the command name may hold spaces and parens */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field <= 22 && p; field++) {
		p = strchr(p + 1, ' ');
		if (field == 21 && p)
			v = strtoll(p + 1, NULL, 10);
	}
	return v;
}

static void hostname(char out[256])
{
	out[0] = '\0';
	gethostname(out, 255);
	out[255] = '\0';
}

/*
 * The owner file also carries the run's name and, until the run's first
 * commit is written, the run as it started (its run.mp and params.mp in
 * hex, and its workspace tree): enough to record the run if the process
 * dies before that commit.
 */
struct owner {
	char host[256];
	long pid;
	int64_t start;
	char boot[64];
	char *name;		/* NULL: none */
	struct mlp_buf rec[2];	/* run.mp, params.mp; empty once committed */
	char workspace[MLP_OID_HEXSZ + 1];
};

static void owner_release(struct owner *o)
{
	free(o->name);
	mlp_buf_release(&o->rec[0]);
	mlp_buf_release(&o->rec[1]);
	memset(o, 0, sizeof(*o));
}

static int read_file_capped(struct mlp_buf *out, const char *path, size_t max);

static int unhex_into(struct mlp_buf *out, const char *s)
{
	size_t n = strlen(s);

	if (n % 2 || !mlp_hex_valid(s, n))
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		char byte[3] = { s[i], s[i + 1], 0 };
		mlp_buf_addch(out, (int)strtol(byte, NULL, 16));
	}
	return 0;
}

static int read_owner(const char *dir, struct owner *o)
{
	char *path = path_in(dir, "owner");
	struct mlp_buf buf = MLP_BUF_INIT;
	char *line, *save = NULL;
	int bad = 0;

	memset(o, 0, sizeof(*o));
	/* two records in hex and a few short lines */
	read_file_capped(&buf, path, 4 * (size_t)MLP_MAX_RECORD_SIZE + 4096);
	free(path);
	mlp_buf_addch(&buf, '\0');
	for (line = strtok_r(buf.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "host ", 5))
			snprintf(o->host, sizeof(o->host), "%s", line + 5);
		else if (!strncmp(line, "pid ", 4))
			o->pid = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "start ", 6))
			o->start = strtoll(line + 6, NULL, 10);
		else if (!strncmp(line, "boot ", 5))
			snprintf(o->boot, sizeof(o->boot), "%s", line + 5);
		else if (!strncmp(line, "name ", 5) && !o->name)
			o->name = mlp_strdup(line + 5);
		else if (!strncmp(line, "run ", 4) && !o->rec[0].len)
			bad |= unhex_into(&o->rec[0], line + 4);
		else if (!strncmp(line, "params ", 7) && !o->rec[1].len)
			bad |= unhex_into(&o->rec[1], line + 7);
		else if (!strncmp(line, "workspace ", 10) && strlen(line + 10) == MLP_OID_HEXSZ &&
			 mlp_hex_valid(line + 10, MLP_OID_HEXSZ))
			memcpy(o->workspace, line + 10, sizeof(o->workspace));
	}
	mlp_buf_release(&buf);
	if (bad) {
		/* not from a git-mlp: nothing of it is trusted */
		mlp_buf_release(&o->rec[0]);
		mlp_buf_release(&o->rec[1]);
	}
	if (o->host[0] && o->pid > 0)
		return 0;
	owner_release(o);
	return -1;
}

static int owner_alive(const struct owner *o)
{
	char boot[64];

	boot_id(boot);
	if (o->boot[0] && boot[0] && strcmp(o->boot, boot))
		return 0;	/* the machine rebooted since */
	if (kill((pid_t)o->pid, 0) < 0 && errno == ESRCH)
		return 0;
	return mlp_pid_start_time(o->pid) == o->start;
}

static void add_hex(struct mlp_buf *b, const struct mlp_buf *data)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < data->len; i++) {
		unsigned char c = (unsigned char)data->buf[i];
		mlp_buf_addch(b, digits[c >> 4]);
		mlp_buf_addch(b, digits[c & 15]);
	}
}

/* `rec`: the run's start records, or NULL once its first commit exists. */
static int write_owner(const char *dir, const struct mlp_run *run, const struct mlp_buf rec[2])
{
	char host[256], boot[64], *path = path_in(dir, "owner"), *tmp = path_in(dir, "owner.tmp");
	struct mlp_buf b = MLP_BUF_INIT;
	int fd, err = 0;

	hostname(host);
	boot_id(boot);
	mlp_buf_addf(&b, "host %s\npid %ld\nstart %lld\nboot %s\n", host, (long)getpid(),
		     (long long)mlp_pid_start_time(getpid()), boot);
	/* names have no control characters (mlp_name_check) */
	if (run->name)
		mlp_buf_addf(&b, "name %s\n", run->name);
	if (rec) {
		mlp_buf_adds(&b, "run ");
		add_hex(&b, &rec[0]);
		mlp_buf_adds(&b, "\nparams ");
		add_hex(&b, &rec[1]);
		mlp_buf_addch(&b, '\n');
		if (run->workspace[0])
			mlp_buf_addf(&b, "workspace %s\n", run->workspace);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	/* no fsync: after a power loss the boot id differs, so the owner is dead
	 * whatever the file says */
	if (fd < 0 || write(fd, b.buf, b.len) != (ssize_t)b.len ||
	    close(fd) < 0 || rename(tmp, path) < 0)
		err = mlp_error_set(MLP_ERROR, "cannot write '%s': %s", path, strerror(errno));
	free(path);
	free(tmp);
	mlp_buf_release(&b);
	return err;
}

/* ---- while the command runs ------------------------------------------------------ */

static void write_summary(struct mlp_live *l)
{
	struct mlp_buf b = MLP_BUF_INIT;
	char *tmp = path_in(l->dir, "summary.mp.tmp");
	int fd;

	mlp_run_summarize(l->run);
	if (mlp_record_encode_summary(&b, l->run) == 0) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd >= 0) {
			if (write(fd, b.buf, b.len) != (ssize_t)b.len || close(fd) < 0)
				unlink(tmp);
			else if (rename(tmp, l->summary_path) < 0)
				unlink(tmp);
		}
	}
	free(tmp);
	mlp_buf_release(&b);
}

static void on_line(void *data, const char *s, size_t len, int64_t lineno)
{
	struct mlp_live *l = data;
	struct mlp_buf msg = MLP_BUF_INIT;
	int fd;

	uint64_t before = l->run->npoints;

	if (mlp_ingest_json_line_j(l->run, s, len, mlp_now_ms(), &l->journal) >= 0) {
		if (l->run->npoints != before)
			l->structured = 1;
		/* in the same batch as the line's offset: replay has one or the other */
		if (l->run->artifact_queue_nr)
			take_artifact_queue(l);
		return;
	}
	mlp_buf_addf(&msg, "$MLP_METRICS line %lld: %s", (long long)lineno, mlp_error_message());
	warnf(l, "%s", msg.buf);
	/* the bad line itself is kept in the run's stderr log */
	mlp_buf_adds(&msg, ": ");
	mlp_buf_add(&msg, s, len > 4096 ? 4096 : len);
	mlp_buf_addch(&msg, '\n');
	fd = open(l->err, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0) {
		static const char prefix[] = "git-mlp: warning: ";
		if (write(fd, prefix, sizeof(prefix) - 1) < 0 || write(fd, msg.buf, msg.len) < 0)
			warnf(l, "cannot append to the run's stderr log: %s", strerror(errno));
		close(fd);
	}
	mlp_buf_release(&msg);
}

/* Someone amended the run meanwhile (a tag, a note): keep theirs and ours. */
static int merge_concurrent(struct mlp_repo *repo, struct mlp_run *run)
{
	struct mlp_run *cur = NULL;
	int err = mlp_run_load(&cur, repo, run->id, 0);

	if (err < 0)
		return err;
	for (size_t i = 0; i < cur->tags.nr; i++)
		if (!mlp_map_get(&run->tags, cur->tags.items[i].key)) {
			struct mlp_value v;
			mlp_value_copy(&v, &cur->tags.items[i].val);
			mlp_map_set(&run->tags, cur->tags.items[i].key, &v);
		}
	for (size_t i = 0; i < cur->params.nr; i++)
		if (!mlp_map_get(&run->params, cur->params.items[i].key)) {
			struct mlp_value v;
			mlp_value_copy(&v, &cur->params.items[i].val);
			mlp_map_set(&run->params, cur->params.items[i].key, &v);
		}
	if (!run->note && cur->note)
		run->note = mlp_strdup(cur->note);
	memcpy(run->commit, cur->commit, sizeof(run->commit));
	mlp_run_free(cur);
	return 0;
}

static int save_cas(struct mlp_repo *repo, struct mlp_run *run, const struct mlp_run_files *logs)
{
	int err = mlp_run_save(repo, run, logs);

	for (int attempt = 0; err == MLP_ECONFLICT && attempt < 5; attempt++) {
		if (merge_concurrent(repo, run) < 0)
			break;
		err = mlp_run_save(repo, run, logs);
	}
	return err;
}

/*
 * The name of a new run is drawn under an exclusive flock() of
 * <mlpdir>/live.mutex and published in its owner file before the lock is
 * let go, so a run drawing a name sees every name drawn before it: in the
 * owner file of a live run, or in a ref.  The live runs are read first: a
 * run writes its last ref before it removes its owner file, so a run not
 * live any more then has its ref when the refs are read.  The lock is a
 * regular file, opened for writing, because on NFS Linux takes flock()
 * of a regular file as a lock on the server (of a directory, only on the
 * client).  The lock goes with the process that holds it, so a crash
 * leaves none behind.  A name asked for is checked the same way.  Sets
 * *lock to the locked descriptor, or to -1 where the file system has no
 * locks: the name is drawn (or checked) all the same.
 */
static int name_under_lock(struct mlp_repo *repo, struct mlp_run *run, int *lock)
{
	struct mlp_run_name *names = NULL, *lnames = NULL;
	size_t nr = 0, lnr = 0;
	struct mlp_buf path = MLP_BUF_INIT;
	struct stat st;
	int err;

	mlp_buf_addf(&path, "%s/live.mutex", repo->mlpdir);
	*lock = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
	mlp_buf_release(&path);
	if (*lock >= 0 && (fstat(*lock, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(*lock);
		*lock = -1;
	}
	while (*lock >= 0 && flock(*lock, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(*lock);
			*lock = -1;
		}
	err = mlp_live_names(&lnames, &lnr, repo);
	if (err >= 0)
		err = mlp_run_names(&names, &nr, repo);
	if (err >= 0 && !run->name)
		err = mlp_name_draw(&run->name, names, nr, lnames, lnr);
	else if (err >= 0) {
		/* a name asked for (-n): checked again, now that no run can take it meanwhile */
		for (size_t i = 0; i < nr + lnr && err >= 0; i++) {
			const struct mlp_run_name *n = i < nr ? &names[i] : &lnames[i - nr];
			if (strcmp(n->id, run->id) && !strcmp(n->name, run->name))
				err = mlp_error_set(MLP_ECONFLICT, "a run named '%s' exists already", run->name);
		}
	}
	mlp_run_names_free(names, nr);
	mlp_run_names_free(lnames, lnr);
	return err;
}

int mlp_live_start(struct mlp_live **out, struct mlp_repo *repo, struct mlp_run *run,
		   const struct mlp_live_opts *o)
{
	struct mlp_live *l = mlp_calloc(1, sizeof(*l));
	struct mlp_buf b = MLP_BUF_INIT;
	int err, fd, lock = -1;

	*out = NULL;
	l->repo = repo;
	l->run = run;
	l->warn = o ? o->warn : NULL;
	l->warn_data = o ? o->warn_data : NULL;
	l->checkpoint_ms = o ? o->checkpoint_ms : 0;
	l->journal.fd = -1;
	if (o && o->capture && (err = mlp_scalars_new(&l->scalars, o->patterns, o->npatterns)) < 0)
		goto fail;
	if (o && o->dvclive) {
		char *d = resolve_path(o->cwd, "dvclive");
		l->dvclive = mlp_dvclive_new(d);
		free(d);
	}
	if (o && o->system_ms > 0) {
		l->sysmon = mlp_sysmon_new(0);
		l->system_ms = o->system_ms;
	}
	if (o) {
		l->params_file = resolve_path(o->cwd, o->params_file);
		l->metrics_file = resolve_path(o->cwd, o->metrics_file);
		l->cwd = o->cwd ? mlp_strdup(o->cwd) : NULL;
		l->progress = o->progress;
		l->progress_data = o->progress_data;
		for (size_t i = 0; i < o->nartifacts; i++)
			mlp_run_queue_artifact(run, o->artifacts[i]);
	}
	mlp_buf_addf(&b, "%s/live/%s", repo->mlpdir, run->id);
	l->dir = mlp_buf_detach(&b, NULL);
	l->metrics = path_in(l->dir, "metrics.jsonl");
	l->out = path_in(l->dir, "stdout");
	l->err = path_in(l->dir, "stderr");
	l->journal_path = path_in(l->dir, "journal");
	l->summary_path = path_in(l->dir, "summary.mp");
	if ((!run->name || (o && o->unique_name)) && (err = name_under_lock(repo, run, &lock)) < 0)
		goto fail;
	if (mkdir(l->dir, 0777) < 0) {
		if (errno != EEXIST) {
			err = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", l->dir, strerror(errno));
			goto fail;
		}
		/* left behind: the logs are appended to (created at their first byte) */
		unlink(l->out);
		unlink(l->err);
	}
	run->pid = (int64_t)getpid();
	run->pid_start = mlp_pid_start_time(getpid());
	run->status = MLP_STATUS_RUNNING;
	read_params_file(l);
	/*
	 * A claimed run (run->commit set: a queued sweep point) is moved by
	 * compare-and-swap before the command starts, so that two machines
	 * never both run it.  A new run's first commit waits until the
	 * command has run for MLP_LIVE_FIRST_COMMIT_MS: most short commands
	 * end before, and their run gets one commit instead of two.  Until
	 * then the owner file holds the run as it started.
	 */
	l->committed = run->commit[0] != '\0';
	if (!l->committed && ((err = mlp_record_encode_run(&l->start_rec[0], run)) < 0 ||
			      (err = mlp_record_encode_params(&l->start_rec[1], &run->params)) < 0))
		goto fail;
	err = write_owner(l->dir, run, l->committed ? NULL : l->start_rec);
	if (lock >= 0)
		close(lock);	/* the name is published (or the run fails) */
	lock = -1;
	if (err < 0 || (err = mlp_journal_open(&l->journal, l->journal_path)) < 0)
		goto fail;
	/* declared up front: on disk before the command starts */
	if (run->artifact_queue_nr) {
		take_artifact_queue(l);
		if ((err = mlp_journal_flush(&l->journal, 1)) < 0)
			goto fail;
	}
	fd = open(l->metrics, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0) {
		err = mlp_error_set(MLP_ERROR, "cannot create '%s': %s", l->metrics, strerror(errno));
		goto fail;
	}
	close(fd);
	if (l->committed && (err = mlp_run_save(repo, run, NULL)) < 0)
		goto fail;
	l->last_checkpoint = l->last_summary = mlp_now_ms();
	*out = l;
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	/* no ref names this directory yet: nothing in it is worth keeping */
	{
		char *why = mlp_strdup(mlp_error_message());
		mlp_journal_close(&l->journal);
		if (l->dir)	/* NULL when the options were refused */
			remove_dir(l->dir);
		mlp_error_set(err, "%s", why);
		free(why);
	}
	mlp_live_free(l);
	return err;
}

const char *mlp_live_path(const struct mlp_live *l, const char *what)
{
	if (!strcmp(what, "dir"))
		return l->dir;
	if (!strcmp(what, "metrics"))
		return l->metrics;
	if (!strcmp(what, "stdout"))
		return l->out;
	if (!strcmp(what, "stderr"))
		return l->err;
	return NULL;
}

void mlp_live_add_point(struct mlp_live *l, const char *key, int64_t step, double value)
{
	int64_t now = mlp_now_ms();

	mlp_run_add_point(l->run, key, step, value, now);
	mlp_journal_point(&l->journal, key, step, value, now);
}

void mlp_live_set(struct mlp_live *l, char type, const char *key, const struct mlp_value *v)
{
	struct mlp_value copy;

	mlp_value_copy(&copy, v);
	mlp_journal_kv(&l->journal, type, key, v);
	mlp_map_set(type == 'p' ? &l->run->params : &l->run->tags, key, &copy);
}

/*
 * The "running" commit of the run as it started (what `ls` and other
 * clones see), written once the command has run for a while.  Then the
 * owner file drops the start records: a live directory whose run has no
 * ref and no start records is of a removed run.  A failure is retried at
 * the next tick.
 */
static void first_commit(struct mlp_live *l)
{
	struct mlp_run *r0 = NULL;
	int err = mlp_run_from_records(&r0, l->run->id, "", 0, l->run->workspace, l->start_rec);

	if (!err)
		err = save_cas(l->repo, r0, NULL);
	if (err < 0) {
		warnf(l, "cannot write the run's first commit: %s", mlp_error_message());
		mlp_run_free(r0);
		return;
	}
	if (!l->run->commit[0])
		memcpy(l->run->commit, r0->commit, sizeof(l->run->commit));
	mlp_run_free(r0);
	l->committed = 1;
	for (int i = 0; i < 3; i++)
		mlp_buf_release(&l->start_rec[i]);
	if (write_owner(l->dir, l->run, NULL) < 0)
		warnf(l, "%s", mlp_error_message());
}

static void journal_offset(struct mlp_live *l)
{
	mlp_journal_offset(&l->journal, l->offset, l->lineno);
	l->journaled_offset = l->offset;
	l->journaled_lineno = l->lineno;
}

int mlp_live_tick(struct mlp_live *l, int final)
{
	int64_t now;
	int err;
	size_t points = 0;

	/*
	 * A burst of lines is taken a few MiB at a time, each slice journaled
	 * and its full chunks written out before the next: memory stays at
	 * about a chunk per series whatever the command writes.
	 */
	for (;;) {
		int more = mlp_tail_lines_max(l->metrics, &l->offset, &l->lineno, final, 4u << 20, on_line, l);
		if (more < 0) {
			warnf(l, "%s", mlp_error_message());
			break;
		}
		if (!more)
			break;
		journal_offset(l);
		if (mlp_journal_flush(&l->journal, 0) < 0 && !l->failed_journal) {
			warnf(l, "%s (the run goes on; its data is kept in memory)", mlp_error_message());
			l->failed_journal = 1;
		}
		if (mlp_run_flush_chunks(l->repo, l->run) < 0)
			warnf(l, "%s", mlp_error_message());
	}
	capture_tick(l, final);
	/* an idle tick journals nothing: the file is created only when needed */
	if (l->journal.batch.len || l->offset != l->journaled_offset || l->lineno != l->journaled_lineno)
		journal_offset(l);
	/* full chunks go to the object database: memory stays at a chunk per series */
	if (mlp_run_flush_chunks(l->repo, l->run) < 0)
		warnf(l, "%s", mlp_error_message());
	/* the final batch is not synced: the final commit follows at once and
	 * makes the journal moot (git does not sync its objects either) */
	if ((err = mlp_journal_flush(&l->journal, 0)) < 0) {
		if (!l->failed_journal)
			warnf(l, "%s (the run goes on; its data is kept in memory)", mlp_error_message());
		l->failed_journal = 1;
	} else {
		l->failed_journal = 0;
	}
	now = mlp_now_ms();
	for (size_t i = 0; i < l->run->series_nr; i++)
		points += l->run->series[i].nr;
	/*
	 * The run is published before its live summary: whoever sees the
	 * summary of a run past its first second (a test killing the recorder
	 * then, say) finds the first commit done, not half written.
	 */
	if (!final && !l->committed && now - l->run->started >= MLP_LIVE_FIRST_COMMIT_MS)
		first_commit(l);
	if (!final && points != l->summary_points && now - l->last_summary >= 1000) {
		write_summary(l);
		l->summary_points = points;
		l->last_summary = now;
	}
	if (!final && l->checkpoint_ms > 0 && now - l->last_checkpoint >= l->checkpoint_ms) {
		struct mlp_run_files logs = { l->out, l->err, 1 };
		capture_artifacts(l, 0);
		if (save_cas(l->repo, l->run, &logs) < 0)
			warnf(l, "checkpoint failed: %s", mlp_error_message());
		l->last_checkpoint = mlp_now_ms();
	}
	return 0;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct mlp_buf p = MLP_BUF_INIT;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		mlp_buf_reset(&p);
		mlp_buf_addf(&p, "%s/%s", dir, e->d_name);
		unlink(p.buf);
	}
	closedir(d);
	rmdir(dir);
	mlp_buf_release(&p);
}

int mlp_live_finish(struct mlp_live *l)
{
	struct mlp_run_files logs = { l->out, l->err, 1 };
	int err;

	read_params_file(l);
	if (l->metrics_file) {
		struct mlp_map m = MLP_MAP_INIT;
		if (mlp_read_metrics_file(&m, l->metrics_file) < 0)
			warnf(l, "metrics file: %s", mlp_error_message());
		for (size_t i = 0; i < m.nr; i++) {
			const struct mlp_value *v = &m.items[i].val;
			live_point(l, m.items[i].key, 0, 0, v->type == MLP_INT ? (double)v->u.i : v->u.f, mlp_now_ms());
		}
		mlp_map_clear(&m);
	}
	mlp_live_tick(l, 1);
	capture_artifacts(l, 1);
	err = save_cas(l->repo, l->run, &logs);
	if (err < 0) {
		/* the message is formatted from a copy: it lives in the same buffer */
		char *why = mlp_strdup(mlp_error_message());
		mlp_error_set(err, "cannot record run %s: %s; its data is kept in %s", l->run->id, why, l->dir);
		free(why);
		return err;
	}
	mlp_journal_close(&l->journal);
	/* before the owner file goes: a run drawing a name sees it in one or the other */
	mlp_names_log_add(l->repo, l->run->id, l->run->name);
	remove_dir(l->dir);
	return 0;
}

void mlp_live_free(struct mlp_live *l)
{
	if (!l)
		return;
	mlp_journal_close(&l->journal);
	mlp_scalars_free(l->scalars);
	for (size_t i = 0; i < l->shadow_nr; i++)
		free(l->shadow[i].key);
	free(l->shadow);
	mlp_dvclive_free(l->dvclive);
	mlp_sysmon_free(l->sysmon);
	free(l->params_file);
	free(l->metrics_file);
	for (size_t i = 0; i < l->nartifacts; i++)
		free(l->artifacts[i]);
	free(l->artifacts);
	free(l->cwd);
	free(l->dir);
	free(l->metrics);
	free(l->out);
	free(l->err);
	free(l->journal_path);
	free(l->summary_path);
	for (int i = 0; i < 3; i++)
		mlp_buf_release(&l->start_rec[i]);
	free(l);
}

/* ---- after the owner died ------------------------------------------------------------- */

struct replay_ctx {
	struct mlp_run *run;
	int64_t now;
};

static void replay_line(void *data, const char *s, size_t len, int64_t lineno)
{
	struct replay_ctx *c = data;
	(void)lineno;
	mlp_ingest_json_line(c->run, s, len, c->now);	/* bad lines were warned about live */
}

/* Takes <dir>/recover.lock; 0 when another live process holds it. */
static int lock_recovery(const char *dir)
{
	char *path = path_in(dir, "recover.lock");
	struct mlp_buf b = MLP_BUF_INIT;
	int fd, got = 0;

	for (int attempt = 0; attempt < 2 && !got; attempt++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0) {
			mlp_buf_reset(&b);
			mlp_buf_addf(&b, "%ld %lld\n", (long)getpid(), (long long)mlp_pid_start_time(getpid()));
			if (write(fd, b.buf, b.len) < 0)
				got = 0;
			close(fd);
			got = 1;
			break;
		}
		if (errno != EEXIST)
			break;
		/* a lock left by a recovery that died itself is stale */
		char buf[128];
		long pid;
		long long start;
		read_small(path, buf, sizeof(buf));
		if (sscanf(buf, "%ld %lld", &pid, &start) == 2 &&
		    (kill((pid_t)pid, 0) == 0 || errno == EPERM) && mlp_pid_start_time(pid) == start)
			break;
		unlink(path);
	}
	free(path);
	mlp_buf_release(&b);
	return got;
}

struct recover_warn {
	mlp_warn_fn warn;
	void *data;
	const char *id;
};

static void recover_warn(void *data, const char *msg)
{
	struct recover_warn *rw = data;
	struct mlp_buf b = MLP_BUF_INIT;

	mlp_buf_addf(&b, "crashed run %.8s: %s", rw->id, msg);
	rw->warn(rw->data, b.buf);
	mlp_buf_release(&b);
}

/*
 * The artifacts the run declared (journal, and lines of metrics.jsonl the
 * journal had not taken yet), stored as they are on disk now: the command
 * may have written them completely before the recording process died.
 * Relative paths start where the command ran: the run's cwd in the work
 * tree.  A failure is a warning; the run is recorded anyway.
 */
static void recover_artifacts(struct mlp_repo *repo, struct mlp_run *run, mlp_warn_fn warn, void *data)
{
	struct recover_warn rw = { warn, data, run->id };
	struct mlp_artifact_opts ao = { 0 };
	struct mlp_buf cwd = MLP_BUF_INIT;
	const char *wd = mlp_repo_workdir(repo);

	if (!run->artifact_queue_nr)
		return;
	if (wd) {
		mlp_buf_adds(&cwd, wd);
		if (run->cwd && *run->cwd)
			mlp_buf_addf(&cwd, "%s%s", cwd.len && cwd.buf[cwd.len - 1] == '/' ? "" : "/", run->cwd);
		ao.cwd = cwd.buf;
	}
	if (warn) {
		ao.warn = recover_warn;
		ao.warn_data = &rw;
	}
	if (mlp_artifact_capture_queue(repo, run, &ao) < 0 && warn) {
		struct mlp_buf b = MLP_BUF_INIT;
		mlp_buf_addf(&b, "cannot store artifacts: %s", mlp_error_message());
		recover_warn(&rw, b.buf);
		mlp_buf_release(&b);
	}
	mlp_buf_release(&cwd);
}

static int recover_one(struct mlp_repo *repo, const char *id, const char *dir, const struct owner *o,
		       int *done, mlp_warn_fn warn, void *warn_data)
{
	struct mlp_run *run = NULL;
	struct mlp_journal_state st;
	struct replay_ctx rc;
	char *journal = path_in(dir, "journal"), *metrics = path_in(dir, "metrics.jsonl");
	char *out = path_in(dir, "stdout"), *err_log = path_in(dir, "stderr");
	struct mlp_run_files logs = { out, err_log, 1 };
	int64_t offset, lineno;
	struct stat sb;
	int err;

	*done = 0;
	err = mlp_run_load(&run, repo, id, 0);
	if (err == MLP_ENOTFOUND && o->rec[0].len) {
		/* died before its first commit: the run as it started, from the owner */
		struct mlp_buf raw[3] = { o->rec[0], o->rec[1], MLP_BUF_INIT };
		err = mlp_run_from_records(&run, id, "", 0, o->workspace, raw);
	}
	if (err == MLP_ENOTFOUND) {
		/* the run was removed, or died before its first commit */
		remove_dir(dir);
		*done = 0;
		err = 0;
		goto out;
	}
	if (err < 0)
		goto out;
	if (run->status != MLP_STATUS_RUNNING) {
		/* finished, but the directory was left behind */
		remove_dir(dir);
		goto out;
	}
	/* the journal has every point; the checkpoint only some of them */
	for (size_t i = 0; i < run->series_nr; i++) {
		free(run->series[i].key);
		free(run->series[i].step);
		free(run->series[i].value);
		free(run->series[i].t);
	}
	free(run->series);
	run->series = NULL;
	run->series_nr = 0;
	run->series_loaded = 1;
	if ((err = mlp_journal_replay(journal, run, &st)) < 0)
		goto out;
	/* lines the command wrote after the last journaled batch */
	offset = st.offset;
	lineno = st.lineno;
	rc.run = run;
	rc.now = st.last_t ? st.last_t : mlp_now_ms();
	mlp_tail_lines(metrics, &offset, &lineno, 1, replay_line, &rc);
	recover_artifacts(repo, run, warn, warn_data);
	run->status = MLP_STATUS_CRASHED;
	run->ended = st.last_t;
	if (stat(journal, &sb) == 0 && (int64_t)sb.st_mtime * 1000 > run->ended)
		run->ended = (int64_t)sb.st_mtime * 1000;
	if (stat(out, &sb) == 0 && (int64_t)sb.st_mtime * 1000 > run->ended)
		run->ended = (int64_t)sb.st_mtime * 1000;
	if (run->ended < run->started)
		run->ended = run->started;
	run->has_exit_code = 0;
	if ((err = save_cas(repo, run, &logs)) < 0)
		goto out;
	remove_dir(dir);
	*done = 1;
out:
	mlp_run_free(run);
	free(journal);
	free(metrics);
	free(out);
	free(err_log);
	return err;
}

/*
 * Calls fn(data, id, dir, &o) for each live directory whose owner file
 * reads, until fn returns nonzero (which is returned); the owner is
 * released after (fn may take its name, leaving NULL).
 */
static int each_owner(struct mlp_repo *repo,
		      int (*fn)(void *data, const char *id, const char *dir, struct owner *o), void *data)
{
	struct mlp_buf live = MLP_BUF_INIT, dir = MLP_BUF_INIT;
	int ret = 0;
	DIR *d;
	struct dirent *e;

	mlp_buf_addf(&live, "%s/live", repo->mlpdir);
	d = opendir(live.buf);
	while (d && !ret && (e = readdir(d))) {
		struct owner o;

		if (strlen(e->d_name) != MLP_ID_HEXSZ || !mlp_hex_valid(e->d_name, MLP_ID_HEXSZ))
			continue;
		mlp_buf_reset(&dir);
		mlp_buf_addf(&dir, "%s/%s", live.buf, e->d_name);
		if (read_owner(dir.buf, &o) < 0)
			continue;
		ret = fn(data, e->d_name, dir.buf, &o);
		owner_release(&o);
	}
	if (d)
		closedir(d);
	mlp_buf_release(&live);
	mlp_buf_release(&dir);
	return ret;
}

struct recover_ctx {
	struct mlp_repo *repo;
	const char *host;
	mlp_warn_fn warn;
	void *warn_data;
	size_t recovered;
};

static int recover_owner(void *data, const char *id, const char *dir, struct owner *o)
{
	struct recover_ctx *c = data;
	int done = 0;

	if (strcmp(o->host, c->host) || owner_alive(o) || !lock_recovery(dir))
		return 0;
	if (recover_one(c->repo, id, dir, o, &done, c->warn, c->warn_data) < 0) {
		if (c->warn) {
			struct mlp_buf m = MLP_BUF_INIT;
			mlp_buf_addf(&m, "cannot finish crashed run %s: %s", id, mlp_error_message());
			c->warn(c->warn_data, m.buf);
			mlp_buf_release(&m);
		}
		char *lock = path_in(dir, "recover.lock");
		unlink(lock);
		free(lock);
		return 0;
	}
	c->recovered += (size_t)done;
	return 0;
}

int mlp_live_recover(struct mlp_repo *repo, mlp_warn_fn warn, void *data, size_t *recovered)
{
	char host[256];
	struct recover_ctx c = { repo, host, warn, data, 0 };

	hostname(host);
	each_owner(repo, recover_owner, &c);
	*recovered = c.recovered;
	return 0;
}

static int read_file_capped(struct mlp_buf *out, const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len <= max)
		mlp_buf_add(out, chunk, (size_t)n);
	close(fd);
	return out->len > max ? -1 : 0;
}

int mlp_run_list_refresh_live(struct mlp_run_list *list, struct mlp_repo *repo)
{
	struct mlp_buf dir = MLP_BUF_INIT, data = MLP_BUF_INIT;
	char host[256];

	hostname(host);
	for (size_t i = 0; i < list->nr; i++) {
		struct mlp_run *run = list->runs[i];
		struct owner o;
		char *path;
		int alive;

		if (run->status != MLP_STATUS_RUNNING || !run->host || strcmp(run->host, host))
			continue;
		mlp_buf_reset(&dir);
		mlp_buf_addf(&dir, "%s/live/%s", repo->mlpdir, run->id);
		if (read_owner(dir.buf, &o) < 0)
			continue;
		alive = owner_alive(&o);
		owner_release(&o);
		if (!alive)
			continue;
		path = path_in(dir.buf, "summary.mp");
		mlp_buf_reset(&data);
		/* newer than the last checkpoint; decoded as untrusted like any record */
		if (read_file_capped(&data, path, MLP_MAX_RECORD_SIZE) == 0 && data.len)
			mlp_record_decode_summary(run, data.buf, data.len);
		free(path);
	}
	mlp_buf_release(&dir);
	mlp_buf_release(&data);
	return 0;
}

struct uncommitted_ctx {
	const char *spec;
	size_t len;
	int by_id;
};

static int uncommitted_owner(void *data, const char *id, const char *dir, struct owner *o)
{
	const struct uncommitted_ctx *c = data;

	(void)dir;
	/* its records in the owner file: no commit yet */
	return o->rec[0].len && owner_alive(o) &&
	       ((c->by_id && !strncmp(id, c->spec, c->len)) || (o->name && !strcmp(o->name, c->spec)));
}

int mlp_live_uncommitted(struct mlp_repo *repo, const char *spec)
{
	size_t len = strlen(spec);
	struct uncommitted_ctx c = { spec, len, len >= 4 && len <= MLP_ID_HEXSZ && mlp_hex_valid(spec, len) };

	return each_owner(repo, uncommitted_owner, &c);
}

struct names_ctx {
	struct mlp_run_name *out;
	size_t nr, alloc;
};

static int name_of_owner(void *data, const char *id, const char *dir, struct owner *o)
{
	struct names_ctx *c = data;

	(void)dir;
	if (!o->name)
		return 0;
	if (c->nr == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 8;
		c->out = mlp_realloc(c->out, c->alloc * sizeof(*c->out));
	}
	memcpy(c->out[c->nr].id, id, MLP_ID_HEXSZ + 1);
	c->out[c->nr++].name = o->name;
	o->name = NULL;
	return 0;
}

int mlp_live_names(struct mlp_run_name **out, size_t *nr, struct mlp_repo *repo)
{
	struct names_ctx c = { NULL, 0, 0 };

	each_owner(repo, name_of_owner, &c);
	*out = c.out;
	*nr = c.nr;
	return 0;
}
