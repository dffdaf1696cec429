/* plot: line charts in braille dots or ASCII points. */
#include "plot.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

/* A grid of dots: 2 x 4 per cell with braille, 1 x 1 otherwise. */
struct plot_grid {
	int w, h;		/* cells */
	int dots_w, dots_h;
	bool braille;
	unsigned char bits[PLOT_MAX_W * PLOT_MAX_H];	/* braille dots, or series bits */
	unsigned char *owner;
};

static void plot_dot(struct plot_grid *g, int dx, int dy, int series)
{
	/* Braille dot bits by (column, row) within a cell, per Unicode's dot
	 * numbering: dots 1-3 and 7 on the left, 4-6 and 8 on the right. */
	static const unsigned char dot_bit[2][4] = {
		{ 0x01, 0x02, 0x04, 0x40 },
		{ 0x08, 0x10, 0x20, 0x80 },
	};
	int cx = g->braille ? dx / 2 : dx;
	int cy = g->braille ? dy / 4 : dy;
	size_t i;

	if (cx < 0 || cx >= g->w || cy < 0 || cy >= g->h)
		return;
	i = (size_t)cy * (size_t)g->w + (size_t)cx;
	if (g->braille)
		g->bits[i] |= dot_bit[dx % 2][dy % 4];
	else
		g->bits[i] |= (unsigned char)(1u << series);
	g->owner[i] = (unsigned char)(1 + series);
}

/* Draws column x of the segment from (x0, y0) to (x1, y1), x0 < x <= x1:
 * every dot between the line's heights at x - 1 and x, so a steep segment
 * stays connected. */
static void plot_segment_column(struct plot_grid *g, int x0, int y0, int x1, int y1,
				int x, int series)
{
	double slope = (double)(y1 - y0) / (x1 - x0);
	int prev = y0 + (int)lround(slope * (x - 1 - x0));
	int cur = y0 + (int)lround(slope * (x - x0));
	int from = prev < cur ? prev : cur;
	int to = prev < cur ? cur : prev;

	/* The previous column already has the dot at prev. */
	if (from == prev && from < to)
		from++;
	else if (to == prev && from < to)
		to--;
	for (int y = from; y <= to; y++)
		plot_dot(g, x, y, series);
}

static void plot_series(struct plot_grid *g, const double *v, size_t n, double lo, double hi,
			int series)
{
	bool have_prev = false;
	int px = 0, py = 0;

	for (size_t i = 0; i < n; i++) {
		double value = v[i];
		int x, y;

		if (isnan(value)) {
			have_prev = false;
			continue;
		}
		value = fmin(hi, fmax(lo, value));
		x = n > 1 ? (int)lround((double)i * (g->dots_w - 1) / (double)(n - 1)) : 0;
		y = (int)lround((hi - value) / (hi - lo) * (g->dots_h - 1));

		if (have_prev && x > px) {
			for (int xi = px + 1; xi <= x; xi++)
				plot_segment_column(g, px, py, x, y, xi, series);
		} else {
			plot_dot(g, x, y, series);
		}
		px = x;
		py = y;
		have_prev = true;
	}
}

int plot_render(const double *const series[PLOT_SERIES], size_t n, double lo, double hi,
		int w, int h, int braille, wchar_t *cells, unsigned char *owner)
{
	static const wchar_t ascii_point[4] = { L' ', L'*', L'o', L'+' };
	struct plot_grid g;
	size_t n_cells = (size_t)w * (size_t)h;

	if (w < 1 || w > PLOT_MAX_W || h < 1 || h > PLOT_MAX_H || !(hi > lo))
		return -1;
	g.w = w;
	g.h = h;
	g.braille = braille != 0;
	g.dots_w = g.braille ? 2 * w : w;
	g.dots_h = g.braille ? 4 * h : h;
	g.owner = owner;
	memset(g.bits, 0, n_cells);
	memset(owner, 0, n_cells);

	for (int s = 0; s < PLOT_SERIES; s++)
		if (series[s])
			plot_series(&g, series[s], n, lo, hi, s);

	for (size_t i = 0; i < n_cells; i++) {
		if (g.braille)
			cells[i] = g.bits[i] ? (wchar_t)(0x2800 + g.bits[i]) : L' ';
		else
			cells[i] = ascii_point[g.bits[i]];
	}
	return 0;
}
