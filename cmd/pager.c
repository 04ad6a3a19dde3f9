/*
 * The pager, as git runs it: GIT_PAGER, pager.mlp, core.pager, PAGER,
 * then "less", with LESS=FRX and LV=-c unless set; only when stdout is a
 * terminal; "cat" or "" means none.
 */
#include "cmd.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>

static pid_t pager_pid;

static void wait_for_pager(void)
{
	fflush(stdout);
	fflush(stderr);
	close(1);
	if (pager_pid > 0)
		while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static char *pager_command(struct mlp_repo *repo)
{
	const char *env = getenv("GIT_PAGER");
	char *v = NULL;

	if (env)
		return mlp_strdup(env);
	if (repo && mlp_config_get_string(repo, "pager.mlp", &v) == 0) {
		if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0")) {
			free(v);
			return NULL;
		}
		if (strcasecmp(v, "true") && strcasecmp(v, "yes") && strcasecmp(v, "on") && strcmp(v, "1"))
			return v;
		free(v);
		v = NULL;
	}
	if (repo && mlp_config_get_string(repo, "core.pager", &v) == 0)
		return v;
	env = getenv("PAGER");
	return mlp_strdup(env ? env : "less");
}

int setup_pager(struct mlp_repo *repo)
{
	char *cmd;
	int fds[2];
	pid_t pid;

	if (!isatty(1))
		return 0;
	cmd = pager_command(repo);
	if (!cmd || !*cmd || !strcmp(cmd, "cat")) {
		free(cmd);
		return 0;
	}
	if (pipe(fds) < 0) {
		free(cmd);
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(cmd);
		return 0;
	}
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		setenv("LESS", getenv("LESS") ? getenv("LESS") : "FRX", 1);
		setenv("LV", getenv("LV") ? getenv("LV") : "-c", 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	dup2(fds[1], 1);
	close(fds[0]);
	close(fds[1]);
	free(cmd);
	pager_pid = pid;
	/* the pager reads what we write; when it quits early we just stop */
	signal(SIGPIPE, SIG_DFL);
	atexit(wait_for_pager);
	return 1;
}
