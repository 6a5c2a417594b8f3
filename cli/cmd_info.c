/*
 * hvlog info [--verify] [--props] [FILE|-]...: what trace files hold.
 *
 * One file: its description, as a block of lines (or one JSON object).
 * Several, as `zstd -l a b` lists them: a table with a row per file and a
 * total (or one JSON object with a "files" array and a "total"); a file
 * that cannot be read is reported and the others still are, and the exit
 * status is the worst of theirs.
 *
 * The header and metadata come from the open; the counts (events, lost
 * events per stream, chunks) need one pass over the records, which also
 * checks every chunk checksum, so damage is always counted.  --verify
 * lists each damaged region and makes damage an error (exit status 1).
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* a + b, at most UINT64_MAX (lost counts come from the file) */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

struct info_opts {
	const char **files;
	size_t nfiles;
	int verify;
	int props;
	struct cli_io io; /* io.format 1: json; the files are ours */
};

/* long only: -V is --version in every command */
enum { OPT_VERIFY = 256, OPT_PROPS };

static const struct argp_option options[] = {
	{ "verify", OPT_VERIFY, NULL, 0, "list every damaged region; exit status 1 if there is any", 0 },
	{ "props", OPT_PROPS, NULL, 0, "list the metadata's key/value pairs (text; JSON always has them)", 0 },
	{ 0 }
};

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default) or json (one object)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct info_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		return cli_inputs(state, NULL, &o->io);
	case OPT_VERIFY:
		o->verify = 1;
		return 0;
	case OPT_PROPS:
		o->props = 1;
		return 0;
	case ARGP_KEY_ARG: /* (argv outlives the files list) */
		o->files[o->nfiles++] = arg;
		return 0;
	case ARGP_KEY_END:
		if (!o->nfiles)
			o->files[o->nfiles++] = "-";
		for (size_t i = 0; i < o->nfiles; i++)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(o->files[i], "-") && !strcmp(o->files[j], "-"))
					argp_error(state, "standard input (-) given twice");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void fmt_epoch(char *buf, size_t cap, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char tmp[64];

	if (frac < 0)
		frac += 1000000000, sec--;
	if (!ns || !gmtime_r(&sec, &tm) || !strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, cap, "unknown");
		return;
	}
	snprintf(buf, cap, "%s.%09ldZ", tmp, frac);
}

/* Per stream its events and lost events; damage kept for --verify. */
struct tally {
	uint64_t *sev, *slost;
	struct cli_damage_list *dl; /* NULL: not kept */
};

static int tally_step(void *ctx, const hvlog_item *it)
{
	struct tally *t = ctx;

	if (it->kind == HVLOG_ITEM_EVENT)
		t->sev[it->stream]++;
	else if (it->kind == HVLOG_ITEM_LOST)
		t->slost[it->stream] = sat_add(t->slost[it->stream], it->lost_count);
	else if (t->dl)
		cli_damage_add(t->dl, it);
	return 0;
}

/* What one file holds. */
struct info {
	const char *file;
	hvlog_reader *r;       /* NULL: it could not be opened */
	const hvlog_meta *m;
	hvlog_reader_stats st0, st;
	uint64_t *sev, *slost, data_bytes, span_ns;
	struct cli_damage_list dl;
	int read;              /* the pass over its items went to the end */
};

/* Open and read o's file `file` into in: its exit code (reported). */
static int info_read(struct info *in, const char *file, const struct info_opts *o)
{
	const hvlog_meta *m;
	int code = EXIT_OK;

	*in = (struct info){ .file = file };
	if (!(in->r = cli_open(file, &code)))
		return code;
	in->m = m = hvlog_reader_meta(in->r);
	hvlog_reader_stats_get(in->r, &in->st0);
	if (!(in->sev = calloc(m->nstreams + 1, sizeof *in->sev)) ||
	    !(in->slost = calloc(m->nstreams + 1, sizeof *in->slost))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	/* every item; damage is counted (and listed with --verify), not reported */
	struct tally t = { in->sev, in->slost, o->verify ? &in->dl : NULL };
	struct cli_run run = { .shown = cli_shown(file), .step = tally_step, .ctx = &t, .quiet_damage = 1 };
	code = cli_run(in->r, &run);
	if (run.read_failed)
		return code;
	if (in->dl.nomem) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	in->read = 1;
	cli_damage_sort(&in->dl); /* listed in offset order */
	hvlog_reader_stats_get(in->r, &in->st);
	in->data_bytes = in->st.file_size > m->data_offset ? in->st.file_size - m->data_offset : 0;
	in->span_ns = in->st.last_ts > in->st0.first_ts
			      ? hvlog_ticks_to_ns(in->st.last_ts, in->st0.first_ts, m->clock_hz)
			      : 0;
	return o->verify && in->st.damaged_regions ? EXIT_DATA : code;
}

static void info_free(struct info *in)
{
	free(in->sev);
	free(in->slost);
	cli_damage_free(&in->dl);
	hvlog_reader_close(in->r);
}

/* The JSON object of a file that was read (without a line end); extra: more
 * pairs before the closing brace, or "". */
static void print_json(const struct info *in, const struct info_opts *o, const char *extra)
{
	const hvlog_meta *m = in->m;
	const hvlog_reader_stats *st = &in->st;
	const struct cli_damage *dmg = in->dl.v;

	printf("{\"file\":");
	cli_json_str(cli_shown(in->file));
	printf(",\"size\":%llu,\"format\":\"%u.%u\",\"producer\":", (unsigned long long)st->file_size,
	       m->version_major, m->version_minor);
	cli_json_str(m->producer);
	if (m->nprops) {
		printf(",\"props\":{");
		for (uint32_t i = 0; i < m->nprops; i++) {
			if (i)
				putchar(',');
			cli_json_str(m->props[i].key);
			putchar(':');
			cli_json_str(m->props[i].value);
		}
		putchar('}');
	}
	printf(",\"clock\":{\"name\":");
	cli_json_str(m->clock_name);
	printf(",\"hz\":%llu,\"epoch_ns\":%lld},\"schema\":{\"name\":", (unsigned long long)m->clock_hz,
	       (long long)m->clock_epoch_ns);
	cli_json_str(m->schema->name);
	printf(",\"version\":%u,\"groups\":%u,\"events\":%u,\"valtabs\":%u,\"params\":%u},"
	       "\"metadata_bytes\":%llu,\"streams\":[",
	       m->schema->version, m->schema->ngroups, m->schema->nevents, m->schema->nvaltabs,
	       m->schema->nslots, (unsigned long long)(m->data_offset - 32));
	for (uint32_t s = 0; s < m->nstreams; s++) {
		printf("%s{", s ? "," : "");
		cli_json_stream(m, s);
		printf(",\"events\":%llu,\"lost\":%llu}", (unsigned long long)in->sev[s],
		       (unsigned long long)in->slost[s]);
	}
	printf("],\"chunks\":%llu,\"chunks_with_events\":%llu,\"events\":%llu,\"first_ts\":%llu,"
	       "\"last_ts\":%llu,\"span_ns\":%llu,\"bytes_per_event\":",
	       (unsigned long long)st->chunks, (unsigned long long)st->chunks_indexed,
	       (unsigned long long)st->events, (unsigned long long)in->st0.first_ts,
	       (unsigned long long)st->last_ts, (unsigned long long)in->span_ns);
	if (st->events)
		printf("%.3f", (double)in->data_bytes / (double)st->events);
	else
		printf("null");
	printf(",\"lost_events\":%llu,\"damaged_regions\":%llu,\"damaged_bytes\":%llu",
	       (unsigned long long)st->lost_events, (unsigned long long)st->damaged_regions,
	       (unsigned long long)st->damaged_bytes);
	if (o->verify) {
		printf(",\"damage\":[");
		for (size_t i = 0; i < in->dl.n; i++) {
			printf("%s{\"offset\":%llu,\"length\":%llu,\"events_lost\":%llu,\"stream\":", i ? "," : "",
			       (unsigned long long)dmg[i].offset, (unsigned long long)dmg[i].len,
			       (unsigned long long)dmg[i].events);
			if (dmg[i].stream == UINT32_MAX)
				printf("null");
			else
				printf("%u", dmg[i].stream);
			printf(",\"message\":");
			cli_json_str(dmg[i].msg);
			putchar('}');
		}
		putchar(']');
		if (in->dl.more)
			printf(",\"damage_not_listed\":%llu", (unsigned long long)in->dl.more);
	}
	printf("%s}", extra);
}

/* The damaged regions kept for --verify, one indented line each. */
static void print_damage(const struct info *in)
{
	const struct cli_damage *dmg = in->dl.v;

	for (size_t i = 0; i < in->dl.n; i++) {
		char sbuf[16];
		if (dmg[i].stream == UINT32_MAX)
			snprintf(sbuf, sizeof sbuf, "-");
		else
			snprintf(sbuf, sizeof sbuf, "%u", dmg[i].stream);
		printf("  offset %llu, %llu bytes, stream %s, %llu events lost: %s\n", (unsigned long long)dmg[i].offset,
		       (unsigned long long)dmg[i].len, sbuf, (unsigned long long)dmg[i].events, dmg[i].msg);
	}
	if (in->dl.more)
		printf("  ... and %llu more regions (not listed)\n", (unsigned long long)in->dl.more);
}

/* The metadata's key/value pairs (--props), keys in a column. */
static void print_props(const hvlog_meta *m)
{
	size_t wkey = 0;

	if (!m->nprops) {
		printf("props:         none\n");
		return;
	}
	printf("props:         %u key/value pairs\n", m->nprops);
	for (uint32_t i = 0; i < m->nprops; i++)
		if (cli_width(cli_tty(m->props[i].key)) > wkey)
			wkey = cli_width(cli_tty(m->props[i].key));
	for (uint32_t i = 0; i < m->nprops; i++)
		printf("  %s %s\n", cli_pad(m->props[i].key, wkey), cli_tty(m->props[i].value));
}

/* The text block of a file that was read. */
static void print_text(const struct info *in, const struct info_opts *o)
{
	const hvlog_meta *m = in->m;
	const hvlog_reader_stats *st = &in->st;
	char epoch[80];

	fmt_epoch(epoch, sizeof epoch, m->clock_epoch_ns);
	printf("file:          %s (%llu bytes)\n", cli_shown(in->file), (unsigned long long)st->file_size);
	printf("format:        %u.%u\n", m->version_major, m->version_minor);
	printf("producer:      %s\n", cli_tty(m->producer));
	if (o->props)
		print_props(m);
	else if (m->nprops) /* the producer's own pairs: all of them with --props or --format json */
		printf("props:         %u key/value pairs (see --props)\n", m->nprops);
	printf("clock:         %s, %llu Hz, epoch %s\n", cli_tty(m->clock_name), (unsigned long long)m->clock_hz,
	       epoch);
	printf("schema:        %s version %u: %u groups, %u events, %u value tables, %u parameters "
	       "(metadata %llu bytes)\n",
	       cli_tty(m->schema->name), m->schema->version, m->schema->ngroups, m->schema->nevents,
	       m->schema->nvaltabs, m->schema->nslots, (unsigned long long)(m->data_offset - 32));
	printf("streams:       %u\n", m->nstreams);
	size_t wname = 12; /* the NAME column: as wide as the widest name */
	for (uint32_t s = 0; s < m->nstreams; s++)
		if (cli_width(cli_tty(m->streams[s].name)) > wname)
			wname = cli_width(cli_tty(m->streams[s].name));
	printf("  %-6s %s %10s %6s %14s %10s\n", "ID", cli_pad("NAME", wname), "PARTITION", "VP", "EVENTS", "LOST");
	for (uint32_t s = 0; s < m->nstreams; s++) {
		char vp[16];
		cli_vp_cell(vp, sizeof vp, m->streams[s].vp_index);
		printf("  %-6u %s %10llu %6s %14llu %10llu\n", s, cli_pad(m->streams[s].name, wname),
		       (unsigned long long)m->streams[s].partition_id, vp, (unsigned long long)in->sev[s],
		       (unsigned long long)in->slost[s]);
	}
	printf("chunks:        %llu intact (%llu indexed with events)\n", (unsigned long long)st->chunks,
	       (unsigned long long)st->chunks_indexed);
	printf("events:        %llu\n", (unsigned long long)st->events);
	printf("time range:    ticks %llu..%llu, span %.9f s\n", (unsigned long long)in->st0.first_ts,
	       (unsigned long long)st->last_ts, (double)in->span_ns / 1e9);
	if (st->events)
		printf("bytes/event:   %.3f (%llu bytes of chunks)\n", (double)in->data_bytes / (double)st->events,
		       (unsigned long long)in->data_bytes);
	else
		printf("bytes/event:   -\n");
	printf("lost events:   %llu\n", (unsigned long long)st->lost_events);
	if (!st->damaged_regions)
		printf("damage:        none\n");
	else
		printf("damage:        %llu regions, %llu bytes%s\n", (unsigned long long)st->damaged_regions,
		       (unsigned long long)st->damaged_bytes, o->verify ? ":" : " (--verify lists them)");
	print_damage(in);
	if (o->verify)
		printf("verify:        %s\n", st->damaged_regions ? "DAMAGED" : "ok");
}

/* ---- several files: a row each and a total ------------------------------ */

struct total {
	size_t files, failed, damaged;
	uint64_t events, lost, regions, dbytes, size;
};

static const char *status_of(const struct info *in)
{
	return !in->read ? "error" : in->st.damaged_regions ? "damaged" : "ok";
}

static void total_add(struct total *t, const struct info *in)
{
	t->files++;
	if (!in->read) {
		t->failed++;
		return;
	}
	t->damaged += in->st.damaged_regions != 0;
	t->events += in->st.events;
	t->lost = sat_add(t->lost, in->st.lost_events);
	t->regions += in->st.damaged_regions;
	t->dbytes += in->st.damaged_bytes;
	t->size += in->st.file_size;
}

#define ROW_FMT "%14s %12s %8s %14s %16s  %-8s %s\n"

static void print_row(const struct info *in, const struct info_opts *o)
{
	char ev[24], lost[24], dmg[24], size[24], span[32];

	if (!in->read) {
		printf(ROW_FMT, "-", "-", "-", "-", "-", status_of(in), cli_tty(cli_shown(in->file)));
		return;
	}
	snprintf(ev, sizeof ev, "%llu", (unsigned long long)in->st.events);
	snprintf(lost, sizeof lost, "%llu", (unsigned long long)in->st.lost_events);
	snprintf(dmg, sizeof dmg, "%llu", (unsigned long long)in->st.damaged_regions);
	snprintf(size, sizeof size, "%llu", (unsigned long long)in->st.file_size);
	snprintf(span, sizeof span, "%.9f", (double)in->span_ns / 1e9);
	printf(ROW_FMT, ev, lost, dmg, size, span, status_of(in), cli_tty(cli_shown(in->file)));
	if (o->verify)
		print_damage(in);
}

static void print_total_row(const struct total *t)
{
	char ev[24], lost[24], dmg[24], size[24], what[64];

	snprintf(ev, sizeof ev, "%llu", (unsigned long long)t->events);
	snprintf(lost, sizeof lost, "%llu", (unsigned long long)t->lost);
	snprintf(dmg, sizeof dmg, "%llu", (unsigned long long)t->regions);
	snprintf(size, sizeof size, "%llu", (unsigned long long)t->size);
	if (t->failed)
		snprintf(what, sizeof what, "total of %zu files (%zu not read)", t->files, t->failed);
	else
		snprintf(what, sizeof what, "total of %zu files", t->files);
	printf(ROW_FMT, ev, lost, dmg, size, "-", t->failed ? "error" : t->damaged ? "damaged" : "ok", what);
}

static void print_json_entry(const struct info *in, const struct info_opts *o, int code, size_t i)
{
	char extra[64];

	if (i)
		putchar(',');
	snprintf(extra, sizeof extra, ",\"status\":\"%s\",\"exit_status\":%d", status_of(in), code);
	if (in->read) {
		print_json(in, o, extra);
		return;
	}
	printf("{\"file\":");
	cli_json_str(cli_shown(in->file));
	printf("%s}", extra);
}

static void print_json_total(const struct total *t)
{
	printf("],\"total\":{\"files\":%zu,\"not_read\":%zu,\"damaged_files\":%zu,\"events\":%llu,\"lost_events\":%llu,"
	       "\"damaged_regions\":%llu,\"damaged_bytes\":%llu,\"size\":%llu}}\n",
	       t->files, t->failed, t->damaged, (unsigned long long)t->events, (unsigned long long)t->lost,
	       (unsigned long long)t->regions, (unsigned long long)t->dbytes, (unsigned long long)t->size);
}

/* The worse of two exit codes: any failure over success, then the
 * larger (EXIT_IO over EXIT_DATA). */
static int worse(int a, int b)
{
	return a > b ? a : b;
}

int cmd_info(int argc, char **argv)
{
	static const char doc[] = "Describe traces: format version, producer, clock, schema, streams, "
				  "chunks, events, time range, bytes per event, lost events and damage.  With "
				  "several FILEs, a row per file and a total; the exit status is the worst of "
				  "theirs.";
	static const struct argp_child children[] = { { &io_argp, 0, NULL, 0 }, CLI_SCHEMA_CHILD, { 0 } };
	static const struct argp argp = { options, parse, "[FILE|-]...", doc, children, NULL, NULL };
	struct info_opts o = { .io = { .formats = cli_text_json, .own_file = 1 } };
	struct total tot = { 0 };
	struct info in;
	int code = EXIT_OK;

	/* (no more files than arguments) */
	if (!(o.files = calloc((size_t)argc + 1, sizeof *o.files))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		free(o.files);
		return EXIT_USAGE;
	}
	if (o.nfiles == 1) {
		code = info_read(&in, o.files[0], &o);
		if (in.read && o.io.format) {
			print_json(&in, &o, "");
			putchar('\n');
		} else if (in.read) {
			print_text(&in, &o);
		}
		info_free(&in);
	} else {
		if (o.io.format)
			printf("{\"files\":[");
		else
			printf(ROW_FMT, "EVENTS", "LOST", "DAMAGED", "BYTES", "SPAN (s)", "STATUS", "FILE");
		for (size_t i = 0; i < o.nfiles; i++) {
			int c;
			/* the rows so far go out before a file's error message */
			fflush(stdout);
			c = info_read(&in, o.files[i], &o);
			if (o.io.format)
				print_json_entry(&in, &o, c, i);
			else
				print_row(&in, &o);
			total_add(&tot, &in);
			info_free(&in);
			code = worse(code, c);
		}
		if (o.io.format)
			print_json_total(&tot);
		else
			print_total_row(&tot);
	}
	free(o.files);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
	return code;
}
