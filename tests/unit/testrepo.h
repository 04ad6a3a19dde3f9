/*
 * The throwaway repository of a unit test that needs one: a new directory
 * under $TMPDIR holding an empty repository "repo" (branch main), git's
 * environment cut off from the user's (no system config, HOME in the
 * directory, a fixed identity, UTC), and the process inside "repo".
 * `then`, when not NULL, is run there first (shell commands, such as a
 * first commit).  test_repo_leave() goes back and removes it all.
 */
#ifndef MLP_TESTREPO_H
#define MLP_TESTREPO_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char test_topdir[PATH_MAX], test_oldcwd[PATH_MAX];

static int test_repo_enter(const char *tag, const char *then)
{
	static const char *const unset[] = {
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
		"GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "MLP_RUN_DIR",
	};

	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	if (!getcwd(test_oldcwd, sizeof(test_oldcwd)))
		return -1;
	snprintf(test_topdir, sizeof(test_topdir), "%s/mlp-%s-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", tag);
	if (!mkdtemp(test_topdir))
		return -1;
	setenv("HOME", test_topdir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "A U Thor", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "C O Mitter", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("TZ", "UTC", 1);
	if (chdir(test_topdir) < 0 || system("git -c init.defaultBranch=main init -q repo") != 0 ||
	    chdir("repo") < 0)
		return -1;
	return then && system(then) != 0 ? -1 : 0;
}

static int test_repo_leave(void)
{
	char cmd[PATH_MAX + 32];

	if (chdir(test_oldcwd) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_topdir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
