/*
 * select.h - the selection model shared by decode, filter and stats.
 *
 * The options (--group, --event, --stream, --where, ...) are collected as
 * given by an argp child parser (sel_argp), compiled once against the
 * trace's own schema and metadata (sel_compile), pushed into the reader so
 * that it skips what it can without decoding (sel_apply: group mask,
 * streams, time range), and then tested on every item (sel_match) before
 * anything is formatted.
 *
 * Which items pass:
 *   events   - in the selected groups/events (all if no --group/--event;
 *              the two lists add up), minus --exclude-group/--exclude-event;
 *              from a selected stream; with a selected partition; inside
 *              [--since, --until]; and every --where expression true.
 *   lost     - LOST records pass every event criterion (group, event,
 *              partition, --where) but keep to --stream/--vp and the time
 *              range, since they belong to a stream and a time and the
 *              reader skips whole chunks by stream and time.
 *   damage   - always passes.
 */
#ifndef HVLOG_SELECT_H
#define HVLOG_SELECT_H

#include <argp.h>
#include <stddef.h>
#include <stdint.h>

#include "hvlog/hvlog.h"

/* A list of option arguments, in the order given. */
typedef struct sel_list {
	const char **v;
	int n;
} sel_list;

typedef struct sel_where sel_where;

typedef struct hvsel {
	/* ---- as given on the command line (sel_argp fills these) ---- */
	sel_list groups, xgroups, events, xevents, streams, vps, partitions, wheres;
	const char *since, *until;
	uint64_t limit;        /* UINT64_MAX: no limit */
	int count;             /* --count */

	/* ---- compiled (sel_compile) ---- */
	const hvlog_meta *meta;
	uint32_t nevents;
	uint8_t *ev_ok;        /* per schema event index */
	uint64_t group_mask;   /* groups of the selected events */
	uint8_t *stream_ok;    /* per stream; NULL: every stream */
	uint64_t *parts;       /* --partition values; nparts 0: any */
	size_t nparts;
	int8_t *part_param;    /* per event index: partition_id parameter or -1 */
	uint64_t lo, hi;       /* tick range, inclusive */
	sel_where **where;     /* one per --where, all must hold */
	int nwhere;
	int all_events;        /* no event criterion at all: a fast path */
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

/* Whether item it passes the selection (--limit and --count aside). */
int sel_match(const hvsel *s, const hvlog_item *it);

/* Free what sel_compile and sel_argp allocated. */
void sel_free(hvsel *s);

/* A copy of s as given on the command line, not compiled: to compile
 * against another reader of the same file (one per thread).  It borrows
 * s's option lists: free it with sel_free_compiled, before s. */
hvsel sel_copy_given(const hvsel *s);
/* Free what sel_compile allocated, keeping the options as given. */
void sel_free_compiled(hvsel *s);

/* ---- pieces, public for the unit tests and for stats ---------------- */

/* A --where expression compiled against schema sc; NULL on error with a
 * message in err and the 1-based column of the fault in *column. */
sel_where *sel_where_parse(const char *expr, const hvlog_schema *sc, char *err, size_t cap, int *column);
/* 1 if event ev (an entry of the schema) with values satisfies w; 0 if it
 * does not or if a parameter it tests is missing from ev. */
int sel_where_eval(const sel_where *w, const hvlog_event *ev, const uint64_t *values);
void sel_where_free(sel_where *w);

/* Fill idx[e] (one per schema event) with the index of the parameter of
 * event e named `name` (its key or display name, any case, spaces as '_';
 * `len` bytes), or -1.  Returns how many events have it. */
uint32_t sel_param_index(const hvlog_schema *sc, const char *name, size_t len, int8_t *idx);

/* A time argument: seconds ("1.5", "2s"), "ms", "us", "ns", or ticks
 * ("1234t"); relative to t0, or to tick 0 with a leading '@'.  With
 * round_up, the first tick at or after the time; else the last tick at
 * or before it (ns precision, as decode prints).  0 or -1. */
int sel_parse_time(const char *arg, uint64_t t0, uint64_t hz, int round_up, uint64_t *ticks);

/* A group by alias, full name (any case) or mask ("0x800", "0x400|0x800");
 * ORs its mask into *mask.  0 or -1. */
int sel_group_mask(const hvlog_schema *sc, const char *arg, uint64_t *mask);

#endif
