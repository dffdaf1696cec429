/* kern: matrix kernels in plain C, AVX2+FMA and AVX-512, chosen at run time.
 *
 * Every matrix product goes through one strided routine per instruction set,
 * gemm_c, gemm_avx2 or gemm_avx512:
 *   C[i][j] = bias[j] + (C[i][j] if KERN_ACC) + sum over p of A(i, p) * B[p][j]
 * where A(i, p) = a[i*ars + p*acs]. The strides let one routine compute A*B
 * (ars = k, acs = 1), A^T*B (ars = 1, acs = m) and column sums (A a single
 * 1.0, both strides 0). A*B^T copies blocks of B transposed onto the stack.
 * The vector versions keep a block of C of up to 4 rows and 64 (AVX-512) or
 * 16 (AVX2) columns in registers across the whole sum over p. That suits the
 * network's shapes, with batches of 1 to 256 rows and widths of 3, 6 and 64. */
#include "kern.h"
#include "rng.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__GNUC__) && defined(__x86_64__)
#define KERN_X86 1
#include <immintrin.h>
#else
#define KERN_X86 0
#endif

enum {
	KERN_RELU = 1,	/* apply max(x, 0) to the result */
	KERN_ACC = 2,	/* add the product to C instead of overwriting C */
	KERN_ROWS = 4,	/* rows of C one vector tile covers */
	KERN_TILE = 64,	/* side of the transposed B block in gemm_nt */
};

/* One strided product, as the top of the file defines it. */
struct gemm {
	int m, n, k;
	const float *a;
	ptrdiff_t ars, acs;
	const float *b;
	ptrdiff_t ldb;
	float *c;
	ptrdiff_t ldc;
	const float *bias;
	int flags;
};

/* Inverted dropout's settings: a 16-bit slice below keep_below keeps its
 * element, which is then multiplied by scale. */
struct dropout {
	uint32_t keep_below;
	float scale;
};

struct kern_ops {
	void (*gemm)(const struct gemm *g);
	void (*adam)(const struct kern_adam *opt, int n, float *w,
		     const float *g, float *m, float *v);
	void (*dropout)(struct rng *r, const struct dropout *d, int n,
			const float *x, float *y, float *mask);
	void (*relu_grad)(int n, const float *y, const float *mask, float *grad);
	void (*masked_div)(int n, const unsigned char *keep, float divisor,
			   const float *x, float *y);
};

/* Plain C versions. */

/* ReLU as TF.js's Math.max(0, x): NaN stays NaN, and -0 becomes +0. */
static inline float relu_c(float x)
{
	return x > 0.0f || isnan(x) ? x : 0.0f;
}

/* ReLU's derivative as TF.js's step op: 1 above 0, NaN for NaN, else 0. */
static inline float relu_step_c(float y)
{
	return y > 0.0f ? 1.0f : isnan(y) ? y : 0.0f;
}

static void gemm_c(const struct gemm *g)
{
	for (int i = 0; i < g->m; i++) {
		float *row = g->c + i * g->ldc;

		if (!(g->flags & KERN_ACC))
			memset(row, 0, (size_t)g->n * sizeof *row);
		if (g->bias)
			for (int j = 0; j < g->n; j++)
				row[j] += g->bias[j];
		for (int p = 0; p < g->k; p++) {
			float x = g->a[i * g->ars + p * g->acs];
			const float *w = g->b + p * g->ldb;

			for (int j = 0; j < g->n; j++)
				row[j] += x * w[j];
		}
		if (g->flags & KERN_RELU)
			for (int j = 0; j < g->n; j++)
				row[j] = relu_c(row[j]);
	}
}

/* Applies one Adam step in plain C. The vector versions repeat these float
 * operations in the same order, so all versions give identical bits. */
static void adam_c(const struct kern_adam *opt, int n, float *w,
		   const float *g, float *m, float *v)
{
	float b1 = (float)opt->beta1, c1 = (float)(1.0 - opt->beta1);
	float b2 = (float)opt->beta2, c2 = (float)(1.0 - opt->beta2);
	float d1 = 1.0f - opt->beta1_power, d2 = 1.0f - opt->beta2_power;
	float eps = (float)opt->epsilon, neg_lr = (float)-opt->lr;

	for (int i = 0; i < n; i++) {
		float mi = m[i] * b1 + g[i] * c1;
		float vi = v[i] * b2 + (g[i] * g[i]) * c2;
		float step = (mi / d1) / (sqrtf(vi / d2) + eps);

		m[i] = mi;
		v[i] = vi;
		w[i] = step * neg_lr + w[i];
	}
}

static void dropout_c(struct rng *r, const struct dropout *d, int n,
		      const float *x, float *y, float *mask)
{
	for (int i = 0; i < n; i += 4) {
		uint64_t bits = rng_next(r);

		for (int q = 0; q < 4 && i + q < n; q++) {
			uint32_t slice = (uint32_t)(bits >> (16 * q)) & 0xffff;

			mask[i + q] = d->scale * (float)(slice < d->keep_below);
			y[i + q] = x[i + q] * mask[i + q];
		}
	}
}

/* Multiplies by the step rather than selecting, as TF.js does, so a NaN or
 * infinite gradient reaching a dead unit still gives NaN. */
static void relu_grad_c(int n, const float *y, const float *mask, float *grad)
{
	for (int i = 0; i < n; i++) {
		float g = mask ? grad[i] * mask[i] : grad[i];

		grad[i] = g * relu_step_c(y[i]);
	}
}

static void masked_div_c(int n, const unsigned char *keep, float divisor,
			 const float *x, float *y)
{
	for (int i = 0; i < n; i++) {
		float kept = x[i] / divisor;

		y[i] = keep[i] ? kept : 0.0f;
	}
}

#if KERN_X86

/* AVX-512 versions. Masked loads and stores cover the columns past the last
 * full vector, so every tile runs the same code. */

#define KERN_AVX512 __attribute__((target("avx512f")))
#define KERN_INLINE static inline __attribute__((always_inline))

static KERN_AVX512 __mmask16 lanes512(int count)
{
	return count >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1);
}

/* ReLU as relu_c. maxps returns its second operand when either is NaN or
 * both are zero, so max(x, 0) turns NaN and -0 into +0; the NaN lanes then
 * take x back. */
KERN_INLINE KERN_AVX512 __m512 relu512(__m512 x)
{
	__mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);

	return _mm512_mask_mov_ps(_mm512_max_ps(x, _mm512_setzero_ps()), nan, x);
}

/* Computes rows [i0, i0+R) and vectors [0, V) of the column block at j0,
 * whose last vector has only the lanes in last. A tile of fewer than four
 * vectors splits the sum over p into S interleaved partial sums, because one
 * dependent chain of fused multiply-adds waits about four cycles per step:
 * single-sample inference is such a tile. */
KERN_INLINE KERN_AVX512 void tile512(const struct gemm *g, const int R,
				     const int V, __mmask16 last, int i0, int j0)
{
	const int S = R * V >= 4 ? 1 : R * V >= 2 ? 2 : 4;
	__m512 acc[4][KERN_ROWS][4];
	__mmask16 mask[4];
	const float *ap = g->a + i0 * g->ars;
	const float *bp = g->b + j0;
	int p = 0;

	for (int v = 0; v < V; v++)
		mask[v] = v == V - 1 ? last : (__mmask16)0xffff;

	/* Start from the bias and, when accumulating, from C. */
#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
		for (int v = 0; v < V; v++) {
			float *cp = g->c + (i0 + r) * g->ldc + j0 + 16 * v;

			acc[0][r][v] = g->bias ? _mm512_maskz_loadu_ps(mask[v], g->bias + j0 + 16 * v)
					       : _mm512_setzero_ps();
			if (g->flags & KERN_ACC)
				acc[0][r][v] = _mm512_add_ps(acc[0][r][v], _mm512_maskz_loadu_ps(mask[v], cp));
#pragma GCC unroll 4
			for (int s = 1; s < S; s++)
				acc[s][r][v] = _mm512_setzero_ps();
		}
	}

	/* Steps of S values of p, then the rest into the first partial sum. */
	for (; p + S <= g->k; p += S) {
#pragma GCC unroll 4
		for (int s = 0; s < S; s++) {
			__m512 bv[4];

#pragma GCC unroll 4
			for (int v = 0; v < V; v++)
				bv[v] = _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
#pragma GCC unroll 4
			for (int r = 0; r < R; r++) {
				__m512 x = _mm512_set1_ps(ap[r * g->ars]);

#pragma GCC unroll 4
				for (int v = 0; v < V; v++)
					acc[s][r][v] = _mm512_fmadd_ps(x, bv[v], acc[s][r][v]);
			}
			ap += g->acs;
			bp += g->ldb;
		}
	}
	for (; p < g->k; p++) {
#pragma GCC unroll 4
		for (int r = 0; r < R; r++) {
			__m512 x = _mm512_set1_ps(ap[r * g->ars]);

#pragma GCC unroll 4
			for (int v = 0; v < V; v++)
				acc[0][r][v] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mask[v], bp + 16 * v),
							       acc[0][r][v]);
		}
		ap += g->acs;
		bp += g->ldb;
	}

#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
#pragma GCC unroll 4
		for (int v = 0; v < V; v++) {
			float *cp = g->c + (i0 + r) * g->ldc + j0 + 16 * v;
			__m512 x = acc[0][r][v];

#pragma GCC unroll 4
			for (int s = 1; s < S; s++)
				x = _mm512_add_ps(x, acc[s][r][v]);
			if (g->flags & KERN_RELU)
				x = relu512(x);
			_mm512_mask_storeu_ps(cp, mask[v], x);
		}
	}
}

static KERN_AVX512 void gemm_avx512(const struct gemm *g)
{
	for (int j0 = 0; j0 < g->n; j0 += 64) {
		int width = g->n - j0 < 64 ? g->n - j0 : 64;
		int nv = (width + 15) / 16;
		__mmask16 last = lanes512(width - 16 * (nv - 1));

		for (int i0 = 0; i0 < g->m; i0 += KERN_ROWS) {
			int rows = g->m - i0 < KERN_ROWS ? g->m - i0 : KERN_ROWS;

			/* Constant R and V let each tile keep its sums in registers. */
			switch ((rows - 1) * 4 + nv - 1) {
			case 0: tile512(g, 1, 1, last, i0, j0); break;
			case 1: tile512(g, 1, 2, last, i0, j0); break;
			case 2: tile512(g, 1, 3, last, i0, j0); break;
			case 3: tile512(g, 1, 4, last, i0, j0); break;
			case 4: tile512(g, 2, 1, last, i0, j0); break;
			case 5: tile512(g, 2, 2, last, i0, j0); break;
			case 6: tile512(g, 2, 3, last, i0, j0); break;
			case 7: tile512(g, 2, 4, last, i0, j0); break;
			case 8: tile512(g, 3, 1, last, i0, j0); break;
			case 9: tile512(g, 3, 2, last, i0, j0); break;
			case 10: tile512(g, 3, 3, last, i0, j0); break;
			case 11: tile512(g, 3, 4, last, i0, j0); break;
			case 12: tile512(g, 4, 1, last, i0, j0); break;
			case 13: tile512(g, 4, 2, last, i0, j0); break;
			case 14: tile512(g, 4, 3, last, i0, j0); break;
			default: tile512(g, 4, 4, last, i0, j0); break;
			}
		}
	}
}

static KERN_AVX512 void adam_avx512(const struct kern_adam *opt, int n, float *w,
				    const float *g, float *m, float *v)
{
	__m512 b1 = _mm512_set1_ps((float)opt->beta1);
	__m512 c1 = _mm512_set1_ps((float)(1.0 - opt->beta1));
	__m512 b2 = _mm512_set1_ps((float)opt->beta2);
	__m512 c2 = _mm512_set1_ps((float)(1.0 - opt->beta2));
	__m512 d1 = _mm512_set1_ps(1.0f - opt->beta1_power);
	__m512 d2 = _mm512_set1_ps(1.0f - opt->beta2_power);
	__m512 eps = _mm512_set1_ps((float)opt->epsilon);
	__m512 neg_lr = _mm512_set1_ps((float)-opt->lr);

	for (int i = 0; i < n; i += 16) {
		__mmask16 k = lanes512(n - i);
		__m512 gi = _mm512_maskz_loadu_ps(k, g + i);
		__m512 mi = _mm512_maskz_loadu_ps(k, m + i);
		__m512 vi = _mm512_maskz_loadu_ps(k, v + i);
		__m512 wi = _mm512_maskz_loadu_ps(k, w + i);
		__m512 step;

		mi = _mm512_add_ps(_mm512_mul_ps(mi, b1), _mm512_mul_ps(gi, c1));
		vi = _mm512_add_ps(_mm512_mul_ps(vi, b2),
				   _mm512_mul_ps(_mm512_mul_ps(gi, gi), c2));
		step = _mm512_div_ps(_mm512_div_ps(mi, d1),
				     _mm512_add_ps(_mm512_sqrt_ps(_mm512_div_ps(vi, d2)), eps));
		_mm512_mask_storeu_ps(m + i, k, mi);
		_mm512_mask_storeu_ps(v + i, k, vi);
		_mm512_mask_storeu_ps(w + i, k, _mm512_add_ps(_mm512_mul_ps(step, neg_lr), wi));
	}
}

/* Vector dropout reads four draws as sixteen 16-bit slices in memory order,
 * which on little-endian x86 is the element order dropout_c uses. */
static KERN_AVX512 void dropout_avx512(struct rng *r, const struct dropout *d, int n,
				       const float *x, float *y, float *mask)
{
	__m512i below = _mm512_set1_epi32((int)d->keep_below);
	__m512 scale = _mm512_set1_ps(d->scale);
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		uint64_t bits[4];
		__m512i slices;
		__m512 keep;

		for (int q = 0; q < 4; q++)
			bits[q] = rng_next(r);
		slices = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)bits));
		keep = _mm512_maskz_mov_ps(_mm512_cmplt_epu32_mask(slices, below), scale);
		_mm512_storeu_ps(mask + i, keep);
		_mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), keep));
	}
	dropout_c(r, d, n - i, x + i, y + i, mask + i);
}

static KERN_AVX512 void relu_grad_avx512(int n, const float *y, const float *mask, float *grad)
{
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512 g = _mm512_loadu_ps(grad + i);
		__m512 yi = _mm512_loadu_ps(y + i);
		__mmask16 live = _mm512_cmp_ps_mask(yi, _mm512_setzero_ps(), _CMP_GT_OQ);
		__mmask16 nan = _mm512_cmp_ps_mask(yi, yi, _CMP_UNORD_Q);
		__m512 step = _mm512_maskz_mov_ps(live, _mm512_set1_ps(1.0f));

		if (mask)
			g = _mm512_mul_ps(g, _mm512_loadu_ps(mask + i));
		step = _mm512_mask_mov_ps(step, nan, yi);
		_mm512_storeu_ps(grad + i, _mm512_mul_ps(g, step));
	}
	relu_grad_c(n - i, y + i, mask ? mask + i : NULL, grad + i);
}

static KERN_AVX512 void masked_div_avx512(int n, const unsigned char *keep, float divisor,
					  const float *x, float *y)
{
	__m512 div = _mm512_set1_ps(divisor);
	int i = 0;

	for (; i + 16 <= n; i += 16) {
		__m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(keep + i)));
		__mmask16 live = _mm512_test_epi32_mask(bytes, bytes);

		_mm512_storeu_ps(y + i, _mm512_maskz_div_ps(live, _mm512_loadu_ps(x + i), div));
	}
	masked_div_c(n - i, keep + i, divisor, x + i, y + i);
}

/* AVX2+FMA versions. Masked moves are slow on some CPUs, so only the last
 * vector of a partial column block uses them. */

#define KERN_AVX2 __attribute__((target("avx2,fma")))

static KERN_AVX2 __m256i lanes256(int count)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(count),
				  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

KERN_INLINE KERN_AVX2 __m256 load256(const float *p, int masked, __m256i mask)
{
	return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

KERN_INLINE KERN_AVX2 void store256(float *p, int masked, __m256i mask, __m256 x)
{
	if (masked)
		_mm256_maskstore_ps(p, mask, x);
	else
		_mm256_storeu_ps(p, x);
}

/* ReLU as relu_c; see relu512. */
KERN_INLINE KERN_AVX2 __m256 relu256(__m256 x)
{
	__m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);

	return _mm256_blendv_ps(_mm256_max_ps(x, _mm256_setzero_ps()), x, nan);
}

/* Computes rows [i0, i0+R) and vectors [0, V) of the column block at j0.
 * When M is set, the last vector has only the lanes in last. As in tile512,
 * S interleaved partial sums keep enough multiply-adds in flight: eight,
 * since AVX2 CPUs typically start two per cycle with a latency of four. */
KERN_INLINE KERN_AVX2 void tile256(const struct gemm *g, const int R, const int V,
				   const int M, __m256i last, int i0, int j0)
{
	const int S = R * V >= 8 ? 1 : R * V >= 4 ? 2 : 4;
	__m256 acc[4][KERN_ROWS][2];
	const float *ap = g->a + i0 * g->ars;
	const float *bp = g->b + j0;
	int p = 0;

#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
#pragma GCC unroll 2
		for (int v = 0; v < V; v++) {
			int masked = M && v == V - 1;
			float *cp = g->c + (i0 + r) * g->ldc + j0 + 8 * v;

			acc[0][r][v] = g->bias ? load256(g->bias + j0 + 8 * v, masked, last)
					       : _mm256_setzero_ps();
			if (g->flags & KERN_ACC)
				acc[0][r][v] = _mm256_add_ps(acc[0][r][v], load256(cp, masked, last));
#pragma GCC unroll 4
			for (int s = 1; s < S; s++)
				acc[s][r][v] = _mm256_setzero_ps();
		}
	}

	/* Steps of S values of p, then the rest into the first partial sum. */
	for (; p + S <= g->k; p += S) {
#pragma GCC unroll 4
		for (int s = 0; s < S; s++) {
			__m256 bv[2];

#pragma GCC unroll 2
			for (int v = 0; v < V; v++)
				bv[v] = load256(bp + 8 * v, M && v == V - 1, last);
#pragma GCC unroll 4
			for (int r = 0; r < R; r++) {
				__m256 x = _mm256_broadcast_ss(ap + r * g->ars);

#pragma GCC unroll 2
				for (int v = 0; v < V; v++)
					acc[s][r][v] = _mm256_fmadd_ps(x, bv[v], acc[s][r][v]);
			}
			ap += g->acs;
			bp += g->ldb;
		}
	}
	for (; p < g->k; p++) {
#pragma GCC unroll 4
		for (int r = 0; r < R; r++) {
			__m256 x = _mm256_broadcast_ss(ap + r * g->ars);

#pragma GCC unroll 2
			for (int v = 0; v < V; v++)
				acc[0][r][v] = _mm256_fmadd_ps(x, load256(bp + 8 * v, M && v == V - 1, last),
							       acc[0][r][v]);
		}
		ap += g->acs;
		bp += g->ldb;
	}

#pragma GCC unroll 4
	for (int r = 0; r < R; r++) {
#pragma GCC unroll 2
		for (int v = 0; v < V; v++) {
			float *cp = g->c + (i0 + r) * g->ldc + j0 + 8 * v;
			__m256 x = acc[0][r][v];

#pragma GCC unroll 4
			for (int s = 1; s < S; s++)
				x = _mm256_add_ps(x, acc[s][r][v]);
			if (g->flags & KERN_RELU)
				x = relu256(x);
			store256(cp, M && v == V - 1, last, x);
		}
	}
}

static KERN_AVX2 void gemm_avx2(const struct gemm *g)
{
	for (int j0 = 0; j0 < g->n; j0 += 16) {
		int width = g->n - j0 < 16 ? g->n - j0 : 16;
		int nv = (width + 7) / 8;
		int masked = width % 8 != 0;
		__m256i last = lanes256(width - 8 * (nv - 1));

		for (int i0 = 0; i0 < g->m; i0 += KERN_ROWS) {
			int rows = g->m - i0 < KERN_ROWS ? g->m - i0 : KERN_ROWS;

			switch (((rows - 1) * 2 + nv - 1) * 2 + masked) {
			case 0: tile256(g, 1, 1, 0, last, i0, j0); break;
			case 1: tile256(g, 1, 1, 1, last, i0, j0); break;
			case 2: tile256(g, 1, 2, 0, last, i0, j0); break;
			case 3: tile256(g, 1, 2, 1, last, i0, j0); break;
			case 4: tile256(g, 2, 1, 0, last, i0, j0); break;
			case 5: tile256(g, 2, 1, 1, last, i0, j0); break;
			case 6: tile256(g, 2, 2, 0, last, i0, j0); break;
			case 7: tile256(g, 2, 2, 1, last, i0, j0); break;
			case 8: tile256(g, 3, 1, 0, last, i0, j0); break;
			case 9: tile256(g, 3, 1, 1, last, i0, j0); break;
			case 10: tile256(g, 3, 2, 0, last, i0, j0); break;
			case 11: tile256(g, 3, 2, 1, last, i0, j0); break;
			case 12: tile256(g, 4, 1, 0, last, i0, j0); break;
			case 13: tile256(g, 4, 1, 1, last, i0, j0); break;
			case 14: tile256(g, 4, 2, 0, last, i0, j0); break;
			default: tile256(g, 4, 2, 1, last, i0, j0); break;
			}
		}
	}
}

static KERN_AVX2 void adam_avx2(const struct kern_adam *opt, int n, float *w,
				const float *g, float *m, float *v)
{
	__m256 b1 = _mm256_set1_ps((float)opt->beta1);
	__m256 c1 = _mm256_set1_ps((float)(1.0 - opt->beta1));
	__m256 b2 = _mm256_set1_ps((float)opt->beta2);
	__m256 c2 = _mm256_set1_ps((float)(1.0 - opt->beta2));
	__m256 d1 = _mm256_set1_ps(1.0f - opt->beta1_power);
	__m256 d2 = _mm256_set1_ps(1.0f - opt->beta2_power);
	__m256 eps = _mm256_set1_ps((float)opt->epsilon);
	__m256 neg_lr = _mm256_set1_ps((float)-opt->lr);
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 gi = _mm256_loadu_ps(g + i);
		__m256 mi = _mm256_loadu_ps(m + i);
		__m256 vi = _mm256_loadu_ps(v + i);
		__m256 step;

		mi = _mm256_add_ps(_mm256_mul_ps(mi, b1), _mm256_mul_ps(gi, c1));
		vi = _mm256_add_ps(_mm256_mul_ps(vi, b2),
				   _mm256_mul_ps(_mm256_mul_ps(gi, gi), c2));
		step = _mm256_div_ps(_mm256_div_ps(mi, d1),
				     _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, d2)), eps));
		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(v + i, vi);
		_mm256_storeu_ps(w + i, _mm256_add_ps(_mm256_mul_ps(step, neg_lr),
						      _mm256_loadu_ps(w + i)));
	}
	adam_c(opt, n - i, w + i, g + i, m + i, v + i);
}

static KERN_AVX2 void dropout_avx2(struct rng *r, const struct dropout *d, int n,
				   const float *x, float *y, float *mask)
{
	/* Slices and keep_below are below 2^17, so a signed compare is exact. */
	__m256i below = _mm256_set1_epi32((int)d->keep_below);
	__m256 scale = _mm256_set1_ps(d->scale);
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t bits[2];
		__m256i slices;
		__m256 keep;

		bits[0] = rng_next(r);
		bits[1] = rng_next(r);
		slices = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)bits));
		keep = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(below, slices)), scale);
		_mm256_storeu_ps(mask + i, keep);
		_mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), keep));
	}
	dropout_c(r, d, n - i, x + i, y + i, mask + i);
}

static KERN_AVX2 void relu_grad_avx2(int n, const float *y, const float *mask, float *grad)
{
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 g = _mm256_loadu_ps(grad + i);
		__m256 yi = _mm256_loadu_ps(y + i);
		__m256 live = _mm256_cmp_ps(yi, _mm256_setzero_ps(), _CMP_GT_OQ);
		__m256 nan = _mm256_cmp_ps(yi, yi, _CMP_UNORD_Q);
		__m256 step = _mm256_and_ps(live, _mm256_set1_ps(1.0f));

		if (mask)
			g = _mm256_mul_ps(g, _mm256_loadu_ps(mask + i));
		step = _mm256_blendv_ps(step, yi, nan);
		_mm256_storeu_ps(grad + i, _mm256_mul_ps(g, step));
	}
	relu_grad_c(n - i, y + i, mask ? mask + i : NULL, grad + i);
}

static KERN_AVX2 void masked_div_avx2(int n, const unsigned char *keep, float divisor,
				      const float *x, float *y)
{
	__m256 div = _mm256_set1_ps(divisor);
	int i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(keep + i)));
		__m256i dropped = _mm256_cmpeq_epi32(bytes, _mm256_setzero_si256());
		__m256 kept = _mm256_div_ps(_mm256_loadu_ps(x + i), div);

		_mm256_storeu_ps(y + i, _mm256_andnot_ps(_mm256_castsi256_ps(dropped), kept));
	}
	masked_div_c(n - i, keep + i, divisor, x + i, y + i);
}

#endif /* KERN_X86 */

/* Dispatch. */

static const struct kern_ops kern_ops_c = {
	gemm_c, adam_c, dropout_c, relu_grad_c, masked_div_c,
};
#if KERN_X86
static const struct kern_ops kern_ops_avx2 = {
	gemm_avx2, adam_avx2, dropout_avx2, relu_grad_avx2, masked_div_avx2,
};
static const struct kern_ops kern_ops_avx512 = {
	gemm_avx512, adam_avx512, dropout_avx512, relu_grad_avx512, masked_div_avx512,
};
#endif

static const struct kern_ops *kern_active;
static enum kern_isa kern_active_isa;
static enum kern_isa_request kern_request = KERN_REQUEST_NONE;

static int isa_supported(enum kern_isa isa)
{
	switch (isa) {
	case KERN_ISA_C:
		return 1;
#if KERN_X86
	case KERN_ISA_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case KERN_ISA_AVX512:
		return __builtin_cpu_supports("avx512f");
#endif
	default:
		return 0;
	}
}

int kern_set_isa(enum kern_isa isa)
{
	if (!isa_supported(isa))
		return -1;

	switch (isa) {
#if KERN_X86
	case KERN_ISA_AVX2:
		kern_active = &kern_ops_avx2;
		break;
	case KERN_ISA_AVX512:
		kern_active = &kern_ops_avx512;
		break;
#endif
	default:
		kern_active = &kern_ops_c;
		break;
	}
	kern_active_isa = isa;
	return 0;
}

/* Picks the version TTYPONG_KERN_ISA names, in any case, when the CPU
 * supports it, and otherwise the widest one the CPU supports. Records in
 * kern_request what became of the name, since the library cannot print. */
static const struct kern_ops *ops(void)
{
	const char *name;

	if (kern_active)
		return kern_active;

	name = getenv("TTYPONG_KERN_ISA");
	if (name && name[0] != '\0') {
		enum kern_isa isa;

		kern_request = KERN_REQUEST_UNKNOWN;
		if (kern_isa_from_name(name, &isa) == 0) {
			if (kern_set_isa(isa) == 0) {
				kern_request = KERN_REQUEST_USED;
				return kern_active;
			}
			kern_request = KERN_REQUEST_UNSUPPORTED;
		}
	}
	for (int isa = KERN_ISA_AVX512; isa >= KERN_ISA_C; isa--)
		if (kern_set_isa(isa) == 0)
			break;
	return kern_active;
}

int kern_isa_from_name(const char *name, enum kern_isa *isa)
{
	for (int i = KERN_ISA_C; name && i <= KERN_ISA_AVX512; i++) {
		if (strcasecmp(name, kern_isa_name(i)) == 0) {
			*isa = i;
			return 0;
		}
	}
	return -1;
}

enum kern_isa_request kern_isa_request_status(void)
{
	ops();
	return kern_request;
}

#if defined(__GNUC__)
/* Chooses the version when the program loads, before any thread can race
 * on the lazy choice in ops(). */
__attribute__((constructor)) static void kern_choose_early(void)
{
	ops();
}
#endif

enum kern_isa kern_isa(void)
{
	ops();
	return kern_active_isa;
}

const char *kern_isa_name(enum kern_isa isa)
{
	switch (isa) {
	case KERN_ISA_AVX2:
		return "avx2";
	case KERN_ISA_AVX512:
		return "avx512";
	default:
		return "c";
	}
}

/* Public kernels. */

void kern_gemm_bias(int m, int n, int k, const float *a, const float *b,
		    const float *bias, float *c)
{
	struct gemm g = { m, n, k, a, k, 1, b, n, c, n, bias, 0 };

	ops()->gemm(&g);
}

void kern_gemm_bias_relu(int m, int n, int k, const float *a, const float *b,
			 const float *bias, float *c)
{
	struct gemm g = { m, n, k, a, k, 1, b, n, c, n, bias, KERN_RELU };

	ops()->gemm(&g);
}

void kern_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c)
{
	struct gemm g = { k, n, m, a, 1, k, b, n, c, n, NULL, 0 };

	ops()->gemm(&g);
}

/* Copies B[k0 .. k0+kc)[n0 .. n0+nc) transposed into t[nc][kc], then adds
 * A[.][n0 .. n0+nc) * t into C[.][k0 .. k0+kc). The copy costs kc*nc moves
 * against m*kc*nc multiply-adds, and lets the product broadcast A like the
 * other kernels do instead of summing across vector lanes. */
void kern_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c)
{
	const struct kern_ops *o = ops();
	float t[KERN_TILE * KERN_TILE];

	if (n == 0) {
		for (int i = 0; i < m; i++)
			memset(c + (size_t)i * k, 0, (size_t)k * sizeof *c);
		return;
	}

	for (int k0 = 0; k0 < k; k0 += KERN_TILE) {
		int kc = k - k0 < KERN_TILE ? k - k0 : KERN_TILE;

		for (int n0 = 0; n0 < n; n0 += KERN_TILE) {
			int nc = n - n0 < KERN_TILE ? n - n0 : KERN_TILE;
			struct gemm g = { m, kc, nc, a + n0, n, 1, t, kc, c + k0, k,
					  NULL, n0 > 0 ? KERN_ACC : 0 };

			for (int p = 0; p < kc; p++)
				for (int j = 0; j < nc; j++)
					t[j * kc + p] = b[(size_t)(k0 + p) * n + n0 + j];
			o->gemm(&g);
		}
	}
}

void kern_col_sum(int m, int n, const float *a, float *out)
{
	static const float one = 1.0f;
	struct gemm g = { 1, n, m, &one, 0, 0, a, n, out, n, NULL, 0 };

	ops()->gemm(&g);
}

void kern_dropout(struct rng *r, int n, float rate, const float *x, float *y,
		  float *mask)
{
	struct dropout d;

	d.keep_below = (uint32_t)((1.0 - rate) * 65536.0 + 0.5);
	d.scale = 1.0f / (float)(1.0 - rate);
	ops()->dropout(r, &d, n, x, y, mask);
}

void kern_relu_grad(int n, const float *y, const float *mask, float *grad)
{
	ops()->relu_grad(n, y, mask, grad);
}

void kern_masked_div(int n, const unsigned char *keep, float divisor, const float *x,
		     float *y)
{
	ops()->masked_div(n, keep, divisor, x, y);
}

void kern_adam_init(struct kern_adam *opt)
{
	opt->lr = 1e-3;
	opt->beta1 = 0.9;
	opt->beta2 = 0.999;
	opt->epsilon = 1e-7;
	opt->beta1_power = (float)opt->beta1;
	opt->beta2_power = (float)opt->beta2;
}

void kern_adam_step(const struct kern_adam *opt, int n, float *w,
		    const float *g, float *m, float *v)
{
	ops()->adam(opt, n, w, g, m, v);
}

void kern_adam_next(struct kern_adam *opt)
{
	opt->beta1_power *= (float)opt->beta1;
	opt->beta2_power *= (float)opt->beta2;
}
