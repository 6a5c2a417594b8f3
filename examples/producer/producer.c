/*
 * producer - the smallest libhvlog writer: a trace of two virtual
 * processors with a few typed events.
 *
 *   ./producer trace.hvlog && hvlog decode trace.hvlog
 */
#include <stdio.h>

#include <hvlog/hvlog.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "producer.hvlog";
	hvlog_stream_info info[2] = { { "vp0", 1, 0 }, { "vp1", 1, 1 } };
	hvlog_writer_config cfg = { .nstreams = 2, .streams = info, .producer = "examples/producer" };
	hvlog_writer *w;
	hvlog_error err;

	if (hvlog_writer_open_path(&w, path, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "producer: %s: %s\n", path, err.msg);
		return 1;
	}
	/* One producer per stream; the timestamps here are nanoseconds. */
	hvlog_stream *vp0 = hvlog_writer_stream(w, 0), *vp1 = hvlog_writer_stream(w, 1);
	hvlog_emit_im_msr_read(vp0, 1000, 0xfffff80000001000, 0x1b, 0xfee00900);
	hvlog_emit_im_io_port_write(vp1, 1500, 0xfffff80000002000, 0x3f8, 'h');
	hvlog_emit_im_io_port_write(vp1, 1600, 0xfffff80000002000, 0x3f8, 'i');
	hvlog_emit_im_hlt_instruction(vp0, 2000, 0xfffff80000001010);
	if (hvlog_writer_close(w, &err) != HVLOG_OK) { /* flushes every stream */
		fprintf(stderr, "producer: %s: %s\n", path, err.msg);
		return 1;
	}
	return 0;
}
