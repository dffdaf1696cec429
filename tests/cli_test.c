/* Tests of the command line's shared helpers: the network options that
 * train, play and watch share, and the warning line printed where a
 * command creates or loads a model. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "nn.h"
#include "store.h"

/* A Dense relu layer before AlphaDropout, which nn_warnings() flags. */
static const char *const alpha_after_relu =
	"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":8,\"activation\":\"relu\"},"
	"{\"kind\":\"AlphaDropout\",\"rate\":0.1},"
	"{\"kind\":\"Dense\",\"units\":3,\"activation\":\"softmax\"}]}";

static struct nn_model *model_from(const char *json)
{
	struct nn_model *m = NULL;
	char err[256] = "";

	cr_assert_eq(nn_from_json(&m, json, 1, err, sizeof err), NN_OK, "bad test model: %s", err);
	return m;
}

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

Test(cli, warn_model_one_line, .init = cr_redirect_stderr)
{
	struct nn_model *m = model_from(alpha_after_relu);
	unsigned bits = cli_warn_model("eval", "model version 3", m);
	char expected[512];
	char *text;

	cr_assert_eq(bits, NN_WARN_ALPHA_ACTIVATION, "warning bits %#x", bits);
	snprintf(expected, sizeof expected, "ttypong eval: warning: model version 3: %s (layer %s)\n",
		 nn_warning_text(NN_WARN_ALPHA_ACTIVATION), nn_layer(m, 1)->name);
	text = read_stderr();
	cr_assert_str_eq(text, expected, "the warning line differs");
	nn_free(m);
}

Test(cli, warn_model_silent_when_clean, .init = cr_redirect_stderr)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct nn_model *m = NULL;
	int n = nn_reference_layers(layers);

	cr_assert_eq(nn_create(&m, NN_REFERENCE_INPUTS, layers, n, 1), NN_OK, "create failed");
	cr_assert_eq(cli_warn_model("train", "the fresh network", m), 0, "the reference model warned");
	cr_assert_str_eq(read_stderr(), "", "a clean model printed a warning");
	nn_free(m);
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

/* eval of a stored version with an AlphaDropout after relu prints the
 * warning once, on stderr, and still evaluates. */
static void redirect_both(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
}

Test(cli, eval_warns_on_stored_model, .init = redirect_both)
{
	char path[64], wal[80], shm[80];
	char *argv[] = { "ttypong", "eval", "--model", "1", "--rounds", "1", "--db", path, NULL };
	struct nn_model *m = model_from(alpha_after_relu);
	struct store *s = NULL;
	struct store_model sm = { .kind = STORE_MODEL_IMPORTED, .val_loss = 0, .promoted = true };
	unsigned char *blob = NULL;
	size_t size = 0;
	int64_t id = 0;
	char msg[STORE_MSG_MAX];
	const char *text, *hit;
	int fd;

	snprintf(path, sizeof path, "/tmp/ttypong-cli-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp failed");
	close(fd);
	unlink(path);
	cr_assert_eq(store_open(path, NULL, &s, msg, sizeof msg), STORE_OK, "open failed: %s", msg);
	cr_assert_eq(nn_save(m, &blob, &size), NN_OK, "save failed");
	sm.blob = blob;
	sm.blob_size = size;
	sm.train_loss = sm.val_acc = sm.return_rate = 0;
	cr_assert_eq(store_model_put(s, &sm, &id), STORE_OK, "put failed: %s", store_errmsg(s));
	cr_assert_eq(id, 1, "first version id %lld", (long long)id);
	store_close(s);

	cr_assert_eq(cli_main(8, argv), CLI_EXIT_OK, "eval failed: %s", read_stderr());
	text = read_stderr();
	hit = strstr(text, "ttypong eval: warning: model version 1: AlphaDropout");
	cr_assert_not_null(hit, "no warning line: %s", text);
	cr_assert_null(strstr(hit + strlen("ttypong eval: warning:"), "warning:"),
		       "more than one warning: %s", text);

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
	free(blob);
	nn_free(m);
}
