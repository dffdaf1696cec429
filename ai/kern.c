/* kern: plain C reference kernels. */
#include "kern.h"

#include <string.h>

void kern_gemm_bias(int m, int n, int k, const float *a, const float *b,
		    const float *bias, float *c)
{
	for (int i = 0; i < m; i++) {
		float *row = c + (size_t)i * n;

		if (bias)
			memcpy(row, bias, (size_t)n * sizeof *row);
		else
			memset(row, 0, (size_t)n * sizeof *row);
		for (int p = 0; p < k; p++) {
			float x = a[(size_t)i * k + p];
			const float *w = b + (size_t)p * n;

			for (int j = 0; j < n; j++)
				row[j] += x * w[j];
		}
	}
}

void kern_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c)
{
	memset(c, 0, (size_t)k * n * sizeof *c);
	for (int i = 0; i < m; i++) {
		const float *g = b + (size_t)i * n;

		for (int p = 0; p < k; p++) {
			float x = a[(size_t)i * k + p];
			float *row = c + (size_t)p * n;

			for (int j = 0; j < n; j++)
				row[j] += x * g[j];
		}
	}
}

void kern_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c)
{
	for (int i = 0; i < m; i++) {
		const float *g = a + (size_t)i * n;

		for (int p = 0; p < k; p++) {
			const float *w = b + (size_t)p * n;
			float sum = 0.0f;

			for (int j = 0; j < n; j++)
				sum += g[j] * w[j];
			c[(size_t)i * k + p] = sum;
		}
	}
}

void kern_col_sum(int m, int n, const float *a, float *out)
{
	memset(out, 0, (size_t)n * sizeof *out);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < n; j++)
			out[j] += a[(size_t)i * n + j];
}
