/*
 * pipeline.c - what every command that reads items shares: the run of a
 * trace through a selection into a command's own step (the library's
 * hvlog_select_run, with damage and read errors reported here, once), and
 * the small pieces of option parsing every command repeats (--format's
 * choices).
 */
#include <argp.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The step the library calls: damage reported, then the command's step. */
static int run_step(void *ctx, const hvlog_item *it)
{
	struct cli_run *run = ctx;

	if (it->kind == HVLOG_ITEM_DAMAGE && !run->quiet_damage) {
		if (run->before_message)
			run->before_message(run->ctx);
		cli_error(run->shown, it->offset, "%s", it->damage_msg);
		run->damaged = 1;
	}
	return run->step ? run->step(run->ctx, it) : 0;
}

/* A live reader is about to wait for its input: what was written so far
 * goes out first. */
static void run_wait(void *ctx)
{
	struct cli_run *run = ctx;

	if (run->before_message)
		run->before_message(run->ctx);
	fflush(stdout);
}

int cli_run(hvlog_reader *r, struct cli_run *run)
{
	const hvsel *sel = run->sel;
	const hvlog_select *s = sel && !sel->all_events ? sel->lib : NULL;
	hvlog_error err = { 0 };
	hvlog_status st;

	hvlog_reader_set_wait_hook(r, run_wait, run);
	st = hvlog_select_run(r, s, sel ? sel->limit : UINT64_MAX, run_step, run, &run->n, &err);
	run->complete = st == HVLOG_END;
	if (st != HVLOG_END && st != HVLOG_OK) {
		if (run->before_message)
			run->before_message(run->ctx);
		run->read_failed = 1;
		return cli_fail(run->shown, &err);
	}
	return run->damaged ? EXIT_DATA : EXIT_OK;
}

int cli_choice_arg(struct argp_state *state, const char *what, const char *arg, const char *const *names)
{
	char list[256];
	size_t n = 0, k = 0;

	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	while (names[n])
		n++;
	list[0] = 0;
	for (size_t i = 0; i < n && k < sizeof list; i++)
		k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
				      names[i]);
	argp_error(state, "unknown %s '%s' (%s)", what, arg, list);
	return -1;
}

const char *const cli_text_json[] = { "text", "json", NULL };

/* FILE: at most one; none is standard input. */
static error_t file_parse(int key, char *arg, struct argp_state *state)
{
	const char **file = state->input;

	switch (key) {
	case ARGP_KEY_ARG:
		if (*file)
			argp_error(state, "more than one FILE given");
		*file = arg;
		return 0;
	case ARGP_KEY_END:
		if (!*file)
			*file = "-";
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp cli_file_argp = { NULL, file_parse, NULL, NULL, NULL, NULL, NULL };

error_t cli_inputs(struct argp_state *state, hvsel *sel, const char **file)
{
	unsigned i = 0;

	if (sel)
		state->child_inputs[i++] = sel;
	state->child_inputs[i] = file;
	return 0;
}
