#include <stdio.h>

#include "internal.h"

hvlog_status hvlog__fail(hvlog_error *err, hvlog_status st, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return st;
	err->status = st;
	err->sys_errno = 0;
	err->offset = offset;
	err->stream = UINT32_MAX;
	err->chunk_seq = UINT64_MAX;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return st;
}
