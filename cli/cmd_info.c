/*
 * hvlog info [--verify] [FILE|-]: what a trace file holds.
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

struct info_opts {
	const char *file;
	int verify;
	int json;
};

enum { OPT_VERIFY = 256 }; /* long only: -V is --version in every command */

static const struct argp_option options[] = {
	{ "verify", OPT_VERIFY, NULL, 0, "list every damaged region; exit status 1 if there is any", 0 },
	{ "format", 'f', "FORMAT", 0, "text (default) or json (one object)", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct info_opts *o = state->input;

	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, NULL, &o->file);
	switch (key) {
	case OPT_VERIFY:
		o->verify = 1;
		return 0;
	case 'f':
		o->json = cli_choice_arg(state, "format", arg, cli_text_json);
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
		t->slost[it->stream] += it->lost_count;
	else if (t->dl)
		cli_damage_add(t->dl, it);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	static const char doc[] = "Describe a trace: format version, producer, clock, schema, streams, "
				  "chunks, events, time range, bytes per event, lost events and damage.";
	static const struct argp_child children[] = { CLI_FILE_CHILD, CLI_SCHEMA_CHILD, { 0 } };
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct info_opts o = { 0 };
	hvlog_reader *r;
	hvlog_reader_stats st0, st;
	const hvlog_meta *m;
	uint64_t *sev = NULL, *slost = NULL, data_bytes, span_ns;
	struct cli_damage_list dl = { 0 };
	const struct cli_damage *dmg;
	char epoch[80];
	int code = EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	if (!(r = cli_open(o.file, &code)))
		return code;
	m = hvlog_reader_meta(r);
	hvlog_reader_stats_get(r, &st0);
	if (!(sev = calloc(m->nstreams + 1, sizeof *sev)) || !(slost = calloc(m->nstreams + 1, sizeof *slost))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto out;
	}
	/* every item; damage is counted (and listed with --verify), not reported */
	struct tally t = { sev, slost, o.verify ? &dl : NULL };
	struct cli_run run = { .shown = cli_shown(o.file), .step = tally_step, .ctx = &t, .quiet_damage = 1 };
	code = cli_run(r, &run);
	if (run.read_failed)
		goto out;
	if (dl.nomem) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		code = EXIT_IO;
		goto out;
	}
	cli_damage_sort(&dl); /* listed in offset order */
	dmg = dl.v;
	hvlog_reader_stats_get(r, &st);
	data_bytes = st.file_size > m->data_offset ? st.file_size - m->data_offset : 0;
	span_ns = st.last_ts > st0.first_ts ? hvlog_ticks_to_ns(st.last_ts, st0.first_ts, m->clock_hz) : 0;
	fmt_epoch(epoch, sizeof epoch, m->clock_epoch_ns);

	if (o.json) {
		printf("{\"file\":");
		cli_json_str(cli_shown(o.file));
		printf(",\"size\":%llu,\"format\":\"%u.%u\",\"producer\":", (unsigned long long)st.file_size,
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
			printf("%s{\"stream\":%u,\"name\":", s ? "," : "", s);
			cli_json_str(m->streams[s].name);
			printf(",\"partition\":%llu,\"vp\":", (unsigned long long)m->streams[s].partition_id);
			if (m->streams[s].vp_index == UINT32_MAX)
				printf("null");
			else
				printf("%u", m->streams[s].vp_index);
			printf(",\"events\":%llu,\"lost\":%llu}", (unsigned long long)sev[s], (unsigned long long)slost[s]);
		}
		printf("],\"chunks\":%llu,\"chunks_with_events\":%llu,\"events\":%llu,\"first_ts\":%llu,"
		       "\"last_ts\":%llu,\"span_ns\":%llu,\"bytes_per_event\":",
		       (unsigned long long)st.chunks, (unsigned long long)st.chunks_indexed,
		       (unsigned long long)st.events, (unsigned long long)st0.first_ts, (unsigned long long)st.last_ts,
		       (unsigned long long)span_ns);
		if (st.events)
			printf("%.3f", (double)data_bytes / (double)st.events);
		else
			printf("null");
		printf(",\"lost_events\":%llu,\"damaged_regions\":%llu,\"damaged_bytes\":%llu",
		       (unsigned long long)st.lost_events, (unsigned long long)st.damaged_regions,
		       (unsigned long long)st.damaged_bytes);
		if (o.verify) {
			printf(",\"damage\":[");
			for (size_t i = 0; i < dl.n; i++) {
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
			if (dl.more)
				printf(",\"damage_not_listed\":%llu", (unsigned long long)dl.more);
		}
		printf("}\n");
	} else {
		printf("file:          %s (%llu bytes)\n", cli_shown(o.file), (unsigned long long)st.file_size);
		printf("format:        %u.%u\n", m->version_major, m->version_minor);
		printf("producer:      %s\n", cli_tty(m->producer));
		if (m->nprops) /* the producer's own pairs: all of them with --format json */
			printf("props:         %u key/value pairs (see --format json)\n", m->nprops);
		printf("clock:         %s, %llu Hz, epoch %s\n", cli_tty(m->clock_name),
		       (unsigned long long)m->clock_hz, epoch);
		printf("schema:        %s version %u: %u groups, %u events, %u value tables, %u parameters "
		       "(metadata %llu bytes)\n",
		       cli_tty(m->schema->name), m->schema->version, m->schema->ngroups, m->schema->nevents, m->schema->nvaltabs,
		       m->schema->nslots, (unsigned long long)(m->data_offset - 32));
		printf("streams:       %u\n", m->nstreams);
		size_t wname = 12; /* the NAME column: as wide as the widest name */
		for (uint32_t s = 0; s < m->nstreams; s++)
			if (cli_width(cli_tty(m->streams[s].name)) > wname)
				wname = cli_width(cli_tty(m->streams[s].name));
		printf("  %-6s %s %10s %6s %14s %10s\n", "ID", cli_pad("NAME", wname), "PARTITION", "VP", "EVENTS", "LOST");
		for (uint32_t s = 0; s < m->nstreams; s++) {
			char vp[16];
			if (m->streams[s].vp_index == UINT32_MAX)
				snprintf(vp, sizeof vp, "-");
			else
				snprintf(vp, sizeof vp, "%u", m->streams[s].vp_index);
			printf("  %-6u %s %10llu %6s %14llu %10llu\n", s, cli_pad(m->streams[s].name, wname),
			       (unsigned long long)m->streams[s].partition_id, vp, (unsigned long long)sev[s],
			       (unsigned long long)slost[s]);
		}
		printf("chunks:        %llu intact (%llu indexed with events)\n", (unsigned long long)st.chunks,
		       (unsigned long long)st.chunks_indexed);
		printf("events:        %llu\n", (unsigned long long)st.events);
		printf("time range:    ticks %llu..%llu, span %.9f s\n", (unsigned long long)st0.first_ts,
		       (unsigned long long)st.last_ts, (double)span_ns / 1e9);
		if (st.events)
			printf("bytes/event:   %.3f (%llu bytes of chunks)\n", (double)data_bytes / (double)st.events,
			       (unsigned long long)data_bytes);
		else
			printf("bytes/event:   -\n");
		printf("lost events:   %llu\n", (unsigned long long)st.lost_events);
		if (!st.damaged_regions)
			printf("damage:        none\n");
		else
			printf("damage:        %llu regions, %llu bytes%s\n", (unsigned long long)st.damaged_regions,
			       (unsigned long long)st.damaged_bytes, o.verify ? ":" : " (--verify lists them)");
		for (size_t i = 0; i < dl.n; i++) {
			char sbuf[16];
			if (dmg[i].stream == UINT32_MAX)
				snprintf(sbuf, sizeof sbuf, "-");
			else
				snprintf(sbuf, sizeof sbuf, "%u", dmg[i].stream);
			printf("  offset %llu, %llu bytes, stream %s, %llu events lost: %s\n",
			       (unsigned long long)dmg[i].offset, (unsigned long long)dmg[i].len, sbuf,
			       (unsigned long long)dmg[i].events, dmg[i].msg);
		}
		if (dl.more)
			printf("  ... and %llu more regions (not listed)\n", (unsigned long long)dl.more);
		if (o.verify)
			printf("verify:        %s\n", st.damaged_regions ? "DAMAGED" : "ok");
	}
	if (o.verify && st.damaged_regions)
		code = EXIT_DATA;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
out:
	free(sev);
	free(slost);
	cli_damage_free(&dl);
	hvlog_reader_close(r);
	return code;
}
