/* xfer: the commands that move models and data across the save's edge.
 *
 *   ttypong export   a model version as TF.js Layers (optionally with the
 *                    browser page) or as a C header, or the save's labelled
 *                    records as CSV
 *   ttypong import   a TF.js Layers model as a new model version
 *   ttypong predict  class probabilities for CSV feature rows, from a model
 *                    version or a TF.js model directory
 *   ttypong stats    a summary of the save, as text or one JSON object
 *
 * Each command takes argv with argv[0] its own name, writes results to
 * stdout and one line per error to stderr, and returns a CLI_EXIT_ status. */
#ifndef TTYPONG_XFER_H
#define TTYPONG_XFER_H

#include <stddef.h>

#include "core.h"

#define XFER_N_CLASSES 3

/* Names of the network's inputs in core_features() order, as exports record
 * them and as the browser page (assets/web/core.js) expects them. */
extern const char *const xfer_feature_names[CORE_FEATURE_COUNT];

/* Names of the network's outputs in class order: up, stay, down. */
extern const char *const xfer_class_names[XFER_N_CLASSES];

int xfer_cmd_export(int argc, char **argv);
int xfer_cmd_import(int argc, char **argv);
int xfer_cmd_predict(int argc, char **argv);
int xfer_cmd_stats(int argc, char **argv);

/* Finds the browser page for exe_path (the resolved path of the executable):
 * DIR/assets/web when DIR, the executable's directory, holds a Makefile and
 * assets/web/index.html (a source tree), else data_dir/web, where make
 * install copies assets/. Writes the chosen directory into out and returns
 * 0 if it holds index.html, or -1 if not; out then names the installed
 * location, for the error message. exe_path may be NULL. */
int xfer_web_dir(const char *exe_path, const char *data_dir, char *out, size_t out_size);

#endif
