/*
 * Running the wrapped command: its output is copied to the caller's
 * terminal and to files as it comes, the caller gets a tick about every
 * 200 ms to read what the command reported, and signals that someone sent
 * to git-mlp reach the command.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

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

static int open_out(const char *path)
{
	if (!path)
		return -1;
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
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

/* Reads what is there; returns 0 at EOF, 1 when more may come. */
static int pump(struct mlp_proc *p, struct lines *l, int stream, int in, int file, int *tee)
{
	char buf[65536];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0) {
		if (p->line)
			split_lines(p, l, stream, "", 0, 1);
		return 0;
	}
	if (file >= 0)
		write_all(file, buf, (size_t)n);
	if (*tee >= 0 && write_all(*tee, buf, (size_t)n) < 0)
		*tee = -1;	/* our reader went away: keep storing */
	if (p->line)
		split_lines(p, l, stream, buf, (size_t)n, 0);
	return 1;
}

int mlp_proc_run(struct mlp_proc *p)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int fout = -1, ferr = -1, tee_out = p->tee_stdout, tee_err = p->tee_stderr;
	struct sigaction sa, old_int, old_term, old_hup, old_pipe, ign;
	struct rusage ru;
	int status = 0, ret = 0, open_fds;
	int64_t last_tick;
	pid_t pid;
	struct lines lines[2] = { { MLP_BUF_INIT, 0 }, { MLP_BUF_INIT, 0 } };

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		ret = mlp_error_set(MLP_ERROR, "cannot create pipe: %s", strerror(errno));
		goto fail;
	}
	fout = open_out(p->stdout_path);
	ferr = open_out(p->stderr_path);
	if ((p->stdout_path && fout < 0) || (p->stderr_path && ferr < 0)) {
		ret = mlp_error_set(MLP_ERROR, "cannot create log file: %s", strerror(errno));
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
	pid = fork();
	if (pid < 0) {
		ret = mlp_error_set(MLP_ERROR, "cannot fork: %s", strerror(errno));
		goto restore;
	}
	if (pid == 0) {
		struct sigaction dfl;
		int code;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		dup2(out[1], 1);
		dup2(err[1], 2);
		for (char *const *e = p->env_add; e && *e; e++)
			putenv(*e);
		execvp(p->argv[0], p->argv);
		code = errno == ENOENT ? 127 : 126;
		{
			/* the message lands in the captured stderr, like a shell's */
			struct mlp_buf m = MLP_BUF_INIT;
			mlp_buf_addf(&m, "git-mlp: cannot run '%s': %s\n", p->argv[0], strerror(errno));
			write_all(2, m.buf, m.len);
		}
		_exit(code); /* mlp-allow-seam: the forked child */
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
				if (!pump(p, &lines[i], i + 1, fds[i].fd, i ? ferr : fout, i ? &tee_err : &tee_out)) {
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
	if (fout >= 0)
		close(fout);
	if (ferr >= 0)
		close(ferr);
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
