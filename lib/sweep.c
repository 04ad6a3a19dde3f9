/*
 * Sweeps: expanding "key=spec" dimensions into points, putting point
 * values into a command, and claiming queued points.
 *
 * Random points come from xoshiro256** seeded through splitmix64, not from
 * the C library, so `--random 20 --seed 7` names the same 20 points on
 * every machine and every libc.
 */
#include "mlp.h"
#include "sweep.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- PRNG ------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void mlp_rng_seed(struct mlp_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t mlp_rng_next(struct mlp_rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double mlp_rng_double(struct mlp_rng *r)
{
	return (double)(mlp_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t mlp_rng_below(struct mlp_rng *r, uint64_t n)
{
	uint64_t limit, x;

	if (!n)
		return 0;
	/* reject the top sliver that would favour small values */
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		x = mlp_rng_next(r);
	while (x >= limit);
	return x % n;
}

/* ---- parsing dimensions --------------------------------------------------------- */

static char *trimmed(const char *s, size_t len)
{
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return mlp_strndup(s, len);
}

/* Splits "a,b,c" (blanks around items dropped); empty items are an error. */
static int split_list(struct mlp_sweep_dim *d, const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		char *item = trimmed(s + start, i - start);
		if (!*item) {
			free(item);
			return mlp_error_set(MLP_EINVALID, "empty value in the list of '%s'", d->key);
		}
		d->values = mlp_realloc(d->values, (d->nvalues + 1) * sizeof(char *));
		d->values[d->nvalues++] = item;
		start = i + 1;
	}
	return 0;
}

static int parse_number(double *out, const char *s, size_t len, const char *key)
{
	char *t = trimmed(s, len), *end;
	int err = 0;

	errno = 0;
	*out = strtod(t, &end);
	if (!*t || *end || errno || !isfinite(*out))
		err = mlp_error_set(MLP_EINVALID, "'%s': '%s' is not a number", key, t);
	free(t);
	return err;
}

static int parse_range(struct mlp_sweep_dim *d, const char *args, size_t len)
{
	const char *comma = memchr(args, ',', len);
	int err;

	if (!comma || memchr(comma + 1, ',', len - (size_t)(comma + 1 - args)))
		return mlp_error_set(MLP_EINVALID, "'%s': a range takes two bounds, as in uniform(0,1)", d->key);
	if ((err = parse_number(&d->lo, args, (size_t)(comma - args), d->key)) < 0 ||
	    (err = parse_number(&d->hi, comma + 1, len - (size_t)(comma + 1 - args), d->key)) < 0)
		return err;
	if (!(d->lo < d->hi) && !(d->kind == MLP_DIM_INT && d->lo == d->hi))
		return mlp_error_set(MLP_EINVALID, "'%s': the lower bound must be below the upper one", d->key);
	if (d->kind == MLP_DIM_LOG && d->lo <= 0)
		return mlp_error_set(MLP_EINVALID, "'%s': log() needs bounds above 0", d->key);
	if (d->kind == MLP_DIM_INT && (d->lo != floor(d->lo) || d->hi != floor(d->hi) ||
				       fabs(d->lo) > 9e15 || fabs(d->hi) > 9e15))
		return mlp_error_set(MLP_EINVALID, "'%s': int() needs integer bounds", d->key);
	return 0;
}

static void dim_clear(struct mlp_sweep_dim *d)
{
	free(d->key);
	for (size_t i = 0; i < d->nvalues; i++)
		free(d->values[i]);
	free(d->values);
}

int mlp_sweep_add(struct mlp_sweep *s, const char *arg)
{
	static const struct { const char *name; enum mlp_dim_kind kind; } fns[] = {
		{ "choice", MLP_DIM_LIST }, { "uniform", MLP_DIM_UNIFORM },
		{ "log", MLP_DIM_LOG }, { "loguniform", MLP_DIM_LOG }, { "int", MLP_DIM_INT },
	};
	const char *eq = strchr(arg, '='), *spec;
	struct mlp_sweep_dim d = { 0 };
	size_t len;
	int err = 0;

	if (!eq || eq == arg)
		return mlp_error_set(MLP_EINVALID, "'%s' is not <key>=<values>", arg);
	d.key = trimmed(arg, (size_t)(eq - arg));
	if ((err = mlp_key_check("param", d.key)) < 0)
		goto fail;
	for (size_t i = 0; i < s->ndims; i++)
		if (!strcmp(s->dims[i].key, d.key)) {
			err = mlp_error_set(MLP_EINVALID, "'%s' is swept twice", d.key);
			goto fail;
		}
	spec = eq + 1;
	len = strlen(spec);
	while (len && isspace((unsigned char)spec[len - 1]))
		len--;
	while (len && isspace((unsigned char)*spec)) {
		spec++;
		len--;
	}
	d.kind = MLP_DIM_LIST;
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		size_t n = strlen(fns[i].name);
		if (len > n + 1 && !strncmp(spec, fns[i].name, n) && spec[n] == '(' && spec[len - 1] == ')') {
			d.kind = fns[i].kind;
			if (d.kind == MLP_DIM_LIST)
				err = split_list(&d, spec + n + 1, len - n - 2);
			else
				err = parse_range(&d, spec + n + 1, len - n - 2);
			if (err < 0)
				goto fail;
			goto done;
		}
	}
	if ((err = split_list(&d, spec, len)) < 0)
		goto fail;
done:
	s->dims = mlp_realloc(s->dims, (s->ndims + 1) * sizeof(*s->dims));
	s->dims[s->ndims++] = d;
	return 0;
fail:
	dim_clear(&d);
	return err;
}

void mlp_sweep_release(struct mlp_sweep *s)
{
	for (size_t i = 0; i < s->ndims; i++)
		dim_clear(&s->dims[i]);
	free(s->dims);
	s->dims = NULL;
	s->ndims = 0;
}

/* ---- points ---------------------------------------------------------------------- */

static void set_text(struct mlp_map *m, const char *key, const char *text)
{
	struct mlp_value v;

	v.type = MLP_NIL;
	mlp_value_set_str(&v, text, strlen(text));
	mlp_map_set(m, key, &v);
}

void mlp_sweep_points_free(struct mlp_map *points, size_t n)
{
	for (size_t i = 0; points && i < n; i++)
		mlp_map_clear(&points[i]);
	free(points);
}

int mlp_sweep_grid(struct mlp_map **out, size_t *n, const struct mlp_sweep *s)
{
	size_t total = 1;
	struct mlp_map *points;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < s->ndims; i++) {
		if (s->dims[i].kind != MLP_DIM_LIST)
			return mlp_error_set(MLP_EINVALID, "'%s' is a range: draw points from it with --random",
					     s->dims[i].key);
		if (s->dims[i].nvalues > MLP_SWEEP_MAX_POINTS / total)
			return mlp_error_set(MLP_ELIMIT, "the grid has more than %d points",
					     MLP_SWEEP_MAX_POINTS);
		total *= s->dims[i].nvalues;
	}
	if (!s->ndims)
		return mlp_error_set(MLP_EINVALID, "nothing to sweep: give -p <key>=<values>");
	points = mlp_calloc(total, sizeof(*points));
	for (size_t p = 0; p < total; p++) {
		size_t rest = p;
		/* mixed radix, the last dimension as the lowest digit */
		for (size_t i = s->ndims; i-- > 0;) {
			const struct mlp_sweep_dim *d = &s->dims[i];
			set_text(&points[p], d->key, d->values[rest % d->nvalues]);
			rest /= d->nvalues;
		}
	}
	*out = points;
	*n = total;
	return 0;
}

/* A float with 6 significant digits, whose text is then its exact value. */
static void draw_float(struct mlp_buf *b, double v)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%.6g", v);
	mlp_buf_adds(b, tmp);
	/* "1e-05" and "3" are fine for -p; make a whole float read as a float */
	if (!strpbrk(tmp, ".eEn"))
		mlp_buf_adds(b, ".0");
}

int mlp_sweep_random(struct mlp_map **out, size_t k, const struct mlp_sweep *s, uint64_t seed)
{
	struct mlp_rng rng;
	struct mlp_map *points;
	struct mlp_buf b = MLP_BUF_INIT;

	*out = NULL;
	if (!s->ndims)
		return mlp_error_set(MLP_EINVALID, "nothing to sweep: give -p <key>=<values>");
	if (!k || k > MLP_SWEEP_MAX_POINTS)
		return mlp_error_set(MLP_ELIMIT, "--random takes 1 to %d points", MLP_SWEEP_MAX_POINTS);
	mlp_rng_seed(&rng, seed);
	points = mlp_calloc(k, sizeof(*points));
	for (size_t p = 0; p < k; p++) {
		for (size_t i = 0; i < s->ndims; i++) {
			const struct mlp_sweep_dim *d = &s->dims[i];
			double u = mlp_rng_double(&rng);

			mlp_buf_reset(&b);
			switch (d->kind) {
			case MLP_DIM_LIST:
				mlp_buf_adds(&b, d->values[mlp_rng_below(&rng, d->nvalues)]);
				break;
			case MLP_DIM_UNIFORM:
				draw_float(&b, d->lo + u * (d->hi - d->lo));
				break;
			case MLP_DIM_LOG:
				draw_float(&b, exp(log(d->lo) + u * (log(d->hi) - log(d->lo))));
				break;
			case MLP_DIM_INT:
				mlp_buf_addf(&b, "%lld", (long long)d->lo +
					     (long long)mlp_rng_below(&rng, (uint64_t)(d->hi - d->lo) + 1));
				break;
			}
			set_text(&points[p], d->key, b.buf);
		}
	}
	mlp_buf_release(&b);
	*out = points;
	return 0;
}

/* ---- templates ------------------------------------------------------------------------ */

static int name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* The length of "{name}" at s (s[0] == '{'), or 0 when it is not one. */
static size_t placeholder(const char *s)
{
	size_t i = 1;

	while (name_char((unsigned char)s[i]))
		i++;
	return i > 1 && s[i] == '}' ? i + 1 : 0;
}

void mlp_sweep_template(struct mlp_buf *out, const char *tmpl, const struct mlp_map *point)
{
	for (const char *p = tmpl; *p;) {
		size_t n = *p == '{' ? placeholder(p) : 0;
		if (n) {
			char *key = mlp_strndup(p + 1, n - 2);
			const struct mlp_value *v = mlp_map_get(point, key);
			free(key);
			if (v) {
				mlp_value_format(out, v);
				p += n;
				continue;
			}
		}
		mlp_buf_addch(out, *p++);
	}
}

void mlp_sweep_unknown_placeholders(char ***names, size_t *n, const char *tmpl,
				    const struct mlp_sweep *s)
{
	for (const char *p = tmpl; *p; p++) {
		size_t len = *p == '{' ? placeholder(p) : 0, i;
		if (!len)
			continue;
		for (i = 0; i < s->ndims; i++)
			if (strlen(s->dims[i].key) == len - 2 && !strncmp(s->dims[i].key, p + 1, len - 2))
				break;
		if (i == s->ndims) {
			*names = mlp_realloc(*names, (*n + 1) * sizeof(char *));
			(*names)[(*n)++] = mlp_strndup(p + 1, len - 2);
		}
		p += len - 1;
	}
}

int mlp_sweep_uses(const char *tmpl, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{'))
		if (!strncmp(p + 1, key, klen) && p[klen + 1] == '}')
			return 1;
	return 0;
}

/* ---- the queue ------------------------------------------------------------------------- */

int mlp_queue_claim(struct mlp_repo *repo, struct mlp_run *run, long pid)
{
	char host[256] = "";
	enum mlp_status was = run->status;
	char *old_host = run->host;
	int64_t old_started = run->started, old_pid = run->pid, old_start = run->pid_start;
	int err;

	if (run->status != MLP_STATUS_QUEUED)
		return mlp_error_set(MLP_EINVALID, "run %s is %s, not queued", run->id,
				     mlp_status_name(run->status));
	if (!run->commit[0])
		return mlp_error_set(MLP_EINVALID, "run %s is not stored", run->id);
	gethostname(host, sizeof(host) - 1);
	run->host = mlp_strdup(host);
	run->status = MLP_STATUS_RUNNING;
	run->started = mlp_now_ms();
	run->pid = pid;
	run->pid_start = mlp_pid_start_time(pid);
	err = mlp_run_save(repo, run, NULL);
	if (err < 0) {
		free(run->host);
		run->host = old_host;
		run->status = was;
		run->started = old_started;
		run->pid = old_pid;
		run->pid_start = old_start;
		if (err == MLP_ECONFLICT)
			return mlp_error_set(err, "run %s was claimed by someone else", run->id);
		return err;
	}
	free(old_host);
	return 0;
}
