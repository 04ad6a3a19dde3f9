/*
 * Human run names: adjective-noun, unique among the runs of a repository.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *const adjectives[] = {
	"agile", "amber", "ancient", "bold", "brave", "bright", "brisk", "calm",
	"clever", "cosmic", "crisp", "curious", "daring", "dusty", "eager", "early",
	"electric", "fancy", "fierce", "fluffy", "gentle", "giant", "golden", "happy",
	"hidden", "humble", "icy", "jolly", "keen", "lively", "lucky", "lunar",
	"mellow", "misty", "noble", "odd", "patient", "polar", "proud", "quick",
	"quiet", "rapid", "rustic", "shiny", "silent", "silver", "sleepy", "smooth",
	"snowy", "solar", "spicy", "steady", "stormy", "sunny", "swift", "tidy",
	"tiny", "vivid", "warm", "wild", "wise", "witty", "young", "zesty",
};

static const char *const nouns[] = {
	"albatross", "badger", "beacon", "bison", "canyon", "cedar", "comet", "coral",
	"crane", "delta", "dolphin", "dune", "eagle", "ember", "falcon", "fern",
	"fjord", "forest", "fox", "galaxy", "glacier", "harbor", "hawk", "heron",
	"island", "jaguar", "koala", "lagoon", "lark", "lemur", "lynx", "maple",
	"meadow", "meteor", "moose", "nebula", "oak", "orca", "otter", "owl",
	"panda", "pebble", "pine", "planet", "prairie", "quartz", "raven", "reef",
	"river", "robin", "salmon", "sparrow", "spruce", "summit", "tiger", "tundra",
	"valley", "walrus", "willow", "wolf", "yak", "zebra", "thunder", "breeze",
};

#define NADJ (sizeof(adjectives) / sizeof(adjectives[0]))
#define NNOUN (sizeof(nouns) / sizeof(nouns[0]))

int mlp_name_check(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > 200)
		return mlp_error_set(MLP_EINVALID, "run name must be 1 to 200 bytes long");
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return mlp_error_set(MLP_EINVALID, "run name '%s' has a control character", name);
	return 0;
}

static int taken(const struct mlp_run_name *names, size_t nr, const char *name)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(names[i].name, name))
			return 1;
	return 0;
}

/*
 * GIT_MLP_TEST_NAME_POOL=n draws among n names only, so that the tests
 * can make runs started together draw the same name.
 */
static void pool_size(size_t *nadj, size_t *nnoun)
{
	const char *v = getenv("GIT_MLP_TEST_NAME_POOL");
	long n = v ? strtol(v, NULL, 10) : 0;

	*nadj = NADJ;
	*nnoun = NNOUN;
	if (n > 0 && (size_t)n < NNOUN) {
		*nadj = 1;
		*nnoun = (size_t)n;
	}
}

int mlp_name_draw(char **out, const struct mlp_run_name *taken_a, size_t na,
		  const struct mlp_run_name *taken_b, size_t nb)
{
	struct mlp_buf b = MLP_BUF_INIT;
	size_t nadj, nnoun;

	pool_size(&nadj, &nnoun);
	for (unsigned attempt = 0;; attempt++) {
		uint32_t r[2];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			r[0] = (uint32_t)mlp_now_ms(), r[1] = attempt * 7919u;
		mlp_buf_reset(&b);
		mlp_buf_addf(&b, "%s-%s", adjectives[r[0] % nadj], nouns[r[1] % nnoun]);
		/* after many collisions the space is crowded: add a number */
		if (attempt >= 32)
			mlp_buf_addf(&b, "-%u", (r[0] >> 8) % 100000);
		if (!taken(taken_a, na, b.buf) && !taken(taken_b, nb, b.buf))
			break;
	}
	*out = mlp_buf_detach(&b, NULL);
	return 0;
}

int mlp_run_new_name(char **out, struct mlp_repo *repo)
{
	struct mlp_run_name *names = NULL;
	size_t nr = 0;
	int err = mlp_run_names(&names, &nr, repo);

	*out = NULL;
	if (err < 0)
		return err;
	err = mlp_name_draw(out, names, nr, NULL, 0);
	mlp_run_names_free(names, nr);
	return err;
}
