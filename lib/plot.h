/*
 * Line charts of metric series: readable axis ticks, downsampling and
 * resampling, a terminal renderer (Unicode braille) and an SVG renderer
 * (standalone files and charts inlined in HTML reports).
 *
 * Ownership: a struct mlp_plot only borrows its series (labels, steps,
 * values); the renderers append to a caller-owned struct mlp_buf and keep
 * nothing.  Every text that comes from a run (labels, titles) is treated
 * as untrusted: SVG output escapes it, terminal output drops control
 * characters.
 */
#ifndef MLP_PLOT_H
#define MLP_PLOT_H

#include "mlp.h"

/* Colours given to series in order (SVG and the HTML report). */
#define MLP_PLOT_NCOLORS 10
extern const char *const mlp_plot_colors[MLP_PLOT_NCOLORS];

struct mlp_plot_line {
	const char *label;	/* legend text; NULL: no legend entry */
	const int64_t *x;	/* steps, ascending */
	const double *y;	/* NaN and infinities are gaps */
	size_t n;
	int color;		/* index into mlp_plot_colors (mod MLP_PLOT_NCOLORS) */
};

struct mlp_plot {
	const char *title;	/* may be NULL */
	const char *xlabel;	/* "step" when NULL */
	const struct mlp_plot_line *lines;
	size_t nlines;
};

/*
 * "Nice" ticks covering [lo, hi]: steps of 1, 2 or 5 times a power of ten,
 * about `target` of them.  Sets *first (a multiple of *step, <= lo) and
 * *step, and returns the number of ticks (first + i * step, up to the
 * first tick >= hi).  A degenerate range (lo == hi, not finite) is
 * widened first.
 */
size_t mlp_nice_ticks(double lo, double hi, size_t target, double *first, double *step);

/*
 * Picks at most `max` indices of 0..n-1, evenly spread, always keeping the
 * first and the last; writes them ascending into idx (room for `max`) and
 * returns how many (n when n <= max).
 */
size_t mlp_downsample(size_t *idx, size_t n, size_t max);

/*
 * The value of a series at `at` by linear interpolation between its
 * neighbouring finite points; NaN outside [x[0], x[n-1]] or when a
 * neighbour is missing.
 */
double mlp_series_interp(const int64_t *x, const double *y, size_t n, double at);

/*
 * The points of a series sorted by step (a stable sort, so points logged
 * twice at one step keep their order), copied into *x and *y (free both;
 * both NULL for an empty series).
 */
void mlp_series_sorted(const struct mlp_series *s, int64_t **x, double **y);

/* The finite y range and x range of the plot's lines; 0, or -1 when empty. */
int mlp_plot_bounds(const struct mlp_plot *p, double *ymin, double *ymax,
		    int64_t *xmin, int64_t *xmax);

/* Appends `s` with & < > " ' as entities and control characters dropped. */
void mlp_xml_escape(struct mlp_buf *out, const char *s);

/*
 * The chart as an SVG <svg> element of width x height pixels: title,
 * axes with nice ticks, one <path class="series"> per line that has
 * points, and a legend.  With `standalone` an XML declaration and the
 * namespace make it a file of its own.
 */
void mlp_plot_svg(struct mlp_buf *out, const struct mlp_plot *p, unsigned width,
		  unsigned height, int standalone);
/* Several charts stacked in one standalone SVG file, each width x height. */
void mlp_plot_svg_stack(struct mlp_buf *out, const struct mlp_plot *plots, size_t n,
			unsigned width, unsigned height);

/*
 * The chart for a terminal: `width` columns in all (at least 20), `height`
 * rows of plot area (at least 2), drawn with braille dots (2x4 per cell).
 * With `color` each line gets an ANSI colour (where lines cross, the later
 * one wins the cell); without, each line is tagged with its legend letter
 * (a, b, ...) near its middle and its end.  Then the x axis with the
 * first and last step, and a legend line per line.
 */
void mlp_plot_braille(struct mlp_buf *out, const struct mlp_plot *p, unsigned width,
		      unsigned height, int color);

#endif
