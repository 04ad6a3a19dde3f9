/*
 * Comparing runs: which way is better for a metric, two runs side by side
 * (`diff`), N runs side by side (`compare`), and picking one run of many.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int contains_word(const char *key, const char *const *words)
{
	/* the last path part decides: "val/loss" and "train_loss" are losses */
	const char *base = strrchr(key, '/');
	char low[256];
	size_t n;

	base = base ? base + 1 : key;
	n = strlen(base) < sizeof(low) - 1 ? strlen(base) : sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)((base[i] >= 'A' && base[i] <= 'Z') ? base[i] + 32 : base[i]);
	low[n] = '\0';
	for (size_t i = 0; words[i]; i++) {
		const char *p = strstr(low, words[i]);
		size_t wl = strlen(words[i]);
		for (; p; p = strstr(p + 1, words[i])) {
			int start = p == low || !((p[-1] >= 'a' && p[-1] <= 'z'));
			int end = !((p[wl] >= 'a' && p[wl] <= 'z'));
			if (start && end)
				return 1;
		}
	}
	return 0;
}

enum mlp_goal mlp_metric_goal(struct mlp_repo *repo, const char *key)
{
	static const char *const lower[] = { "loss", "error", "err", "mse", "mae", "rmse", "perplexity",
					     "ppl", "wer", "cer", "nll", "latency", NULL };
	static const char *const higher[] = { "acc", "accuracy", "f1", "auc", "roc", "precision", "recall",
					      "bleu", "rouge", "map", "iou", "dice", "r2", "score", "top1",
					      "top5", NULL };
	if (repo) {
		struct mlp_buf k = MLP_BUF_INIT;
		char *v = NULL;
		enum mlp_goal g = MLP_GOAL_NONE;
		int found;
		mlp_buf_addf(&k, "mlp.metric.%s.goal", key);
		found = mlp_config_get_string(repo, k.buf, &v) == 0;
		mlp_buf_release(&k);
		if (found) {
			if (!strcasecmp(v, "min"))
				g = MLP_GOAL_MIN;
			else if (!strcasecmp(v, "max"))
				g = MLP_GOAL_MAX;
			free(v);
			return g;
		}
	}
	if (!strncmp(key, "sys/", 4))
		return MLP_GOAL_NONE;
	if (contains_word(key, lower))
		return MLP_GOAL_MIN;
	if (contains_word(key, higher))
		return MLP_GOAL_MAX;
	return MLP_GOAL_NONE;
}

static void fmt_value(struct mlp_buf *b, const struct mlp_value *v)
{
	if (!v)
		mlp_buf_adds(b, "-");
	else if (v->type == MLP_FLOAT)
		mlp_format_number(b, v->u.f);
	else
		mlp_value_format(b, v);
}

static void key_union(struct mlp_map *keys, const struct mlp_run *r, int params)
{
	if (params) {
		for (size_t i = 0; i < r->params.nr; i++) {
			struct mlp_value nil = { 0 };
			mlp_map_set(keys, r->params.items[i].key, &nil);
		}
	} else {
		for (size_t i = 0; i < r->summary_nr; i++) {
			struct mlp_value nil = { 0 };
			mlp_map_set(keys, r->summary[i].key, &nil);
		}
	}
}

static void run_label(struct mlp_buf *b, const struct mlp_run *r)
{
	mlp_text_sanitizes(b, r->name ? r->name : "-", 0);
	mlp_buf_addf(b, " (%.8s)", r->id);
}

int mlp_render_diff(struct mlp_buf *b, const struct mlp_run *a, const struct mlp_run *bb,
		    enum mlp_format fmt, const struct mlp_diff_opts *o, double threshold, int *worse)
{
	struct mlp_map pkeys = MLP_MAP_INIT, mkeys = MLP_MAP_INIT;
	struct mlp_table pt, mt;
	struct mlp_buf f = MLP_BUF_INIT;
	int json = fmt == MLP_FMT_JSON, first = 1;
	size_t prows = 0, mrows = 0;

	*worse = 0;
	key_union(&pkeys, a, 1);
	key_union(&pkeys, bb, 1);
	key_union(&mkeys, a, 0);
	key_union(&mkeys, bb, 0);
	if (json) {
		mlp_buf_adds(b, "{\"a\":");
		mlp_json_str(b, a->id, strlen(a->id));
		mlp_buf_adds(b, ",\"b\":");
		mlp_json_str(b, bb->id, strlen(bb->id));
		mlp_buf_adds(b, ",\"params\":[");
	}
	mlp_table_init(&pt, 3);
	mlp_table_add(&pt, "param", NULL);
	mlp_buf_reset(&f);
	run_label(&f, a);
	mlp_table_add(&pt, f.buf, NULL);
	mlp_buf_reset(&f);
	run_label(&f, bb);
	mlp_table_add(&pt, f.buf, NULL);
	for (size_t i = 0; i < pkeys.nr; i++) {
		const struct mlp_value *va = mlp_map_get(&a->params, pkeys.items[i].key);
		const struct mlp_value *vb = mlp_map_get(&bb->params, pkeys.items[i].key);
		int same = va && vb && mlp_value_equal(va, vb);
		if (same && !o->all)
			continue;
		prows++;
		if (json) {
			if (!first)
				mlp_buf_addch(b, ',');
			first = 0;
			mlp_buf_adds(b, "{\"key\":");
			mlp_json_str(b, pkeys.items[i].key, strlen(pkeys.items[i].key));
			mlp_buf_adds(b, ",\"a\":");
			if (va) mlp_json_value(b, va); else mlp_buf_adds(b, "null");
			mlp_buf_adds(b, ",\"b\":");
			if (vb) mlp_json_value(b, vb); else mlp_buf_adds(b, "null");
			mlp_buf_addf(b, ",\"changed\":%s}", same ? "false" : "true");
			continue;
		}
		mlp_table_add(&pt, pkeys.items[i].key, NULL);
		mlp_buf_reset(&f);
		fmt_value(&f, va);
		mlp_table_add(&pt, f.buf, NULL);
		mlp_buf_reset(&f);
		fmt_value(&f, vb);
		mlp_table_add(&pt, f.buf, same ? NULL : "\033[33m");
	}
	if (json)
		mlp_buf_adds(b, "],\"metrics\":[");
	first = 1;
	mlp_table_init(&mt, 6);
	for (size_t c = 0; c < 6; c++)
		mlp_table_add(&mt, (const char *const[]){ "metric", "a", "b", "change", "change %", "" }[c], NULL);
	mt.right[1] = mt.right[2] = mt.right[3] = mt.right[4] = 1;
	for (size_t i = 0; i < mkeys.nr; i++) {
		const char *key = mkeys.items[i].key;
		const struct mlp_summary *sa = mlp_run_summary(a, key), *sb = mlp_run_summary(bb, key);
		enum mlp_goal goal = mlp_metric_goal(o->repo, key);
		double d = sa && sb ? sb->last - sa->last : NAN;
		double pct = sa && sb && sa->last != 0 ? d / fabs(sa->last) * 100.0 : NAN;
		const char *mark = "", *color = NULL;
		int same = sa && sb && (sa->last == sb->last || (isnan(sa->last) && isnan(sb->last)));

		if (same && !o->all)
			continue;
		if (sa && sb && !same && goal != MLP_GOAL_NONE) {
			int better = goal == MLP_GOAL_MIN ? d < 0 : d > 0;
			double rel = sa->last != 0 ? fabs(d) / fabs(sa->last) : INFINITY;
			mark = better ? "better" : "worse";
			color = better ? "\033[32m" : "\033[31m";
			if (!better && rel > threshold)
				(*worse)++;
		}
		mrows++;
		if (json) {
			if (!first)
				mlp_buf_addch(b, ',');
			first = 0;
			mlp_buf_adds(b, "{\"key\":");
			mlp_json_str(b, key, strlen(key));
			mlp_buf_adds(b, ",\"a\":");
			if (sa) mlp_json_double(b, sa->last); else mlp_buf_adds(b, "null");
			mlp_buf_adds(b, ",\"b\":");
			if (sb) mlp_json_double(b, sb->last); else mlp_buf_adds(b, "null");
			mlp_buf_adds(b, ",\"change\":");
			mlp_json_double(b, d);
			mlp_buf_adds(b, ",\"change_pct\":");
			mlp_json_double(b, pct);
			mlp_buf_addf(b, ",\"goal\":\"%s\",\"verdict\":", goal == MLP_GOAL_MIN ? "min" : goal == MLP_GOAL_MAX ? "max" : "none");
			if (*mark)
				mlp_buf_addf(b, "\"%s\"}", mark);
			else
				mlp_buf_adds(b, "null}");
			continue;
		}
		mlp_table_add(&mt, key, NULL);
		mlp_buf_reset(&f);
		if (sa) mlp_format_number(&f, sa->last); else mlp_buf_adds(&f, "-");
		mlp_table_add(&mt, f.buf, NULL);
		mlp_buf_reset(&f);
		if (sb) mlp_format_number(&f, sb->last); else mlp_buf_adds(&f, "-");
		mlp_table_add(&mt, f.buf, NULL);
		mlp_buf_reset(&f);
		if (isnan(d)) mlp_buf_adds(&f, "-"); else mlp_buf_addf(&f, "%+.4g", d);
		mlp_table_add(&mt, f.buf, NULL);
		mlp_buf_reset(&f);
		if (isnan(pct)) mlp_buf_adds(&f, "-"); else mlp_buf_addf(&f, "%+.1f%%", pct);
		mlp_table_add(&mt, f.buf, NULL);
		mlp_table_add(&mt, mark, color);
	}
	if (json) {
		mlp_buf_addf(b, "],\"worse\":%d}\n", *worse);
	} else if (fmt == MLP_FMT_CSV || fmt == MLP_FMT_TSV) {
		/* one table: kind,key,a,b,change,change_pct,verdict */
		struct mlp_table ct;
		mlp_table_init(&ct, 7);
		for (size_t c = 0; c < 7; c++)
			mlp_table_add(&ct, (const char *const[]){ "kind", "key", "a", "b", "change", "change_pct", "verdict" }[c], NULL);
		for (size_t r = 1; r * 3 < pt.nr; r++) {
			mlp_table_add(&ct, "param", NULL);
			for (size_t c = 0; c < 3; c++)
				mlp_table_add(&ct, mlp_table_text(&pt, r * 3 + c), NULL);
			for (size_t c = 0; c < 3; c++)
				mlp_table_add(&ct, "", NULL);
		}
		for (size_t r = 1; r * 6 < mt.nr; r++) {
			mlp_table_add(&ct, "metric", NULL);
			for (size_t c = 0; c < 6; c++)
				mlp_table_add(&ct, mlp_table_text(&mt, r * 6 + c), NULL);
		}
		mlp_table_print(b, &ct, fmt, 0, 0);
		mlp_table_release(&ct);
	} else {
		int md = fmt == MLP_FMT_MD;
		mlp_buf_reset(&f);
		if (md)
			mlp_buf_adds(b, "**a:** ");
		else
			mlp_buf_adds(b, "a: ");
		run_label(b, a);
		mlp_buf_addf(b, "  commit %.7s%s\n", a->base[0] ? a->base : "-------", a->dirty ? "+" : "");
		if (md)
			mlp_buf_adds(b, "\n**b:** ");
		else
			mlp_buf_adds(b, "b: ");
		run_label(b, bb);
		mlp_buf_addf(b, "  commit %.7s%s\n\n", bb->base[0] ? bb->base : "-------", bb->dirty ? "+" : "");
		if (prows) {
			mlp_table_print(b, &pt, fmt, o->color, 0);
			mlp_buf_addch(b, '\n');
		} else {
			mlp_buf_adds(b, o->all ? "no params\n\n" : "params: no changes\n\n");
		}
		if (mrows)
			mlp_table_print(b, &mt, fmt, o->color, 0);
		else
			mlp_buf_adds(b, o->all ? "no metrics\n" : "metrics: no changes\n");
	}
	mlp_table_release(&pt);
	mlp_table_release(&mt);
	mlp_map_clear(&pkeys);
	mlp_map_clear(&mkeys);
	mlp_buf_release(&f);
	return 0;
}

int mlp_render_compare(struct mlp_buf *b, const struct mlp_run_list *runs,
		       enum mlp_format fmt, const struct mlp_diff_opts *o)
{
	struct mlp_map pkeys = MLP_MAP_INIT, mkeys = MLP_MAP_INIT;
	struct mlp_table t;
	struct mlp_buf f = MLP_BUF_INIT;
	size_t n = runs->nr;

	for (size_t i = 0; i < n; i++) {
		key_union(&pkeys, runs->runs[i], 1);
		key_union(&mkeys, runs->runs[i], 0);
	}
	if (fmt == MLP_FMT_JSON) {
		mlp_buf_adds(b, "{\"runs\":[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				mlp_buf_adds(b, ",\n");
			mlp_render_run_json(b, runs->runs[i], 0);
		}
		mlp_buf_adds(b, "],\"best\":{");
	}
	mlp_table_init(&t, n + 1);
	mlp_table_add(&t, "", NULL);
	for (size_t i = 0; i < n; i++) {
		mlp_buf_reset(&f);
		run_label(&f, runs->runs[i]);
		mlp_table_add(&t, f.buf, NULL);
		t.right[i + 1] = 1;
	}
	for (size_t k = 0; k < pkeys.nr; k++) {
		const struct mlp_value *first = mlp_map_get(&runs->runs[0]->params, pkeys.items[k].key);
		int differ = 0;
		for (size_t i = 1; i < n && !differ; i++) {
			const struct mlp_value *v = mlp_map_get(&runs->runs[i]->params, pkeys.items[k].key);
			differ = !first != !v || (first && v && !mlp_value_equal(first, v));
		}
		if (!differ && !o->all)
			continue;
		mlp_buf_reset(&f);
		mlp_buf_addf(&f, "params.%s", pkeys.items[k].key);
		mlp_table_add(&t, f.buf, NULL);
		for (size_t i = 0; i < n; i++) {
			mlp_buf_reset(&f);
			fmt_value(&f, mlp_map_get(&runs->runs[i]->params, pkeys.items[k].key));
			mlp_table_add(&t, f.buf, NULL);
		}
	}
	int first_best = 1;
	for (size_t k = 0; k < mkeys.nr; k++) {
		const char *key = mkeys.items[k].key;
		enum mlp_goal goal = mlp_metric_goal(o->repo, key);
		size_t best = (size_t)-1;
		for (size_t i = 0; i < n; i++) {
			const struct mlp_summary *s = mlp_run_summary(runs->runs[i], key);
			if (!s || isnan(s->last) || goal == MLP_GOAL_NONE)
				continue;
			if (best == (size_t)-1)
				best = i;
			else {
				double cur = mlp_run_summary(runs->runs[best], key)->last;
				if (goal == MLP_GOAL_MIN ? s->last < cur : s->last > cur)
					best = i;
			}
		}
		if (fmt == MLP_FMT_JSON) {
			if (best != (size_t)-1) {
				if (!first_best)
					mlp_buf_addch(b, ',');
				first_best = 0;
				mlp_json_str(b, key, strlen(key));
				mlp_buf_addch(b, ':');
				mlp_json_str(b, runs->runs[best]->id, strlen(runs->runs[best]->id));
			}
			continue;
		}
		mlp_buf_reset(&f);
		mlp_buf_addf(&f, "metrics.%s", key);
		mlp_table_add(&t, f.buf, NULL);
		for (size_t i = 0; i < n; i++) {
			const struct mlp_summary *s = mlp_run_summary(runs->runs[i], key);
			int is_best = i == best && n > 1;
			mlp_buf_reset(&f);
			if (!s)
				mlp_buf_adds(&f, "-");
			else {
				if (is_best && fmt == MLP_FMT_MD)
					mlp_buf_adds(&f, "**");
				mlp_format_number(&f, s->last);
				if (is_best && fmt == MLP_FMT_MD)
					mlp_buf_adds(&f, "**");
				else if (is_best && !o->color && fmt == MLP_FMT_TABLE)
					mlp_buf_addch(&f, '*');
			}
			mlp_table_add(&t, f.buf, is_best ? "\033[1;32m" : NULL);
		}
	}
	if (fmt == MLP_FMT_JSON)
		mlp_buf_adds(b, "}}\n");
	else
		mlp_table_print(b, &t, fmt, o->color, 0);
	mlp_table_release(&t);
	mlp_map_clear(&pkeys);
	mlp_map_clear(&mkeys);
	mlp_buf_release(&f);
	return 0;
}

int mlp_run_pick(struct mlp_run **out, const struct mlp_run_list *list, const char *how)
{
	struct mlp_run *best = NULL;
	double best_v = NAN;
	int want_max = 0, by_key = 0;
	const char *key = NULL;

	*out = NULL;
	if (!how || !*how || !strcmp(how, "newest") || !strcmp(how, "oldest")) {
		int oldest = how && !strcmp(how, "oldest");
		/* finished runs first; among them the newest (list is newest first) */
		for (int pass = 0; pass < 2 && !best; pass++)
			for (size_t i = 0; i < list->nr; i++) {
				struct mlp_run *r = list->runs[oldest ? list->nr - 1 - i : i];
				if (pass == 0 && r->status != MLP_STATUS_FINISHED)
					continue;
				best = r;
				break;
			}
		*out = best;
		return 0;
	}
	if (!strncmp(how, "max ", 4))
		want_max = 1, by_key = 1, key = how + 4;
	else if (!strncmp(how, "min ", 4))
		by_key = 1, key = how + 4;
	if (!by_key)
		return mlp_error_set(MLP_EINVALID, "unknown pick '%s': use newest, oldest, 'max <key>' or 'min <key>'", how);
	while (*key == ' ')
		key++;
	for (size_t i = 0; i < list->nr; i++) {
		struct mlp_value v;
		int found = 0;
		double d;
		if (mlp_run_field(list->runs[i], key, &v, &found) < 0)
			return MLP_EINVALID;
		if (!found || (v.type != MLP_INT && v.type != MLP_FLOAT)) {
			mlp_value_clear(&v);
			continue;
		}
		d = v.type == MLP_INT ? (double)v.u.i : v.u.f;
		mlp_value_clear(&v);
		if (isnan(d))
			continue;
		if (!best || (want_max ? d > best_v : d < best_v)) {
			best = list->runs[i];
			best_v = d;
		}
	}
	*out = best;
	return 0;
}
