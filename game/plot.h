/* plot: line charts drawn with characters. plot_render() fills a grid of
 * cells that the UI copies to the screen. It does not use curses, so
 * tests can read its output directly. */
#ifndef TTYPONG_PLOT_H
#define TTYPONG_PLOT_H

#include <stddef.h>
#include <wchar.h>

/* The largest grid plot_render() fills, in cells. */
#define PLOT_MAX_W 128
#define PLOT_MAX_H 24
#define PLOT_SERIES 2

/* Renders up to PLOT_SERIES series of n values each as line charts into a
 * grid of w x h cells. series[s] may be NULL to skip series s.
 *
 * Output, row-major: cells gets w * h wide characters and owner w * h
 * bytes, 0 for an empty cell, else 1 + the index of the series drawn last
 * there. With braille set, each cell holds 2 x 4 dots of the Unicode braille
 * block (U+2800 to U+28FF) and an empty cell is a space. Without it each
 * cell is one point: '*' for series 0, 'o' for series 1, '+' where both meet.
 *
 * Scale: values map linearly from [lo, hi] to the bottom and top dot rows
 * and are clamped to that range. NaN leaves a gap in the line. The n points
 * spread evenly across the width, and neighbouring points are joined.
 *
 * Returns 0, or -1 (output untouched) when w or h is outside 1..PLOT_MAX_W
 * or 1..PLOT_MAX_H, or when hi <= lo. */
int plot_render(const double *const series[PLOT_SERIES], size_t n, double lo, double hi,
		int w, int h, int braille, wchar_t *cells, unsigned char *owner);

#endif
