/*
 * eio_shim.c - for tests/hvcore.sh and tests/hostile.sh: an LD_PRELOAD
 * library under which one write() fails with EIO, as a transient device
 * error would: the Nth write of at least 4096 bytes (HVLOG_TEST_EIO_AT,
 * default 3: the header and the metadata come first, so a chunk), once.
 * With HVLOG_TEST_EIO_SHORT=1 that write first goes half out (a short
 * write, as a disk that fills up or a signal gives), and the write after
 * it, the writer's retry of the rest, is the one that fails: a chunk
 * header and part of its payload are then in the output.  Every other
 * write goes to the real write().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	static atomic_long calls;
	static atomic_int fail_next;

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (atomic_exchange(&fail_next, 0)) {
		errno = EIO;
		return -1;
	}
	if (len >= 4096) {
		const char *at = getenv("HVLOG_TEST_EIO_AT"), *s = getenv("HVLOG_TEST_EIO_SHORT");
		if (atomic_fetch_add(&calls, 1) + 1 == (at ? atol(at) : 3)) {
			if (s && *s == '1') {
				atomic_store(&fail_next, 1);
				return real(fd, buf, len / 2);
			}
			errno = EIO;
			return -1;
		}
	}
	return real(fd, buf, len);
}
