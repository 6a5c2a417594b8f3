/*
 * decompress.h - compressed traces read as they are (decompress.c).
 *
 * A reader's input that starts with the magic of a zstd, gzip, xz or
 * bzip2 stream (sniffed without consuming it: the file is read with
 * pread, a pipe or FIFO with tee(2); the file name plays no part) is
 * decompressed by a thread of its own into a pipe, and the reader reads
 * that pipe as it reads any other.
 */
#ifndef HVLOG_DECOMPRESS_H
#define HVLOG_DECOMPRESS_H

#include "hvlog/status.h"

typedef struct hvlog__unz hvlog__unz;

/* If the input *fd is compressed, start its decompressor: *fd becomes the
 * read end of the pipe it writes (owned by *out), and *out is set; else
 * *out is NULL and *fd unchanged.  The input fd is not closed (the
 * decompressor reads a duplicate of it).  HVLOG_OK, or (err filled)
 * HVLOG_UNKNOWN for a compression this build cannot read, HVLOG_IO,
 * HVLOG_NOMEM. */
hvlog_status hvlog__unz_open(int *fd, hvlog__unz **out, hvlog_error *err);

/* The compression's name: "zstd", "gzip", "xz", "bzip2". */
const char *hvlog__unz_name(const hvlog__unz *u);

/* Once the pipe has reached its end: what stopped the decompressor early
 * (HVLOG_TRUNCATED: the compressed data ends inside a frame; HVLOG_MALFORMED:
 * it is corrupt; HVLOG_IO), with its message in *msg, or HVLOG_OK. */
hvlog_status hvlog__unz_result(hvlog__unz *u, const char **msg);

/* After a failed open of u's input: add to err's message that the data
 * were decompressed, and why the decompressor stopped if it did.  u NULL:
 * nothing. */
void hvlog__unz_note(hvlog__unz *u, hvlog_error *err);

/* Stop the decompressor (it may be in the middle of its input), wait for
 * its thread and free it, closing the pipe.  NULL is fine. */
void hvlog__unz_close(hvlog__unz *u);

#endif
