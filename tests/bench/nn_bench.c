/* Speed of the reference network (6 inputs, Dense 64 relu, Dropout 0.5,
 * Dense 64 relu, Dropout 0.5, Dense 3 softmax) trained with Adam. Prints one
 * figure per line as "name value unit".
 *
 * The nn_ figures time the network library (nn_train_step, nn_predict);
 * nn_bench.mjs and nn_bench_torch.py print the same names for TF.js and
 * PyTorch, and run.sh divides them. The kern_step_ figures time the same
 * training step written directly on the kern_ API (forward, softmax
 * cross-entropy, backward, one Adam update over all weights), which shows
 * what the kernels alone reach and how much the library adds. The data set
 * is a formula every peer computes the same way, visited in order. Rates
 * are per second of process CPU time. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_isa.h"
#include "kern.h"
#include "nn.h"
#include "rng.h"

#define IN 6
#define H 64
#define OUT 3
#define SAMPLES 65536
#define MAX_BATCH 256
#define DROP_RATE 0.5f

/* Offsets of each weight array inside the one contiguous parameter vector,
 * so that a single kern_adam_step call updates the whole model. */
#define W1 0
#define B1 (W1 + IN * H)
#define W2 (B1 + H)
#define B2 (W2 + H * H)
#define W3 (B2 + H)
#define B3 (W3 + H * OUT)
#define NPARAM (B3 + OUT)

/* Multiply-adds of one forward pass, and floating-point operations of one
 * training sample: forward, kernel gradients, and the input gradients of
 * the second and third layers (the first layer's inputs need none). */
#define MACS (IN * H + H * H + H * OUT)
#define TRAIN_FLOP (2 * (3 * MACS - IN * H))

struct model {
	float p[NPARAM];	/* weights */
	float g[NPARAM];	/* gradients */
	float m[NPARAM];	/* Adam first moments */
	float v[NPARAM];	/* Adam second moments */
	struct kern_adam opt;
	struct rng rng;
	/* Activations of one batch. */
	float h1[MAX_BATCH * H], d1[MAX_BATCH * H], mask1[MAX_BATCH * H];
	float h2[MAX_BATCH * H], d2[MAX_BATCH * H], mask2[MAX_BATCH * H];
	float z[MAX_BATCH * OUT];
	float dh1[MAX_BATCH * H], dh2[MAX_BATCH * H];
};

/* Returns the process's CPU time in seconds. Figures use CPU time rather
 * than wall time, so that other work on a shared machine slows them less;
 * the peers do the same. */
static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Fills x[SAMPLES][IN] and one-hot y[SAMPLES][OUT] with the formula all
 * peers share: x[i][j] = ((i*mul[j] + add[j]) mod 1009) / 504.5 - 1, and the
 * class is 0 when x0 - x1 > 0.3, 2 when x0 - x1 < -0.3, else 1. Every
 * intermediate stays below 2^53, so JavaScript numbers compute it exactly. */
static void make_data(float *x, float *y)
{
	static const long data_mul[IN] = { 7919, 104729, 1299709, 15485863, 179424673, 2038074743 };
	static const long data_add[IN] = { 0, 17, 101, 313, 557, 907 };

	for (long i = 0; i < SAMPLES; i++) {
		float diff;
		int cls;

		for (long j = 0; j < IN; j++)
			x[i * IN + j] = (float)((i * data_mul[j] + data_add[j]) % 1009) / 504.5f - 1.0f;
		diff = x[i * IN] - x[i * IN + 1];
		cls = 1;
		if (diff > 0.3f)
			cls = 0;
		else if (diff < -0.3f)
			cls = 2;
		for (int c = 0; c < OUT; c++)
			y[i * OUT + c] = c == cls ? 1.0f : 0.0f;
	}
}

/* Glorot-uniform kernels and zero biases, as Keras initializes Dense. */
static void glorot(struct rng *r, float *w, int fan_in, int fan_out)
{
	float limit = sqrtf(6.0f / (float)(fan_in + fan_out));

	for (int i = 0; i < fan_in * fan_out; i++)
		w[i] = (2.0f * rng_uniform_f(r) - 1.0f) * limit;
}

static void model_init(struct model *mod, uint64_t seed)
{
	memset(mod, 0, sizeof *mod);
	rng_seed(&mod->rng, seed);
	glorot(&mod->rng, mod->p + W1, IN, H);
	glorot(&mod->rng, mod->p + W2, H, H);
	glorot(&mod->rng, mod->p + W3, H, OUT);
	kern_adam_init(&mod->opt);
}

/* Turns logits z[b][OUT] into dz = (softmax(z) - y) / b, the gradient of the
 * mean categorical cross-entropy, and returns that mean loss with
 * probabilities clipped to [1e-7, 1 - 1e-7] as Keras does. */
static double softmax_ce(int b, float *z, const float *y)
{
	double loss = 0;

	for (int i = 0; i < b; i++) {
		float *row = z + i * OUT;
		float top = row[0], sum = 0;

		for (int c = 1; c < OUT; c++)
			top = row[c] > top ? row[c] : top;
		for (int c = 0; c < OUT; c++) {
			row[c] = expf(row[c] - top);
			sum += row[c];
		}
		for (int c = 0; c < OUT; c++) {
			float prob = row[c] / sum;
			float clipped = fminf(fmaxf(prob, 1e-7f), 1.0f - 1e-7f);

			if (y[i * OUT + c] > 0)
				loss -= log(clipped);
			row[c] = (prob - y[i * OUT + c]) / (float)b;
		}
	}
	return loss / b;
}

/* Runs one training step on the b samples at x and y and returns the loss. */
static double train_step(struct model *mod, int b, const float *x, const float *y)
{
	float *p = mod->p, *g = mod->g;
	double loss;

	/* Forward. */
	kern_gemm_bias_relu(b, H, IN, x, p + W1, p + B1, mod->h1);
	kern_dropout(&mod->rng, b * H, DROP_RATE, mod->h1, mod->d1, mod->mask1);
	kern_gemm_bias_relu(b, H, H, mod->d1, p + W2, p + B2, mod->h2);
	kern_dropout(&mod->rng, b * H, DROP_RATE, mod->h2, mod->d2, mod->mask2);
	kern_gemm_bias(b, OUT, H, mod->d2, p + W3, p + B3, mod->z);
	loss = softmax_ce(b, mod->z, y);

	/* Backward: mod->z now contains the logits' gradient. */
	kern_gemm_tn(b, OUT, H, mod->d2, mod->z, g + W3);
	kern_col_sum(b, OUT, mod->z, g + B3);
	kern_gemm_nt(b, OUT, H, mod->z, p + W3, mod->dh2);
	kern_relu_grad(b * H, mod->h2, mod->mask2, mod->dh2);

	kern_gemm_tn(b, H, H, mod->d1, mod->dh2, g + W2);
	kern_col_sum(b, H, mod->dh2, g + B2);
	kern_gemm_nt(b, H, H, mod->dh2, p + W2, mod->dh1);
	kern_relu_grad(b * H, mod->h1, mod->mask1, mod->dh1);

	kern_gemm_tn(b, H, IN, x, mod->dh1, g + W1);
	kern_col_sum(b, H, mod->dh1, g + B1);

	/* Update. */
	kern_adam_step(&mod->opt, NPARAM, p, g, mod->m, mod->v);
	kern_adam_next(&mod->opt);
	return loss;
}

/* Predicts class probabilities for one sample in eval mode (no dropout). */
static void predict(const struct model *mod, const float *x, float *probs)
{
	float h1[H], h2[H], sum = 0;

	kern_gemm_bias_relu(1, H, IN, x, mod->p + W1, mod->p + B1, h1);
	kern_gemm_bias_relu(1, H, H, h1, mod->p + W2, mod->p + B2, h2);
	kern_gemm_bias(1, OUT, H, h2, mod->p + W3, mod->p + B3, probs);
	for (int c = 0; c < OUT; c++) {
		probs[c] = expf(probs[c]);
		sum += probs[c];
	}
	for (int c = 0; c < OUT; c++)
		probs[c] /= sum;
}

/* Trains epochs passes over the data at batch b and returns samples/s of
 * the timed passes, after one untimed pass. The last loss goes to *loss. */
static double bench_kern_train(struct model *mod, int b, int epochs, const float *x,
			  const float *y, double *loss)
{
	double start = 0;

	for (int e = 0; e <= epochs; e++) {
		if (e == 1)
			start = now_s();
		for (int i = 0; i + b <= SAMPLES; i += b)
			*loss = train_step(mod, b, x + (size_t)i * IN, y + (size_t)i * OUT);
	}
	return (double)epochs * (SAMPLES / b * b) / (now_s() - start);
}

/* Returns the mean time of one predict call in ns, cycling over inputs. */
static double bench_kern_predict(const struct model *mod, const float *x, float *checksum)
{
	const int calls = 2000000;
	float probs[OUT];
	double start;

	for (int i = 0; i < 10000; i++)
		predict(mod, x + (size_t)(i % SAMPLES) * IN, probs);
	start = now_s();
	for (int i = 0; i < calls; i++) {
		predict(mod, x + (size_t)(i & (SAMPLES - 1)) * IN, probs);
		*checksum += probs[0];
	}
	return (now_s() - start) * 1e9 / calls;
}

/* Returns GFLOP/s of kern_gemm_bias_relu on an m x n x k product. */
static double bench_gemm(int m, int n, int k)
{
	static float a[MAX_BATCH * H], b[H * H], bias[H], c[MAX_BATCH * H];
	long reps = 200000000L / ((long)m * n * k) + 1;
	double start;

	for (int i = 0; i < m * k; i++)
		a[i] = (float)(i % 7) * 0.1f;
	for (int i = 0; i < k * n; i++)
		b[i] = (float)(i % 5) * 0.1f - 0.2f;
	start = now_s();
	for (long r = 0; r < reps; r++) {
		kern_gemm_bias_relu(m, n, k, a, b, bias, c);
		a[r % (m * k)] += c[0] * 1e-9f;
	}
	return 2.0 * m * n * k * reps / (now_s() - start) / 1e9;
}

/* Trains a fresh library model for epochs passes at batch b after one
 * untimed pass, and returns samples/s, or -1 when the library fails. */
static double bench_nn_train(int b, int epochs, const float *x, const float *y,
			     double *loss)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct nn_model *m;
	double start = 0;

	nn_reference_layers(layers);
	if (nn_create(&m, NN_REFERENCE_INPUTS, layers, NN_REFERENCE_LAYERS, 1) != NN_OK)
		return -1;
	for (int e = 0; e <= epochs; e++) {
		if (e == 1)
			start = now_s();
		for (int i = 0; i + b <= SAMPLES; i += b) {
			struct nn_data batch = { x + (size_t)i * IN, y + (size_t)i * OUT, NULL, b };

			if (nn_train_step(m, &batch, loss, NULL) != NN_OK) {
				nn_free(m);
				return -1;
			}
		}
	}
	start = (double)epochs * (SAMPLES / b * b) / (now_s() - start);
	nn_free(m);
	return start;
}

/* Returns the mean ns per row of nn_predict on rows rows at a time, or -1
 * when the library fails. */
static double bench_nn_predict(int rows, const float *x, float *checksum)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct nn_model *m;
	static float probs[MAX_BATCH * OUT];
	const int calls = 2000000 / rows;
	double start;

	nn_reference_layers(layers);
	if (nn_create(&m, NN_REFERENCE_INPUTS, layers, NN_REFERENCE_LAYERS, 1) != NN_OK)
		return -1;
	for (int i = 0; i < 1000; i++)
		nn_predict(m, x, rows, probs);
	start = now_s();
	for (int i = 0; i < calls; i++) {
		nn_predict(m, x + (size_t)((i * rows) & (SAMPLES - 1)) * IN, rows, probs);
		*checksum += probs[0];
	}
	start = (now_s() - start) * 1e9 / calls / rows;
	nn_free(m);
	return start;
}

int main(void)
{
	float *x = malloc(sizeof(float) * SAMPLES * IN);
	float *y = malloc(sizeof(float) * SAMPLES * OUT);
	struct model *mod = malloc(sizeof *mod);
	double nn32, nn256, k32, k256, loss[4] = { 0 };
	float checksum = 0;

	if (bench_isa_report("nn_bench", "nn") != 0) {
		free(x);
		free(y);
		free(mod);
		return 2;
	}
	if (!x || !y || !mod) {
		fprintf(stderr, "nn_bench: out of memory\n");
		return 1;
	}
	make_data(x, y);

	nn32 = bench_nn_train(32, 4, x, y, &loss[0]);
	nn256 = bench_nn_train(256, 8, x, y, &loss[1]);
	printf("nn_train_b32 %.0f samples/s\n", nn32);
	printf("nn_train_b256 %.0f samples/s\n", nn256);
	printf("nn_infer_1 %.1f ns\n", bench_nn_predict(1, x, &checksum));
	printf("nn_infer_256 %.1f ns/row\n", bench_nn_predict(256, x, &checksum));
	printf("nn_train_flop %d FLOP/sample\n", TRAIN_FLOP);
	printf("nn_gflops_b32 %.2f GFLOP/s\n", nn32 * TRAIN_FLOP / 1e9);
	printf("nn_gflops_b256 %.2f GFLOP/s\n", nn256 * TRAIN_FLOP / 1e9);

	model_init(mod, 1);
	k32 = bench_kern_train(mod, 32, 4, x, y, &loss[2]);
	model_init(mod, 1);
	k256 = bench_kern_train(mod, 256, 8, x, y, &loss[3]);
	printf("kern_step_train_b32 %.0f samples/s\n", k32);
	printf("kern_step_train_b256 %.0f samples/s\n", k256);
	printf("kern_step_infer_1 %.1f ns\n", bench_kern_predict(mod, x, &checksum));
	printf("kern_step_gflops_b32 %.2f GFLOP/s\n", k32 * TRAIN_FLOP / 1e9);
	printf("kern_step_gflops_b256 %.2f GFLOP/s\n", k256 * TRAIN_FLOP / 1e9);
	printf("kern_gemm_1x64x64 %.2f GFLOP/s\n", bench_gemm(1, 64, 64));
	printf("kern_gemm_32x64x64 %.2f GFLOP/s\n", bench_gemm(32, 64, 64));
	printf("kern_gemm_256x64x64 %.2f GFLOP/s\n", bench_gemm(256, 64, 64));

	/* The losses show that both steps learn, and the checksum keeps the
	 * predictions from being optimized away. Both go to stderr so they stay
	 * out of the figures. */
	fprintf(stderr, "nn_bench: last loss nn %.4f (batch 32) %.4f (batch 256), "
		"kern step %.4f %.4f, checksum %g\n", loss[0], loss[1], loss[2], loss[3], checksum);

	free(x);
	free(y);
	free(mod);
	return nn32 < 0 || nn256 < 0;
}
