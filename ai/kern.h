/* kern: the dense linear-algebra kernels under the network.
 *
 * Matrices are row-major float32 with no padding, and no output may overlap an
 * input. Every kernel has a plain C version. On x86 the AVX2+FMA and AVX-512
 * versions are chosen at run time by CPU detection, so the build needs no
 * -march flag. All versions agree within float rounding: the vector versions
 * use fused multiply-adds and may add in a different order. kern_adam gives
 * the same bits on every version, because it uses no fused operations. */
#ifndef TTYPONG_KERN_H
#define TTYPONG_KERN_H

struct rng;

/* Instruction sets a kernel version may use. */
enum kern_isa {
	KERN_ISA_C,		/* plain C, any CPU */
	KERN_ISA_AVX2,		/* AVX2 and FMA */
	KERN_ISA_AVX512,	/* AVX-512F */
};

/* Returns the instruction set the kernels use now. At start-up this is the
 * one the environment variable TTYPONG_KERN_ISA names (c, avx2 or avx512, in
 * any case) when the CPU supports it, and otherwise the widest one the CPU
 * supports. */
enum kern_isa kern_isa(void);

/* Outcome of the TTYPONG_KERN_ISA request at start-up. The library never
 * prints, so a program that lets users set the variable should report the
 * last two. */
enum kern_isa_request {
	KERN_REQUEST_NONE,		/* unset or empty: the widest set is used */
	KERN_REQUEST_USED,		/* the named set is in use */
	KERN_REQUEST_UNSUPPORTED,	/* a known name the CPU or build lacks */
	KERN_REQUEST_UNKNOWN,		/* not c, avx2 or avx512 */
};

/* Returns what became of TTYPONG_KERN_ISA; kern_set_isa does not change it. */
enum kern_isa_request kern_isa_request_status(void);

/* Makes every kernel use isa. Returns 0, or -1 (changing nothing) when the
 * CPU or this build lacks it. Not thread-safe: call it before kernels run. */
int kern_set_isa(enum kern_isa isa);

/* Sets *isa to the set name names ("c", "avx2" or "avx512", in any case) and
 * returns 0, or returns -1 for NULL or any other name. */
int kern_isa_from_name(const char *name, enum kern_isa *isa);

/* Returns the lower-case name of isa ("c", "avx2", "avx512"). */
const char *kern_isa_name(enum kern_isa isa);

/* Computes C[m][n] = A[m][k] * B[k][n] + bias[n]. bias may be NULL.
 * This is a Dense forward pass: A holds a batch of inputs, B the kernel in
 * Keras's [inputs, units] order. */
void kern_gemm_bias(int m, int n, int k, const float *a, const float *b,
		    const float *bias, float *c);

/* Same as kern_gemm_bias followed by ReLU on every element of C, as TF.js's
 * relu computes it with Math.max(0, x): NaN stays NaN (so a NaN input is not
 * hidden) and -0 becomes +0. */
void kern_gemm_bias_relu(int m, int n, int k, const float *a, const float *b,
			 const float *bias, float *c);

/* Computes C[k][n] = A^T * B for A[m][k] and B[m][n]: the kernel gradient
 * of a Dense layer, with A the layer's inputs and B the output gradient. */
void kern_gemm_tn(int m, int n, int k, const float *a, const float *b, float *c);

/* Computes C[m][k] = A * B^T for A[m][n] and B[k][n]: the input gradient of a
 * Dense layer, with A the output gradient and B the kernel. */
void kern_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c);

/* Computes out[j] = sum over rows i of A[i][j], for A[m][n]: the bias gradient. */
void kern_col_sum(int m, int n, const float *a, float *out);

/* Applies inverted dropout to the n values x: sets mask[i] to 0 (dropped)
 * or 1/(1-rate) (kept) and y[i] = x[i] * mask[i]. y may equal x. As in
 * TF.js's dropout op, the scale is 1 divided by the keep probability 1-rate,
 * both in float32. Each 64-bit draw from r decides four elements, one per
 * 16-bit slice, so rate is rounded to a multiple of 1/65536 and ceil(n/4)
 * draws are used. All versions give the same bits for the same generator
 * state. rate is in [0, 1). */
void kern_dropout(struct rng *r, int n, float rate, const float *x, float *y,
		  float *mask);

/* Sets y[i] = x[i] / divisor where keep[i] is non-zero and y[i] = +0
 * elsewhere, for i < n: dropout with a byte mask, dividing kept values by the
 * keep probability. y may equal x. All versions give the same bits. */
void kern_masked_div(int n, const unsigned char *keep, float divisor, const float *x,
		     float *y);

/* Computes the backward pass of ReLU followed by optional dropout, for i < n:
 * grad[i] = grad[i] * mask[i] * step(y[i]), with y the ReLU's output, mask
 * from kern_dropout (no scaling when mask is NULL) and step TF.js's step op:
 * 1 where y > 0, NaN where y is NaN, else 0. So a dead unit gives +-0, and
 * NaN for a NaN or infinite incoming gradient, as in TF.js. */
void kern_relu_grad(int n, const float *y, const float *mask, float *grad);

/* Adam's settings and its running powers of beta1 and beta2. The settings
 * are doubles because TF.js computes 1-beta in double precision before
 * rounding it to float32. */
struct kern_adam {
	double lr;		/* learning rate */
	double beta1;		/* decay of the first moment */
	double beta2;		/* decay of the second moment */
	double epsilon;		/* added to the root of the second moment */
	float beta1_power;	/* beta1^t for the coming step t, from 1 */
	float beta2_power;	/* beta2^t */
};

/* Fills opt with Keras's defaults (lr 1e-3, beta1 0.9, beta2 0.999,
 * epsilon 1e-7) and powers for step 1. */
void kern_adam_init(struct kern_adam *opt);

/* Applies one Adam step to the n weights w with gradient g, updating the
 * first and second moments m and v (zero before the first step) in place.
 * The arithmetic follows TF.js 4.22's AdamOptimizer operation by operation in
 * float32:
 *   m = m*beta1 + g*(1-beta1), v = v*beta2 + g*g*(1-beta2),
 *   w = (m/(1-beta1^t)) / (sqrt(v/(1-beta2^t)) + epsilon) * -lr + w.
 * Call it for every weight array of the model, then kern_adam_next once. */
void kern_adam_step(const struct kern_adam *opt, int n, float *w,
		    const float *g, float *m, float *v);

/* Advances opt's powers of beta1 and beta2 by one step, in float32 as
 * TF.js does. */
void kern_adam_next(struct kern_adam *opt);

#endif
