/* kern: the dense linear-algebra kernels under the network.
 *
 * Matrices are row-major float32. Every kernel has a plain C version; faster
 * versions for wide vector units are chosen at run time, and all versions agree
 * within float rounding (the order of additions may differ). */
#ifndef TTYPONG_KERN_H
#define TTYPONG_KERN_H

/* Computes C[m][n] = A[m][k] * B[k][n] + bias[n]. bias may be NULL.
 * This is a Dense forward pass: A holds a batch of inputs, B the kernel in
 * Keras's [inputs, units] order. */
void kern_gemm_bias(int m, int n, int k, const float *a, const float *b,
		    const float *bias, float *c);

/* Computes C[k][n] = A^T * B for A[m][k] and B[m][n]: the kernel gradient
 * of a Dense layer, with A the layer's inputs and B the output gradient. */
void kern_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c);

/* Computes C[m][k] = A * B^T for A[m][n] and B[k][n]: the input gradient of a
 * Dense layer, with A the output gradient and B the kernel. */
void kern_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c);

/* Computes out[j] = sum over rows i of A[i][j], for A[m][n]: the bias gradient. */
void kern_col_sum(int m, int n, const float *a, float *out);

#endif
