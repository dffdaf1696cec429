/* nn_bench: speed of the network library on the reference model.
 *
 * Prints one line per figure: single-sample eval inference (the paddle's
 * per-frame call), batched inference, and training steps of 32 rows. */
#include <stdio.h>
#include <time.h>

#include "kern.h"
#include "nn.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Runs predict on n rows until at least 0.5 s pass; returns ns per call. */
static double time_predict(struct nn_model *m, const float *x, int n, float *y)
{
	long calls = 0;
	double start = now_s(), elapsed;
	volatile float sink = 0;

	do {
		for (int i = 0; i < 10000; i++) {
			nn_predict(m, x, n, y);
			sink += y[0];
		}
		calls += 10000;
		elapsed = now_s() - start;
	} while (elapsed < 0.5);
	return elapsed / calls * 1e9;
}

int main(void)
{
	struct nn_layer_desc ref[NN_REFERENCE_LAYERS];
	struct nn_model *m;
	static float x[256 * NN_REFERENCE_INPUTS], y[256 * 3];
	static int ids[32];
	struct rng r;
	double start, elapsed, loss;
	long steps = 0;

	nn_reference_layers(ref);
	if (nn_create(&m, NN_REFERENCE_INPUTS, ref, NN_REFERENCE_LAYERS, 1) != NN_OK)
		return 1;
	rng_seed(&r, 2);
	for (int i = 0; i < 256 * NN_REFERENCE_INPUTS; i++)
		x[i] = (float)(2 * rng_uniform(&r) - 1);
	for (int i = 0; i < 32; i++)
		ids[i] = i % 3;

	printf("nn_predict, 1 row, reference model: %.1f ns per call\n", time_predict(m, x, 1, y));
	/* The same three matrix products alone: the gap to the line above is
	 * the library's own per-call cost (activations, dispatch). */
	{
		static float h1[64], h2[64], out[3];
		long calls = 0;
		volatile float sink = 0;

		start = now_s();
		do {
			for (int i = 0; i < 10000; i++) {
				kern_gemm_bias(1, 64, 6, x, nn_kernel(m, 0), nn_bias(m, 0), h1);
				kern_gemm_bias(1, 64, 64, h1, nn_kernel(m, 2), nn_bias(m, 2), h2);
				kern_gemm_bias(1, 3, 64, h2, nn_kernel(m, 4), nn_bias(m, 4), out);
				sink += out[0];
			}
			calls += 10000;
			elapsed = now_s() - start;
		} while (elapsed < 0.5);
		printf("kern_gemm_bias only, 1 row, reference shapes: %.1f ns per call\n",
		       elapsed / calls * 1e9);
	}
	printf("nn_predict, 256 rows, reference model: %.1f ns per row\n",
	       time_predict(m, x, 256, y) / 256);

	struct nn_data b = { .x = x, .ids = ids, .n = 32 };

	start = now_s();
	do {
		for (int i = 0; i < 100; i++)
			nn_train_step(m, &b, &loss, NULL);
		steps += 100;
		elapsed = now_s() - start;
	} while (elapsed < 0.5);
	printf("nn_train_step, 32 rows, Adam, reference model: %.2f us per step\n",
	       elapsed / steps * 1e6);
	nn_free(m);
	return 0;
}
