/*
 * decompress.c - a compressed trace read through a pipe (decompress.h).
 *
 * The magic is peeked, never consumed: a file at its offset with pread, a
 * pipe or FIFO with tee(2), which copies what the pipe holds without
 * taking it.  A compressed input is then read by a thread, from a
 * duplicate of its descriptor, and decompressed into a pipe whose read end
 * replaces the input: the reader sees a pipe, as for `zstdcat f | hvlog
 * decode -`.  The thread runs with every signal blocked, so its write to a
 * pipe the reader closed fails with EPIPE instead of raising SIGPIPE; a
 * second pipe wakes it from a wait on its input when the reader closes
 * early.  Concatenated frames and members (zstd, gzip -c a b, xz, bzip2)
 * are read as one stream, as the tools that wrote them do.
 */
#include "decompress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifdef HVLOG_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HVLOG_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef HVLOG_HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HVLOG_HAVE_BZIP2
#include <bzlib.h>
#endif

enum kind { UNZ_ZSTD, UNZ_GZIP, UNZ_XZ, UNZ_BZIP2, UNZ_NONE };

static const char *const kind_names[] = { "zstd", "gzip", "xz", "bzip2", "uncompressed" };

/* The Debian package that brings each library, for the message of a
 * build without it. */
static const char *const kind_dev[] = { "libzstd-dev", "zlib1g-dev", "liblzma-dev", "libbz2-dev", "" };

static const int kind_built[] = {
#ifdef HVLOG_HAVE_ZSTD
	[UNZ_ZSTD] = 1,
#endif
#ifdef HVLOG_HAVE_ZLIB
	[UNZ_GZIP] = 1,
#endif
#ifdef HVLOG_HAVE_LZMA
	[UNZ_XZ] = 1,
#endif
#ifdef HVLOG_HAVE_BZIP2
	[UNZ_BZIP2] = 1,
#endif
	[UNZ_NONE] = 0,
};

#define MAGIC_MAX 6

/* The kind whose magic b[0..n) starts with; UNZ_NONE if none.  *more is
 * set when b is a proper prefix of a magic (more bytes would decide). */
static enum kind sniff(const uint8_t *b, size_t n, int *more)
{
	static const struct {
		enum kind kind;
		uint8_t len;
		uint8_t lo[MAGIC_MAX], hi[MAGIC_MAX]; /* each byte in [lo, hi] */
	} magics[] = {
		{ UNZ_ZSTD, 4, { 0x28, 0xb5, 0x2f, 0xfd }, { 0x28, 0xb5, 0x2f, 0xfd } },
		/* a skippable frame first (zstd reads on past it) */
		{ UNZ_ZSTD, 4, { 0x50, 0x2a, 0x4d, 0x18 }, { 0x5f, 0x2a, 0x4d, 0x18 } },
		{ UNZ_GZIP, 2, { 0x1f, 0x8b }, { 0x1f, 0x8b } },
		{ UNZ_XZ, 6, { 0xfd, '7', 'z', 'X', 'Z', 0 }, { 0xfd, '7', 'z', 'X', 'Z', 0 } },
		{ UNZ_BZIP2, 4, { 'B', 'Z', 'h', '1' }, { 'B', 'Z', 'h', '9' } },
	};

	*more = 0;
	for (size_t m = 0; m < sizeof magics / sizeof magics[0]; m++) {
		size_t i = 0;
		while (i < n && i < magics[m].len && b[i] >= magics[m].lo[i] && b[i] <= magics[m].hi[i])
			i++;
		if (i == magics[m].len)
			return magics[m].kind;
		if (i == n)
			*more = 1;
	}
	return UNZ_NONE;
}

/* The first bytes of fd without consuming them: 0, or -1 (an input that
 * can be neither pread nor tee'd, a socket or terminal: not sniffed). */
static int peek(int fd, uint8_t *b, size_t *n)
{
	struct stat sb;
	int tp[2], more;
	off_t off;

	*n = 0;
	if (fstat(fd, &sb) != 0)
		return -1;
	if (S_ISREG(sb.st_mode) && (off = lseek(fd, 0, SEEK_CUR)) >= 0) {
		while (*n < MAGIC_MAX) {
			ssize_t k = pread(fd, b + *n, MAGIC_MAX - *n, off + (off_t)*n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			*n += (size_t)k;
		}
		return 0;
	}
	if (!S_ISFIFO(sb.st_mode) || pipe2(tp, O_CLOEXEC) != 0)
		return -1;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k = tee(fd, tp[1], MAGIC_MAX, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) { /* a non-blocking input: wait for bytes */
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
			continue;
		}
		if (k <= 0)
			break; /* (0: the pipe is empty and has no writer) */
		*n = 0;
		while (*n < (size_t)k) {
			ssize_t r = read(tp[0], b + *n, (size_t)k - *n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			*n += (size_t)r;
		}
		/* decided, or all there will be (no writer left) */
		if (*n >= MAGIC_MAX || (sniff(b, *n, &more), !more) || (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)))
			break;
		/* a few bytes of a magic so far: wait for the writer's next */
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	close(tp[0]);
	close(tp[1]);
	return 0;
}

/* ---- the decoders ---------------------------------------------------------- */

struct dec {
	enum kind kind;
	int ended;        /* the last frame or member ended, and nothing came after */
	uint64_t in_off;  /* compressed bytes consumed */
	char msg[160];
#ifdef HVLOG_HAVE_ZSTD
	ZSTD_DStream *zstd;
#endif
#ifdef HVLOG_HAVE_ZLIB
	z_stream z;
	int z_init;
#endif
#ifdef HVLOG_HAVE_LZMA
	lzma_stream x;
#endif
#ifdef HVLOG_HAVE_BZIP2
	bz_stream bz;
	int bz_init;
#endif
};

enum { DEC_OK, DEC_ERR };

static int dec_fail(struct dec *d, const char *what)
{
	snprintf(d->msg, sizeof d->msg, "the %s-compressed input is corrupt after %llu compressed bytes: %s",
		 kind_names[d->kind], (unsigned long long)d->in_off, what);
	return DEC_ERR;
}

static int dec_init(struct dec *d)
{
	switch (d->kind) {
#ifdef HVLOG_HAVE_ZSTD
	case UNZ_ZSTD:
		return (d->zstd = ZSTD_createDStream()) && !ZSTD_isError(ZSTD_initDStream(d->zstd)) ? DEC_OK : DEC_ERR;
#endif
#ifdef HVLOG_HAVE_ZLIB
	case UNZ_GZIP:
		d->z_init = inflateInit2(&d->z, 16 + MAX_WBITS) == Z_OK;
		return d->z_init ? DEC_OK : DEC_ERR;
#endif
#ifdef HVLOG_HAVE_LZMA
	case UNZ_XZ:
		d->x = (lzma_stream)LZMA_STREAM_INIT;
		return lzma_stream_decoder(&d->x, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK ? DEC_OK : DEC_ERR;
#endif
#ifdef HVLOG_HAVE_BZIP2
	case UNZ_BZIP2:
		d->bz_init = BZ2_bzDecompressInit(&d->bz, 0, 0) == BZ_OK;
		return d->bz_init ? DEC_OK : DEC_ERR;
#endif
	default:
		return DEC_ERR;
	}
}

static void dec_free(struct dec *d)
{
#ifdef HVLOG_HAVE_ZSTD
	ZSTD_freeDStream(d->zstd);
#endif
#ifdef HVLOG_HAVE_ZLIB
	if (d->z_init)
		inflateEnd(&d->z);
#endif
#ifdef HVLOG_HAVE_LZMA
	if (d->kind == UNZ_XZ)
		lzma_end(&d->x);
#endif
#ifdef HVLOG_HAVE_BZIP2
	if (d->bz_init)
		BZ2_bzDecompressEnd(&d->bz);
#endif
	(void)d;
}

/* Decompress from *in (*inlen bytes) into out (*outlen: room, then bytes
 * made); consumes what it can.  finish: the input has ended (xz checks
 * its end then).  DEC_OK, or DEC_ERR with d->msg. */
static int dec_step(struct dec *d, const uint8_t **in, size_t *inlen, uint8_t *out, size_t *outlen, int finish)
{
	size_t room = *outlen, used = 0;

	*outlen = 0;
	if (d->ended && !*inlen)
		return DEC_OK; /* (all flushed: a decoder called again past its end may complain) */
	switch (d->kind) {
#ifdef HVLOG_HAVE_ZSTD
	case UNZ_ZSTD: {
		ZSTD_inBuffer ib = { *in, *inlen, 0 };
		ZSTD_outBuffer ob = { out, room, 0 };
		size_t r = ZSTD_decompressStream(d->zstd, &ob, &ib);
		(void)finish;
		if (ZSTD_isError(r))
			return dec_fail(d, ZSTD_getErrorName(r));
		used = ib.pos;
		*outlen = ob.pos;
		/* 0: a frame was decoded and flushed whole */
		if (r == 0)
			d->ended = 1;
		else if (used || ob.pos)
			d->ended = 0;
		break;
	}
#endif
#ifdef HVLOG_HAVE_ZLIB
	case UNZ_GZIP: {
		int r;
		(void)finish;
		if (d->ended && *inlen) { /* another member after the last: gzip reads it too */
			inflateReset(&d->z);
			d->ended = 0;
		}
		d->z.next_in = (Bytef *)(uintptr_t)*in;
		d->z.avail_in = (uInt)*inlen;
		d->z.next_out = out;
		d->z.avail_out = (uInt)room;
		r = inflate(&d->z, Z_NO_FLUSH);
		used = *inlen - d->z.avail_in;
		*outlen = room - d->z.avail_out;
		if (r == Z_STREAM_END)
			d->ended = 1;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return dec_fail(d, d->z.msg ? d->z.msg : zError(r));
		break;
	}
#endif
#ifdef HVLOG_HAVE_LZMA
	case UNZ_XZ: {
		lzma_ret r;
		d->x.next_in = *in;
		d->x.avail_in = *inlen;
		d->x.next_out = out;
		d->x.avail_out = room;
		r = lzma_code(&d->x, finish ? LZMA_FINISH : LZMA_RUN);
		used = *inlen - d->x.avail_in;
		*outlen = room - d->x.avail_out;
		if (r == LZMA_STREAM_END)
			d->ended = 1;
		else if (r == LZMA_BUF_ERROR && finish)
			d->ended = 0; /* (cut short: reported as truncated) */
		else if (r != LZMA_OK && r != LZMA_BUF_ERROR)
			return dec_fail(d, r == LZMA_DATA_ERROR	      ? "the data are corrupt"
					   : r == LZMA_FORMAT_ERROR ? "not in the .xz format"
					   : r == LZMA_MEM_ERROR    ? "out of memory"
								    : "the decoder failed");
		break;
	}
#endif
#ifdef HVLOG_HAVE_BZIP2
	case UNZ_BZIP2: {
		int r;
		(void)finish;
		if (d->ended && *inlen) { /* another stream after the last, as bzip2 -d reads */
			BZ2_bzDecompressEnd(&d->bz);
			d->bz_init = BZ2_bzDecompressInit(&d->bz, 0, 0) == BZ_OK;
			if (!d->bz_init)
				return dec_fail(d, "out of memory");
			d->ended = 0;
		}
		d->bz.next_in = (char *)(uintptr_t)*in;
		d->bz.avail_in = (unsigned)*inlen;
		d->bz.next_out = (char *)out;
		d->bz.avail_out = (unsigned)room;
		r = BZ2_bzDecompress(&d->bz);
		used = *inlen - d->bz.avail_in;
		*outlen = room - d->bz.avail_out;
		if (r == BZ_STREAM_END)
			d->ended = 1;
		else if (r != BZ_OK)
			return dec_fail(d, r == BZ_DATA_ERROR_MAGIC ? "a stream does not start with BZh"
					   : r == BZ_MEM_ERROR	     ? "out of memory"
								     : "the data are corrupt");
		break;
	}
#endif
	default:
		(void)room;
		(void)out;
		(void)finish;
		return dec_fail(d, "not built in");
	}
	*in += used;
	*inlen -= used;
	d->in_off += used;
	return DEC_OK;
}

/* ---- the thread -------------------------------------------------------------- */

struct hvlog__unz {
	pthread_t thread;
	int started;
	int in;            /* a duplicate of the input */
	int wr, rd;        /* the pipe: the thread writes wr, the reader reads rd */
	int stop[2];       /* closing writes stop[1]: wakes a wait on the input */
	struct dec dec;
	atomic_int done;   /* the thread set status and msg, then closed wr */
	hvlog_status status;
	char msg[200];
};

#define UNZ_BUF (128u << 10)
/* A decompression bomb (a few KiB that expand to terabytes of zeros) must
 * not fill the disk a compressed file is indexed from: the output stops at
 * UNZ_RATIO times the compressed bytes read plus UNZ_SLACK.  Real traces
 * compress 40 to 60 times; gzip cannot exceed about 1 030. */
#define UNZ_RATIO 4096u
#define UNZ_SLACK (64ull << 20)

/* Bytes of input: > 0, 0 at its end, -1 when told to stop, -2 (errno) on
 * an error. */
static ssize_t read_in(hvlog__unz *u, uint8_t *buf, size_t cap)
{
	for (;;) {
		struct pollfd p[2] = { { u->in, POLLIN, 0 }, { u->stop[0], POLLIN, 0 } };
		ssize_t n;
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -2;
		}
		if (p[1].revents)
			return -1;
		n = read(u->in, buf, cap);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -2;
	}
}

static void finish(hvlog__unz *u, hvlog_status st)
{
	u->status = st;
	if (st != HVLOG_OK && !u->msg[0])
		snprintf(u->msg, sizeof u->msg, "%s", u->dec.msg);
	atomic_store_explicit(&u->done, 1, memory_order_release);
	close(u->wr);
	u->wr = -1;
}

static void *run(void *arg)
{
	hvlog__unz *u = arg;
	uint8_t *ib = malloc(UNZ_BUF), *ob = malloc(UNZ_BUF);
	hvlog_status st = HVLOG_OK;
	int seen = 0;
	uint64_t out_total = 0;

	if (!ib || !ob || dec_init(&u->dec) != DEC_OK) {
		snprintf(u->msg, sizeof u->msg, "out of memory for the %s decompressor", kind_names[u->dec.kind]);
		st = HVLOG_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read_in(u, ib, UNZ_BUF);
		const uint8_t *p = ib;
		size_t left, made;
		if (n == -1)
			goto out; /* the reader is gone */
		if (n == -2) {
			snprintf(u->msg, sizeof u->msg, "reading the %s-compressed input: %s", kind_names[u->dec.kind],
				 strerror(errno));
			st = HVLOG_IO;
			goto out;
		}
		left = (size_t)n;
		seen |= n > 0;
		/* until the input is used up and the output no longer fills the
		 * buffer (the decoder may hold more); at the end, once more with
		 * finish */
		do {
			size_t before = left;
			made = UNZ_BUF;
			if (dec_step(&u->dec, &p, &left, ob, &made, n == 0) != DEC_OK) {
				st = HVLOG_MALFORMED;
				goto out;
			}
			if (left && left == before && !made) { /* (no decoder does this; never spin) */
				dec_fail(&u->dec, "the decoder makes no progress");
				st = HVLOG_MALFORMED;
				goto out;
			}
			if (made && hvlog__write_all(u->wr, ob, made) != 0)
				goto out; /* (the reader closed its end) */
			out_total += made;
			if (out_total > UNZ_SLACK + (uint64_t)UNZ_RATIO * u->dec.in_off) {
				snprintf(u->msg, sizeof u->msg,
					 "the %s-compressed input expands more than %u times (%llu compressed bytes "
					 "gave %llu): the rest is not read",
					 kind_names[u->dec.kind], UNZ_RATIO, (unsigned long long)u->dec.in_off,
					 (unsigned long long)out_total);
				st = HVLOG_LIMIT;
				goto out;
			}
		} while (left || made == UNZ_BUF);
		if (n == 0)
			break;
	}
	if (seen && !u->dec.ended) {
		snprintf(u->msg, sizeof u->msg,
			 "the %s-compressed input is truncated: it ends inside a frame, after %llu compressed bytes",
			 kind_names[u->dec.kind], (unsigned long long)u->dec.in_off);
		st = HVLOG_TRUNCATED;
	}
out:
	free(ib);
	free(ob);
	finish(u, st);
	return NULL;
}

hvlog_status hvlog__unz_open(int *fd, hvlog__unz **out, hvlog_error *err)
{
	uint8_t b[MAGIC_MAX];
	size_t n;
	int more, p[2];
	enum kind k;
	hvlog__unz *u;
	sigset_t all, old;

	*out = NULL;
	if (peek(*fd, b, &n) != 0 || (k = sniff(b, n, &more)) == UNZ_NONE)
		return HVLOG_OK;
	if (!kind_built[k])
		return hvlog__fail(err, HVLOG_UNKNOWN, 0,
				   "%s-compressed input, and this libhvlog was built without %s (%s): decompress it "
				   "first",
				   kind_names[k], kind_names[k], kind_dev[k]);
	if (!(u = calloc(1, sizeof *u)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	u->dec.kind = k;
	u->in = u->wr = u->rd = u->stop[0] = u->stop[1] = -1;
	if ((u->in = fcntl(*fd, F_DUPFD_CLOEXEC, 0)) < 0 || pipe2(p, O_CLOEXEC) != 0)
		goto io;
	u->rd = p[0];
	u->wr = p[1];
	if (pipe2(u->stop, O_CLOEXEC) != 0)
		goto io;
	/* every signal blocked in the thread: a write to a closed pipe fails
	 * with EPIPE (a pending SIGPIPE goes with the thread) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	u->started = pthread_create(&u->thread, NULL, run, u) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!u->started) {
		hvlog__unz_close(u);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "cannot start the %s decompressor's thread",
				   kind_names[k]);
	}
	*fd = u->rd;
	*out = u;
	return HVLOG_OK;
io:
	hvlog__fail(err, HVLOG_IO, UINT64_MAX, "cannot set up the %s decompressor: %s", kind_names[k],
		    strerror(errno));
	if (err)
		err->sys_errno = errno;
	hvlog__unz_close(u);
	return HVLOG_IO;
}

const char *hvlog__unz_name(const hvlog__unz *u)
{
	return kind_names[u->dec.kind];
}

hvlog_status hvlog__unz_result(hvlog__unz *u, const char **msg)
{
	*msg = "";
	if (!atomic_load_explicit(&u->done, memory_order_acquire))
		return HVLOG_OK;
	*msg = u->msg;
	return u->status;
}

void hvlog__unz_note(hvlog__unz *u, hvlog_error *err)
{
	const char *msg;
	size_t n;

	/* (a compression not built in is said by the open already) */
	if (!u || !err || err->status == HVLOG_UNKNOWN)
		return;
	n = strlen(err->msg);
	if (hvlog__unz_result(u, &msg) != HVLOG_OK)
		snprintf(err->msg + n, sizeof err->msg - n, " (in the decompressed data; %s)", msg);
	else
		snprintf(err->msg + n, sizeof err->msg - n, " (in the %s-decompressed data)", hvlog__unz_name(u));
}

void hvlog__unz_close(hvlog__unz *u)
{
	if (!u)
		return;
	if (u->started) {
		/* wake a wait on the input, fail a write to the pipe */
		(void)!write(u->stop[1], "", 1);
		close(u->rd);
		u->rd = -1;
		pthread_join(u->thread, NULL);
	}
	dec_free(&u->dec);
	{
		int fds[] = { u->in, u->wr, u->rd, u->stop[0], u->stop[1] };
		for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	free(u);
}
