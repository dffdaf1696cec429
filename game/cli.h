/* cli: the command line. One entry point dispatches subcommands; this module
 * also holds the option parsing helpers that every command shares, so that
 * errors read the same everywhere.
 *
 * Exit statuses: CLI_EXIT_OK on success, CLI_EXIT_FAIL when the command ran
 * and failed (a save, a file, a model), CLI_EXIT_USAGE for a bad option or
 * value, or when stdin or stdout is not the terminal a command needs. */
#ifndef TTYPONG_CLI_H
#define TTYPONG_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

struct agent;
struct agent_opts;
struct nn_model;
struct store;

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
};

/* Dispatches argv to a command and returns the process's exit status. With
 * no command, or with an option first, the command is "play". */
int cli_main(int argc, char **argv);

/* Prints "ttypong: MESSAGE" and a newline to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ttypong CMD: MESSAGE", then a line pointing to CMD's --help, and
 * returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports an option getopt_long() rejected. opt is getopt_long()'s return
 * value: ':' for a missing value, which needs an option string starting with
 * ':', or '?' for an unknown option or a value given to an option that takes
 * none. optopt and argv[optind - 1] name the option. Returns
 * CLI_EXIT_USAGE. */
int cli_bad_option(const char *cmd, int opt, char **argv);

/* The cli_parse_* number parsers share one rule: a value is plain decimal
 * text, an optional '-' and digits (for cli_parse_double also an optional
 * fraction and exponent, as in -0.5 or 1e-3). Whitespace anywhere, a '+'
 * sign, hexadecimal and the words inf and nan are rejected, so " 2", "+2"
 * and "2 " are errors, as is any '-' for a seed. */

/* Parses value, the argument of option opt of command cmd, as a decimal
 * integer in [min, max]. Returns 0, or prints one line naming the option, the
 * value and the valid range and returns CLI_EXIT_USAGE. */
int cli_parse_long(const char *cmd, const char *opt, const char *value,
		   long min, long max, long *out);

/* Parses a seed: any decimal integer from 0 to 2^64 - 1. Same contract. */
int cli_parse_seed(const char *cmd, const char *opt, const char *value,
		   uint64_t *out);

/* Parses a decimal number in [min, max]; NaN and infinities are rejected.
 * Same contract. */
int cli_parse_double(const char *cmd, const char *opt, const char *value,
		     double min, double max, double *out);

/* Checks value, a file path given to option opt of command cmd: an empty
 * path is rejected, since it names no file. Returns 0 and sets *out to value,
 * or prints one line and returns CLI_EXIT_USAGE. */
int cli_parse_path(const char *cmd, const char *opt, const char *value,
		   const char **out);

/* Resolves the save's path from db_opt (the --db argument or NULL), the
 * TTYPONG_DB variable (an empty one counts as unset) and the default, then
 * opens it. On failure prints one
 * line naming the path and what to do, and returns CLI_EXIT_FAIL. */
int cli_open_store(const char *db_opt, struct store **out);

/* getopt_long() values of the options that shape or run the AI's network,
 * which train, play and watch share: --dropout NAME[:RATE], --mc N and
 * --history K. CLI_NET_LONG_OPTIONS lists them for a struct option table. */
enum {
	CLI_OPT_DROPOUT = 0x1000,
	CLI_OPT_MC,
	CLI_OPT_HISTORY,
};
#define CLI_NET_LONG_OPTIONS \
	{"dropout", required_argument, NULL, CLI_OPT_DROPOUT}, \
	{"mc", required_argument, NULL, CLI_OPT_MC}, \
	{"history", required_argument, NULL, CLI_OPT_HISTORY}

/* The help lines of those options, options at column 6 and their text at
 * column 25, ending in a newline. */
extern const char cli_net_options_help[];

/* Applies one of those options (opt is its CLI_OPT_ value, value its
 * argument) to o. Returns 0, or prints one line naming the value and the
 * valid choices and returns CLI_EXIT_USAGE. */
int cli_parse_net_option(const char *cmd, int opt, const char *value, struct agent_opts *o);

/* Prints the doubts that nn_warnings() raises about m as one line on stderr,
 * "ttypong CMD: warning: WHAT: TEXT (layer NAME)", or nothing when it
 * raises none. what names the model, e.g. "model version 3". Commands call
 * it where they create or load a model. Returns the warning bits. */
unsigned cli_warn_model(const char *cmd, const char *what, const struct nn_model *m);

/* Called after agent_open() with the options it was given (NULL for a
 * command without the network options): prints one warning line when
 * --dropout (o->has_dropout) or --history (history_given) asked for what
 * only a fresh network takes but a stored version was loaded, and then the
 * playing network's warnings (cli_warn_model()). */
void cli_warn_agent(const char *cmd, const struct agent *a, const struct agent_opts *o,
		    bool history_given);

#endif
