/* rng: seeded pseudo-random numbers shared by the network and the game core.
 *
 * The generator is xoshiro256** seeded through splitmix64, so one 64-bit seed
 * fixes the whole stream. The same seed gives the same sequence on every
 * platform, because every draw uses integer arithmetic before the final
 * conversion to floating point. */
#ifndef TTYPONG_RNG_H
#define TTYPONG_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seeds the generator. Every seed, including 0, gives a usable stream. */
void rng_seed(struct rng *r, uint64_t seed);

/* Returns the next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* Returns a uniform integer in [0, n), without modulo bias. n must be > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);

/* Returns a uniform double in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);

/* Returns a uniform float in [0, 1) with 24 random bits. */
float rng_uniform_f(struct rng *r);

/* Returns a standard normal deviate (mean 0, variance 1), by the polar
 * Box-Muller method. The spare deviate is discarded, so each call consumes a
 * data-dependent but deterministic number of draws. */
double rng_normal(struct rng *r);

#endif
