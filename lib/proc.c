/*
 * Running the wrapped command: its output is copied to the caller's
 * terminal and to files as it comes, the caller gets a tick about every
 * 200 ms to read what the command reported, and signals that someone sent
 * to git-mlp reach the command.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t child_pid;

/* ---- starting a child ------------------------------------------------------ */

static int name_in(const char *kv, const char *const *list, int with_value)
{
	size_t n = strcspn(kv, "=");

	for (; list && *list; list++) {
		size_t m = with_value ? strcspn(*list, "=") : strlen(*list);
		if (m == n && !strncmp(kv, *list, n))
			return 1;
	}
	return 0;
}

/* This process's environment, `unset` names out, `add` over it (pointers, not copies). */
static char **child_env(const char *const *add, const char *const *unset)
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	for (const char *const *a = add; a && *a; a++)
		n++;
	env = mlp_calloc(n + 1, sizeof(*env));
	for (char **e = environ; e && *e; e++)
		if (!name_in(*e, unset, 0) && !name_in(*e, add, 1))
			env[k++] = *e;
	for (const char *const *a = add; a && *a; a++)
		env[k++] = (char *)*a;
	env[k] = NULL;
	return env;
}

/* The file execvp() would run for `file`: as it is with a '/', else the first executable in PATH. */
static char *path_lookup(const char *file)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(file, '/'))
		return mlp_strdup(file);
	for (p = path && *path ? path : "/bin:/usr/bin"; ; p++) {
		size_t len = strcspn(p, ":");
		struct mlp_buf b = MLP_BUF_INIT;
		struct stat st;

		mlp_buf_addf(&b, "%.*s%s%s", (int)len, p, len ? "/" : "", file);
		if (stat(b.buf, &st) == 0 && S_ISREG(st.st_mode) && access(b.buf, X_OK) == 0)
			return mlp_buf_detach(&b, NULL);
		mlp_buf_release(&b);
		p += len;
		if (!*p)
			return NULL;
	}
}

int mlp_child_spawn(pid_t *pid, const struct mlp_child *c)
{
	static const int dfl[] = { SIGINT, SIGTERM, SIGPIPE, SIGHUP };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t set;
	struct sigaction ign, old_hup;
	char **env = child_env(c->env_add, c->env_unset);
	short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	for (int i = 0; i < 3; i++) {
		if (c->fd[i] == MLP_CHILD_DEVNULL)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
		else if (c->fd[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, c->fd[i], i);
	}
	if (c->dir)
		posix_spawn_file_actions_addchdir_np(&fa, c->dir);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		if (dfl[i] != SIGHUP || !c->new_session)
			sigaddset(&set, dfl[i]);
	posix_spawnattr_setsigdefault(&attr, &set);
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	if (c->new_session) {
		/* an ignored signal stays ignored across exec: the child inherits it */
		flags |= POSIX_SPAWN_SETSID;
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigaction(SIGHUP, &ign, &old_hup);
	}
	posix_spawnattr_setflags(&attr, flags);
	err = posix_spawnp(pid, c->argv[0], &fa, &attr, (char *const *)c->argv, env);
	if (err == ENOEXEC) {
		/* no #!: a shell script, as execvp() and the shells have it */
		char *file = path_lookup(c->argv[0]);
		size_t n = 0;
		const char **argv;

		while (c->argv[n])
			n++;
		argv = mlp_calloc(n + 2, sizeof(*argv));
		argv[0] = _PATH_BSHELL;
		argv[1] = file ? file : c->argv[0];
		for (size_t i = 1; i <= n; i++)
			argv[i + 1] = c->argv[i];
		err = posix_spawn(pid, _PATH_BSHELL, &fa, &attr, (char *const *)argv, env);
		free(argv);
		free(file);
	}
	if (c->new_session)
		sigaction(SIGHUP, &old_hup, NULL);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return err;
}

/*
 * A Ctrl-C from the terminal reaches the child by itself (same process
 * group): forwarding it too would interrupt the child's own cleanup.  Only
 * signals sent to git-mlp by a process (kill, a scheduler) are forwarded.
 */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (child_pid > 0 && (!si || si->si_code == SI_USER || si->si_code == SI_QUEUE))
		kill(child_pid, sig);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A log file is created when the first byte for it arrives: most commands
 * write nothing to one of their streams, and on ext4 a file creation is
 * the dearest thing a short run does.  Appended to, never truncated: the
 * caller may have appended lines of its own (git-mlp's warnings).  A file
 * that cannot be created is not retried; like a failed write, it costs
 * the stored copy only.
 */
struct out_file {
	const char *path;
	int fd, failed;
};

static int out_fd(struct out_file *f)
{
	if (f->fd < 0 && f->path && !f->failed) {
		f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		f->failed = f->fd < 0;
	}
	return f->fd;
}

#define MAX_LINE 65536

struct lines {
	struct mlp_buf buf;
	int skipping;	/* the rest of an over-long line */
};

static void split_lines(struct mlp_proc *p, struct lines *l, int stream, const char *s, size_t n, int eof)
{
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t take = nl ? (size_t)(nl - s) : n;
		if (!l->skipping) {
			size_t room = MAX_LINE - l->buf.len;
			mlp_buf_add(&l->buf, s, take < room ? take : room);
			if (take >= room && !nl) {
				p->line(p->line_data, stream, l->buf.buf, l->buf.len);
				mlp_buf_reset(&l->buf);
				l->skipping = 1;
			}
		}
		if (nl) {
			if (!l->skipping)
				p->line(p->line_data, stream, l->buf.buf ? l->buf.buf : "", l->buf.len);
			mlp_buf_reset(&l->buf);
			l->skipping = 0;
			take++;
		}
		s += take;
		n -= take;
	}
	if (eof && l->buf.len && !l->skipping) {
		p->line(p->line_data, stream, l->buf.buf, l->buf.len);
		mlp_buf_reset(&l->buf);
	}
}

/* Output of the child (n bytes; 0: its end) to the file, the tee and the line callback. */
static void deliver(struct mlp_proc *p, struct lines *l, int stream, const char *buf, size_t n,
		    struct out_file *file, int *tee)
{
	if (!n) {
		if (p->line)
			split_lines(p, l, stream, "", 0, 1);
		return;
	}
	if (out_fd(file) >= 0)
		write_all(file->fd, buf, n);
	if (*tee >= 0 && write_all(*tee, buf, n) < 0)
		*tee = -1;	/* our reader went away: keep storing */
	if (p->line)
		split_lines(p, l, stream, buf, n, 0);
}

/* Reads what is there; returns 0 at EOF, 1 when more may come. */
static int pump(struct mlp_proc *p, struct lines *l, int stream, int in, struct out_file *file, int *tee)
{
	char buf[65536];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	deliver(p, l, stream, buf, (size_t)n, file, tee);
	return n > 0;
}

int mlp_proc_run(struct mlp_proc *p)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct out_file fout = { p->stdout_path, -1, 0 }, ferr = { p->stderr_path, -1, 0 };
	int tee_out = p->tee_stdout, tee_err = p->tee_stderr;
	struct sigaction sa, old_int, old_term, old_hup, old_pipe, ign;
	struct rusage ru;
	int status = 0, ret = 0, open_fds, err_no;
	int64_t last_tick;
	pid_t pid;
	struct mlp_child child;
	struct lines lines[2] = { { MLP_BUF_INIT, 0 }, { MLP_BUF_INIT, 0 } };

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		ret = mlp_error_set(MLP_ERROR, "cannot create pipe: %s", strerror(errno));
		goto fail;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGPIPE, &ign, &old_pipe);

	p->started_ms = mlp_now_ms();
	memset(&child, 0, sizeof(child));
	child.argv = (const char *const *)p->argv;
	child.env_add = (const char *const *)p->env_add;
	child.fd[0] = -1;
	child.fd[1] = out[1];
	child.fd[2] = err[1];
	if ((err_no = mlp_child_spawn(&pid, &child))) {
		/*
		 * Not started: what a shell does, and what the child of a
		 * fork did here: the message in its captured stderr (the
		 * terminal and logs/stderr), exit 127 when the command is
		 * not found, else 126.
		 */
		struct mlp_buf m = MLP_BUF_INIT;
		mlp_buf_addf(&m, "git-mlp: cannot run '%s': %s\n", p->argv[0], strerror(err_no));
		deliver(p, &lines[1], 2, m.buf, m.len, &ferr, &tee_err);
		deliver(p, &lines[1], 2, "", 0, &ferr, &tee_err);
		mlp_buf_release(&m);
		p->ended_ms = mlp_now_ms();
		p->exit_code = err_no == ENOENT ? 127 : 126;
		p->signal = 0;
		p->cpu_ms = p->maxrss_kb = 0;
		if (p->tick)
			p->tick(p->tick_data, 1);
		goto restore;
	}
	child_pid = pid;
	p->pid = pid;
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;

	last_tick = mlp_now_ms();
	open_fds = 2;
	{
		struct pollfd fds[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		int exited = 0;
		for (;;) {
			/* with both pipes closed poll() just sleeps: the child may go on */
			int n = poll(fds, 2, exited ? 0 : 200);
			if (n < 0 && errno != EINTR)
				break;
			for (int i = 0; i < 2 && n > 0; i++) {
				if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				if (!pump(p, &lines[i], i + 1, fds[i].fd, i ? &ferr : &fout, i ? &tee_err : &tee_out)) {
					fds[i].fd = -1;
					open_fds--;
				}
			}
			if (exited && (open_fds == 0 || n <= 0))
				break;	/* drained; output kept open by grandchildren is theirs */
			if (!exited && wait4(pid, &status, WNOHANG, &ru) == pid)
				exited = 1;
			if (!exited && open_fds == 0)
				break;	/* only the exit is left to wait for */
			if (p->tick && mlp_now_ms() - last_tick >= 200) {
				p->tick(p->tick_data, 0);
				last_tick = mlp_now_ms();
			}
		}
		if (!exited)
			while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
				;
	}
	child_pid = 0;
	p->ended_ms = mlp_now_ms();
	if (WIFEXITED(status)) {
		p->exit_code = WEXITSTATUS(status);
		p->signal = 0;
	} else if (WIFSIGNALED(status)) {
		p->signal = WTERMSIG(status);
		p->exit_code = 128 + p->signal;
	}
	p->cpu_ms = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	p->maxrss_kb = ru.ru_maxrss;
	if (p->tick)
		p->tick(p->tick_data, 1);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
fail:
	mlp_buf_release(&lines[0].buf);
	mlp_buf_release(&lines[1].buf);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	if (fout.fd >= 0)
		close(fout.fd);
	if (ferr.fd >= 0)
		close(ferr.fd);
	return ret;
}

int mlp_tail_lines(const char *path, int64_t *offset, int64_t *lineno, int final,
		   void (*line)(void *data, const char *s, size_t len, int64_t lineno),
		   void *data)
{
	return mlp_tail_lines_max(path, offset, lineno, final, 0, line, data);
}

int mlp_tail_lines_max(const char *path, int64_t *offset, int64_t *lineno, int final, size_t max,
		       void (*line)(void *data, const char *s, size_t len, int64_t lineno),
		       void *data)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t consumed = 0;
	int more = 0;
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t start = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : mlp_error_set(MLP_ERROR, "cannot read '%s': %s", path, strerror(errno));
	if (lseek(fd, (off_t)*offset, SEEK_SET) < 0) {
		close(fd);
		return mlp_error_set(MLP_ERROR, "cannot seek '%s': %s", path, strerror(errno));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		mlp_buf_add(&b, chunk, (size_t)n);
		/* hand out complete lines as they arrive to bound the buffer */
		char *nl;
		while ((nl = memchr(b.buf + start, '\n', b.len - start))) {
			size_t len = (size_t)(nl - (b.buf + start));
			(*lineno)++;
			line(data, b.buf + start, len, *lineno);
			start += len + 1;
		}
		if (start) {
			memmove(b.buf, b.buf + start, b.len - start);
			*offset += (int64_t)start;
			consumed += start;
			b.len -= start;
			start = 0;
		}
		if (max && consumed >= max) {
			more = 1;	/* the rest next time: the caller flushes in between */
			break;
		}
	}
	close(fd);
	if (final && b.len && !more) {
		(*lineno)++;
		line(data, b.buf, b.len, *lineno);
		*offset += (int64_t)b.len;
	}
	mlp_buf_release(&b);
	return more;
}
