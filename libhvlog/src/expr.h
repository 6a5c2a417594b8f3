/*
 * expr.h - private: the --where expression language (expr.c) and the
 * name helpers it shares with the selection (select.c).
 */
#ifndef HVLOG_EXPR_H
#define HVLOG_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/schema.h"
#include "hvlog/status.h"

/* An expression compiled against one schema (which must outlive it). */
typedef struct hvlog__expr hvlog__expr;

/* Compile expr against sc; NULL on error with err filled: HVLOG_INVALID or
 * HVLOG_UNKNOWN (or HVLOG_NOMEM), offset the byte offset of the fault in
 * expr, msg the reason without the column. */
hvlog__expr *hvlog__expr_parse(const char *expr, const hvlog_schema *sc, hvlog_error *err);
/* 1 if event ev of the schema with values satisfies x; 0 if it does not
 * or if a parameter it tests is missing from ev. */
int hvlog__expr_eval(const hvlog__expr *x, const hvlog_event *ev, const uint64_t *values);
void hvlog__expr_free(hvlog__expr *x);

/* ---- shared by expr.c and select.c ---- */

/* A whole string as a number: "0x..." hex, else decimal.  0, -1 (not a
 * number) or -2 (a number beyond 64 bits). */
int hvlog__parse_u64(const char *s, uint64_t *out);
/* Schema spelling a (key or display name) against the user's len bytes at
 * b: any case, a space in either the same as '_'. */
int hvlog__same_name(const char *a, const char *b, size_t len);
/* The len bytes at s into out (cap bytes, NUL-terminated), control
 * characters as '?' and cut at cap - 1: user text quoted in a message.
 * Controls are C0, DEL and C1 (UTF-8 C2 80..C2 9F, both bytes '?'), so
 * none reaches a terminal and each byte keeps its column. */
const char *hvlog__shown(char *out, size_t cap, const char *s, size_t len);
/* Whether byte i of the len bytes at s is (part of) such a control. */
int hvlog__control(const char *s, size_t i, size_t len);

/* "Did you mean" over a set of names: feed every candidate to
 * hvlog__near_add; best is the one closest to the user's word (by edit
 * distance, any case, '_' and ' ' alike), NULL if none is close enough to
 * be a likely typo. */
typedef struct hvlog__near {
	const char *word;
	size_t len;
	const char *best;
	unsigned dist;
} hvlog__near;
void hvlog__near_init(hvlog__near *n, const char *word, size_t len);
void hvlog__near_add(hvlog__near *n, const char *candidate);

#endif
