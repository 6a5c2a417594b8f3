/*
 * output.h - how every command that writes creates its output.
 *
 * An output is written to a temporary file (or directory) beside its
 * final name and renamed into place only when the command succeeds, so a
 * failed or interrupted run leaves the old file, or no file, never a
 * partial one that looks whole.  An output that is one of the command's
 * inputs (the same file, through a symlink or a hard link too) is refused
 * before anything is written.  SIGINT and SIGTERM remove the temporary.
 * Standard output, and a descriptor named as a file (/dev/stdout,
 * /dev/fd/N), are written as they are: the shell opened them, and what
 * they are open on is not the command's to replace.
 */
#ifndef HVLOG_CLI_OUTPUT_H
#define HVLOG_CLI_OUTPUT_H

#include <stddef.h>

typedef struct cli_output {
	const char *path; /* the name given; NULL or "-": standard output */
	char *final;      /* where the output goes (symlinks resolved); NULL: none */
	char *tmp;        /* the temporary file or directory; NULL: written in place */
	int fd;           /* the descriptor to write (standard output: 1) */
	int dir;          /* a directory (cli_output_open_dir) */
} cli_output;

/* Whether path names the same file as one of the n inputs ("-" is
 * standard input, and path NULL or "-" standard output); an input that
 * cannot be looked at is not the output.  The --schema-from FILE is one
 * of the inputs too. */
int cli_output_is_input(const char *path, const char *const *inputs, size_t n);

/* Open path for writing: standard output for NULL or "-"; the descriptor
 * itself (a duplicate) for a name of an open one (/dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N, or a symlink to one), written
 * where it is and never renamed over; the device or FIFO itself for one
 * that exists; else a new temporary file in the directory of path (of the
 * file its symlinks lead to, existing or not) with the mode a plain create
 * would give (an existing file's mode, or 0666 less the umask).  0, or an
 * exit code after reporting (EXIT_USAGE: path is an input; EXIT_IO). */
int cli_output_open(cli_output *o, const char *path, const char *const *inputs, size_t n);

/* As above for a directory (convert --to ctf): a new temporary directory
 * beside path, in o->tmp.  An existing path must be a directory, and an
 * empty one unless `force` (then it is replaced whole); never one that
 * holds one of the n inputs (or the --schema-from FILE), at any depth,
 * nor the name of an open descriptor (EXIT_USAGE). */
int cli_output_open_dir(cli_output *o, const char *path, int force, const char *const *inputs, size_t n);

/* End the output: with ok, rename the temporary into place (0, or EXIT_IO
 * reported); without, remove it (returns 0).  Closes o->fd unless it is
 * -1 (a caller that closed it, through fclose, sets that) or standard
 * output. */
int cli_output_close(cli_output *o, int ok);

#endif
