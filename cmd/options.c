/*
 * Option tables -> parsing and usage text, in the manner of git's
 * parse-options: the table that parses is the table that documents.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_usage(FILE *f, const char *const *usage, const struct mlp_option *opts)
{
	for (size_t i = 0; usage[i]; i++)
		fprintf(f, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	fputc('\n', f);
	for (const struct mlp_option *o = opts; o->type != OPT_T_END; o++) {
		char left[128];
		int n = 0;
		if (o->short_name && o->long_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->long_name);
		else if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c", o->short_name);
		else
			n = snprintf(left, sizeof(left), "--%s", o->long_name);
		if (o->argh && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " <%s>", o->argh);
		fprintf(f, "    %-26s %s\n", left, o->help);
	}
}

/*
 * `git mlp <sub> --help`: the command's manual page, as `git <cmd> --help`
 * does.  The page is named after the command, the word after "git mlp "
 * in the first usage line; `git help git-mlp-<sub>` (not `mlp-<sub>`,
 * which git would look up as the guide "gitmlp-<sub>") finds git-mlp-<sub>(1).
 */
static void help_page(const char *const *usage)
{
	const char *sub = usage[0], *end;
	struct mlp_buf page = MLP_BUF_INIT;

	if (!strncmp(sub, "git mlp ", 8))
		sub += 8;
	end = sub + strcspn(sub, " ");
	mlp_buf_addf(&page, "git-mlp-%.*s", (int)(end - sub), sub);
	fflush(stdout);
	execlp("git", "git", "help", page.buf, (char *)NULL);
	die("cannot run 'git help %s': %s", page.buf, strerror(errno));
}

void mlp_usage_with_options(const char *const *usage, const struct mlp_option *opts)
{
	print_usage(stderr, usage, opts);
	exit(129);
}

void mlp_strlist_free(struct mlp_strlist *l)
{
	free(l->items);
	l->items = NULL;
	l->nr = 0;
}

static void bad(const char *const *usage, const struct mlp_option *opts, const char *fmt, const char *arg)
{
	fprintf(stderr, "error: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	mlp_usage_with_options(usage, opts);
}

static void set_value(const struct mlp_option *o, const char *arg, const char *const *usage,
		      const struct mlp_option *opts)
{
	switch (o->type) {
	case OPT_T_STRING:
		*(const char **)o->value = arg;
		break;
	case OPT_T_INT: {
		char *end;
		long long v;
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno || !*arg || *end)
			bad(usage, opts, "option needs an integer: '%s'", arg);
		*(long long *)o->value = v;
		break;
	}
	case OPT_T_LIST: {
		struct mlp_strlist *l = o->value;
		l->items = mlp_realloc(l->items, (l->nr + 1) * sizeof(*l->items));
		l->items[l->nr++] = arg;
		break;
	}
	default:
		break;
	}
}

int mlp_parse_options(int argc, const char **argv, const struct mlp_option *opts,
		      const char *const *usage, unsigned flags)
{
	int out = 0, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (flags & PARSE_OPT_STOP_AT_NON_OPTION)
				break;
			argv[out++] = a;
			continue;
		}
		if (!strcmp(a, "-h")) {
			print_usage(stdout, usage, opts);
			exit(0);
		}
		if (!strcmp(a, "--git-completion-helper")) {
			/* as git's: the long options, "=" when they take a value */
			for (const struct mlp_option *o = opts; o->type != OPT_T_END; o++)
				if (o->long_name)
					printf("%s--%s%s", o == opts ? "" : " ", o->long_name,
					       o->type == OPT_T_BOOL ? "" : "=");
			putchar('\n');
			exit(0);
		}
		if (!strcmp(a, "--help"))
			help_page(usage);
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct mlp_option *o;
			int neg = 0;

			for (o = opts; o->type != OPT_T_END; o++)
				if (o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
					break;
			if (o->type == OPT_T_END && len > 3 && !strncmp(name, "no-", 3)) {
				for (o = opts; o->type != OPT_T_END; o++)
					if (o->type == OPT_T_BOOL && o->long_name &&
					    strlen(o->long_name) == len - 3 && !strncmp(o->long_name, name + 3, len - 3))
						break;
				neg = 1;
			}
			if (o->type == OPT_T_END)
				bad(usage, opts, "unknown option '%s'", a);
			if (o->type == OPT_T_BOOL) {
				if (eq)
					bad(usage, opts, "option '%s' takes no value", a);
				*(int *)o->value = !neg;
				continue;
			}
			if (eq) {
				set_value(o, eq + 1, usage, opts);
			} else {
				if (i + 1 >= argc)
					bad(usage, opts, "option '%s' requires a value", a);
				set_value(o, argv[++i], usage, opts);
			}
			continue;
		}
		/* short options, possibly bundled: -ab, -nNAME, -n NAME */
		for (const char *p = a + 1; *p; p++) {
			const struct mlp_option *o;
			char s[3] = { '-', *p, 0 };
			for (o = opts; o->type != OPT_T_END; o++)
				if (o->short_name == *p)
					break;
			if (o->type == OPT_T_END)
				bad(usage, opts, "unknown switch '%s'", s);
			if (o->type == OPT_T_BOOL) {
				*(int *)o->value = 1;
				continue;
			}
			if (p[1]) {
				set_value(o, p + 1, usage, opts);
			} else {
				if (i + 1 >= argc)
					bad(usage, opts, "switch '%s' requires a value", s);
				set_value(o, argv[++i], usage, opts);
			}
			break;
		}
	}
	for (; i < argc; i++)
		argv[out++] = argv[i];
	argv[out] = NULL;
	return out;
}
