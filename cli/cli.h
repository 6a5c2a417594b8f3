/*
 * cli.h - shared pieces of the hvlog command line.
 */
#ifndef HVLOG_CLI_H
#define HVLOG_CLI_H

#include <stdio.h>

#include "hvlog/hvlog.h"

/* Exit codes (documented in README.md and `hvlog --help`). */
enum {
	EXIT_OK = 0,
	EXIT_DATA = 1,  /* the trace is damaged or not a trace */
	EXIT_USAGE = 2, /* bad command line */
	EXIT_IO = 3,    /* cannot read or write a file, out of memory */
};

/* "hvlog: FILE:OFFSET: msg" on stderr (OFFSET left out when unknown). */
void cli_error(const char *file, uint64_t offset, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report a failed library call with its context; returns the exit code. */
int cli_fail(const char *file, const hvlog_error *err);

/* Open a trace for reading, reporting failure; NULL on failure with *code set. */
hvlog_reader *cli_open(const char *file, int *code);

int cmd_decode(int argc, char **argv);
int cmd_events(int argc, char **argv);

#endif
