/*
 * fuzz.h - shared by the fuzz targets: an in-memory file for the reader,
 * and "resealing" (recomputing every checksum) so that mutations get past
 * the CRCs to the parsers behind them.
 */
#ifndef HVLOG_FUZZ_H
#define HVLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/hvlog.h"

/* A descriptor (memfd) holding exactly data[0..len); reused across calls.
 * Aborts if it cannot be made: that is the harness failing, not hvlog. */
int fuzz_file(const uint8_t *data, size_t len);

/* Open the in-memory file, read every item (formatting each one as text
 * and JSON when `format` is set), close.  Checks what the reader promises:
 * no failure but I/O and memory, items of known kinds, formatted lines
 * that fit their buffer. */
void fuzz_read_all(const uint8_t *data, size_t len, int format);

/* Copy data into out (len bytes) with every checksum made right: the file
 * header CRC, the metadata CRC (if meta_len fits), and for every chunk
 * sync marker with 64 bytes behind it, the payload CRC (if its length
 * fits) and the header CRC.  0 if data does not start with the magic. */
int fuzz_reseal(const uint8_t *data, size_t len, uint8_t *out);

#endif
