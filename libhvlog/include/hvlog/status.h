/*
 * hvlog/status.h - status codes and error context.
 *
 * Every libhvlog function that can fail returns an hvlog_status; those that
 * read or write files also fill an hvlog_error (when the caller passes one)
 * with where it happened.  Status numbers are stable once published.
 */
#ifndef HVLOG_STATUS_H
#define HVLOG_STATUS_H

#include <stdint.h>

#include "hvlog/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, number, "message") - the status list, expanded into the enum and
 * into hvlog_status_str()'s table so the two cannot drift. */
#define HVLOG_STATUS_LIST(X)                                                   \
	X(OK,          0, "success")                                           \
	X(END,         1, "end of trace")                                      \
	X(TRUNCATED,   2, "input ends early (more bytes would help)")          \
	X(MALFORMED,   3, "malformed data")                                    \
	X(CHECKSUM,    4, "checksum mismatch")                                 \
	X(VERSION,     5, "unsupported format version")                        \
	X(LIMIT,       6, "a size or count exceeds a documented limit")        \
	X(NOMEM,       7, "out of memory")                                     \
	X(IO,          8, "I/O error")                                         \
	X(INVALID,     9, "invalid argument")                                  \
	X(FULL,       10, "buffer full")                                       \
	X(UNKNOWN,    11, "unknown name or number")                           \
	X(AGAIN,      12, "no item yet (wait for the input, then call again)")

typedef enum hvlog_status {
#define HVLOG_X_(name, num, msg) HVLOG_##name = num,
	HVLOG_STATUS_LIST(HVLOG_X_)
#undef HVLOG_X_
} hvlog_status;

/* Static, never NULL; "unknown status" for numbers not in the list. */
HVLOG_API const char *hvlog_status_str(hvlog_status st);

/* Where an error happened.  offset is a byte offset in the trace file (or
 * UINT64_MAX when it does not apply); stream and chunk_seq likewise
 * (UINT32_MAX / UINT64_MAX).  msg is a complete sentence without the file
 * name, ready to print as "FILE:OFFSET: msg". */
typedef struct hvlog_error {
	hvlog_status status;
	int sys_errno;       /* errno for HVLOG_IO, else 0 */
	uint64_t offset;
	uint32_t stream;
	uint64_t chunk_seq;
	char msg[200];
} hvlog_error;

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_STATUS_H */
