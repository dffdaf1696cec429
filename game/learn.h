/* learn: the commands that train, evaluate and list the AI's model versions.
 *
 *   ttypong train   headless rounds against the tracker or itself, with the
 *                   agent training between rounds; one metrics line a round
 *   ttypong eval    a model's return rate against the tracker, with a 95%
 *                   Wilson interval, stored on the model version
 *   ttypong models  the model versions in the save
 *
 * Each command takes argv with argv[0] its own name, prints only to stdout
 * and stderr, and returns a CLI_EXIT_ status. */
#ifndef TTYPONG_LEARN_H
#define TTYPONG_LEARN_H

#include <stdint.h>

int learn_cmd_train(int argc, char **argv);
int learn_cmd_eval(int argc, char **argv);
int learn_cmd_models(int argc, char **argv);

/* Writes the Wilson score interval of k successes in n trials at normal
 * quantile z (1.96 for 95%) to *lo and *hi, both in [0, 1]. With n == 0 the
 * interval is [0, 1]. */
void learn_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi);

#endif
