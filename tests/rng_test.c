/* Tests of the seeded generator shared by the game and the network. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "rng.h"

Test(rng, same_seed_same_stream)
{
	struct rng a, b;

	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(rng_next(&a), rng_next(&b), "streams differ at draw %d", i);
}

Test(rng, different_seeds_differ)
{
	struct rng a, b;

	rng_seed(&a, 1);
	rng_seed(&b, 2);
	cr_assert_neq(rng_next(&a), rng_next(&b), "seeds 1 and 2 gave the same first draw");
}

Test(rng, uniform_in_unit_interval)
{
	struct rng r;
	double sum = 0;

	rng_seed(&r, 7);
	for (int i = 0; i < 100000; i++) {
		double u = rng_uniform(&r);
		float f = rng_uniform_f(&r);

		cr_assert(u >= 0.0 && u < 1.0, "rng_uniform gave %g", u);
		cr_assert(f >= 0.0f && f < 1.0f, "rng_uniform_f gave %g", f);
		sum += u;
	}
	cr_assert_float_eq(sum / 100000, 0.5, 0.01, "mean of 100000 uniforms is %g", sum / 100000);
}

Test(rng, below_covers_range_evenly)
{
	struct rng r;
	int counts[7] = {0};

	rng_seed(&r, 3);
	for (int i = 0; i < 70000; i++) {
		uint32_t k = rng_below(&r, 7);

		cr_assert_lt(k, 7u, "rng_below(7) gave %u", k);
		counts[k]++;
	}
	for (int k = 0; k < 7; k++)
		cr_assert(abs(counts[k] - 10000) < 500, "value %d drawn %d times, expected about 10000", k, counts[k]);
}

Test(rng, normal_moments)
{
	struct rng r;
	double sum = 0, sum_sq = 0;
	const int n = 200000;

	rng_seed(&r, 11);
	for (int i = 0; i < n; i++) {
		double x = rng_normal(&r);

		sum += x;
		sum_sq += x * x;
	}
	cr_assert_float_eq(sum / n, 0.0, 0.01, "mean is %g", sum / n);
	cr_assert_float_eq(sum_sq / n, 1.0, 0.02, "variance is %g", sum_sq / n);
}
