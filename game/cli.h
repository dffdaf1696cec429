/* cli: the command line. One entry point dispatches subcommands; this module
 * also holds the option parsing helpers that every command shares, so that
 * errors read the same everywhere.
 *
 * Exit statuses: CLI_EXIT_OK on success, CLI_EXIT_FAIL when the command ran
 * and failed (a save, a file, a model), CLI_EXIT_USAGE for a bad option or
 * value, or when stdin or stdout is not the terminal a command needs. */
#ifndef TTYPONG_CLI_H
#define TTYPONG_CLI_H

#include <stdint.h>

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

#endif
