/* Tests of the matrix kernels: every kernel against a double-precision
 * reference on odd and network-sized shapes, every vector version against the
 * plain C one, aligned and unaligned, and Adam against numbers from TF.js. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "rng.h"

/* Floats written past the end of every output, which must stay untouched. */
#define GUARD 19
#define GUARD_VALUE 12345.0f

enum op { OP_BIAS, OP_BIAS_RELU, OP_NOBIAS, OP_TN, OP_NT, OP_COLSUM, OP_COUNT };

static const char *const op_names[OP_COUNT] = {
	"gemm_bias", "gemm_bias_relu", "gemm_bias(NULL)", "gemm_tn", "gemm_nt", "col_sum",
};

static const int dims[] = { 1, 3, 5, 6, 17, 63, 64, 65, 130 };
#define NDIMS ((int)(sizeof dims / sizeof dims[0]))

/* Returns an array of n floats starting offset floats past a 64-byte boundary.
 * Free it with free_buf(p, offset). */
static float *alloc_buf(size_t n, int offset)
{
	float *base = aligned_alloc(64, ((n + (size_t)offset) * sizeof(float) + 63) / 64 * 64 + 64);

	cr_assert_not_null(base, "out of memory for %zu floats", n);
	return base + offset;
}

static void free_buf(float *p, int offset)
{
	free(p - offset);
}

static void fill(struct rng *r, float *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = 2.0f * rng_uniform_f(r) - 1.0f;
}

/* Shapes of the operands of op for the triple (m, n, k). */
static void shapes(enum op op, int m, int n, int k, size_t *na, size_t *nb, size_t *nc)
{
	switch (op) {
	case OP_TN:
		*na = (size_t)m * k, *nb = (size_t)m * n, *nc = (size_t)k * n;
		break;
	case OP_NT:
		*na = (size_t)m * n, *nb = (size_t)k * n, *nc = (size_t)m * k;
		break;
	case OP_COLSUM:
		*na = (size_t)m * n, *nb = 0, *nc = (size_t)n;
		break;
	default:
		*na = (size_t)m * k, *nb = (size_t)k * n, *nc = (size_t)m * n;
		break;
	}
}

/* Computes op in double into ref, and in err a bound on each element's float
 * rounding error: (terms + 2) * FLT_EPSILON * sum of |terms|. */
static void reference(enum op op, int m, int n, int k, const float *a, const float *b,
		      const float *bias, double *ref, double *err)
{
	int rows = op == OP_NT ? m : op == OP_TN ? k : op == OP_COLSUM ? 1 : m;
	int cols = op == OP_NT ? k : n;
	int terms = op == OP_TN || op == OP_COLSUM ? m : op == OP_NT ? n : k;

	for (int i = 0; i < rows; i++) {
		for (int j = 0; j < cols; j++) {
			double sum = 0, mag = 0;

			if (op == OP_BIAS || op == OP_BIAS_RELU) {
				sum = bias[j];
				mag = fabs(bias[j]);
			}
			for (int p = 0; p < terms; p++) {
				double x;

				switch (op) {
				case OP_TN:
					x = (double)a[(size_t)p * k + i] * b[(size_t)p * n + j];
					break;
				case OP_NT:
					x = (double)a[(size_t)i * n + p] * b[(size_t)j * n + p];
					break;
				case OP_COLSUM:
					x = a[(size_t)p * n + j];
					break;
				default:
					x = (double)a[(size_t)i * k + p] * b[(size_t)p * n + j];
					break;
				}
				sum += x;
				mag += fabs(x);
			}
			if (op == OP_BIAS_RELU && !(sum > 0))
				sum = 0;
			ref[(size_t)i * cols + j] = sum;
			err[(size_t)i * cols + j] = (terms + 2) * FLT_EPSILON * mag + 1e-30;
		}
	}
}

static void run(enum op op, int m, int n, int k, const float *a, const float *b,
		const float *bias, float *c)
{
	switch (op) {
	case OP_BIAS:
		kern_gemm_bias(m, n, k, a, b, bias, c);
		break;
	case OP_BIAS_RELU:
		kern_gemm_bias_relu(m, n, k, a, b, bias, c);
		break;
	case OP_NOBIAS:
		kern_gemm_bias(m, n, k, a, b, NULL, c);
		break;
	case OP_TN:
		kern_gemm_tn(m, n, k, a, b, c);
		break;
	case OP_NT:
		kern_gemm_nt(m, n, k, a, b, c);
		break;
	default:
		kern_col_sum(m, n, a, c);
		break;
	}
}

/* Checks one kernel on one shape for every available version, against the
 * reference and against the plain C result. */
static void check_shape(struct rng *r, enum op op, int m, int n, int k, int offset)
{
	size_t na, nb, nc;
	float *a, *b, *bias, *c, *plain;
	double *ref, *err;

	shapes(op, m, n, k, &na, &nb, &nc);
	a = alloc_buf(na + 1, offset);
	b = alloc_buf(nb + 1, offset);
	bias = alloc_buf((size_t)n + 1, offset);
	c = alloc_buf(nc + GUARD, offset);
	plain = malloc(nc * sizeof *plain + 1);
	ref = malloc(nc * sizeof *ref + 1);
	err = malloc(nc * sizeof *err + 1);
	cr_assert(plain && ref && err, "out of memory for %zu outputs", nc);
	fill(r, a, na);
	fill(r, b, nb);
	fill(r, bias, (size_t)n);
	reference(op, m, n, k, a, b, bias, ref, err);

	for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
		if (kern_set_isa(isa) != 0)
			continue;
		for (size_t i = 0; i < nc + GUARD; i++)
			c[i] = i < nc ? NAN : GUARD_VALUE;
		run(op, m, n, k, a, b, bias, c);

		for (size_t i = 0; i < nc; i++)
			cr_assert(fabs(c[i] - ref[i]) <= err[i],
				  "%s %s m=%d n=%d k=%d offset=%d: element %zu is %.9g, reference %.9g",
				  op_names[op], kern_isa_name(isa), m, n, k, offset, i, c[i], ref[i]);
		for (size_t i = nc; i < nc + GUARD; i++)
			cr_assert_eq(c[i], GUARD_VALUE, "%s %s m=%d n=%d k=%d: wrote past the output at %zu",
				     op_names[op], kern_isa_name(isa), m, n, k, i);
		if (isa == KERN_ISA_C)
			memcpy(plain, c, nc * sizeof *c);
		for (size_t i = 0; i < nc; i++)
			cr_assert(fabs(c[i] - plain[i]) <= 2 * err[i],
				  "%s %s m=%d n=%d k=%d: element %zu is %.9g, plain C %.9g",
				  op_names[op], kern_isa_name(isa), m, n, k, i, c[i], plain[i]);
	}

	free_buf(a, offset);
	free_buf(b, offset);
	free_buf(bias, offset);
	free_buf(c, offset);
	free(plain);
	free(ref);
	free(err);
}

static void check_op(enum op op, int offset)
{
	struct rng r;

	rng_seed(&r, 1000 + op);
	for (int x = 0; x < NDIMS; x++)
		for (int y = 0; y < NDIMS; y++)
			for (int z = 0; z < NDIMS; z++)
				check_shape(&r, op, dims[x], dims[y], dims[z], offset);
}

Test(kern, gemm_bias_aligned) { check_op(OP_BIAS, 0); }
Test(kern, gemm_bias_unaligned) { check_op(OP_BIAS, 1); }
Test(kern, gemm_bias_relu_aligned) { check_op(OP_BIAS_RELU, 0); }
Test(kern, gemm_bias_relu_unaligned) { check_op(OP_BIAS_RELU, 3); }
Test(kern, gemm_null_bias) { check_op(OP_NOBIAS, 1); }
Test(kern, gemm_tn_aligned) { check_op(OP_TN, 0); }
Test(kern, gemm_tn_unaligned) { check_op(OP_TN, 1); }
Test(kern, gemm_nt_aligned) { check_op(OP_NT, 0); }
Test(kern, gemm_nt_unaligned) { check_op(OP_NT, 2); }
Test(kern, col_sum_aligned) { check_op(OP_COLSUM, 0); }
Test(kern, col_sum_unaligned) { check_op(OP_COLSUM, 1); }

Test(kern, empty_sums_give_bias_or_zero)
{
	float bias[5] = { 1, -2, 3, -4, 5 };
	float c[10], t[15];

	for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
		if (kern_set_isa(isa) != 0)
			continue;
		kern_gemm_bias(2, 5, 0, NULL, NULL, bias, c);
		for (int i = 0; i < 10; i++)
			cr_assert_eq(c[i], bias[i % 5], "%s: k=0 gave %g at %d", kern_isa_name(isa), c[i], i);
		kern_gemm_bias_relu(2, 5, 0, NULL, NULL, bias, c);
		for (int i = 0; i < 10; i++)
			cr_assert_eq(c[i], bias[i % 5] > 0 ? bias[i % 5] : 0, "%s: relu of k=0 gave %g at %d",
				     kern_isa_name(isa), c[i], i);
		kern_gemm_tn(0, 5, 3, NULL, NULL, t);
		for (int i = 0; i < 15; i++)
			cr_assert_eq(t[i], 0.0f, "%s: gemm_tn with m=0 gave %g at %d", kern_isa_name(isa), t[i], i);
		memset(t, 0xff, sizeof t);
		kern_gemm_nt(3, 0, 5, NULL, NULL, t);
		for (int i = 0; i < 15; i++)
			cr_assert_eq(t[i], 0.0f, "%s: gemm_nt with n=0 gave %g at %d", kern_isa_name(isa), t[i], i);
	}
}

/* TF.js's relu gradient is dy * step(x): 1 above 0, 0 at or below, NaN for
 * NaN. 40 elements reach the vector loops and the scalar tail. */
Test(kern, relu_grad_follows_tfjs_step)
{
	static const float ys[5] = { 1.0f, 0.0f, -2.0f, -0.0f, NAN };
	float y[40], g[40], out[40];

	for (int i = 0; i < 40; i++) {
		y[i] = ys[i % 5];
		g[i] = i % 7 == 2 ? INFINITY : (float)(i + 1);
	}
	for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
		if (kern_set_isa(isa) != 0)
			continue;
		memcpy(out, g, sizeof out);
		kern_relu_grad(40, y, NULL, out);
		for (int i = 0; i < 40; i++) {
			if (isnan(y[i]) || (isinf(g[i]) && !(y[i] > 0)))
				cr_assert(isnan(out[i]), "%s: element %d (y %g, dy %g) gave %g, expected NaN",
					  kern_isa_name(isa), i, y[i], g[i], out[i]);
			else
				cr_assert_eq(out[i], y[i] > 0 ? g[i] : 0.0f,
					     "%s: element %d (y %g, dy %g) gave %g", kern_isa_name(isa), i,
					     y[i], g[i], out[i]);
		}
	}
}

/* The fused ReLU must keep NaN, as tf.relu does, and turn -0 into +0 as
 * Math.max(0, -0) does, in every tile shape of every version. */
Test(kern, gemm_bias_relu_keeps_nan)
{
	enum { M = 6, N = 70, K = 3 };
	float a[M * K], b[K * N], bias[N], c[M * N], z[2 * N];

	for (int i = 0; i < M * K; i++)
		a[i] = (float)(i % 5) - 2.0f;
	a[2 * K + 1] = NAN;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)((i * 7) % 11) - 5.0f;
	for (int j = 0; j < N; j++)
		bias[j] = j % 2 ? -0.0f : 0.5f;
	for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
		if (kern_set_isa(isa) != 0)
			continue;
		kern_gemm_bias_relu(M, N, K, a, b, bias, c);
		for (int i = 0; i < M * N; i++) {
			if (i / N == 2)
				cr_assert(isnan(c[i]), "%s: row with a NaN input gave %g at column %d",
					  kern_isa_name(isa), c[i], i % N);
			else
				cr_assert(c[i] >= 0.0f && !signbit(c[i]),
					  "%s: relu gave %g at row %d column %d", kern_isa_name(isa), c[i],
					  i / N, i % N);
		}
		kern_gemm_bias_relu(2, N, 0, NULL, NULL, bias, z);
		for (int j = 0; j < 2 * N; j++)
			cr_assert(!signbit(z[j]), "%s: relu(-0) kept the sign at %d", kern_isa_name(isa), j);
	}
}

Test(kern, relu_grad_versions_agree)
{
	struct rng r;
	float y[70], mask[70], g[70], plain[70], out[70];

	rng_seed(&r, 5);
	for (int n = 0; n <= 70; n += 1 + n / 6) {
		for (int use_mask = 0; use_mask < 2; use_mask++) {
			fill(&r, y, 70);
			fill(&r, g, 70);
			for (int i = 0; i < 70; i++)
				mask[i] = rng_uniform_f(&r) < 0.5f ? 2.0f : 0.0f;
			for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
				if (kern_set_isa(isa) != 0)
					continue;
				memcpy(out, g, sizeof out);
				kern_relu_grad(n, y, use_mask ? mask : NULL, out);
				if (isa == KERN_ISA_C)
					memcpy(plain, out, sizeof out);
				for (int i = 0; i < 70; i++) {
					float want = i >= n ? g[i] : y[i] > 0 ? g[i] * (use_mask ? mask[i] : 1) : 0;

					cr_assert_eq(out[i], want, "%s n=%d mask=%d: element %d is %g, expected %g",
						     kern_isa_name(isa), n, use_mask, i, out[i], want);
					cr_assert_eq(out[i], plain[i], "%s n=%d: element %d differs from plain C",
						     kern_isa_name(isa), n, i);
				}
			}
		}
	}
}

Test(kern, masked_div_versions_agree)
{
	float x[70], y[70], want[70];
	unsigned char keep[70];
	struct rng r;

	rng_seed(&r, 11);
	fill(&r, x, 70);
	x[5] = INFINITY;
	x[6] = -INFINITY;
	x[7] = NAN;
	for (int i = 0; i < 70; i++)
		keep[i] = (unsigned char)(rng_below(&r, 3) == 0 ? 0 : 1 + rng_below(&r, 200));
	keep[5] = 0;
	keep[7] = 0;
	for (int n = 0; n <= 70; n += 1 + n / 7) {
		for (int i = 0; i < 70; i++)
			want[i] = i >= n ? -1.0f : keep[i] ? x[i] / 0.7f : 0.0f;
		for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
			if (kern_set_isa(isa) != 0)
				continue;
			for (int i = 0; i < 70; i++)
				y[i] = -1.0f;
			kern_masked_div(n, keep, 0.7f, x, y);
			for (int i = 0; i < 70; i++)
				cr_assert(memcmp(&y[i], &want[i], sizeof y[i]) == 0,
					  "%s n=%d: element %d is %g, expected %g (keep %d)",
					  kern_isa_name(isa), n, i, y[i], want[i], keep[i]);
		}
	}
}

Test(kern, masked_div_in_place)
{
	float x[33];
	unsigned char keep[33];

	for (int i = 0; i < 33; i++) {
		x[i] = (float)i;
		keep[i] = (unsigned char)(i % 3 != 0);
	}
	kern_masked_div(33, keep, 0.5f, x, x);
	for (int i = 0; i < 33; i++)
		cr_assert_eq(x[i], i % 3 != 0 ? (float)i / 0.5f : 0.0f, "element %d is %g", i, x[i]);
}

Test(kern, dropout_versions_identical)
{
	static const float rates[] = { 0.0f, 0.1f, 0.5f, 0.9f };
	float x[100], y[100], mask[100], plain_y[100], plain_mask[100];
	struct rng src;

	rng_seed(&src, 9);
	fill(&src, x, 100);
	for (int n = 0; n <= 100; n += 1 + n / 5) {
		for (int ri = 0; ri < 4; ri++) {
			uint64_t plain_next = 0;

			for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
				struct rng r;

				if (kern_set_isa(isa) != 0)
					continue;
				rng_seed(&r, 1234 + n);
				memset(y, 0, sizeof y);
				memset(mask, 0, sizeof mask);
				kern_dropout(&r, n, rates[ri], x, y, mask);
				if (isa == KERN_ISA_C) {
					memcpy(plain_y, y, sizeof y);
					memcpy(plain_mask, mask, sizeof mask);
					plain_next = rng_next(&r);
					continue;
				}
				cr_assert_eq(rng_next(&r), plain_next, "%s n=%d: used a different number of draws",
					     kern_isa_name(isa), n);
				for (int i = 0; i < n; i++) {
					cr_assert_eq(mask[i], plain_mask[i], "%s n=%d rate=%g: mask %d differs",
						     kern_isa_name(isa), n, rates[ri], i);
					cr_assert_eq(y[i], plain_y[i], "%s n=%d rate=%g: output %d differs",
						     kern_isa_name(isa), n, rates[ri], i);
				}
			}
		}
	}
}

Test(kern, dropout_keeps_expected_share)
{
	static float x[100000], y[100000], mask[100000];
	static const float rates[] = { 0.0f, 0.25f, 0.5f };

	for (int i = 0; i < 100000; i++)
		x[i] = (float)(i % 13) - 6.0f;
	for (int ri = 0; ri < 3; ri++) {
		float scale = 1.0f / (1.0f - rates[ri]);
		struct rng r;
		int kept = 0;

		rng_seed(&r, 3);
		kern_dropout(&r, 100000, rates[ri], x, y, mask);
		for (int i = 0; i < 100000; i++) {
			cr_assert(mask[i] == 0.0f || mask[i] == scale, "rate %g: mask %d is %g, expected 0 or %g",
				  rates[ri], i, mask[i], scale);
			cr_assert_eq(y[i], x[i] * mask[i], "rate %g: output %d is not input times mask",
				     rates[ri], i);
			kept += mask[i] != 0.0f;
		}
		cr_assert(fabs(kept / 100000.0 - (1.0 - rates[ri])) < 0.01,
			  "rate %g kept %d of 100000", rates[ri], kept);
	}
}

Test(kern, dropout_in_place)
{
	float x[40], copy[40], mask[40];
	struct rng r;

	for (int i = 0; i < 40; i++)
		x[i] = copy[i] = (float)i + 1.0f;
	rng_seed(&r, 8);
	kern_dropout(&r, 40, 0.5f, x, x, mask);
	for (int i = 0; i < 40; i++)
		cr_assert_eq(x[i], copy[i] * mask[i], "element %d is %g, expected %g", i, x[i], copy[i] * mask[i]);
}

Test(kern, set_isa_reports_choice)
{
	cr_assert_eq(kern_set_isa(KERN_ISA_C), 0, "plain C must always be available");
	cr_assert_eq(kern_isa(), KERN_ISA_C, "kern_isa is %s after choosing c", kern_isa_name(kern_isa()));
	cr_assert_eq(kern_set_isa((enum kern_isa)99), -1, "an unknown set was accepted");
	cr_assert_eq(kern_isa(), KERN_ISA_C, "a rejected choice changed the set to %s",
		     kern_isa_name(kern_isa()));
	cr_assert_str_eq(kern_isa_name(KERN_ISA_AVX512), "avx512", "name of AVX-512");
}

/* Seven weights after each of four Adam steps, printed by TF.js 4.22.0
 * (cpu backend, tf.train.adam(1e-3, 0.9, 0.999, 1e-7)) for these gradients. */
static const float adam_grad[4][7] = {
	{0.0f, 0.594998896f, -0.229986995f, -1.11097765f, 0.741170049f, 1.43727684f, -1.46973681f},
	{0.242441297f, 0.246427923f, -0.866441846f, -0.228595003f, 1.48781502f, -0.145272017f, -2.06627321f},
	{0.252789229f, -0.337901682f, -0.715488017f, 0.874762833f, 0.857375801f, -1.60345232f, -0.772281468f},
	{0.0123360027f, -0.62995398f, 0.0748942867f, 1.13386774f, -0.579718709f, -1.60581386f, 1.21335435f},
};
static const float adam_w0[7] = { 0.5f, -1.25f, 3.0f, 0.0f, -0.001f, 2.5e-4f, 7.0f };
static const float adam_tfjs[4][7] = {
	{0.5f, -1.25100005f, 3.00099993f, 0.000999993295f, -0.00199999334f, -0.000749993254f, 7.00099993f},
	{0.499255866f, -1.25190389f, 3.0018909f, 0.00180632481f, -0.00296477182f, -0.00134177646f, 7.00199461f},
	{0.498396665f, -1.2522254f, 3.00282764f, 0.00190934713f, -0.00392046291f, -0.00117298809f, 7.00291634f},
	{0.497672826f, -1.2520436f, 3.00355554f, 0.00161455595f, -0.00449594669f, -0.000714994618f, 7.00336075f},
};

Test(kern, adam_matches_tfjs)
{
	for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
		struct kern_adam opt;
		float w[7], m[7] = {0}, v[7] = {0};

		if (kern_set_isa(isa) != 0)
			continue;
		kern_adam_init(&opt);
		memcpy(w, adam_w0, sizeof w);
		for (int t = 0; t < 4; t++) {
			kern_adam_step(&opt, 7, w, adam_grad[t], m, v);
			kern_adam_next(&opt);
			for (int i = 0; i < 7; i++)
				cr_assert_float_eq(w[i], adam_tfjs[t][i], 2 * FLT_EPSILON * fabsf(adam_tfjs[t][i]),
						   "%s step %d weight %d is %.9g, TF.js %.9g",
						   kern_isa_name(isa), t + 1, i, w[i], adam_tfjs[t][i]);
		}
	}
}

Test(kern, adam_versions_identical)
{
	struct rng r;

	rng_seed(&r, 77);
	for (int n = 0; n < 70; n += 1 + n / 8) {
		float w[3][70], g[70], m[3][70], v[3][70];

		fill(&r, w[0], 70);
		fill(&r, g, 70);
		fill(&r, m[0], 70);
		for (int i = 0; i < 70; i++)
			v[0][i] = fabsf(m[0][i]) * 0.01f;
		for (int isa = KERN_ISA_AVX2; isa <= KERN_ISA_AVX512; isa++) {
			memcpy(w[isa], w[0], sizeof w[0]);
			memcpy(m[isa], m[0], sizeof m[0]);
			memcpy(v[isa], v[0], sizeof v[0]);
		}
		for (int isa = KERN_ISA_C; isa <= KERN_ISA_AVX512; isa++) {
			struct kern_adam opt;

			if (kern_set_isa(isa) != 0)
				continue;
			kern_adam_init(&opt);
			for (int t = 0; t < 3; t++) {
				kern_adam_step(&opt, n, w[isa], g, m[isa], v[isa]);
				kern_adam_next(&opt);
			}
			for (int i = 0; i < 70; i++) {
				cr_assert_eq(w[isa][i], w[KERN_ISA_C][i], "%s n=%d: weight %d differs from plain C",
					     kern_isa_name(isa), n, i);
				cr_assert_eq(m[isa][i], m[KERN_ISA_C][i], "%s n=%d: first moment %d differs",
					     kern_isa_name(isa), n, i);
				cr_assert_eq(v[isa][i], v[KERN_ISA_C][i], "%s n=%d: second moment %d differs",
					     kern_isa_name(isa), n, i);
			}
		}
	}
}

/* TTYPONG_KERN_ISA's names match in any case, and any other name is rejected
 * rather than silently replaced by the widest set. */
Test(kern, isa_names_parse_in_any_case)
{
	static const struct {
		const char *name;
		int isa;
	} cases[] = {
		{ "c", KERN_ISA_C }, { "C", KERN_ISA_C }, { "avx2", KERN_ISA_AVX2 },
		{ "AVX2", KERN_ISA_AVX2 }, { "Avx512", KERN_ISA_AVX512 }, { "bogus", -1 },
		{ "avx2x", -1 }, { "", -1 }, { " avx2", -1 }, { NULL, -1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum kern_isa isa = (enum kern_isa)99;
		int rc = kern_isa_from_name(cases[i].name, &isa);

		cr_assert_eq(rc, cases[i].isa < 0 ? -1 : 0, "\"%s\" returned %d",
			     cases[i].name ? cases[i].name : "(null)", rc);
		if (rc == 0)
			cr_assert_eq((int)isa, cases[i].isa, "\"%s\" gave %s", cases[i].name,
				     kern_isa_name(isa));
	}
}

/* The start-up choice reports what it made of the environment variable. */
Test(kern, isa_request_status_matches_environment)
{
	const char *name = getenv("TTYPONG_KERN_ISA");
	enum kern_isa_request req = kern_isa_request_status();
	enum kern_isa isa;

	if (!name || name[0] == '\0')
		cr_assert_eq(req, KERN_REQUEST_NONE, "status %d with the variable unset", (int)req);
	else if (kern_isa_from_name(name, &isa) != 0)
		cr_assert_eq(req, KERN_REQUEST_UNKNOWN, "status %d for \"%s\"", (int)req, name);
	else
		cr_assert(req == KERN_REQUEST_USED || req == KERN_REQUEST_UNSUPPORTED,
			  "status %d for \"%s\"", (int)req, name);
	cr_assert_eq(kern_set_isa(KERN_ISA_C), 0, "plain C must always be available");
	cr_assert_eq(kern_isa_request_status(), req, "kern_set_isa changed the status");
}
