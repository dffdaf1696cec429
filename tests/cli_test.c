/* Tests of the command line's shared helpers: the network options that
 * train, play and watch share. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "cli.h"

/* Returns what the test wrote to its redirected stderr. */
static char *read_stderr(void)
{
	FILE *f;
	static char text[4096];
	size_t n;

	fflush(stderr);
	f = cr_get_redirected_stderr();
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	return text;
}

Test(cli, net_options_parse)
{
	struct agent_opts o;

	agent_opts_default(&o);
	cr_assert_eq(cli_parse_net_option("play", CLI_OPT_DROPOUT, "gaussian:0.3", &o), 0,
		     "--dropout gaussian:0.3 rejected");
	cr_assert(o.has_dropout && o.dropout.variant == DROP_GAUSSIAN, "dropout not set");
	cr_assert_float_eq(o.dropout.rate, 0.3f, 1e-7f, "rate %g", o.dropout.rate);
	cr_assert_eq(cli_parse_net_option("play", CLI_OPT_MC, "8", &o), 0, "--mc 8 rejected");
	cr_assert_eq(o.mc_passes, 8, "mc_passes %u", o.mc_passes);
	cr_assert_eq(cli_parse_net_option("play", CLI_OPT_HISTORY, "32", &o), 0, "--history 32 rejected");
	cr_assert_eq(o.history, 32, "history %d", o.history);
}

Test(cli, net_options_reject, .init = cr_redirect_stderr)
{
	struct agent_opts o;

	agent_opts_default(&o);
	cr_assert_eq(cli_parse_net_option("watch", CLI_OPT_HISTORY, "33", &o), CLI_EXIT_USAGE,
		     "--history 33 accepted");
	cr_assert_eq(cli_parse_net_option("watch", CLI_OPT_HISTORY, "0", &o), CLI_EXIT_USAGE,
		     "--history 0 accepted");
	cr_assert_eq(cli_parse_net_option("watch", CLI_OPT_MC, "0", &o), CLI_EXIT_USAGE,
		     "--mc 0 accepted");
	cr_assert_eq(cli_parse_net_option("watch", CLI_OPT_DROPOUT, "bogus", &o), CLI_EXIT_USAGE,
		     "--dropout bogus accepted");
	cr_assert_eq(o.history, 1, "a rejected value changed history to %d", o.history);
	cr_assert(strstr(read_stderr(), "invalid value '33' for --history") != NULL,
		  "no message naming --history 33");
}
