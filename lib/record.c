/*
 * The msgpack records of storage format v1 (docs/format.md).
 *
 * Every record is a map whose first key is "v" (the format major version).
 * Readers look for "v" before anything else so that a record of a newer
 * major version is refused by name instead of half-decoded.  Unknown keys
 * are skipped: minor additions stay readable by older readers.
 */
#include "internal.h"
#include "mp.h"

#include <math.h>
#include <msgpack.h>
#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

static int buf_write(void *data, const char *buf, size_t len)
{
	mlp_buf_add(data, buf, len);
	return 0;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	if (s)
		pack_str(pk, s, strlen(s));
	else
		msgpack_pack_nil(pk);
}

static void pack_value(msgpack_packer *pk, const struct mlp_value *v)
{
	switch (v->type) {
	case MLP_NIL: msgpack_pack_nil(pk); break;
	case MLP_BOOL: if (v->u.b) msgpack_pack_true(pk); else msgpack_pack_false(pk); break;
	case MLP_INT: msgpack_pack_int64(pk, v->u.i); break;
	case MLP_FLOAT: msgpack_pack_double(pk, v->u.f); break;
	case MLP_STR: pack_str(pk, v->u.str.s, v->u.str.len); break;
	}
}

static int check_map(const char *what, const struct mlp_map *m, size_t max)
{
	if (m->nr > max)
		return mlp_error_set(MLP_ELIMIT, "%zu %s; the limit is %zu", m->nr, what, max);
	for (size_t i = 0; i < m->nr; i++) {
		int err = mlp_key_check(what, m->items[i].key);
		if (err < 0)
			return err;
		if (m->items[i].val.type == MLP_STR && m->items[i].val.u.str.len > MLP_MAX_STR_LEN)
			return mlp_error_set(MLP_ELIMIT, "value of %s '%s' is %zu bytes; the limit is %u",
					     what, m->items[i].key, m->items[i].val.u.str.len, MLP_MAX_STR_LEN);
	}
	return 0;
}

static void pack_map(msgpack_packer *pk, const struct mlp_map *m)
{
	msgpack_pack_map(pk, m->nr);
	for (size_t i = 0; i < m->nr; i++) {
		pack_cstr(pk, m->items[i].key);
		pack_value(pk, &m->items[i].val);
	}
}

#define KEY(pk, k) pack_str(pk, k, sizeof(k) - 1)

static int finish(struct mlp_buf *out, size_t start)
{
	if (out->len - start > MLP_MAX_RECORD_SIZE)
		return mlp_error_set(MLP_ELIMIT, "record of %zu bytes is over the %u byte limit",
				     out->len - start, MLP_MAX_RECORD_SIZE);
	return 0;
}

#define RUN_KEYS 23

int mlp_record_encode_run(struct mlp_buf *out, const struct mlp_run *run)
{
	msgpack_packer pk;
	size_t start = out->len;
	int err;

	if ((err = check_map("tag", &run->tags, MLP_MAX_TAGS)) < 0 ||
	    (err = check_map("env", &run->env, MLP_MAX_TAGS)) < 0)
		return err;
	if (run->cmd_nr > MLP_MAX_CMD_ARGS)
		return mlp_error_set(MLP_ELIMIT, "command has %zu arguments; the limit is %d",
				     run->cmd_nr, MLP_MAX_CMD_ARGS);
	msgpack_packer_init(&pk, out, buf_write);
	/* keep in step with the keys below: decoders read exactly this many pairs */
	msgpack_pack_map(&pk, RUN_KEYS);
	KEY(&pk, "v"); msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	KEY(&pk, "id"); pack_cstr(&pk, run->id);
	KEY(&pk, "name"); pack_cstr(&pk, run->name);
	KEY(&pk, "experiment"); pack_cstr(&pk, run->experiment);
	KEY(&pk, "status"); pack_cstr(&pk, mlp_status_name(run->status));
	KEY(&pk, "cmd");
	msgpack_pack_array(&pk, run->cmd_nr);
	for (size_t i = 0; i < run->cmd_nr; i++)
		pack_cstr(&pk, run->cmd[i]);
	KEY(&pk, "cwd"); pack_cstr(&pk, run->cwd ? run->cwd : "");
	KEY(&pk, "base"); pack_cstr(&pk, run->base[0] ? run->base : NULL);
	KEY(&pk, "branch"); pack_cstr(&pk, run->branch);
	KEY(&pk, "dirty"); if (run->dirty) msgpack_pack_true(&pk); else msgpack_pack_false(&pk);
	KEY(&pk, "started"); msgpack_pack_int64(&pk, run->started);
	KEY(&pk, "ended");
	if (run->ended) msgpack_pack_int64(&pk, run->ended); else msgpack_pack_nil(&pk);
	KEY(&pk, "exit_code");
	if (run->has_exit_code) msgpack_pack_int(&pk, run->exit_code); else msgpack_pack_nil(&pk);
	KEY(&pk, "signal");
	if (run->signal) msgpack_pack_int(&pk, run->signal); else msgpack_pack_nil(&pk);
	KEY(&pk, "host"); pack_cstr(&pk, run->host);
	KEY(&pk, "user"); pack_cstr(&pk, run->user);
	KEY(&pk, "rusage");
	msgpack_pack_map(&pk, 2);
	KEY(&pk, "cpu_ms"); msgpack_pack_int64(&pk, run->cpu_ms);
	KEY(&pk, "maxrss_kb"); msgpack_pack_int64(&pk, run->maxrss_kb);
	KEY(&pk, "env"); pack_map(&pk, &run->env);
	KEY(&pk, "parent"); pack_cstr(&pk, run->parent);
	KEY(&pk, "tags"); pack_map(&pk, &run->tags);
	KEY(&pk, "note"); pack_cstr(&pk, run->note);
	KEY(&pk, "pid"); msgpack_pack_int64(&pk, run->pid);
	KEY(&pk, "pid_start"); msgpack_pack_int64(&pk, run->pid_start);
	return finish(out, start);
}

int mlp_record_encode_params(struct mlp_buf *out, const struct mlp_map *params)
{
	msgpack_packer pk;
	size_t start = out->len;
	int err;

	if ((err = check_map("param", params, MLP_MAX_PARAMS)) < 0)
		return err;
	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_map(&pk, 2);
	KEY(&pk, "v"); msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	KEY(&pk, "params"); pack_map(&pk, params);
	return finish(out, start);
}

int mlp_record_encode_summary(struct mlp_buf *out, const struct mlp_run *run)
{
	msgpack_packer pk;
	size_t start = out->len;

	if (run->summary_nr > MLP_MAX_METRIC_KEYS)
		return mlp_error_set(MLP_ELIMIT, "%zu metric keys; the limit is %d",
				     run->summary_nr, MLP_MAX_METRIC_KEYS);
	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_map(&pk, 2);
	KEY(&pk, "v"); msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	KEY(&pk, "metrics");
	msgpack_pack_map(&pk, run->summary_nr);
	for (size_t i = 0; i < run->summary_nr; i++) {
		const struct mlp_summary *s = &run->summary[i];
		pack_cstr(&pk, s->key);
		msgpack_pack_map(&pk, 6);
		KEY(&pk, "last"); msgpack_pack_double(&pk, s->last);
		KEY(&pk, "min"); msgpack_pack_double(&pk, s->min);
		KEY(&pk, "max"); msgpack_pack_double(&pk, s->max);
		KEY(&pk, "first"); msgpack_pack_double(&pk, s->first);
		KEY(&pk, "count"); msgpack_pack_uint64(&pk, s->count);
		KEY(&pk, "step"); msgpack_pack_int64(&pk, s->step);
	}
	return finish(out, start);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Columns are little-endian 64-bit binaries, not msgpack arrays: a million
 * points decode in well under a millisecond instead of ~70 ms.
 */
int mlp_record_encode_chunk(struct mlp_buf *out, const struct mlp_series *s,
			    size_t from, size_t n)
{
	msgpack_packer pk;
	unsigned char *col;

	if (n > MLP_CHUNK_POINTS || from + n > s->nr)
		return mlp_error_set(MLP_EINVALID, "bad chunk range");
	col = mlp_malloc(n * 8);
	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_map(&pk, 5);
	KEY(&pk, "v"); msgpack_pack_int(&pk, MLP_FORMAT_VERSION);
	KEY(&pk, "n"); msgpack_pack_uint64(&pk, n);
	for (size_t i = 0; i < n; i++)
		put_le64(col + 8 * i, (uint64_t)s->step[from + i]);
	KEY(&pk, "step"); msgpack_pack_bin(&pk, n * 8); msgpack_pack_bin_body(&pk, col, n * 8);
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &s->value[from + i], 8);
		put_le64(col + 8 * i, bits);
	}
	KEY(&pk, "value"); msgpack_pack_bin(&pk, n * 8); msgpack_pack_bin_body(&pk, col, n * 8);
	for (size_t i = 0; i < n; i++)
		put_le64(col + 8 * i, (uint64_t)s->t[from + i]);
	KEY(&pk, "t"); msgpack_pack_bin(&pk, n * 8); msgpack_pack_bin_body(&pk, col, n * 8);
	free(col);
	return 0;
}

/* ---- decoding ------------------------------------------------------------- */

static int keyis(const char *k, uint32_t len, const char *want)
{
	return strlen(want) == len && !memcmp(k, want, len);
}

/* Finds "v" among the top-level keys and checks it before decoding more. */
static int check_version(const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n;
	int err;

	if (len > MLP_MAX_RECORD_SIZE)
		return mlp_error_set(MLP_ELIMIT, "corrupt record: %zu bytes is over the limit", len);
	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0)
			return err;
		if (keyis(k, kl, "v")) {
			int64_t v;
			if ((err = mlp_mp_read_int(&r, &v)) < 0)
				return err;
			if (v > MLP_FORMAT_VERSION)
				return mlp_error_set(MLP_EVERSION, "uses format %lld; this git-mlp reads format %d",
						     (long long)v, MLP_FORMAT_VERSION);
			if (v < 1)
				return mlp_error_set(MLP_ECORRUPT, "corrupt record: format version %lld", (long long)v);
			return 0;
		}
		if ((err = mlp_mp_skip(&r)) < 0)
			return err;
	}
	return mlp_error_set(MLP_ECORRUPT, "corrupt record: no format version");
}

static int opt_cstr(struct mlp_mp *r, char **out)
{
	free(*out);
	*out = NULL;
	if (mlp_mp_peek(r) == MLP_MP_NIL)
		return mlp_mp_read_nil(r);
	return mlp_mp_read_cstr(r, out);
}

static int opt_int(struct mlp_mp *r, int64_t *out, int *has)
{
	if (mlp_mp_peek(r) == MLP_MP_NIL) {
		*out = 0;
		if (has)
			*has = 0;
		return mlp_mp_read_nil(r);
	}
	if (has)
		*has = 1;
	return mlp_mp_read_int(r, out);
}

static int decode_map(struct mlp_map *m, struct mlp_mp *r, const char *what, size_t max)
{
	uint32_t n;
	int err;

	mlp_map_clear(m);
	if ((err = mlp_mp_read_map(r, &n)) < 0)
		return err;
	if (n > max)
		return mlp_error_set(MLP_ELIMIT, "corrupt record: %u %s over the limit of %zu", n, what, max);
	if (n) {
		/* the count is bounded by the bytes left (mlp_mp_read_map) */
		m->items = mlp_malloc(n * sizeof(*m->items));
		m->alloc = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		const char *key;
		uint32_t klen;
		struct mlp_value v;
		if ((err = mlp_mp_read_str(r, &key, &klen)) < 0)
			return err;
		if (!klen || klen > MLP_MAX_KEY_LEN || memchr(key, '\0', klen))
			return mlp_error_set(MLP_ECORRUPT, "corrupt record: bad %s key", what);
		if ((err = mlp_mp_read_value(r, &v)) < 0)
			return err;
		/* readers that keep the first and readers that keep the last
		 * would show different values: refuse both */
		if (mlp_map_add_new(m, key, klen, &v) < 0) {
			mlp_value_clear(&v);
			return mlp_error_set(MLP_ECORRUPT, "corrupt record: duplicate %s key '%.*s'",
					     what, (int)(klen > 100 ? 100 : klen), key);
		}
	}
	return 0;
}

/*
 * A key of the fixed structure of a record seen twice: refused like a
 * duplicate map key.  `names` lists the keys a decoder knows (at most 64);
 * unknown keys are skipped and may repeat.
 */
static int seen_twice(uint64_t *seen, const char *const *names, const char *k, uint32_t kl)
{
	for (int i = 0; names[i]; i++)
		if (kl && names[i][0] == k[0] && keyis(k, kl, names[i])) {
			if (*seen & (1ull << i))
				return mlp_error_set(MLP_ECORRUPT, "corrupt record: duplicate key '%s'", names[i]);
			*seen |= 1ull << i;
			return 0;
		}
	return 0;
}

static const char *const run_keys[] = {
	"v", "id", "name", "experiment", "status", "cmd", "cwd", "base", "branch", "dirty",
	"started", "ended", "exit_code", "signal", "host", "user", "rusage", "env", "parent",
	"tags", "note", "pid", "pid_start", NULL
};
static const char *const params_keys[] = { "v", "params", NULL };
static const char *const summary_keys[] = { "v", "metrics", NULL };
static const char *const chunk_keys[] = { "v", "n", "step", "value", "t", NULL };

static int is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int parse_status(const char *s, enum mlp_status *out)
{
	for (int i = MLP_STATUS_RUNNING; i <= MLP_STATUS_QUEUED; i++)
		if (!strcmp(s, mlp_status_name(i))) {
			*out = i;
			return 0;
		}
	return mlp_error_set(MLP_ECORRUPT, "corrupt record: unknown status");
}

int mlp_record_decode_run(struct mlp_run *run, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n;
	uint64_t seen = 0;
	int err, have_id = 0;

	if ((err = check_version(data, len)) < 0)
		return err;
	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n && !err; i++) {
		const char *k;
		uint32_t kl;
		char *s = NULL;
		int64_t v;

		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0 ||
		    (err = seen_twice(&seen, run_keys, k, kl)) < 0)
			break;
		if (keyis(k, kl, "id")) {
			if (!(err = mlp_mp_read_cstr(&r, &s))) {
				if (!is_hex(s, MLP_ID_HEXSZ))
					err = mlp_error_set(MLP_ECORRUPT, "corrupt record: bad run id");
				else
					memcpy(run->id, s, MLP_ID_HEXSZ + 1), have_id = 1;
			}
			free(s);
		} else if (keyis(k, kl, "name")) {
			err = opt_cstr(&r, &run->name);
		} else if (keyis(k, kl, "experiment")) {
			err = opt_cstr(&r, &run->experiment);
		} else if (keyis(k, kl, "status")) {
			if (!(err = mlp_mp_read_cstr(&r, &s)))
				err = parse_status(s, &run->status);
			free(s);
		} else if (keyis(k, kl, "cmd")) {
			uint32_t an;
			if ((err = mlp_mp_read_array(&r, &an)) < 0)
				break;
			if (an > MLP_MAX_CMD_ARGS) {
				err = mlp_error_set(MLP_ELIMIT, "corrupt record: too many arguments");
				break;
			}
			for (size_t j = 0; j < run->cmd_nr; j++)
				free(run->cmd[j]);
			free(run->cmd);
			run->cmd = mlp_calloc(an + 1, sizeof(char *));
			run->cmd_nr = 0;
			for (uint32_t j = 0; j < an && !err; j++)
				if (!(err = mlp_mp_read_cstr(&r, &run->cmd[j])))
					run->cmd_nr++;
		} else if (keyis(k, kl, "cwd")) {
			err = opt_cstr(&r, &run->cwd);
		} else if (keyis(k, kl, "base")) {
			if (!(err = opt_cstr(&r, &s))) {
				if (!s)
					run->base[0] = '\0';
				else if (!is_hex(s, MLP_OID_HEXSZ))
					err = mlp_error_set(MLP_ECORRUPT, "corrupt record: bad base commit");
				else
					memcpy(run->base, s, MLP_OID_HEXSZ + 1);
			}
			free(s);
		} else if (keyis(k, kl, "branch")) {
			err = opt_cstr(&r, &run->branch);
		} else if (keyis(k, kl, "dirty")) {
			err = mlp_mp_read_bool(&r, &run->dirty);
		} else if (keyis(k, kl, "started")) {
			err = mlp_mp_read_int(&r, &run->started);
		} else if (keyis(k, kl, "ended")) {
			err = opt_int(&r, &run->ended, NULL);
		} else if (keyis(k, kl, "exit_code")) {
			if (!(err = opt_int(&r, &v, &run->has_exit_code)))
				run->exit_code = (int)v;
		} else if (keyis(k, kl, "signal")) {
			if (!(err = opt_int(&r, &v, NULL)))
				run->signal = (int)v;
		} else if (keyis(k, kl, "host")) {
			err = opt_cstr(&r, &run->host);
		} else if (keyis(k, kl, "user")) {
			err = opt_cstr(&r, &run->user);
		} else if (keyis(k, kl, "rusage")) {
			uint32_t rn;
			if ((err = mlp_mp_read_map(&r, &rn)) < 0)
				break;
			for (uint32_t j = 0; j < rn && !err; j++) {
				const char *rk;
				uint32_t rkl;
				if ((err = mlp_mp_read_str(&r, &rk, &rkl)) < 0)
					break;
				if (keyis(rk, rkl, "cpu_ms"))
					err = mlp_mp_read_int(&r, &run->cpu_ms);
				else if (keyis(rk, rkl, "maxrss_kb"))
					err = mlp_mp_read_int(&r, &run->maxrss_kb);
				else
					err = mlp_mp_skip(&r);
			}
		} else if (keyis(k, kl, "env")) {
			err = decode_map(&run->env, &r, "env", MLP_MAX_TAGS);
		} else if (keyis(k, kl, "parent")) {
			err = opt_cstr(&r, &run->parent);
		} else if (keyis(k, kl, "tags")) {
			err = decode_map(&run->tags, &r, "tag", MLP_MAX_TAGS);
		} else if (keyis(k, kl, "note")) {
			err = opt_cstr(&r, &run->note);
		} else if (keyis(k, kl, "pid")) {
			err = opt_int(&r, &run->pid, NULL);
		} else if (keyis(k, kl, "pid_start")) {
			err = opt_int(&r, &run->pid_start, NULL);
		} else {
			err = mlp_mp_skip(&r);
		}
	}
	if (err < 0)
		return err;
	if (!have_id)
		return mlp_error_set(MLP_ECORRUPT, "corrupt record: run.mp has no id");
	return 0;
}

int mlp_record_decode_params(struct mlp_map *out, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n;
	uint64_t seen = 0;
	int err;

	if ((err = check_version(data, len)) < 0)
		return err;
	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0 ||
		    (err = seen_twice(&seen, params_keys, k, kl)) < 0)
			return err;
		if (keyis(k, kl, "params"))
			err = decode_map(out, &r, "param", MLP_MAX_PARAMS);
		else
			err = mlp_mp_skip(&r);
		if (err < 0)
			return err;
	}
	return 0;
}

static int read_summary_field(struct mlp_mp *r, struct mlp_summary *s, const char *fk, uint32_t fkl)
{
	if (keyis(fk, fkl, "last"))
		return mlp_mp_read_double(r, &s->last);
	if (keyis(fk, fkl, "min"))
		return mlp_mp_read_double(r, &s->min);
	if (keyis(fk, fkl, "max"))
		return mlp_mp_read_double(r, &s->max);
	if (keyis(fk, fkl, "first"))
		return mlp_mp_read_double(r, &s->first);
	if (keyis(fk, fkl, "count"))
		return mlp_mp_read_uint(r, &s->count);
	if (keyis(fk, fkl, "step"))
		return mlp_mp_read_int(r, &s->step);
	return mlp_mp_skip(r);
}

/* One metric's map of summary fields into `s`. */
static int read_summary_fields(struct mlp_mp *r, struct mlp_summary *s)
{
	uint32_t fn;
	int err;

	if ((err = mlp_mp_read_map(r, &fn)) < 0)
		return err;
	for (uint32_t f = 0; f < fn; f++) {
		const char *fk;
		uint32_t fkl;
		if ((err = mlp_mp_read_str(r, &fk, &fkl)) < 0 ||
		    (err = read_summary_field(r, s, fk, fkl)) < 0)
			return err;
	}
	return 0;
}

static int summary_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mlp_summary *)a)->key, ((const struct mlp_summary *)b)->key);
}

int mlp_record_decode_summary(struct mlp_run *run, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n, mn;
	uint64_t seen = 0;
	int err;

	if ((err = check_version(data, len)) < 0)
		return err;
	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0 ||
		    (err = seen_twice(&seen, summary_keys, k, kl)) < 0)
			return err;
		if (!keyis(k, kl, "metrics")) {
			if ((err = mlp_mp_skip(&r)) < 0)
				return err;
			continue;
		}
		if ((err = mlp_mp_read_map(&r, &mn)) < 0)
			return err;
		if (mn > MLP_MAX_METRIC_KEYS)
			return mlp_error_set(MLP_ELIMIT, "corrupt record: %u metric keys over the limit", mn);
		for (size_t j = 0; j < run->summary_nr; j++)
			free(run->summary[j].key);
		free(run->summary);
		run->summary = mlp_calloc(mn, sizeof(*run->summary));
		run->summary_nr = 0;
		for (uint32_t j = 0; j < mn; j++) {
			struct mlp_summary *s = &run->summary[j];
			if ((err = mlp_mp_read_cstr(&r, &s->key)) < 0)
				return err;
			run->summary_nr++;
			if (!*s->key || strlen(s->key) > MLP_MAX_KEY_LEN)
				return mlp_error_set(MLP_ECORRUPT, "corrupt record: bad metric key");
			if ((err = read_summary_fields(&r, s)) < 0)
				return err;
		}
		mlp_qsort(run->summary, run->summary_nr, sizeof(*run->summary), summary_cmp);
		for (size_t j = 1; j < run->summary_nr; j++)
			if (!strcmp(run->summary[j - 1].key, run->summary[j].key))
				return mlp_error_set(MLP_ECORRUPT, "corrupt record: duplicate metric key");
	}
	return 0;
}

/* ---- lookups without decoding ---------------------------------------------- */

/*
 * Moves `r` to the value of `key` in the map under the top-level `field`
 * of a record.  1 found, 0 absent, < 0 corrupt.
 */
static int find_entry(struct mlp_mp *r, const void *data, size_t len, const char *field,
		      const char *key, size_t klen)
{
	uint32_t n, m;
	int err;

	mlp_mp_init(r, data, len);
	if (!len)
		return 0;	/* a missing record reads as empty */
	if ((err = mlp_mp_read_map(r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(r, &k, &kl)) < 0)
			return err;
		if (!keyis(k, kl, field)) {
			if ((err = mlp_mp_skip(r)) < 0)
				return err;
			continue;
		}
		if ((err = mlp_mp_read_map(r, &m)) < 0)
			return err;
		for (uint32_t j = 0; j < m; j++) {
			if ((err = mlp_mp_read_str(r, &k, &kl)) < 0)
				return err;
			if (kl == klen && !memcmp(k, key, klen))
				return 1;
			if ((err = mlp_mp_skip(r)) < 0)
				return err;
		}
		return 0;
	}
	return 0;
}

static int find_scalar(const void *data, size_t len, const char *field, const char *key,
		       size_t klen, struct mlp_value *out)
{
	struct mlp_mp r;
	int err = find_entry(&r, data, len, field, key, klen);

	memset(out, 0, sizeof(*out));
	if (err <= 0)
		return err;
	if ((err = mlp_mp_read_value_view(&r, out)) < 0)
		return err;
	return 1;
}

int mlp_record_find_param(const void *data, size_t len, const char *key, size_t klen,
			  struct mlp_value *out)
{
	return find_scalar(data, len, "params", key, klen, out);
}

int mlp_record_find_tag(const void *data, size_t len, const char *key, size_t klen,
			struct mlp_value *out)
{
	return find_scalar(data, len, "tags", key, klen, out);
}

int mlp_record_find_summary(const void *data, size_t len, const char *key, size_t klen,
			    struct mlp_summary *s)
{
	struct mlp_mp r;
	int err = find_entry(&r, data, len, "metrics", key, klen);

	memset(s, 0, sizeof(*s));
	if (err <= 0)
		return err;
	if ((err = read_summary_fields(&r, s)) < 0)
		return err;
	return 1;
}

int mlp_record_open_map(struct mlp_mp *r, const void *data, size_t len, const char *field, uint32_t *n)
{
	uint32_t top;
	int err;

	mlp_mp_init(r, data, len);
	*n = 0;
	if (!len)
		return 0;
	if ((err = check_version(data, len)) < 0 || (err = mlp_mp_read_map(r, &top)) < 0)
		return err;
	for (uint32_t i = 0; i < top; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(r, &k, &kl)) < 0)
			return err;
		if (keyis(k, kl, field))
			return (err = mlp_mp_read_map(r, n)) < 0 ? err : 1;
		if ((err = mlp_mp_skip(r)) < 0)
			return err;
	}
	return 0;
}

int mlp_record_read_summary_last(struct mlp_mp *r, double *last)
{
	uint32_t fn;
	int err;

	*last = 0;	/* as a summary without "last" decodes */
	if ((err = mlp_mp_read_map(r, &fn)) < 0)
		return err;
	for (uint32_t f = 0; f < fn; f++) {
		const char *fk;
		uint32_t fkl;
		if ((err = mlp_mp_read_str(r, &fk, &fkl)) < 0)
			return err;
		/* the last "last" wins, as in read_summary_field() */
		err = keyis(fk, fkl, "last") ? mlp_mp_read_double(r, last) : mlp_mp_skip(r);
		if (err < 0)
			return err;
	}
	return 0;
}

struct chunk_cols {
	uint64_t n;
	int have_n;
	const unsigned char *step, *value, *t;
	uint32_t step_len, value_len, t_len;
};

static int decode_chunk_cols(struct chunk_cols *c, const void *data, size_t len)
{
	struct mlp_mp r;
	uint32_t n;
	uint64_t seen = 0;
	int err;

	memset(c, 0, sizeof(*c));
	if ((err = check_version(data, len)) < 0)
		return err;
	mlp_mp_init(&r, data, len);
	if ((err = mlp_mp_read_map(&r, &n)) < 0)
		return err;
	for (uint32_t i = 0; i < n; i++) {
		const char *k;
		uint32_t kl;
		if ((err = mlp_mp_read_str(&r, &k, &kl)) < 0 ||
		    (err = seen_twice(&seen, chunk_keys, k, kl)) < 0)
			return err;
		if (keyis(k, kl, "n")) {
			err = mlp_mp_read_uint(&r, &c->n);
			c->have_n = 1;
		} else if (keyis(k, kl, "step"))
			err = mlp_mp_read_bin(&r, &c->step, &c->step_len);
		else if (keyis(k, kl, "value"))
			err = mlp_mp_read_bin(&r, &c->value, &c->value_len);
		else if (keyis(k, kl, "t"))
			err = mlp_mp_read_bin(&r, &c->t, &c->t_len);
		else
			err = mlp_mp_skip(&r);
		if (err < 0)
			return err;
	}
	if (!c->have_n || c->n > MLP_CHUNK_POINTS)
		return mlp_error_set(MLP_ECORRUPT, "corrupt record: bad metric chunk size");
	if (!c->step || !c->value || c->step_len != c->n * 8 || c->value_len != c->n * 8 ||
	    (c->t && c->t_len != c->n * 8))
		return mlp_error_set(MLP_ECORRUPT, "corrupt record: metric chunk columns do not match its size");
	return 0;
}

int mlp_record_decode_chunk(struct mlp_run *run, const char *key,
			    const void *data, size_t len)
{
	struct chunk_cols c;
	int err = decode_chunk_cols(&c, data, len);

	if (err < 0)
		return err;
	for (uint64_t i = 0; i < c.n; i++) {
		uint64_t bits = get_le64(c.value + 8 * i);
		double v;
		memcpy(&v, &bits, 8);
		mlp_run_add_point(run, key, (int64_t)get_le64(c.step + 8 * i), v,
				  c.t ? (int64_t)get_le64(c.t + 8 * i) : 0);
	}
	return 0;
}

/* ---- any record as JSON ------------------------------------------------- */

static int to_json(struct mlp_buf *out, struct mlp_mp *r, int depth)
{
	uint32_t n;
	int err;
	const char *s;
	uint32_t len;
	struct mlp_value v;

	if (depth > MLP_MAX_DEPTH)
		return mlp_error_set(MLP_ECORRUPT, "corrupt record: nested deeper than %d", MLP_MAX_DEPTH);
	switch (mlp_mp_peek(r)) {
	case MLP_MP_MAP:
		if ((err = mlp_mp_read_map(r, &n)) < 0)
			return err;
		mlp_buf_addch(out, '{');
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				mlp_buf_addch(out, ',');
			if (mlp_mp_peek(r) == MLP_MP_STR) {
				if ((err = mlp_mp_read_str(r, &s, &len)) < 0)
					return err;
				mlp_json_str(out, s, len);
			} else if (mlp_mp_peek(r) == MLP_MP_MAP || mlp_mp_peek(r) == MLP_MP_ARRAY) {
				/* a container key would be escaped once per level of
				 * nesting: output doubling with depth (32 levels, 4 GiB) */
				return mlp_error_set(MLP_ECORRUPT, "corrupt record: a map key is a map or an array");
			} else {
				/* JSON keys are strings: render a scalar key as JSON text */
				struct mlp_buf k = MLP_BUF_INIT;
				err = to_json(&k, r, depth + 1);
				mlp_json_str(out, k.buf ? k.buf : "", k.len);
				mlp_buf_release(&k);
				if (err < 0)
					return err;
			}
			mlp_buf_addch(out, ':');
			if ((err = to_json(out, r, depth + 1)) < 0)
				return err;
		}
		mlp_buf_addch(out, '}');
		return 0;
	case MLP_MP_ARRAY:
		if ((err = mlp_mp_read_array(r, &n)) < 0)
			return err;
		mlp_buf_addch(out, '[');
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				mlp_buf_addch(out, ',');
			if ((err = to_json(out, r, depth + 1)) < 0)
				return err;
		}
		mlp_buf_addch(out, ']');
		return 0;
	case MLP_MP_BIN: {
		const unsigned char *b;
		static const char hex[] = "0123456789abcdef";
		if ((err = mlp_mp_read_bin(r, &b, &len)) < 0)
			return err;
		mlp_buf_addch(out, '"');
		for (uint32_t i = 0; i < len; i++) {
			mlp_buf_addch(out, hex[b[i] >> 4]);
			mlp_buf_addch(out, hex[b[i] & 15]);
		}
		mlp_buf_addch(out, '"');
		return 0;
	}
	case MLP_MP_EXT:
		if ((err = mlp_mp_skip(r)) < 0)
			return err;
		mlp_buf_adds(out, "null");
		return 0;
	default:
		if ((err = mlp_mp_read_value(r, &v)) < 0)
			return err;
		mlp_json_value(out, &v);
		mlp_value_clear(&v);
		return 0;
	}
}

static void chunk_json(struct mlp_buf *out, const struct chunk_cols *c)
{
	mlp_buf_addf(out, "{\"v\":%d,\"n\":%llu,\"step\":[", MLP_FORMAT_VERSION,
		     (unsigned long long)c->n);
	for (uint64_t i = 0; i < c->n; i++)
		mlp_buf_addf(out, "%s%lld", i ? "," : "", (long long)(int64_t)get_le64(c->step + 8 * i));
	mlp_buf_adds(out, "],\"value\":[");
	for (uint64_t i = 0; i < c->n; i++) {
		uint64_t bits = get_le64(c->value + 8 * i);
		double d;
		memcpy(&d, &bits, 8);
		if (i)
			mlp_buf_addch(out, ',');
		mlp_json_double(out, d);
	}
	mlp_buf_adds(out, "],\"t\":[");
	for (uint64_t i = 0; c->t && i < c->n; i++)
		mlp_buf_addf(out, "%s%lld", i ? "," : "", (long long)(int64_t)get_le64(c->t + 8 * i));
	mlp_buf_adds(out, "]}");
}

int mlp_record_to_json(struct mlp_buf *out, const void *data, size_t len)
{
	struct mlp_mp r;
	struct chunk_cols c;
	size_t start = out->len;
	int err;

	if ((err = check_version(data, len)) < 0)
		return err;
	if (!decode_chunk_cols(&c, data, len)) {
		chunk_json(out, &c);
		return 0;
	}
	mlp_mp_init(&r, data, len);
	err = to_json(out, &r, 0);
	if (!err && r.p != r.end)
		err = mlp_error_set(MLP_ECORRUPT, "corrupt record: trailing bytes");
	if (err < 0 && out->buf) {
		out->len = start;
		out->buf[start] = '\0';
	}
	return err;
}

/* ---- metric keys as path components --------------------------------------- */

void mlp_key_encode(struct mlp_buf *out, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
			    (*p == '.' && p != (const unsigned char *)key);
		if (plain) {
			mlp_buf_addch(out, *p);
		} else {
			mlp_buf_addch(out, '%');
			mlp_buf_addch(out, hex[*p >> 4]);
			mlp_buf_addch(out, hex[*p & 15]);
		}
	}
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int mlp_key_decode(struct mlp_buf *out, const char *s)
{
	size_t start = out->len;

	for (; *s; s++) {
		if (*s != '%') {
			mlp_buf_addch(out, *s);
			continue;
		}
		int hi = unhex(s[1]), lo = hi < 0 ? -1 : unhex(s[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			out->len = start;
			if (out->buf)
				out->buf[start] = '\0';
			return mlp_error_set(MLP_ECORRUPT, "corrupt metric path '%s'", s);
		}
		mlp_buf_addch(out, hi * 16 + lo);
		s += 2;
	}
	if (out->len == start)
		return mlp_error_set(MLP_ECORRUPT, "empty metric key");
	return 0;
}

void mlp_versions_codecs(struct mlp_buf *out)
{
	unsigned x = XXH_versionNumber();

	mlp_buf_addf(out, "msgpack-c %s\n", msgpack_version());
	mlp_buf_addf(out, "xxHash %u.%u.%u\n", x / 10000, x / 100 % 100, x % 100);
}
