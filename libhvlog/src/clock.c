/* hvlog/clock.h: a column of timestamps to nanoseconds with the
 * formatters' division-free conversion (format.c, hvlog__clock). */
#include "hvlog/clock.h"

#include "internal.h"

void hvlog_ticks_to_ns_n(const uint64_t *ts, size_t n, uint64_t t0, uint64_t hz, uint64_t *out)
{
	hvlog__clock c;

	if (!hz) {
		for (size_t i = 0; i < n; i++)
			out[i] = 0;
		return;
	}
	hvlog__clock_init(&c, hz);
	for (size_t i = 0; i < n; i++)
		out[i] = hvlog__clock_ns(&c, ts[i], t0);
}
