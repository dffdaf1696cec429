/* Tests of the character line charts of the training panel. */
#include <criterion/criterion.h>
#include <math.h>
#include <wchar.h>

#include "plot.h"

#define W 8
#define H 2

static int count_set(const unsigned char *owner, int n, int series)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += owner[i] == series + 1;
	return c;
}

Test(plot, ascii_rising_line)
{
	double v[W] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	const double *s[2] = { v, NULL };
	wchar_t cells[W * 4];
	unsigned char owner[W * 4];

	plot_render(s, W, 0, 7, W, 4, 0, cells, owner);
	cr_assert_eq(cells[3 * W + 0], L'*', "first point not in the bottom-left cell");
	cr_assert_eq(cells[0 * W + W - 1], L'*', "last point not in the top-right cell");
	cr_assert_eq(cells[0], L' ', "top-left cell should be empty");
	for (int c = 0; c < W; c++) {
		int points = 0;

		for (int r = 0; r < 4; r++)
			points += cells[r * W + c] == L'*';
		cr_assert_geq(points, 1, "column %d has no point", c);
	}
}

Test(plot, braille_cells_are_braille)
{
	double v[4] = { 1, 0.5, 0.25, 0 };
	const double *s[2] = { v, NULL };
	wchar_t cells[W * H];
	unsigned char owner[W * H];

	plot_render(s, 4, 0, 1, W, H, 1, cells, owner);
	for (int i = 0; i < W * H; i++) {
		if (owner[i])
			cr_assert(cells[i] > 0x2800 && cells[i] <= 0x28ff,
				  "cell %d is U+%04X, not a braille pattern with dots", i, (unsigned)cells[i]);
		else
			cr_assert_eq(cells[i], L' ', "empty cell %d is not a space", i);
	}
	/* Value 1 is the top dot row: dot 1 (bit 0x01) of the top-left cell. */
	cr_assert(cells[0] & 0x01, "the first value 1 is not at the top-left dot");
	/* Value 0 is the bottom dot row of the last column: dot 8 (0x80). */
	cr_assert(cells[(H - 1) * W + W - 1] & 0x80, "the last value 0 is not at the bottom-right dot");
}

Test(plot, nan_leaves_gap)
{
	double v[W] = { 0.5, 0.5, 0.5, NAN, NAN, 0.5, 0.5, 0.5 };
	const double *s[2] = { v, NULL };
	wchar_t cells[W];
	unsigned char owner[W];

	plot_render(s, W, 0, 1, W, 1, 0, cells, owner);
	cr_assert_eq(cells[3], L' ', "NaN at index 3 was drawn");
	cr_assert_eq(cells[4], L' ', "NaN at index 4 was drawn");
	cr_assert_eq(cells[2], L'*', "point before the gap missing");
	cr_assert_eq(cells[5], L'*', "point after the gap missing");
}

Test(plot, two_series_and_overlap)
{
	double a[W] = { 0, 0, 0, 0, 1, 1, 1, 1 };
	double b[W] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	const double *s[2] = { a, b };
	wchar_t cells[W * H];
	unsigned char owner[W * H];

	plot_render(s, W, 0, 1, W, H, 0, cells, owner);
	cr_assert_eq(cells[0 * W + 0], L'o', "series 1 alone should draw 'o'");
	cr_assert_eq(cells[1 * W + 0], L'*', "series 0 alone should draw '*'");
	cr_assert_eq(cells[0 * W + 7], L'+', "both series in one cell should draw '+'");
	cr_assert_eq(owner[0 * W + 7], 2, "the series drawn last should own the cell");
	cr_assert_eq(count_set(owner, W * H, 1), W, "series 1 should own its whole row");
}

Test(plot, values_clamped_to_range)
{
	double v[2] = { -5, 99 };
	const double *s[2] = { v, NULL };
	wchar_t cells[2 * 3];
	unsigned char owner[2 * 3];

	plot_render(s, 2, 0, 1, 2, 3, 0, cells, owner);
	cr_assert_eq(cells[2 * 2 + 0], L'*', "a value below lo is not on the bottom row");
	cr_assert_eq(cells[0 * 2 + 1], L'*', "a value above hi is not on the top row");
}

Test(plot, single_point)
{
	double v[1] = { 0.5 };
	const double *s[2] = { v, NULL };
	wchar_t cells[W * H];
	unsigned char owner[W * H];

	plot_render(s, 1, 0, 1, W, H, 1, cells, owner);
	cr_assert_eq(count_set(owner, W * H, 0), 1, "one value should set one cell");
	cr_assert(owner[0] || owner[W], "the value is not in the first column");
}

Test(plot, steep_segment_connected)
{
	double v[2] = { 0, 1 };
	const double *s[2] = { v, NULL };
	wchar_t cells[2 * 8];
	unsigned char owner[2 * 8];

	cr_assert_eq(plot_render(s, 2, 0, 1, 2, 8, 0, cells, owner), 0, "valid chart rejected");
	cr_assert_eq(cells[7 * 2 + 0], L'*', "first point not at the bottom of column 0");
	for (int r = 0; r < 7; r++)
		cr_assert_eq(cells[r * 2 + 1], L'*', "row %d of column 1 breaks the line", r);
	cr_assert_eq(cells[7 * 2 + 1], L' ', "column 1 repeats the bottom point of column 0");
}

Test(plot, rejects_bad_arguments)
{
	double v[2] = { 0, 1 };
	const double *s[2] = { v, NULL };
	wchar_t cells[4];
	unsigned char owner[4] = { 9, 9, 9, 9 };

	cr_assert_eq(plot_render(s, 2, 0, 1, 0, 2, 0, cells, owner), -1, "width 0 accepted");
	cr_assert_eq(plot_render(s, 2, 0, 1, 2, PLOT_MAX_H + 1, 0, cells, owner), -1,
		     "height above PLOT_MAX_H accepted");
	cr_assert_eq(plot_render(s, 2, 1, 1, 2, 2, 0, cells, owner), -1, "hi == lo accepted");
	cr_assert_eq(owner[0], 9, "a rejected call wrote its output");
}
