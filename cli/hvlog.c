/*
 * hvlog - read, filter and convert hypervisor event logs.
 *
 *   hvlog SUBCOMMAND [OPTIONS] [FILE|-]
 *
 * Each subcommand has its own argp option table (cmd_*.c); this file only
 * dispatches.
 */
#include <argp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "decode", cmd_decode, "print the events of a trace, as text or JSON Lines" },
	{ "filter", cmd_filter, "write the selected events as a new trace (or print them)" },
	{ "stats", cmd_stats, "counts, shares, rates, intervals and top values of a trace" },
	{ "info", cmd_info, "what a trace holds; --verify checks it whole" },
	{ "convert", cmd_convert, "convert to JSON Lines, CSV, CBOR, CTF, Chrome trace JSON or Perfetto, and back" },
	{ "diff", cmd_diff, "what differs between two traces (exit status 1 if anything does)" },
	{ "report", cmd_report, "an HTML page that shows a trace at a glance" },
	{ "top", cmd_top, "a live view of a trace being written: events/s per group, event, partition, stream" },
	{ "events", cmd_events, "list a schema: groups, events, parameters and value tables" },
	{ "schema", cmd_events, "same as events" },
};

static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "hvlog %s (libhvlog %s, trace format %d.%d)\n", HVLOG_VERSION_STRING, hvlog_version(),
		HVLOG_FORMAT_MAJOR, HVLOG_FORMAT_MINOR);
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
const char *argp_program_bug_address = "the hvlog issue tracker";

static const char doc[] =
	"Read, filter and convert hypervisor event logs.\v"
	"Commands:\n"
	"  decode [FILE|-]   print the events of a trace, as text or JSON Lines\n"
	"  filter [FILE|-]   write the selected events as a trace, or print them\n"
	"  stats [FILE|-]    counts, shares, rates, intervals and top values\n"
	"  info [FILE|-]     what a trace holds; --verify checks every chunk\n"
	"  convert [FILE|-]  to json, csv, cbor, ctf or chrome (--to); back with --from\n"
	"  events [FILE|-]   list a schema (built-in, or a trace's): groups, events, value tables\n"
	"\n"
	"FILE '-' or no FILE reads standard input (events without FILE: the built-in schema). "
	"`hvlog COMMAND --help` for a command's options.\n"
	"decode, filter and stats select events the same way: --group, --event (and --exclude-...), "
	"--stream, --vp, --partition, --since, --until, --where EXPR, --limit, --count.\n"
	"\n"
	"Exit status: 0 success; 1 the trace is damaged or not a trace (everything intact was "
	"still printed); 2 bad command line; 3 a file could not be read or written.";

static const struct command *command;
static int command_index;

/* Edit distance (insertions, deletions, substitutions, swaps of two
 * neighbours) between a and b, or SIZE_MAX when a is too long to be a typo. */
static size_t distance(const char *a, const char *b)
{
	enum { MAX = 32 };
	size_t la = strlen(a), lb = strlen(b), d[MAX + 1][MAX + 1];

	if (la > MAX || lb > MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		for (size_t j = 0; j <= lb; j++) {
			if (!i || !j) {
				d[i][j] = i + j;
				continue;
			}
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The command a mistyped name was probably meant to be: within two edits
 * (one for names of three letters or fewer), or NULL. */
static const char *nearest_command(const char *arg)
{
	const char *best = NULL;
	size_t best_d = strlen(arg) <= 3 ? 1 : 2;

	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		size_t d = distance(arg, commands[i].name);
		if (d <= best_d && (!best || d < best_d)) {
			best = commands[i].name;
			best_d = d;
		}
	}
	return best;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (!strcmp(arg, commands[i].name))
				command = &commands[i];
		if (!command) {
			const char *near = nearest_command(arg);
			if (near)
				argp_error(state, "unknown command '%s' (did you mean '%s'?)", arg, near);
			else
				argp_error(state, "unknown command '%s'", arg);
		}
		command_index = state->next - 1;
		state->next = state->argc; /* the rest belongs to the command */
		return 0;
	case ARGP_KEY_NO_ARGS:
		argp_error(state, "no command given");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int main(int argc, char **argv)
{
	static const struct argp argp = { NULL, parse, "COMMAND [OPTIONS] [FILE|-]", doc, NULL, NULL, NULL };
	static char name[32];

	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, NULL) != 0)
		return EXIT_USAGE;
	/* The command's argp takes its program name from argv[0], so usage
	 * errors and --help say "hvlog decode", not "decode". */
	snprintf(name, sizeof name, "hvlog %s", command->name);
	argv[command_index] = name;
	return command->run(argc - command_index, argv + command_index);
}
