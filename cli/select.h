/*
 * select.h - the selection options shared by decode, filter, stats and convert.
 *
 * The options (--group, --event, --stream, --where, ...) are collected as
 * given by an argp child parser (sel_argp), compiled once against the
 * trace's own schema and metadata by the library (sel_compile over
 * hvlog/select.h, which says which items pass), pushed into the reader so
 * that it skips what it can without decoding (sel_apply), and then tested
 * on every item (sel_match) before anything is formatted.
 */
#ifndef HVLOG_CLI_SELECT_H
#define HVLOG_CLI_SELECT_H

#include <argp.h>
#include <stddef.h>
#include <stdint.h>

#include "hvlog/hvlog.h"

/* A list of option arguments, in the order given. */
typedef struct sel_list {
	const char **v;
	int n;
} sel_list;

typedef struct hvsel {
	/* ---- as given on the command line (sel_argp fills these) ---- */
	sel_list groups, xgroups, events, xevents, streams, vps, partitions, wheres;
	const char *since, *until;
	uint64_t limit;        /* UINT64_MAX: no limit */
	int count;             /* --count */

	/* ---- compiled (sel_compile), read from the library's selection ---- */
	hvlog_select *lib;
	const hvlog_meta *meta;
	uint32_t nevents;
	uint8_t *ev_ok;        /* per schema event index */
	uint64_t group_mask;   /* groups of the selected events */
	uint8_t *stream_ok;    /* per stream; NULL: every stream */
	uint64_t lo, hi;       /* tick range, inclusive */
	int all_events;        /* no criterion at all: a fast path */
} hvsel;

/* The argp child that parses the selection options; its input is an
 * hvsel (set state->child_inputs[i] in the parent's ARGP_KEY_INIT).
 * Usage: { &sel_argp, 0, "Selection:", 0 } in the parent's children. */
extern const struct argp sel_argp;

/* Set an hvsel to "everything" (the state before options are parsed). */
void sel_init(hvsel *s);

/* Compile s against trace metadata m; t0 is the tick times are relative
 * to (the reader's first_ts, as decode prints them).  0 on success; -1
 * with a message (and for --where, the column) in err on a bad option. */
int sel_compile(hvsel *s, const hvlog_meta *m, uint64_t t0, char *err, size_t cap);

/* Tell the reader what it may skip (before the first hvlog_reader_next). */
void sel_apply(const hvsel *s, hvlog_reader *r);

/* Whether item it passes the selection (--limit and --count aside);
 * inline, as it is called once per item. */
static inline int sel_match(const hvsel *s, const hvlog_item *it)
{
	return s->all_events || hvlog_select_match(s->lib, it);
}

/* Free what sel_compile and sel_argp allocated. */
void sel_free(hvsel *s);

/* A copy of s as given on the command line, not compiled: to compile
 * against another reader of the same file (one per thread).  It borrows
 * s's option lists: free it with sel_free_compiled, before s. */
hvsel sel_copy_given(const hvsel *s);
/* Free what sel_compile allocated, keeping the options as given. */
void sel_free_compiled(hvsel *s);

/* Fill idx[e] (one per schema event) with the index of the parameter of
 * event e named `name` (its key or display name, any case, spaces as '_';
 * `len` bytes), or -1.  Returns how many events have it. */
uint32_t sel_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx);

#endif
