/* Calls typed emitters of every shape; tests/emit_freestanding.sh checks
 * that the object needs nothing but the emit target. */
#include "hvlog/events.h"
void probe(hvlog_stream *s, uint64_t ts);
void probe(hvlog_stream *s, uint64_t ts)
{
	hvlog_emit_im_msr_read(s, ts, 0xfffff80000001000ull, 0x1b, 0xfee00900);
	hvlog_emit_im_hlt_instruction(s, ts + 1, 0xfffff80000001000ull);
	hvlog_emit_ke_overrun(s, ts + 2, 100, 3, 1, 0x5c);
	hvlog_emit_vp_create_vp(s, ts + 3, 1, 0x1000, 0);
}
