/*
 * libmlp: the git-mlp library.  This is the only header cmd/ includes.
 *
 * Ownership in one sentence: every object returned through an `out`
 * parameter belongs to the caller and is released with the matching
 * mlp_<x>_free() (all of which accept NULL), and every `const char *`
 * returned by an accessor stays owned by the object it came from.
 *
 * Functions return 0 (or a non-negative count) on success and a negative
 * MLP_E* code on failure; mlp_error_message() then describes the failure.
 * The library never prints, never exits and never reads argv.
 */
#ifndef MLP_H
#define MLP_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define MLP_FORMAT_VERSION 1

enum {
	MLP_OK = 0,
	MLP_ERROR = -1,      /* generic failure (I/O, libgit2, ...) */
	MLP_ENOTFOUND = -3,  /* no such run, key, file */
	MLP_EEXISTS = -4,    /* would overwrite something that exists */
	MLP_EAMBIGUOUS = -5, /* a run spec matches several runs */
	MLP_ECORRUPT = -6,   /* a record or object does not decode */
	MLP_EVERSION = -7,   /* a record of a newer format major version */
	MLP_EINVALID = -8,   /* bad input from the user */
	MLP_ECONFLICT = -9,  /* compare-and-swap lost: the ref moved */
	MLP_ENOREPO = -10,   /* not inside a git repository */
	MLP_ELIMIT = -11     /* input over a documented limit */
};

/* The message of the last failure in this thread; never NULL. */
const char *mlp_error_message(void);
/* Sets the message (printf-style) and returns `code`. */
int mlp_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mlp_error_clear(void);

/* Called with a warning the caller may show; the library goes on. */
typedef void (*mlp_warn_fn)(void *data, const char *msg);

/* "libgit2 1.5.1\nmsgpack-c 4.0.0\nxxHash 0.8.1\n": the libraries in use. */
struct mlp_buf;
void mlp_versions(struct mlp_buf *out);
void mlp_versions_codecs(struct mlp_buf *out);

/* ---- growable buffer -------------------------------------------------- */

struct mlp_buf {
	char *buf;	/* always NUL-terminated when non-NULL */
	size_t len, alloc;
};
#define MLP_BUF_INIT { NULL, 0, 0 }

void mlp_buf_grow(struct mlp_buf *b, size_t extra);
void mlp_buf_add(struct mlp_buf *b, const void *data, size_t len);
void mlp_buf_adds(struct mlp_buf *b, const char *s);
void mlp_buf_addch(struct mlp_buf *b, int c);
void mlp_buf_addf(struct mlp_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mlp_buf_vaddf(struct mlp_buf *b, const char *fmt, va_list ap);
void mlp_buf_reset(struct mlp_buf *b);
void mlp_buf_release(struct mlp_buf *b);
/* Hands the string to the caller (free() it); the buffer is left empty. */
char *mlp_buf_detach(struct mlp_buf *b, size_t *len);

/* qsort() that leaves an array already in order as it is, without
 * sorting it again (what it gets from the index usually is), and takes
 * fewer than two elements with a NULL base (which qsort itself may not). */
void mlp_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* Aborting allocators: out of memory is not a recoverable state here. */
void *mlp_malloc(size_t n);
void *mlp_calloc(size_t n, size_t size);
void *mlp_realloc(void *p, size_t n);
char *mlp_strdup(const char *s);
char *mlp_strndup(const char *s, size_t n);

/* ---- typed values and sorted maps ------------------------------------- */

enum mlp_type { MLP_NIL = 0, MLP_BOOL, MLP_INT, MLP_FLOAT, MLP_STR };

struct mlp_value {
	enum mlp_type type;
	union {
		int b;
		int64_t i;
		double f;
		struct { char *s; size_t len; } str;	/* owned, NUL-terminated */
	} u;
};

struct mlp_kv {
	char *key;	/* owned, NUL-terminated, never contains NUL */
	struct mlp_value val;
};

/* A map kept sorted by key (strcmp) so records are deterministic. */
struct mlp_map {
	struct mlp_kv *items;
	size_t nr, alloc;
};
#define MLP_MAP_INIT { NULL, 0, 0 }

void mlp_value_clear(struct mlp_value *v);
void mlp_value_copy(struct mlp_value *dst, const struct mlp_value *src);
void mlp_value_set_str(struct mlp_value *v, const char *s, size_t len);
/*
 * Types a command-line value: "true"/"false" -> bool, a full integer ->
 * int, a full finite float -> float, "null" -> nil, anything else -> string.
 */
void mlp_value_parse(struct mlp_value *out, const char *s, size_t len);
/* Appends a human form ("0.01", "true", "cnn") to `b`. */
void mlp_value_format(struct mlp_buf *b, const struct mlp_value *v);
int mlp_value_equal(const struct mlp_value *a, const struct mlp_value *b);

/* Takes ownership of *val (left cleared). Replaces an existing key. */
void mlp_map_set(struct mlp_map *m, const char *key, struct mlp_value *val);
/*
 * Adds key[0..klen) (no NUL inside) taking `val`, unless the key is there
 * already: then MLP_EINVALID and `val` is left to the caller.  Keys coming
 * in order are appended without a search.
 */
int mlp_map_add_new(struct mlp_map *m, const char *key, size_t klen, struct mlp_value *val);
const struct mlp_value *mlp_map_get(const struct mlp_map *m, const char *key);
int mlp_map_remove(struct mlp_map *m, const char *key);
void mlp_map_clear(struct mlp_map *m);
void mlp_map_copy(struct mlp_map *dst, const struct mlp_map *src);

/* Splits "key=value" and types the value; MLP_EINVALID without '='. */
int mlp_parse_assignment(char **key_out, struct mlp_value *val_out, const char *arg);

#define MLP_ID_HEXSZ 32
#define MLP_OID_HEXSZ 40

/* ---- metrics ----------------------------------------------------------- */

struct mlp_series {
	char *key;
	int64_t *step;
	double *value;
	int64_t *t;	/* ms since the epoch */
	size_t nr, alloc;	/* points in memory */
	/*
	 * A live run of millions of points keeps only its last chunk in
	 * memory: full chunks are written as blobs as they fill up
	 * (mlp_run_flush_chunks) and listed here, in order.
	 */
	char (*flushed)[MLP_OID_HEXSZ + 1];
	size_t flushed_nr;
	/* over every point, flushed or not */
	uint64_t count;
	double first, last, min, max;
	int64_t last_step;
};

struct mlp_summary {
	char *key;
	double last, min, max, first;
	uint64_t count;
	int64_t step;	/* step of the last point */
};

/* ---- runs -------------------------------------------------------------- */

enum mlp_status {
	MLP_STATUS_RUNNING = 0,
	MLP_STATUS_FINISHED,
	MLP_STATUS_FAILED,
	MLP_STATUS_KILLED,
	MLP_STATUS_CRASHED,
	MLP_STATUS_QUEUED	/* a sweep point waiting for `git mlp queue run` */
};
const char *mlp_status_name(enum mlp_status s);


struct mlp_run {
	char id[MLP_ID_HEXSZ + 1];
	char *name;
	char *experiment;
	enum mlp_status status;
	char **cmd;		/* argv, cmd_nr entries */
	size_t cmd_nr;
	char *cwd;		/* relative to the work tree root; "" at the root */
	char base[MLP_OID_HEXSZ + 1];	/* "" when started on an unborn branch */
	char *branch;		/* NULL when detached */
	int dirty;
	int64_t started, ended;	/* ms since the epoch; ended 0 while running */
	int has_exit_code;
	int exit_code;
	int signal;		/* 0 when not killed by a signal */
	char *host, *user;
	int64_t cpu_ms, maxrss_kb;
	struct mlp_map env;	/* captured environment allow-list */
	char *parent;		/* parent run id (sweeps), or NULL */
	struct mlp_map tags;	/* string values */
	char *note;
	int64_t pid, pid_start;	/* the recording process and its start time (clock ticks since boot) */

	struct mlp_map params;

	struct mlp_summary *summary;	/* sorted by key */
	size_t summary_nr;
	struct mlp_series *series;	/* sorted by key; loaded on request */
	size_t series_nr;
	int series_loaded;	/* series[] is complete: summaries come from it */
	uint64_t npoints;	/* points added in memory (not stored) */

	/* where it is stored; "" when not written yet */
	char commit[MLP_OID_HEXSZ + 1];
	char workspace[MLP_OID_HEXSZ + 1];
	char *logs_stdout_tail, *logs_stderr_tail;	/* loaded on request */
	int64_t commit_time;	/* committer time, seconds */

	/* artifacts (artifact.c) */
	char artifacts[MLP_OID_HEXSZ + 1];	/* the artifacts/ tree; "" when none */
	struct mlp_artifact *artifact;	/* from artifacts.mp, sorted by path */
	size_t artifact_nr;
	char **artifact_queue;	/* declared paths not stored yet (absolute or cwd-relative) */
	size_t artifact_queue_nr;
};

enum mlp_artifact_type { MLP_ART_FILE = 0, MLP_ART_CHUNKED, MLP_ART_SYMLINK };

/* One stored file of a run: an entry of artifacts.mp. */
struct mlp_artifact {
	char *path;		/* relative to the work tree root, '/'-separated */
	enum mlp_artifact_type type;
	unsigned mode;		/* 0100644, 0100755 or 0120000 */
	char oid[MLP_OID_HEXSZ + 1];	/* the blob, or the tree of chunks */
	uint64_t size;
	char xxh128[33];	/* XXH3-128 of the content, hex (canonical order) */
	uint64_t chunks;	/* chunk blobs (1 for a single blob) */
	uint64_t new_bytes;	/* bytes not yet in the repository when stored */
};

struct mlp_run *mlp_run_new(void);
void mlp_run_free(struct mlp_run *run);

struct mlp_repo;
/*
 * Writes every full chunk (MLP_CHUNK_POINTS points) of the run's series as
 * a blob and drops those points from memory; summaries and the next save
 * still cover them.
 */
int mlp_run_flush_chunks(struct mlp_repo *repo, struct mlp_run *run);

/* Appends one point; keeps series sorted by key. */
void mlp_run_add_point(struct mlp_run *run, const char *key, int64_t step,
		       double value, int64_t t_ms);
/* The step a point without one gets: last step of `key` + 1, or 0. */
int64_t mlp_run_next_step(const struct mlp_run *run, const char *key);
/* Recomputes summary[] from series[]. */
void mlp_run_summarize(struct mlp_run *run);
const struct mlp_summary *mlp_run_summary(const struct mlp_run *run, const char *key);
const struct mlp_series *mlp_run_series(const struct mlp_run *run, const char *key);
/* "loss=0.12 acc=0.93" of up to `max` metrics (last values). */
void mlp_run_format_metrics(struct mlp_buf *b, const struct mlp_run *run, size_t max);

/* Limits enforced on write and on read (docs/format.md). */
#define MLP_MAX_KEY_LEN 1024
#define MLP_MAX_STR_LEN (16u << 20)
#define MLP_MAX_RECORD_SIZE (64u << 20)
#define MLP_MAX_PARAMS 100000
#define MLP_MAX_METRIC_KEYS 10000
#define MLP_MAX_TAGS 10000
#define MLP_MAX_CMD_ARGS 100000
#define MLP_CHUNK_POINTS 65536
#define MLP_MAX_CHUNKS 4096
#define MLP_MAX_DEPTH 32

/* Checks a key against the limits (non-empty, short enough). */
int mlp_key_check(const char *what, const char *key);

/* ---- records (msgpack codec) ------------------------------------------ */

/* Encoders append one record to `out`. */
int mlp_record_encode_run(struct mlp_buf *out, const struct mlp_run *run);
int mlp_record_encode_params(struct mlp_buf *out, const struct mlp_map *params);
int mlp_record_encode_summary(struct mlp_buf *out, const struct mlp_run *run);
int mlp_record_encode_chunk(struct mlp_buf *out, const struct mlp_series *s,
			    size_t from, size_t n);
/* Decoders fill `run` (which must come from mlp_run_new()). */
int mlp_record_decode_run(struct mlp_run *run, const void *data, size_t len);
int mlp_record_decode_params(struct mlp_map *out, const void *data, size_t len);
int mlp_record_decode_summary(struct mlp_run *run, const void *data, size_t len);
/*
 * Lookups in encoded records without decoding them, for filtering many
 * runs (the index cache keeps the records of every run).  They find the
 * entry `key` (klen bytes) of the params map of a params.mp, of the tags
 * map of a run.mp, or of the metrics map of a summary.mp.  1 when found
 * (a value's string is a view into `data`: not NUL-terminated, never
 * cleared; a summary's key is NULL), 0 when absent, < 0 when the bytes
 * do not decode.  They trust that the record decoded once in full (no
 * version or duplicate checks): callers fall back to the full decoders
 * on an error.
 */
int mlp_record_find_param(const void *data, size_t len, const char *key, size_t klen,
			  struct mlp_value *out);
int mlp_record_find_tag(const void *data, size_t len, const char *key, size_t klen,
			struct mlp_value *out);
int mlp_record_find_summary(const void *data, size_t len, const char *key, size_t klen,
			    struct mlp_summary *out);
/* Appends the chunk's points to the series `key` of `run`. */
int mlp_record_decode_chunk(struct mlp_run *run, const char *key,
			    const void *data, size_t len);
/* Any record as JSON (metric chunks with their columns expanded). */
int mlp_record_to_json(struct mlp_buf *out, const void *data, size_t len);

/* Metric keys become one path component: bytes outside [A-Za-z0-9_.-],
 * '%' and a leading '.' are percent-encoded. */
void mlp_key_encode(struct mlp_buf *out, const char *key);
int mlp_key_decode(struct mlp_buf *out, const char *component);

/* ---- repository --------------------------------------------------------- */

struct mlp_repo;

/*
 * Opens the repository the way git does: GIT_DIR, GIT_WORK_TREE,
 * discovery from the current directory, and `git -c` settings
 * (GIT_CONFIG_PARAMETERS), which libgit2 1.5 does not apply itself.
 * MLP_ENOREPO when there is none.
 */
int mlp_repo_open(struct mlp_repo **out);
void mlp_repo_free(struct mlp_repo *repo);
/* <commondir>/mlp, shared by linked worktrees. */
const char *mlp_repo_mlpdir(const struct mlp_repo *repo);
/* The work tree root with a trailing '/', or NULL in a bare repository. */
const char *mlp_repo_workdir(const struct mlp_repo *repo);
/* The current directory relative to the work tree root ("" at the root). */
const char *mlp_repo_prefix(const struct mlp_repo *repo);
/*
 * The user's login name, as Python's getpass.getuser() (which MLflow
 * records) finds it: $LOGNAME, $USER, $LNAME or $USERNAME, else the
 * password database, else "unknown".  The variables come first: the
 * database lookup first asks nscd over a socket, a tenth of a millisecond
 * of every run.  Free it.
 */
char *mlp_login_name(void);
/* Creates the mlp directory and config defaults; *created says if new. */
int mlp_repo_init(struct mlp_repo *repo, int *created);

/*
 * A `<ref>.lock` file under refs/mlp/: a writer updating that ref holds it
 * for milliseconds; one left by a writer that died blocks every update of
 * the ref until it is removed.
 */
struct mlp_ref_lock {
	const char *name;	/* "refs/mlp/runs/<id>.lock" */
	const char *run;	/* <id> for a lock of refs/mlp/runs/<id>, else NULL */
	int64_t age_ms;		/* now - its modification time (negative with clock skew) */
};
/* Older than this, no writer holds a lock any more: fsck calls it stale. */
#define MLP_LOCK_STALE_MS (10 * 60 * 1000)
/*
 * Calls `cb` for each lock file under refs/mlp/ of the common git
 * directory, in name order; with `run` set, only for that run's ref.
 */
int mlp_repo_ref_locks(struct mlp_repo *repo, const char *run,
		       void (*cb)(void *data, const struct mlp_ref_lock *lock), void *data);

/* Config lookups: `git -c` values first, then git's config files. */
int mlp_config_get_string(struct mlp_repo *repo, const char *key, char **out);
int mlp_config_get_int64(struct mlp_repo *repo, const char *key, int64_t *out, int64_t dflt);
int mlp_config_get_bool(struct mlp_repo *repo, const char *key, int *out, int dflt);
/* Every value of a multi-valued key; free each and the array. */
int mlp_config_get_all(struct mlp_repo *repo, const char *key, char ***out, size_t *n);

/* A revision (e.g. "HEAD~2", "main") to its commit and tree ids. */
int mlp_repo_resolve_commit(struct mlp_repo *repo, const char *rev, char commit[MLP_OID_HEXSZ + 1],
			    char tree[MLP_OID_HEXSZ + 1]);

struct mlp_commit_info {
	char id[MLP_OID_HEXSZ + 1];
	char *subject;
	char *author;
	int64_t time;	/* seconds */
	char parent[MLP_OID_HEXSZ + 1];	/* first parent, "" for a root */
};
/*
 * Commits of a revision range ("A..B", "A...B" or one revision), newest
 * first (topological), at most `max` (0: no limit).  Free with
 * mlp_commit_infos_free().
 */
int mlp_repo_log(struct mlp_commit_info **out, size_t *n, struct mlp_repo *repo,
		 const char *range, size_t max);
void mlp_commit_infos_free(struct mlp_commit_info *c, size_t n);

/* HEAD: *base is "" on an unborn branch; *branch is NULL when detached. */
int mlp_repo_head(struct mlp_repo *repo, char base[MLP_OID_HEXSZ + 1], char **branch);

/* ---- workspace snapshot -------------------------------------------------- */

/*
 * Writes the tree of the working tree as it is: HEAD's tree plus tracked
 * changes and untracked, non-ignored files.  Files larger than
 * `max_file_size` bytes are left out, each with a warning.
 */
int mlp_snapshot(struct mlp_repo *repo, char tree_out[MLP_OID_HEXSZ + 1],
		 int *dirty_out, int64_t max_file_size, mlp_warn_fn warn, void *data);

/* ---- storing, finding, listing runs ----------------------------------- */

/* Fills run->id with 128 random bits as hex. */
int mlp_run_new_id(struct mlp_run *run);
/*
 * An unused adjective-noun name among the runs of `repo`.  Runs recorded
 * at the same moment may draw the same one: `git mlp run` lets
 * mlp_live_start() draw it instead.
 */
int mlp_run_new_name(char **out, struct mlp_repo *repo);
struct mlp_run_name;
/* An adjective-noun name that is none of the names in either list. */
int mlp_name_draw(char **out, const struct mlp_run_name *taken_a, size_t na,
		  const struct mlp_run_name *taken_b, size_t nb);

/*
 * The names of the runs: from the index (current or not: names never
 * change), the log of recent names, and git for the few runs in neither.
 */
struct mlp_run_name {
	char id[MLP_ID_HEXSZ + 1];
	char *name;
};
int mlp_run_names(struct mlp_run_name **out, size_t *nr, struct mlp_repo *repo);
void mlp_run_names_free(struct mlp_run_name *names, size_t nr);
/*
 * Adds "id name" to the log of recent names (<mlpdir>/names), a cache
 * that spares the next mlp_run_names() reading that run from git; best
 * effort, as caches are.
 */
void mlp_names_log_add(struct mlp_repo *repo, const char *id, const char *name);
int mlp_name_check(const char *name);

struct mlp_run_files {
	const char *stdout_path, *stderr_path;	/* may be NULL */
	int missing_empty;	/* a path with no file is an empty log (created at the first byte) */
};

/*
 * Writes the run commit (tree per format v1) and moves refs/mlp/runs/<id>
 * from run->commit (or creates it when run->commit is "") to the new
 * commit with compare-and-swap; MLP_ECONFLICT when someone else moved it.
 * `logs` gives files to store as logs/stdout and logs/stderr; with NULL the
 * logs of the previous commit are kept.
 */
int mlp_run_save(struct mlp_repo *repo, struct mlp_run *run,
		 const struct mlp_run_files *logs);

#define MLP_LOAD_SERIES 1u
#define MLP_LOAD_LOGS 2u

/* Loads refs/mlp/runs/<id>. */
int mlp_run_load(struct mlp_run **out, struct mlp_repo *repo, const char *id,
		 unsigned flags);

/*
 * Resolves a spec (id prefix of 4+ hex or a name) to run ids.
 * Returns the number of matches (0, 1 or more); ids are owned by the caller
 * (free each and the array).
 */
int mlp_run_resolve(char ***ids_out, struct mlp_repo *repo, const char *spec);

struct mlp_run_list {
	struct mlp_run **runs;
	size_t nr, alloc;
	size_t skipped;		/* refs that did not decode */
};
#define MLP_RUN_LIST_INIT { NULL, 0, 0, 0 }

/*
 * Loads every run (summaries, not series), newest first.  A run that does
 * not decode is skipped and reported through `warn`.
 */
int mlp_run_list_all(struct mlp_run_list *out, struct mlp_repo *repo,
		     mlp_warn_fn warn, void *data);
struct mlp_query;
struct mlp_select {
	int head_scope;		/* only runs of HEAD's history (as mlp_run_list_scope_head) */
	size_t limit;		/* newest first, at most this many; 0: all */
	const struct mlp_query *where;	/* runs not matching are dropped as they are decoded */
	const char *const *bases;	/* if set: only runs based on one of these commits (hex) */
	size_t nbases;
	struct mlp_view_list *views;	/* if set, and no limit: views instead, when they can be */
};
/*
 * Runs newest first, through the index cache: scoping and limiting need
 * no decoding, so `ls --limit 20` of 100,000 runs decodes 20.
 */
int mlp_run_list_select(struct mlp_run_list *out, struct mlp_repo *repo,
			const struct mlp_select *sel, mlp_warn_fn warn, void *data);
/* Keeps runs whose base is HEAD or an ancestor of it (or no base). */
int mlp_run_list_scope_head(struct mlp_run_list *list, struct mlp_repo *repo);
void mlp_run_list_release(struct mlp_run_list *list);
/* Appends `run`, which the list then owns. */
void mlp_run_list_add(struct mlp_run_list *list, struct mlp_run *run);
/*
 * The names of the runs `ids` from the index cache, nothing decoded:
 * (*names)[i] is NULL for a run unknown, broken or without a name.  The
 * caller frees each name and the array.
 */
int mlp_run_names_of(char ***names, struct mlp_repo *repo, char *const *ids, size_t n);

int mlp_run_delete(struct mlp_repo *repo, const struct mlp_run *run);

/* The raw bytes of `path` in the run's tree (e.g. "params.mp"). */
int mlp_run_read_file(struct mlp_buf *out, struct mlp_repo *repo,
		      const char *id, const char *path);

/* ---- ingesting what a run reports --------------------------------------- */

/*
 * One JSON line of the $MLP_METRICS protocol into `run`.  MLP_EINVALID with
 * a message for a bad line (the caller warns; the run goes on).
 */
int mlp_ingest_json_line(struct mlp_run *run, const char *line, size_t len,
			 int64_t now_ms);
/* --key value / --key=value / --flag of a wrapped command into params. */
int mlp_params_from_argv(struct mlp_map *params, size_t argc, char *const *argv);
/* A JSON line describing metrics/params/tags, for `git mlp log` in a run. */
int mlp_json_line_metrics(struct mlp_buf *out, const struct mlp_map *values,
			  int has_step, int64_t step);
int mlp_json_line_map(struct mlp_buf *out, const char *section,
		      const struct mlp_map *values);

/* ---- running a command ------------------------------------------------- */

struct mlp_proc {
	char *const *argv;
	char *const *env_add;	/* "K=V" strings added to the environment */
	int tee_stdout, tee_stderr;	/* fds to copy the child's output to, or -1 */
	/* where output is stored: appended to, created at the first byte */
	const char *stdout_path, *stderr_path;
	/* Called about every 200 ms while the child runs, and once at the end. */
	void (*tick)(void *data, int final);
	void *tick_data;
	/* Called with each output line (stream 1 or 2) without its newline;
	 * lines longer than 64 KiB are cut there and the rest skipped. */
	void (*line)(void *data, int stream, const char *s, size_t len);
	void *line_data;
	long pid;		/* the child, once started */

	/* results */
	int exit_code;		/* 127 when the command could not be started */
	int signal;
	int64_t cpu_ms, maxrss_kb;
	int64_t started_ms, ended_ms;
};

/*
 * Runs the command, forwarding SIGINT, SIGTERM and SIGHUP to it, and
 * fills the results.  Fails only when the machinery fails (pipe, fork).
 */
int mlp_proc_run(struct mlp_proc *p);

/* Appends complete lines of `path` from *offset on to the callback. */
int mlp_tail_lines(const char *path, int64_t *offset, int64_t *lineno, int final,
		   void (*line)(void *data, const char *s, size_t len, int64_t lineno),
		   void *data);
/* The same, stopping after about `max` bytes (0: no limit); 1 when it
 * stopped there and more lines may wait. */
int mlp_tail_lines_max(const char *path, int64_t *offset, int64_t *lineno, int final, size_t max,
		       void (*line)(void *data, const char *s, size_t len, int64_t lineno),
		       void *data);

int64_t mlp_now_ms(void);

/* Progress of long work (artifacts), for a caller that shows it. */
struct mlp_progress {
	const char *what;	/* "storing", "checking out", "verifying" */
	const char *path;	/* current file */
	uint64_t done, total;	/* bytes; total 0 when unknown */
	uint64_t new_bytes;	/* of `done`, bytes that were not stored yet */
	int64_t elapsed_ms;
};
/* Called about every 100 ms while the work goes on, and once with final=1. */
typedef void (*mlp_progress_fn)(void *data, const struct mlp_progress *p, int final);

/* ---- live runs (live.c) ------------------------------------------------- */

struct mlp_live;

struct mlp_live_opts {
	int64_t checkpoint_ms;	/* 0: no checkpoint commits */
	mlp_warn_fn warn;
	void *warn_data;
	const char *cwd;	/* where the command runs: dvclive/ and files are relative to it */
	int capture;		/* scalars from the command's output */
	const char *const *patterns;	/* mlp.capture.pattern values */
	size_t npatterns;
	const char *params_file, *metrics_file;	/* or NULL */
	int dvclive;		/* read dvclive/ */
	int64_t system_ms;	/* system figures every so often; 0: off */
	const char *const *artifacts;	/* paths stored at the end and at checkpoints */
	size_t nartifacts;
	mlp_progress_fn progress;	/* storing artifacts at the end */
	void *progress_data;
	int unique_name;	/* run->name was asked for: refuse it if a run has it */
};

/*
 * Creates the live directory and its owner file for `run` (which the live
 * run borrows, not owns).  A run with a commit (a claimed queued run) is
 * moved to "running" at once; a new run's "running" commit and ref are
 * written by mlp_live_tick() once the command has run for a second, or by
 * mlp_live_finish() if it ends before: until then, the owner file holds
 * what crash recovery needs.  A run without a name gets one here, drawn
 * under a lock of the live runs' directory and published in the owner
 * file before the lock is let go: no two runs draw the same name, however
 * many start together.  With `unique_name`, the name the run has is
 * checked under that lock instead (MLP_ECONFLICT when a run has it).
 */
int mlp_live_start(struct mlp_live **out, struct mlp_repo *repo, struct mlp_run *run,
		   const struct mlp_live_opts *opts);
/* The names of the live runs of this repository (any host), from their owner files. */
/*
 * Whether `spec` (an id, or a prefix of one, or a name) is a run being
 * recorded here that has no commit yet: a run's first commit comes once
 * its command has run for a second.
 */
int mlp_live_uncommitted(struct mlp_repo *repo, const char *spec);
int mlp_live_names(struct mlp_run_name **out, size_t *nr, struct mlp_repo *repo);
/* "dir", "metrics", "stdout" or "stderr" */
const char *mlp_live_path(const struct mlp_live *l, const char *what);
/* Ingests what arrived, journals it, writes checkpoints when due. */
int mlp_live_tick(struct mlp_live *l, int final);
void mlp_live_add_point(struct mlp_live *l, const char *key, int64_t step, double value);
/* An output line of the command, for scalar capture. */
void mlp_live_output_line(struct mlp_live *l, int stream, const char *s, size_t len);
void mlp_live_set_child(struct mlp_live *l, long pid);
/* type 'p' param or 'g' tag */
void mlp_live_set(struct mlp_live *l, char type, const char *key, const struct mlp_value *v);
/* Writes the final commit (compare-and-swap) and removes the directory. */
int mlp_live_finish(struct mlp_live *l);
void mlp_live_free(struct mlp_live *l);
/* Finishes as "crashed" every live run of this host whose owner is dead. */
int mlp_live_recover(struct mlp_repo *repo, mlp_warn_fn warn, void *data, size_t *recovered);
/* Fresh summaries for runs that are running here right now. */
int mlp_run_list_refresh_live(struct mlp_run_list *list, struct mlp_repo *repo);
/* Start time of a process in clock ticks since boot, or -1. */
int64_t mlp_pid_start_time(long pid);

/* ---- artifacts (artifact.c) ------------------------------------------------ */

/* Chunking parameters of format v1 (docs/format.md, "Artifacts"). */
#define MLP_CHUNK_MIN (1u << 20)
#define MLP_CHUNK_AVG (4u << 20)
#define MLP_CHUNK_MAX (16u << 20)
#define MLP_MAX_ARTIFACTS 1000000
#define MLP_MAX_FILE_CHUNKS 1000000
#define MLP_MAX_PATH_LEN 4096

struct mlp_artifact_opts {
	const char *cwd;	/* where relative paths start (absolute); NULL: the current directory */
	int quiet;		/* checkpoints: skip missing and changing paths silently */
	mlp_warn_fn warn;
	void *warn_data;
	mlp_progress_fn progress;
	void *progress_data;
};

/*
 * Stores files, directories and symlinks (glob patterns are expanded) as
 * artifacts/<path> of `run`, path relative to the work tree root, merging
 * them into the run's artifacts (a path stored again replaces the old
 * entry).  Sets run->artifacts and run->artifact[]; the caller saves the
 * run.  A path outside the work tree is refused.  *stored (may be NULL)
 * receives the number of files stored.  Chunks go into a new pack.
 */
int mlp_artifact_capture(struct mlp_repo *repo, struct mlp_run *run,
			 const char *const *paths, size_t n,
			 const struct mlp_artifact_opts *o, size_t *stored);
/* Queues a declared path (the $MLP_METRICS {"artifact": ...} line). */
void mlp_run_queue_artifact(struct mlp_run *run, const char *path);
/* Stores the queued paths (then cleared) like mlp_artifact_capture(). */
int mlp_artifact_capture_queue(struct mlp_repo *repo, struct mlp_run *run,
			       const struct mlp_artifact_opts *o);
void mlp_run_clear_artifacts(struct mlp_run *run);
/* artifacts.mp, encoded from / decoded (untrusted) into run->artifact[]. */
int mlp_artifact_encode_list(struct mlp_buf *out, const struct mlp_run *run);
int mlp_artifact_decode_list(struct mlp_run *run, const void *data, size_t len);
/* "artifacts:" and a line per file (size, chunks, new vs deduplicated). */
void mlp_render_artifacts(struct mlp_buf *b, const struct mlp_run *run);
/* The artifact list as a JSON array. */
void mlp_render_artifacts_json(struct mlp_buf *b, const struct mlp_run *run);

struct mlp_checkout_opts {
	const char *dir;	/* target directory; NULL: the work tree root */
	int force;		/* overwrite files whose content differs */
	mlp_warn_fn error;	/* one call per file that failed */
	void *error_data;
	mlp_progress_fn progress;
	void *progress_data;
	/*
	 * Without `force`, a file whose content differs is still overwritten
	 * when it is, byte for byte, this run's artifact at the same path
	 * (stored, so it can be restored again); may be NULL.
	 */
	const struct mlp_run *replaceable;
};

/*
 * Restores the run's artifacts (all, or those at or under `paths`) into the
 * target directory, verifying each against its recorded XXH3-128.  Never
 * writes outside the target: hostile names and symlinks leading out are
 * refused per file.  Returns 0 when the run could be read (per-file
 * failures are counted in *failed and reported through o->error), or a
 * negative code.
 */
int mlp_artifact_checkout(struct mlp_repo *repo, const struct mlp_run *run,
			  const char *const *paths, size_t n,
			  const struct mlp_checkout_opts *o, size_t *written, size_t *failed);

/* Re-hashes every artifact of `run`; each problem through `problem`. */
int mlp_artifact_verify(struct mlp_repo *repo, const struct mlp_run *run,
			void (*problem)(void *data, const char *path, const char *msg),
			void *data, size_t *nproblems);

struct mlp_gc_stats {
	size_t chunk_rows, chunk_dropped;	/* chunk table, as found */
	size_t chunk_added;		/* rows rebuilt from the runs' artifacts */
	uint64_t chunk_bytes_read;	/* of blobs read to rebuild them */
	size_t stat_rows, stat_dropped;		/* stat cache */
	uint64_t bytes_before, bytes_after;	/* of both cache files */
	size_t loose_refs_before, loose_refs_after;	/* under refs/mlp/ */
};
/*
 * Drops stale cache rows, adds a chunk table row for every blob of every
 * run's artifacts that has none (a deleted table is rebuilt), and packs
 * loose run refs.
 */
int mlp_artifact_gc(struct mlp_repo *repo, struct mlp_gc_stats *st);

/* ---- rendering ----------------------------------------------------------- */

enum mlp_format { MLP_FMT_TABLE, MLP_FMT_JSON, MLP_FMT_CSV, MLP_FMT_TSV, MLP_FMT_TEXT, MLP_FMT_MD };
int mlp_format_parse(enum mlp_format *out, const char *s);

struct mlp_render_opts {
	int color;
	int64_t now_ms;
	const char *host;	/* this machine: other hosts' running runs say so */
	const char *const *columns;	/* keys of extra columns, or NULL: the default set */
	size_t ncolumns;
	size_t width;		/* fit tables to this many columns; 0: no limit */
};

void mlp_json_str(struct mlp_buf *b, const char *s, size_t len);
void mlp_json_value(struct mlp_buf *b, const struct mlp_value *v);
void mlp_json_double(struct mlp_buf *b, double d);
/* One run as a JSON object. */
void mlp_render_run_json(struct mlp_buf *b, const struct mlp_run *run, int detail);
int mlp_render_list(struct mlp_buf *b, const struct mlp_run_list *list,
		    enum mlp_format fmt, const struct mlp_render_opts *o);
int mlp_render_show(struct mlp_buf *b, const struct mlp_run *run,
		    enum mlp_format fmt, const struct mlp_render_opts *o);
/* A table of text cells (row-major; row 0 is the header). */
struct mlp_table {
	size_t cols, nr, alloc;
	void *cells;
	struct mlp_buf text;	/* every cell's text, NUL-terminated, one after the other */
	int *right;	/* per column: align right */
	size_t keep;	/* columns never dropped when fitting the width */
	unsigned clean;	/* 0, or the text flags + 1 its cells were sanitized with */
};
void mlp_table_init(struct mlp_table *t, size_t cols);
/* Appends the next cell; `color` is an escape sequence or NULL. */
void mlp_table_add(struct mlp_table *t, const char *text, const char *color);
void mlp_table_print(struct mlp_buf *b, const struct mlp_table *t, enum mlp_format fmt,
		     int color, size_t width);
void mlp_table_release(struct mlp_table *t);
const char *mlp_table_text(const struct mlp_table *t, size_t i);
/*
 * Appends the `len` bytes of `s` (a string of a record) as text safe for a
 * terminal: C0 controls and DEL as \xNN (\n and \r as such), C1 controls
 * as \u00NN, each byte that is not part of valid UTF-8 as U+FFFD, a tab
 * as a blank.  MLP_TEXT_NL keeps line feeds, MLP_TEXT_TAB tabs.  The
 * result is valid UTF-8 without control characters (but those two), and
 * sanitizing it again changes nothing.
 */
#define MLP_TEXT_NL 1u
#define MLP_TEXT_TAB 2u
void mlp_text_sanitize(struct mlp_buf *b, const char *s, size_t len, unsigned flags);
/* The same for a NUL-terminated string; NULL appends nothing. */
void mlp_text_sanitizes(struct mlp_buf *b, const char *s, unsigned flags);
/* Terminal columns of UTF-8 text: wide characters count 2, combining marks 0. */
size_t mlp_text_width(const char *s);
/* "%.4g", "nan" */
void mlp_format_number(struct mlp_buf *b, double d);

/* Unicode block sparkline of up to `width` cells. */
void mlp_sparkline(struct mlp_buf *b, const double *v, size_t n, size_t width);
/* "3s", "5m", "2h", "4d" */
void mlp_format_age(struct mlp_buf *b, int64_t ms);

/* ---- comparing runs (compare.c) ------------------------------------------ */

enum mlp_goal { MLP_GOAL_NONE = 0, MLP_GOAL_MIN, MLP_GOAL_MAX };

/* mlp.metric.<key>.goal, else a guess from the name (loss -> min, acc -> max). */
enum mlp_goal mlp_metric_goal(struct mlp_repo *repo, const char *key);

struct mlp_diff_opts {
	int all;		/* unchanged rows too */
	int color;
	struct mlp_repo *repo;	/* for goals from config; may be NULL */
};

/* Two runs side by side: params that changed, metrics with change and mark.
 * *worse counts goal metrics that got worse by more than `threshold`
 * (relative, e.g. 0.01 = 1%). */
int mlp_render_diff(struct mlp_buf *b, const struct mlp_run *a, const struct mlp_run *bb,
		    enum mlp_format fmt, const struct mlp_diff_opts *o, double threshold,
		    int *worse);
/* N runs side by side, the best value of each metric marked. */
int mlp_render_compare(struct mlp_buf *b, const struct mlp_run_list *runs,
		       enum mlp_format fmt, const struct mlp_diff_opts *o);

/*
 * Picks one run of `list` by `how`: "newest" (default, finished runs
 * first), "oldest", "max <key>" or "min <key>" (query-language keys).
 * NULL when the list has none.
 */
int mlp_run_pick(struct mlp_run **out, const struct mlp_run_list *list, const char *how);

#include "query.h"
#include "import.h"
#include "sweep.h"

#endif
