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

/* Out of line, so that the step per item saves no registers for it. */
static __attribute__((noinline, cold)) void run_damage(struct cli_run *run, const hvlog_item *it)
{
	if (run->before_message)
		run->before_message(run->ctx);
	cli_error(run->shown, it->offset, "%s", it->damage_msg);
	run->damaged = 1;
}

/* The step the library calls: damage reported, then the command's step. */
static int run_step(void *ctx, const hvlog_item *it)
{
	struct cli_run *run = ctx;

	if (it->kind == HVLOG_ITEM_DAMAGE && !run->quiet_damage)
		run_damage(run, it);
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

	uint64_t limit = sel ? sel->limit : UINT64_MAX;

	hvlog_reader_set_wait_hook(r, run_wait, run);
	st = run->stats ? hvlog_stats_run(run->stats, r, s, limit, run_step, run, &run->n, &err)
			: hvlog_select_run(r, s, limit, run_step, run, &run->n, &err);
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

/* FILE: at most one; none is standard input (unless io says otherwise). */
static error_t file_arg(const char **file, const struct cli_io *io, int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		if (*file)
			argp_error(state, io && io->more ? io->more : "more than one FILE given", arg);
		*file = arg;
		return 0;
	case ARGP_KEY_END:
		if (!*file && io && io->none)
			argp_error(state, "%s", io->none);
		if (!*file && !(io && io->optional))
			*file = "-";
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static error_t file_parse(int key, char *arg, struct argp_state *state)
{
	return file_arg(state->input, NULL, key, arg, state);
}

const struct argp cli_file_argp = { NULL, file_parse, NULL, NULL, NULL, NULL, NULL };

error_t cli_io_parse(int key, char *arg, struct argp_state *state)
{
	struct cli_io *io = state->input;

	switch (key) {
	case 'f':
		io->format = cli_choice_arg(state, "format", arg, io->formats);
		return 0;
	case 'o':
		io->out = arg;
		return 0;
	default:
		return io->own_file ? ARGP_ERR_UNKNOWN : file_arg(&io->file, io, key, arg, state);
	}
}

error_t cli_inputs(struct argp_state *state, hvsel *sel, void *file)
{
	unsigned i = 0;

	if (sel)
		state->child_inputs[i++] = sel;
	state->child_inputs[i] = file;
	return 0;
}
