/*
 * Line charts: ticks, downsampling, braille for terminals, SVG for files
 * and HTML reports.
 *
 * Both renderers map steps to the horizontal axis linearly over the union
 * of the lines' step ranges and values to the vertical axis over their
 * finite values.  A NaN or infinite value breaks a line instead of
 * dragging it to a corner.  Long series are downsampled by index (evenly,
 * first and last point kept): a chart has a few hundred pixels or a few
 * dozen cells across, so more points only cost bytes.
 */
#include "plot.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mlp_plot_colors[MLP_PLOT_NCOLORS] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

/* Terminal colours in the same order (blue, orange-ish yellow, green, ...). */
static const char *const ansi_colors[MLP_PLOT_NCOLORS] = {
	"\033[34m", "\033[33m", "\033[32m", "\033[31m", "\033[35m",
	"\033[36m", "\033[94m", "\033[93m", "\033[92m", "\033[91m",
};

size_t mlp_nice_ticks(double lo, double hi, size_t target, double *first, double *step)
{
	double span, raw, mag, f, nice, last;
	size_t n;

	if (!isfinite(lo) || !isfinite(hi)) {
		lo = isfinite(lo) ? lo : isfinite(hi) ? hi : 0;
		hi = lo;
	}
	if (lo > hi) {
		double t = lo;
		lo = hi;
		hi = t;
	}
	/* a span below what doubles resolve at this magnitude counts as none */
	if (hi - lo <= fmax(fabs(lo), fabs(hi)) * 1e-9) {
		double d = fabs(lo) * 0.1;
		if (d == 0)
			d = 1;
		lo -= d;
		hi += d;
	}
	if (target < 2)
		target = 2;
	span = hi - lo;
	if (!isfinite(span)) {
		/* beyond DBL_MAX across: ticks at the ends and zero */
		*first = -DBL_MAX;
		*step = DBL_MAX;
		return 3;
	}
	raw = span / (double)target;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
	*step = nice * mag;
	*first = floor(lo / *step) * *step;
	last = ceil(hi / *step) * *step;
	n = (size_t)llround((last - *first) / *step) + 1;
	if (n < 2)
		n = 2;
	return n;
}

size_t mlp_downsample(size_t *idx, size_t n, size_t max)
{
	if (n <= max) {
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		return n;
	}
	if (max == 0)
		return 0;
	if (max == 1) {
		idx[0] = n - 1;
		return 1;
	}
	/* i * (n-1) / (max-1), rounded: strictly increasing since n > max */
	for (size_t i = 0; i < max; i++)
		idx[i] = (size_t)(((unsigned long long)i * (n - 1) * 2 + (max - 1)) /
				  (2ull * (max - 1)));
	return max;
}

double mlp_series_interp(const int64_t *x, const double *y, size_t n, double at)
{
	size_t lo = 0, hi;

	if (!n || at < (double)x[0] || at > (double)x[n - 1])
		return NAN;
	/* the last index with x <= at */
	hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if ((double)x[mid] <= at)
			lo = mid;
		else
			hi = mid;
	}
	if ((double)x[lo] == at || lo + 1 >= n)
		return isfinite(y[lo]) ? y[lo] : NAN;
	if (!isfinite(y[lo]) || !isfinite(y[lo + 1]))
		return NAN;
	{
		double t = (at - (double)x[lo]) / (double)(x[lo + 1] - x[lo]);
		return y[lo] + (y[lo + 1] - y[lo]) * t;
	}
}

struct order { int64_t x; size_t i; };

static int cmp_order(const void *a, const void *b)
{
	const struct order *p = a, *q = b;
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	return p->i < q->i ? -1 : p->i > q->i;
}

void mlp_series_sorted(const struct mlp_series *s, int64_t **x, double **y)
{
	int sorted = 1;
	struct order *o;

	*x = NULL;
	*y = NULL;
	if (!s || !s->nr)
		return;
	*x = mlp_calloc(s->nr, sizeof(**x));
	*y = mlp_calloc(s->nr, sizeof(**y));
	for (size_t i = 1; i < s->nr && sorted; i++)
		sorted = s->step[i - 1] <= s->step[i];
	if (sorted) {
		memcpy(*x, s->step, s->nr * sizeof(**x));
		memcpy(*y, s->value, s->nr * sizeof(**y));
		return;
	}
	o = mlp_calloc(s->nr, sizeof(*o));
	for (size_t i = 0; i < s->nr; i++)
		o[i].x = s->step[i], o[i].i = i;
	mlp_qsort(o, s->nr, sizeof(*o), cmp_order);
	for (size_t i = 0; i < s->nr; i++)
		(*x)[i] = o[i].x, (*y)[i] = s->value[o[i].i];
	free(o);
}

int mlp_plot_bounds(const struct mlp_plot *p, double *ymin, double *ymax,
		    int64_t *xmin, int64_t *xmax)
{
	int any = 0;

	*ymin = INFINITY;
	*ymax = -INFINITY;
	*xmin = INT64_MAX;
	*xmax = INT64_MIN;
	for (size_t l = 0; l < p->nlines; l++) {
		const struct mlp_plot_line *ln = &p->lines[l];
		for (size_t i = 0; i < ln->n; i++) {
			if (!isfinite(ln->y[i]))
				continue;
			any = 1;
			if (ln->y[i] < *ymin) *ymin = ln->y[i];
			if (ln->y[i] > *ymax) *ymax = ln->y[i];
			if (ln->x[i] < *xmin) *xmin = ln->x[i];
			if (ln->x[i] > *xmax) *xmax = ln->x[i];
		}
	}
	if (!any) {
		*ymin = 0;
		*ymax = 1;
		*xmin = 0;
		*xmax = 1;
		return -1;
	}
	return 0;
}

/* ---- text ------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p (at most `left` bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void mlp_xml_escape(struct mlp_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	while (left) {
		size_t n = utf8_seq(p, left);
		if (!n) {
			/* invalid byte: U+FFFD keeps the document well-formed */
			mlp_buf_adds(out, "\xef\xbf\xbd");
			p++, left--;
			continue;
		}
		if (n == 1) {
			switch (*p) {
			case '&': mlp_buf_adds(out, "&amp;"); break;
			case '<': mlp_buf_adds(out, "&lt;"); break;
			case '>': mlp_buf_adds(out, "&gt;"); break;
			case '"': mlp_buf_adds(out, "&quot;"); break;
			case '\'': mlp_buf_adds(out, "&#39;"); break;
			default:
				if (*p >= 0x20 && *p != 0x7f)
					mlp_buf_addch(out, *p);
				else if (*p == '\t' || *p == '\n')
					mlp_buf_addch(out, ' ');
			}
		} else {
			mlp_buf_add(out, p, n);
		}
		p += n, left -= n;
	}
}

/*
 * Terminal-safe text (mlp_text_sanitize) of at most `maxw` cells, cut
 * with "…" when too long.  Returns the cells used.
 */
static size_t term_text(struct mlp_buf *out, const char *s, size_t maxw)
{
	struct mlp_buf t = MLP_BUF_INIT;
	size_t w = 0, total;

	mlp_text_sanitizes(&t, s, 0);
	total = t.buf ? mlp_text_width(t.buf) : 0;
	for (size_t i = 0; i < t.len && maxw;) {
		size_t n = utf8_seq((const unsigned char *)t.buf + i, t.len - i);
		char one[5] = { 0 };
		size_t cw;

		memcpy(one, t.buf + i, n);	/* sanitized: n is 1 to 4 */
		cw = mlp_text_width(one);
		if (total > maxw ? w + cw + 1 > maxw : w + cw > maxw) {
			if (total > maxw) {
				mlp_buf_adds(out, "\xe2\x80\xa6");
				w++;
			}
			break;
		}
		mlp_buf_add(out, one, n);
		w += cw;
		i += n;
	}
	mlp_buf_release(&t);
	return w;
}

/* A tick label: as many decimals as the tick step needs. */
static void fmt_tick(struct mlp_buf *b, double v, double step)
{
	int dec;

	if (fabs(v) < step * 1e-9)
		v = 0;
	if (fabs(v) >= 1e7 || (v != 0 && fabs(v) < 1e-5) || step < 1e-6) {
		mlp_buf_addf(b, "%.3g", v);
		return;
	}
	dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
	if (dec > 8)
		dec = 8;
	mlp_buf_addf(b, "%.*f", dec, v);
}

/* ---- SVG -------------------------------------------------------------- */

#define SVG_FONT "font-family=\"sans-serif\""

static void svg_chart(struct mlp_buf *out, const struct mlp_plot *p, unsigned W, unsigned H)
{
	double ymin, ymax, yfirst, ystep, xfirst, xstep, x0, x1, y0, y1;
	int64_t xmin, xmax;
	size_t ny, nx, *idx;
	double left = 64, right = 20, top = 34, bottom = 40;
	double pw, ph, lx, ly;
	int empty = mlp_plot_bounds(p, &ymin, &ymax, &xmin, &xmax) < 0;
	size_t legend_rows = 1;

	if (W < 160)
		W = 160;
	if (H < 120)
		H = 120;
	/* legend below the x axis label: flow entries, wrapping */
	lx = left;
	for (size_t l = 0; l < p->nlines; l++) {
		double w;
		if (!p->lines[l].label)
			continue;
		w = 28 + 7.0 * (double)(strlen(p->lines[l].label) < 60 ? strlen(p->lines[l].label) : 60) + 16;
		if (lx + w > W - right && lx > left) {
			legend_rows++;
			lx = left;
		}
		lx += w;
	}
	bottom += 18.0 * (double)legend_rows;
	pw = W - left - right;
	ph = H - top - bottom;
	if (ph < 40) {
		H += (unsigned)(40 - ph);
		ph = 40;
	}

	ny = mlp_nice_ticks(ymin, ymax, ph >= 200 ? 6 : 4, &yfirst, &ystep);
	y0 = yfirst;
	y1 = yfirst + (double)(ny - 1) * ystep;
	x0 = (double)xmin;
	x1 = (double)xmax;
	if (x1 <= x0)
		x0 -= 1, x1 += 1;
	nx = mlp_nice_ticks(x0, x1, pw >= 400 ? 8 : 4, &xfirst, &xstep);
	if (xstep < 1) {
		/* steps are integers: no tick between two of them */
		xstep = 1;
		xfirst = floor(x0);
		nx = (size_t)(x1 - xfirst) + 2;
	}

#define PX(v) (left + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (top + ph - ((v) - y0) / (y1 - y0) * ph)

	mlp_buf_addf(out, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%u\" fill=\"#ffffff\"/>\n", W, H);
	if (p->title) {
		mlp_buf_addf(out, "<text x=\"%.1f\" y=\"20\" " SVG_FONT " font-size=\"14\" font-weight=\"bold\">", left);
		mlp_xml_escape(out, p->title);
		mlp_buf_adds(out, "</text>\n");
	}
	/* grid and y ticks */
	mlp_buf_adds(out, "<g class=\"y-axis\" " SVG_FONT " font-size=\"11\" fill=\"#444444\" text-anchor=\"end\">\n");
	for (size_t i = 0; i < ny; i++) {
		double v = yfirst + (double)i * ystep, py = PY(v);
		mlp_buf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>",
			     left, py, left + pw, py);
		mlp_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\">", left - 6, py + 4);
		fmt_tick(out, v, ystep);
		mlp_buf_adds(out, "</text>\n");
	}
	mlp_buf_adds(out, "</g>\n");
	mlp_buf_adds(out, "<g class=\"x-axis\" " SVG_FONT " font-size=\"11\" fill=\"#444444\" text-anchor=\"middle\">\n");
	for (size_t i = 0; i < nx; i++) {
		double v = xfirst + (double)i * xstep, px;
		if (v < x0 - xstep * 1e-9 || v > x1 + xstep * 1e-9)
			continue;
		px = PX(v);
		mlp_buf_addf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444444\"/>",
			     px, top + ph, px, top + ph + 4);
		mlp_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\">", px, top + ph + 16);
		fmt_tick(out, v, xstep);
		mlp_buf_adds(out, "</text>\n");
	}
	mlp_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\">", left + pw / 2, top + ph + 32);
	mlp_xml_escape(out, p->xlabel ? p->xlabel : "step");
	mlp_buf_adds(out, "</text>\n</g>\n");
	mlp_buf_addf(out, "<path d=\"M%.1f %.1fV%.1fH%.1f\" fill=\"none\" stroke=\"#444444\"/>\n",
		     left, top, top + ph, left + pw);
	if (empty)
		mlp_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" " SVG_FONT " font-size=\"12\" fill=\"#888888\" text-anchor=\"middle\">no data</text>\n",
			     left + pw / 2, top + ph / 2);

	/* the lines: at most two points per horizontal pixel */
	idx = mlp_calloc((size_t)pw * 2 + 2, sizeof(*idx));
	for (size_t l = 0; l < p->nlines; l++) {
		const struct mlp_plot_line *ln = &p->lines[l];
		size_t k = mlp_downsample(idx, ln->n, (size_t)pw * 2 + 2);
		int pen = 0, has = 0;
		for (size_t j = 0; j < k && !has; j++)
			has = isfinite(ln->y[idx[j]]);
		if (!has)
			continue;
		mlp_buf_addf(out, "<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\" d=\"",
			     mlp_plot_colors[(unsigned)ln->color % MLP_PLOT_NCOLORS]);
		for (size_t j = 0; j < k; j++) {
			double v = ln->y[idx[j]];
			int next_ok = j + 1 < k && isfinite(ln->y[idx[j + 1]]);
			if (!isfinite(v)) {
				pen = 0;
				continue;
			}
			mlp_buf_addf(out, "%s%.1f %.1f", pen ? "L" : "M", PX((double)ln->x[idx[j]]), PY(v));
			if (!pen && !next_ok)
				mlp_buf_adds(out, "h0");	/* a lone point: a dot */
			pen = 1;
		}
		mlp_buf_adds(out, "\"><title>");
		mlp_xml_escape(out, ln->label ? ln->label : "");
		mlp_buf_adds(out, "</title></path>\n");
	}
	free(idx);

	/* legend */
	lx = left;
	ly = top + ph + 50;
	mlp_buf_adds(out, "<g class=\"legend\" " SVG_FONT " font-size=\"12\" fill=\"#222222\">\n");
	for (size_t l = 0; l < p->nlines; l++) {
		const char *lab = p->lines[l].label;
		size_t len;
		double w;
		if (!lab)
			continue;
		len = strlen(lab) < 60 ? strlen(lab) : 60;
		w = 28 + 7.0 * (double)len + 16;
		if (lx + w > W - right && lx > left) {
			lx = left;
			ly += 18;
		}
		mlp_buf_addf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" height=\"4\" fill=\"%s\"/>",
			     lx, ly - 6, mlp_plot_colors[(unsigned)p->lines[l].color % MLP_PLOT_NCOLORS]);
		mlp_buf_addf(out, "<text x=\"%.1f\" y=\"%.1f\">", lx + 26, ly);
		if (strlen(lab) > 60) {
			char *cut = mlp_strndup(lab, 57);
			/* do not split a UTF-8 sequence */
			size_t c = strlen(cut);
			while (c && ((unsigned char)cut[c - 1] & 0xc0) == 0x80)
				c--;
			if (c && (unsigned char)cut[c - 1] >= 0xc0)
				c--;
			cut[c] = '\0';
			mlp_xml_escape(out, cut);
			mlp_buf_adds(out, "\xe2\x80\xa6");
			free(cut);
		} else {
			mlp_xml_escape(out, lab);
		}
		mlp_buf_adds(out, "</text>\n");
		lx += w;
	}
	mlp_buf_adds(out, "</g>\n");
#undef PX
#undef PY
}

/* The height svg_chart() ends up using (it grows to fit its legend). */
static unsigned svg_height(const struct mlp_plot *p, unsigned W, unsigned H)
{
	struct mlp_buf tmp = MLP_BUF_INIT;
	unsigned h = H < 120 ? 120 : H;
	const char *q;

	svg_chart(&tmp, p, W, H);
	q = strstr(tmp.buf, "height=\"");
	if (q)
		h = (unsigned)strtoul(q + 8, NULL, 10);
	mlp_buf_release(&tmp);
	return h;
}

void mlp_plot_svg(struct mlp_buf *out, const struct mlp_plot *p, unsigned width,
		  unsigned height, int standalone)
{
	unsigned w = width < 160 ? 160 : width, h = svg_height(p, width, height);

	if (standalone)
		mlp_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	mlp_buf_addf(out, "<svg %swidth=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" role=\"img\">\n",
		     standalone ? "xmlns=\"http://www.w3.org/2000/svg\" " : "", w, h, w, h);
	if (p->title) {
		mlp_buf_adds(out, "<title>");
		mlp_xml_escape(out, p->title);
		mlp_buf_adds(out, "</title>\n");
	}
	svg_chart(out, p, width, height);
	mlp_buf_adds(out, "</svg>\n");
}

void mlp_plot_svg_stack(struct mlp_buf *out, const struct mlp_plot *plots, size_t n,
			unsigned width, unsigned height)
{
	unsigned w = width < 160 ? 160 : width, total = 0, *hs = mlp_calloc(n ? n : 1, sizeof(*hs));

	for (size_t i = 0; i < n; i++)
		total += hs[i] = svg_height(&plots[i], width, height);
	mlp_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	mlp_buf_addf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" role=\"img\">\n",
		     w, total, w, total);
	total = 0;
	for (size_t i = 0; i < n; i++) {
		mlp_buf_addf(out, "<g class=\"chart\" transform=\"translate(0 %u)\">\n", total);
		svg_chart(out, &plots[i], width, height);
		mlp_buf_adds(out, "</g>\n");
		total += hs[i];
	}
	mlp_buf_adds(out, "</svg>\n");
	free(hs);
}

/* ---- braille ------------------------------------------------------------ */

/* Dot bits of a braille cell, [column][row]. */
static const unsigned char braille_bit[2][4] = {
	{ 0x01, 0x02, 0x04, 0x40 },
	{ 0x08, 0x10, 0x20, 0x80 },
};

struct canvas {
	size_t w, h;		/* cells */
	unsigned char *dots;	/* w * h braille bit sets */
	signed char *owner;	/* line that drew last in the cell, -1 none */
	char *tag;		/* legend letter shown instead of the dots, or 0 */
};

static void set_dot(struct canvas *c, long x, long y, int line)
{
	size_t cx, cy;

	if (x < 0 || y < 0 || (size_t)x >= c->w * 2 || (size_t)y >= c->h * 4)
		return;
	cx = (size_t)x / 2;
	cy = (size_t)y / 4;
	c->dots[cy * c->w + cx] |= braille_bit[x % 2][y % 4];
	c->owner[cy * c->w + cx] = (signed char)line;
}

/* Bresenham between two dots. */
static void draw_segment(struct canvas *c, long x0, long y0, long x1, long y1, int line)
{
	long dx = labs(x1 - x0), dy = -labs(y1 - y0);
	long sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;

	for (;;) {
		set_dot(c, x0, y0, line);
		if (x0 == x1 && y0 == y1)
			break;
		long e2 = 2 * err;
		if (e2 >= dy)
			err += dy, x0 += sx;
		if (e2 <= dx)
			err += dx, y0 += sy;
	}
}

/*
 * Puts a legend letter at a cell, or, when another line's letter is
 * there already (lines that end or cross at the same point), at the
 * nearest free cell to the left or right, then above or below.
 */
static void place_tag(struct canvas *c, long cx, long cy, char letter)
{
	static const int off[][2] = { { 0, 0 }, { -1, 0 }, { 1, 0 }, { -2, 0 }, { 2, 0 },
				      { 0, -1 }, { 0, 1 }, { -1, -1 }, { -1, 1 } };

	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		long x = cx + off[i][0], y = cy + off[i][1];
		if (x < 0 || y < 0 || (size_t)x >= c->w || (size_t)y >= c->h)
			continue;
		if (c->tag[(size_t)y * c->w + (size_t)x])
			continue;
		c->tag[(size_t)y * c->w + (size_t)x] = letter;
		return;
	}
}

static void add_braille(struct mlp_buf *b, unsigned bits)
{
	unsigned cp = 0x2800 + bits;

	mlp_buf_addch(b, (char)(0xe0 | (cp >> 12)));
	mlp_buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
	mlp_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
}

static void pad_to(struct mlp_buf *b, size_t have, size_t want)
{
	for (; have < want; have++)
		mlp_buf_addch(b, ' ');
}

void mlp_plot_braille(struct mlp_buf *out, const struct mlp_plot *p, unsigned width,
		      unsigned height, int color)
{
	double ymin, ymax;
	int64_t xmin, xmax;
	struct mlp_buf lo = MLP_BUF_INIT, hi = MLP_BUF_INIT, xl = MLP_BUF_INIT, xr = MLP_BUF_INIT;
	size_t lw, cw, ch, pxw, pxh;
	struct canvas c;
	int empty;
	size_t nlines = p->nlines > 52 ? 52 : p->nlines;	/* letters a-z, A-Z */

	if (width < 20)
		width = 20;
	if (height < 2)
		height = 2;
	empty = mlp_plot_bounds(p, &ymin, &ymax, &xmin, &xmax) < 0;
	if (ymax == ymin) {
		double d = fabs(ymin) * 0.1;
		if (d == 0)
			d = 1;
		ymin -= d;
		ymax += d;
	}
	mlp_format_number(&hi, ymax);
	mlp_format_number(&lo, ymin);
	lw = hi.len > lo.len ? hi.len : lo.len;
	if (lw + 2 + 4 > width)
		lw = width - 6;
	cw = width - lw - 2;
	ch = height;
	pxw = cw * 2;
	pxh = ch * 4;
	c.w = cw;
	c.h = ch;
	c.dots = mlp_calloc(cw * ch, 1);
	c.owner = mlp_calloc(cw * ch, 1);
	c.tag = mlp_calloc(cw * ch, 1);
	memset(c.owner, -1, cw * ch);

	for (size_t l = 0; l < nlines && !empty; l++) {
		const struct mlp_plot_line *ln = &p->lines[l];
		size_t *idx = mlp_calloc(pxw * 2 + 2, sizeof(*idx));
		size_t k = mlp_downsample(idx, ln->n, pxw * 2 + 2);
		long px = 0, py = 0;
		int pen = 0;
		size_t nfin = 0, seen = 0;
		long tagx[2] = { -1, -1 }, tagy[2] = { -1, -1 };

		for (size_t j = 0; j < k; j++)
			nfin += isfinite(ln->y[idx[j]]) != 0;
		for (size_t j = 0; j < k; j++) {
			double v = ln->y[idx[j]];
			long x, y;
			if (!isfinite(v)) {
				pen = 0;
				continue;
			}
			x = xmax > xmin ? lround((double)(ln->x[idx[j]] - xmin) / (double)(xmax - xmin) * (double)(pxw - 1)) : (long)(pxw / 2);
			y = lround((ymax - v) / (ymax - ymin) * (double)(pxh - 1));
			if (pen)
				draw_segment(&c, px, py, x, y, (int)l);
			else
				set_dot(&c, x, y, (int)l);
			px = x, py = y, pen = 1;
			seen++;
			if (seen == (nfin + 1) / 2)
				tagx[0] = x, tagy[0] = y;
			if (seen == nfin)
				tagx[1] = x, tagy[1] = y;
		}
		if (!color)
			for (int t = 0; t < 2; t++)
				if (tagx[t] >= 0)
					place_tag(&c, tagx[t] / 2, tagy[t] / 4, (char)(l < 26 ? 'a' + l : 'A' + l - 26));
		free(idx);
	}

	if (p->title) {
		term_text(out, p->title, width);
		mlp_buf_addch(out, '\n');
	}
	for (size_t r = 0; r < ch; r++) {
		const struct mlp_buf *lab = r == 0 ? &hi : r + 1 == ch ? &lo : NULL;
		size_t used = 0;
		if (lab)
			used = term_text(out, lab->buf, lw);
		pad_to(out, used, lw);
		mlp_buf_adds(out, lab ? " \xe2\x94\xa4" : " \xe2\x94\x82");	/* ┤ │ */
		int cur = -1, colored = 0;
		size_t line_end = out->len;
		for (size_t x = 0; x < cw; x++) {
			size_t i = r * cw + x;
			int want = color && c.dots[i] ? c.owner[i] : -1;
			if (want != cur) {
				mlp_buf_adds(out, want < 0 ? "\033[m" : ansi_colors[want % MLP_PLOT_NCOLORS]);
				cur = want;
				colored |= want >= 0;
			}
			if (c.tag[i])
				mlp_buf_addch(out, c.tag[i]);
			else if (c.dots[i])
				add_braille(out, c.dots[i]);
			else
				mlp_buf_addch(out, ' ');
			if (c.dots[i] || c.tag[i])
				line_end = out->len;
		}
		out->len = line_end;	/* no trailing blanks */
		out->buf[out->len] = '\0';
		if (colored)
			mlp_buf_adds(out, "\033[m");
		mlp_buf_addch(out, '\n');
	}
	/* x axis: └──── and the first and last step under its ends */
	pad_to(out, 0, lw);
	mlp_buf_adds(out, " \xe2\x94\x94");
	for (size_t x = 0; x < cw; x++)
		mlp_buf_adds(out, "\xe2\x94\x80");
	mlp_buf_addch(out, '\n');
	if (!empty) {
		mlp_buf_addf(&xl, "%lld", (long long)xmin);
		mlp_buf_addf(&xr, "%lld", (long long)xmax);
		pad_to(out, 0, lw + 2);
		mlp_buf_adds(out, xl.buf);
		if (xmax != xmin && xl.len + 1 + xr.len <= cw) {
			pad_to(out, xl.len, cw - xr.len);
			mlp_buf_adds(out, xr.buf);
		}
		mlp_buf_addch(out, '\n');
	} else {
		pad_to(out, 0, lw + 2);
		mlp_buf_adds(out, "no data\n");
	}
	/* legend */
	for (size_t l = 0; l < nlines; l++) {
		const struct mlp_plot_line *ln = &p->lines[l];
		size_t used;
		if (!ln->label)
			continue;
		pad_to(out, 0, lw + 2);
		if (color) {
			mlp_buf_adds(out, ansi_colors[(unsigned)ln->color % MLP_PLOT_NCOLORS]);
			mlp_buf_adds(out, "\xe2\x94\x81\xe2\x94\x81\033[m ");	/* ━━ */
			used = lw + 2 + 3;
		} else {
			mlp_buf_addf(out, "%c: ", (char)(l < 26 ? 'a' + l : 'A' + l - 26));
			used = lw + 2 + 3;
		}
		if (used < width)
			term_text(out, ln->label, width - used);
		mlp_buf_addch(out, '\n');
	}
	if (p->nlines > nlines) {
		pad_to(out, 0, lw + 2);
		mlp_buf_addf(out, "(%zu more lines not drawn)\n", p->nlines - nlines);
	}
	free(c.dots);
	free(c.owner);
	free(c.tag);
	mlp_buf_release(&lo);
	mlp_buf_release(&hi);
	mlp_buf_release(&xl);
	mlp_buf_release(&xr);
}
