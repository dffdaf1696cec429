/* Tests of the overfitting lab: the recorded data and its history rows,
 * option checks, the text charts in UTF-8 and ASCII, the JSON lines, and a
 * short run of every setting. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "nn.h"

Test(lab_record, rows_stack_history_oldest_first)
{
	struct lab_data d;
	const int w = CORE_FEATURE_COUNT;
	int shifted = 0;

	cr_assert_eq(lab_record(5, 1, 3, &d), 0, "recording failed");
	cr_assert_gt(d.n, 100, "only %d rows in a round", d.n);
	cr_expect_eq(d.width, 3 * w, "width %d, expected 18", d.width);

	/* The first row of the round repeats its frame in every slot. */
	for (int t = 1; t < 3; t++)
		for (int k = 0; k < w; k++)
			cr_expect_eq(d.x[t * w + k], d.x[k], "row 0 slot %d feature %d differs", t, k);

	/* Each later row drops its oldest frame and appends a new one. */
	for (int i = 1; i < d.n; i++) {
		const float *prev = d.x + (size_t)(i - 1) * d.width;
		const float *row = d.x + (size_t)i * d.width;

		shifted += memcmp(row, prev + w, 2 * w * sizeof *row) == 0;
	}
	cr_expect_eq(shifted, d.n - 1, "%d of %d rows are not the previous row shifted", shifted,
		     d.n - 1);
	for (int i = 0; i < d.n; i++)
		cr_assert(d.ids[i] >= 0 && d.ids[i] < CORE_MOVE_COUNT, "row %d has class %d", i,
			  d.ids[i]);
	lab_data_free(&d);
}

Test(lab_record, same_seed_same_data)
{
	struct lab_data a, b, c;

	cr_assert_eq(lab_record(7, 1, 2, &a), 0, "recording failed");
	cr_assert_eq(lab_record(7, 1, 2, &b), 0, "recording failed");
	cr_assert_eq(lab_record(8, 1, 2, &c), 0, "recording failed");
	cr_assert_eq(a.n, b.n, "the same seed gave %d and %d rows", a.n, b.n);
	cr_expect_eq(memcmp(a.x, b.x, (size_t)a.n * a.width * sizeof *a.x), 0,
		     "the same seed gave other features");
	cr_expect_eq(memcmp(a.ids, b.ids, (size_t)a.n * sizeof *a.ids), 0,
		     "the same seed gave other classes");
	cr_expect(a.n != c.n || memcmp(a.x, c.x, (size_t)a.n * a.width * sizeof *a.x) != 0,
		  "seeds 7 and 8 gave the same data");
	lab_data_free(&a);
	lab_data_free(&b);
	lab_data_free(&c);
}

Test(lab_opts, check_ranges)
{
	struct lab_opts o;

	lab_opts_default(&o);
	cr_expect_null(lab_opts_check(&o), "the defaults are rejected");
	o.history = 0;
	cr_expect_not_null(lab_opts_check(&o), "history 0 accepted");
	o.history = LAB_HISTORY_MAX + 1;
	cr_expect_not_null(lab_opts_check(&o), "history 17 accepted");
	lab_opts_default(&o);
	o.epochs = LAB_EPOCHS_MAX + 1;
	cr_expect_not_null(lab_opts_check(&o), "201 epochs accepted");
	lab_opts_default(&o);
	o.eval_rounds = 0;
	cr_expect_not_null(lab_opts_check(&o), "0 rounds accepted");
}

/* Without dropout the network fits the small training set far better than
 * the validation match: the overfitting the lab is there to show. */
Test(lab_data, no_dropout_overfits)
{
	struct lab_data train, val;
	struct drop_spec none = { DROP_NONE, 0.0f };
	struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS];
	struct nn_model *m = NULL;
	struct nn_fit_opts fit = { .epochs = 40, .batch_size = 32, .shuffle = 1 };
	double train_loss, val_loss;
	int n = drop_spec_layers(&none, 4, layers);

	cr_assert_eq(lab_record(1, LAB_TRAIN_ROUNDS, 4, &train), 0, "recording failed");
	cr_assert_eq(lab_record(2, LAB_VAL_ROUNDS, 4, &val), 0, "recording failed");
	cr_assert_eq(nn_create(&m, train.width, layers, n, 3), NN_OK, "create failed");
	{
		struct nn_data td = { .x = train.x, .ids = train.ids, .n = train.n };
		struct nn_data vd = { .x = val.x, .ids = val.ids, .n = val.n };

		cr_assert_eq(nn_fit(m, &td, &fit, NULL), NN_OK, "fit failed");
		cr_assert_eq(nn_evaluate(m, &td, 0, &train_loss, NULL), NN_OK, "evaluate failed");
		cr_assert_eq(nn_evaluate(m, &vd, 0, &val_loss, NULL), NN_OK, "evaluate failed");
	}
	cr_expect_lt(train_loss * 2.0, val_loss,
		     "training loss %g is not below half the validation loss %g", train_loss,
		     val_loss);
	nn_free(m);
	lab_data_free(&train);
	lab_data_free(&val);
}

/* A report of two settings over 5 epochs with hand-made curves. */
static struct lab_report *fake_report(void)
{
	struct lab_report *r = calloc(1, sizeof *r);

	cr_assert_not_null(r, "allocation failed");
	lab_opts_default(&r->opts);
	r->opts.epochs = 5;
	r->train_rows = 100;
	r->val_rows = 80;
	r->n_settings = 2;
	r->settings = calloc(2, sizeof *r->settings);
	cr_assert_not_null(r->settings, "allocation failed");
	strcpy(r->settings[0].label, "none");
	r->settings[0].spec = (struct drop_spec){ DROP_NONE, 0.0f };
	strcpy(r->settings[1].label, "ConcreteDropout:0.1");
	r->settings[1].spec = (struct drop_spec){ DROP_CONCRETE, 0.1f };
	r->settings[1].learned_rate[0] = 0.25f;
	for (int i = 0; i < 2; i++) {
		for (int e = 0; e < 5; e++) {
			r->settings[i].train_loss[e] = 1.0 - 0.2 * e;
			r->settings[i].val_loss[e] = 1.0 - 0.1 * e + 0.05 * e * e;
		}
		r->settings[i].best_epoch = 2;
		r->settings[i].returns = 3;
		r->settings[i].misses = 1;
	}
	return r;
}

static char *render(const struct lab_report *r, bool utf8, bool json)
{
	FILE *f = tmpfile();
	char *text;
	long len;

	cr_assert_not_null(f, "tmpfile failed");
	if (json)
		cr_assert_eq(lab_write_json(r, f), 0, "lab_write_json failed");
	else
		lab_write_text(r, f, utf8);
	len = ftell(f);
	text = calloc((size_t)len + 1, 1);
	cr_assert_not_null(text, "allocation failed");
	rewind(f);
	cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len, "reading back failed");
	fclose(f);
	return text;
}

Test(lab_text, ascii_output_is_ascii)
{
	struct lab_report *r = fake_report();
	char *text = render(r, false, false);

	for (const char *p = text; *p; p++)
		cr_assert((unsigned char)*p < 128, "byte %#x at offset %td is not ASCII",
			  (unsigned char)*p, p - text);
	cr_expect(strstr(text, "#") != NULL, "no full cell in the ASCII chart:\n%s", text);
	cr_expect(strstr(text, " | ") != NULL, "no panel separator:\n%s", text);
	cr_expect(strstr(text, "75.0%") != NULL, "the return rate 3/4 is missing:\n%s", text);
	cr_expect(strstr(text, "0.250") != NULL, "the learned rate is missing:\n%s", text);
	free(text);
	lab_report_free(r);
}

/* Returns line n (from 0) of text, copied into buf. */
static const char *nth_line(const char *text, int n, char *buf, size_t len)
{
	const char *end;

	for (int i = 0; i < n && text; i++) {
		text = strchr(text, '\n');
		text = text ? text + 1 : NULL;
	}
	cr_assert_not_null(text, "the output has fewer than %d lines", n + 1);
	end = strchr(text, '\n');
	cr_assert_not_null(end, "line %d does not end", n);
	cr_assert_lt((size_t)(end - text), len, "line %d is too long", n);
	memcpy(buf, text, (size_t)(end - text));
	buf[end - text] = '\0';
	return buf;
}

Test(lab_text, utf8_chart_shapes)
{
	struct lab_report *r = fake_report();
	char *text = render(r, true, false);
	const char *chart = strstr(text, "none");
	char top[512], bottom[512];
	size_t len;

	cr_assert_not_null(chart, "no chart for none:\n%s", text);
	cr_expect(strstr(text, "\u2502") != NULL, "no panel separator:\n%s", text);

	/* The charts span the report's range, 0.2 (the last training loss) to
	 * 1.4 (the last validation loss). So the top row ends with a full
	 * block, and the bottom row's training curve ends with one eighth. */
	nth_line(chart, 1, top, sizeof top);
	nth_line(chart, 4, bottom, sizeof bottom);
	len = strlen(top);
	cr_expect(strstr(top, "1.400") != NULL, "the top row has no 1.400 label: '%s'", top);
	cr_expect(len >= 3 && strcmp(top + len - 3, "\u2588") == 0,
		  "the top row does not end full: '%s'", top);
	cr_expect(strstr(bottom, "0.200") != NULL, "the bottom row has no 0.200 label: '%s'",
		  bottom);
	/* Five epochs fill 5 of the panel's 15 columns: 10 spaces pad the rest,
	 * and one more opens the separator. */
	cr_expect(strstr(bottom, "\u2581           \u2502") != NULL,
		  "the training panel does not end one eighth high: '%s'", bottom);
	free(text);
	lab_report_free(r);
}

Test(lab_json, one_object_per_setting)
{
	static const char *const keys[] = {
		"setting", "variant", "rate", "seed", "history", "train_rows", "val_rows",
		"train_loss", "val_loss", "final_train_loss", "final_val_loss", "best_val_loss",
		"best_epoch", "train_acc", "val_acc", "eval_rounds", "returns", "misses",
		"return_rate", "learned_rates",
	};
	struct lab_report *r = fake_report();
	char *text = render(r, false, true);
	char *save = NULL;
	int lines = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);

		cr_assert_not_null(o, "line %d is not JSON (%s): %s", lines, err.text, line);
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			cr_expect_not_null(json_object_get(o, keys[k]), "line %d lacks \"%s\"", lines,
					   keys[k]);
		cr_expect_eq(json_array_size(json_object_get(o, "val_loss")), 5,
			     "line %d: the curve does not have 5 epochs", lines);
		cr_expect_float_eq(json_real_value(json_object_get(o, "return_rate")), 0.75, 1e-12,
				   "line %d: wrong return rate", lines);
		json_decref(o);
		lines++;
	}
	cr_expect_eq(lines, 2, "%d lines for 2 settings", lines);
	free(text);
	lab_report_free(r);
}

Test(lab_run, short_run_covers_every_setting, .timeout = 120)
{
	struct lab_opts o;
	struct lab_report *r = NULL;
	char err[128] = "";

	lab_opts_default(&o);
	o.epochs = 1;
	o.eval_rounds = 1;
	o.history = 2;
	cr_assert_eq(lab_run(&o, NULL, NULL, &r, err, sizeof err), 0, "lab_run failed: %s", err);
	cr_expect_eq(r->n_settings, DROP_VARIANT_COUNT + 1, "%d settings", r->n_settings);
	for (int i = 0; i < r->n_settings; i++) {
		const struct lab_setting *s = &r->settings[i];

		cr_expect(isfinite(s->train_loss[0]) && isfinite(s->val_loss[0]),
			  "%s: losses %g, %g", s->label, s->train_loss[0], s->val_loss[0]);
		cr_expect_eq(s->best_epoch, 1, "%s: best epoch %d", s->label, s->best_epoch);
		cr_expect_gt(s->returns + s->misses, 0u, "%s: no ball reached the model",
			     s->label);
	}
	cr_expect_str_eq(r->settings[1].label, "Dropout:0.2", "second setting is %s",
			 r->settings[1].label);
	lab_report_free(r);
}
