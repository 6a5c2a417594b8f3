/*
 * convert_ctf.c - `hvlog convert --to ctf -o DIR`: a CTF 1.8 trace.
 *
 * DIR/metadata is TSDL text: a little-endian trace, one clock with the
 * trace's frequency (and its epoch as offset, when known), one stream
 * class, and one event class per event of the embedded schema (id = the
 * event number, name = its symbol, one unsigned integer field per
 * parameter, named by its key, hex-based for hex parameters).  Each hvlog
 * stream that has items becomes one data stream file, DIR/stream_<id>,
 * made of packets of at most 64 KiB:
 *
 *   packet header   magic, stream_id (0), stream_instance_id (hvlog stream)
 *   packet context  timestamp_begin/_end, content_size, packet_size,
 *                   events_discarded, cpu_id (hvlog stream), partition_id,
 *                   vp_index
 *   event header    id (u16), timestamp (u64, the clock's ticks)
 *
 * Lost events go into events_discarded (a running count, as CTF wants):
 * the packet open when they are met is closed, and the next one (an empty
 * one at the end if need be) carries the new count, which babeltrace2
 * reports as discarded events.  Damage has no CTF form: it is counted and
 * reported on stderr.  CTF wants each stream's time not to go back: a
 * stream whose time goes back is written as it is, with a warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"

#define CTF_MAGIC 0xC1FC1FC1u
#define PKT_HEADER 16u  /* magic, stream_id, stream_instance_id */
#define PKT_CONTEXT 56u /* see the TSDL below */
#define PKT_PREFIX (PKT_HEADER + PKT_CONTEXT)
#define EV_MAX (2u + 8u + HVLOG_MAX_PARAMS * 8u)

struct cstream {
	uint8_t *buf;          /* packet under construction, PKT_PREFIX first */
	size_t len;            /* bytes used; 0: no packet open */
	uint64_t first_ts, last_ts;
	uint64_t discarded;    /* running count of lost events */
	uint64_t discarded_written;
	int created;           /* the file exists */
	int went_back;
};

struct ctf {
	char *dir;
	size_t pkt_size;
	struct cstream *s;
	uint64_t damaged;
	const char *shown;     /* the directory as -o gave it, for messages (dir may be a temporary) */
};

static const uint8_t type_bytes[HVLOG_TYPE_COUNT_] = {
#define TYPE_BYTES(name, str, max, size, ctype) [HVLOG_TYPE_##name] = size,
	HVLOG_TYPE_LIST(TYPE_BYTES)
#undef TYPE_BYTES
};

/* A message about file `name` of the output directory, named as -o gave it. */
static int cannot_write(const struct ctf *t, const char *name)
{
	char shown[4096];
	int e = errno;

	if (snprintf(shown, sizeof shown, "%s/%s", t->shown, name) >= (int)sizeof shown)
		memcpy(shown + sizeof shown - 4, "...", 4);
	cli_error(shown, UINT64_MAX, "cannot write: %s", strerror(e));
	return EXIT_IO;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- the TSDL metadata ---------------------------------------------------- */

static const char *const tsdl_keywords[] = {
	"align", "callsite", "const", "char", "clock", "double", "enum", "env", "event", "floating_point", "float",
	"integer", "int", "long", "short", "signed", "stream", "string", "struct", "trace", "typealias", "typedef",
	"unsigned", "variant", "void", "_Bool", "_Complex", "_Imaginary", "decimal", "id", "name", "fields",
	"header", "context", "size", "base", "map", "encoding", "byte_order", "exp_dig", "mant_dig", NULL,
};

/* A field name TSDL accepts: [A-Za-z_][A-Za-z0-9_]*; a keyword (or a name
 * that starts with '_' already) gets a leading '_', which CTF readers
 * strip, so babeltrace2 shows the key itself. */
static void ident(char *out, size_t cap, const char *key)
{
	size_t n = 0;
	int kw = key[0] == '_' || (key[0] >= '0' && key[0] <= '9') || !key[0];

	for (const char *const *k = tsdl_keywords; *k && !kw; k++)
		kw = !strcmp(*k, key);
	if (kw)
		out[n++] = '_';
	for (; *key && n + 1 < cap; key++) {
		char ch = *key;
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
		out[n++] = ok ? ch : '_';
	}
	out[n] = 0;
}

static void tsdl_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static int write_metadata(cv_ctx *c, const char *path)
{
	const hvlog_meta *m = c->m;
	const hvlog_schema *s = m->schema;
	FILE *f = fopen(path, "w");
	int64_t epoch = m->clock_epoch_ns;
	int64_t off_s = epoch / 1000000000;
	int64_t off_ns = epoch % 1000000000;

	if (!f)
		return -1;
	if (off_ns < 0) {
		off_ns += 1000000000;
		off_s--;
	}
	fprintf(f, "/* CTF 1.8 */\n\n/* Written by hvlog convert from an hvlog trace. */\n\n");
	for (unsigned b = 8; b <= 64; b *= 2) {
		fprintf(f, "typealias integer { size = %u; align = 8; signed = false; } := uint%u_t;\n", b, b);
		fprintf(f, "typealias integer { size = %u; align = 8; signed = false; base = 16; } := hex%u_t;\n", b, b);
	}
	fprintf(f, "\ntrace {\n\tmajor = 1;\n\tminor = 8;\n\tbyte_order = le;\n"
		   "\tpacket.header := struct {\n\t\tuint32_t magic;\n\t\tuint32_t stream_id;\n"
		   "\t\tuint64_t stream_instance_id;\n\t};\n};\n\n");
	fprintf(f, "env {\n\tdomain = \"hvlog\";\n\ttracer_name = \"hvlog\";\n\tproducer = ");
	tsdl_str(f, m->producer);
	fprintf(f, ";\n\tschema = ");
	tsdl_str(f, s->name);
	fprintf(f, ";\n\tschema_version = %u;\n\tclock_name = ", s->version);
	tsdl_str(f, m->clock_name);
	fprintf(f, ";\n\tstreams = %u;\n};\n\n", m->nstreams);
	fprintf(f, "clock {\n\tname = \"hvlog\";\n\tdescription = ");
	tsdl_str(f, m->clock_name);
	fprintf(f, ";\n\tfreq = %llu;\n\tprecision = 1;\n\toffset_s = %lld;\n\toffset = %llu;\n\tabsolute = %s;\n};\n\n",
		(unsigned long long)m->clock_hz, (long long)off_s,
		(unsigned long long)((unsigned __int128)off_ns * m->clock_hz / 1000000000u), epoch ? "true" : "false");
	fprintf(f, "typealias integer { size = 64; align = 8; signed = false; map = clock.hvlog.value; } := uint64_clock_t;\n\n");
	fprintf(f, "stream {\n\tid = 0;\n\tpacket.context := struct {\n"
		   "\t\tuint64_clock_t timestamp_begin;\n\t\tuint64_clock_t timestamp_end;\n"
		   "\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n\t\tuint64_t events_discarded;\n"
		   "\t\tuint32_t cpu_id;\n\t\tuint64_t partition_id;\n\t\tuint32_t vp_index;\n\t};\n"
		   "\tevent.header := struct {\n\t\tuint16_t id;\n\t\tuint64_clock_t timestamp;\n\t};\n};\n");
	for (uint32_t e = 0; e < s->nevents; e++) {
		const hvlog_event *ev = &s->events[e];
		char names[HVLOG_MAX_PARAMS][HVLOG_MAX_NAME + 16];
		fprintf(f, "\nevent {\n\tname = ");
		tsdl_str(f, ev->symbol);
		fprintf(f, ";\n\tid = %u;\n\tstream_id = 0;\n\tfields := struct {\n", ev->number);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const hvlog_param *p = &ev->params[i];
			ident(names[i], HVLOG_MAX_NAME + 4, p->key);
			for (uint32_t j = 0; j < i; j++)
				if (!strcmp(names[i], names[j])) { /* keep field names unique */
					size_t len = strlen(names[i]);
					snprintf(names[i] + len, sizeof names[i] - len, "_%u", (unsigned)(i & 0xff));
				}
			fprintf(f, "\t\t%s%u_t %s;\n", p->display == HVLOG_DISPLAY_HEX ? "hex" : "uint",
				8u * type_bytes[p->type], names[i]);
		}
		fprintf(f, "\t};\n};\n");
	}
	if (fclose(f) != 0)
		return -1;
	return 0;
}

/* ---- the data streams ----------------------------------------------------- */

static int write_packet(cv_ctx *c, uint32_t id)
{
	struct ctf *t = c->priv;
	struct cstream *cs = &t->s[id];
	const hvlog_stream_info *si = &c->m->streams[id];
	char path[4096];
	uint8_t *h = cs->buf;
	int fd;
	size_t off = 0;

	if (!cs->len)
		cs->len = PKT_PREFIX;
	put_le(h + 0, CTF_MAGIC, 4);
	put_le(h + 4, 0, 4);
	put_le(h + 8, id, 8);
	put_le(h + 16, cs->first_ts, 8);
	put_le(h + 24, cs->last_ts, 8);
	put_le(h + 32, (uint64_t)cs->len * 8, 8);
	put_le(h + 40, (uint64_t)cs->len * 8, 8);
	put_le(h + 48, cs->discarded, 8);
	put_le(h + 56, id, 4);
	put_le(h + 60, si->partition_id, 8);
	put_le(h + 68, si->vp_index, 4);
	snprintf(path, sizeof path, "%s/stream_%u", t->dir, id);
	fd = open(path, O_WRONLY | O_CREAT | (cs->created ? O_APPEND : O_TRUNC), 0666);
	if (fd < 0)
		goto fail;
	cs->created = 1;
	while (off < cs->len) {
		ssize_t n = write(fd, cs->buf + off, cs->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			goto fail;
		}
		off += (size_t)n;
	}
	if (close(fd) != 0)
		goto fail;
	cs->discarded_written = cs->discarded;
	cs->len = 0;
	return 0;
fail:
	snprintf(path, sizeof path, "stream_%u", id);
	return cannot_write(t, path);
}

static int ctf_begin(cv_ctx *c)
{
	struct ctf *t = calloc(1, sizeof *t);
	char path[4096];
	uint32_t n = c->m->nstreams;
	struct stat st;

	if (!t)
		goto nomem;
	c->priv = t;
	if (!c->out_path || !strcmp(c->out_path, "-")) {
		cli_error(NULL, UINT64_MAX, "--to ctf writes a directory: give it with -o DIR");
		return EXIT_USAGE;
	}
	if (!(t->dir = strdup(c->out_path)))
		goto nomem;
	t->shown = c->out_shown ? c->out_shown : c->out_path;
	if (mkdir(t->dir, 0777) != 0 && !(errno == EEXIST && stat(t->dir, &st) == 0 && S_ISDIR(st.st_mode))) {
		cli_error(t->shown, UINT64_MAX, "cannot create the directory: %s", strerror(errno));
		return EXIT_IO;
	}
	/* packets of 64 KiB, smaller with many streams (at most 64 MiB in all) */
	t->pkt_size = 64u * 1024u;
	while (t->pkt_size > 4096 && (uint64_t)n * t->pkt_size > (64u << 20))
		t->pkt_size /= 2;
	if (!(t->s = calloc(n ? n : 1, sizeof *t->s)))
		goto nomem;
	snprintf(path, sizeof path, "%s/metadata", t->dir);
	if (write_metadata(c, path) != 0)
		return cannot_write(t, "metadata");
	return 0;
nomem:
	cli_error(NULL, UINT64_MAX, "out of memory");
	return EXIT_IO;
}

static int ctf_item(cv_ctx *c, const hvlog_item *it)
{
	struct ctf *t = c->priv;
	struct cstream *cs;
	int code;

	if (it->kind == HVLOG_ITEM_DAMAGE || it->stream >= c->m->nstreams) {
		t->damaged++;
		return 0;
	}
	cs = &t->s[it->stream];
	if (!cs->buf && !(cs->buf = malloc(t->pkt_size))) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	if (it->kind == HVLOG_ITEM_LOST) {
		/* close the open packet; the next one carries the new count */
		if (cs->len && (code = write_packet(c, it->stream)) != 0)
			return code;
		cs->discarded += it->lost_count;
		cs->first_ts = cs->last_ts = it->ts > cs->last_ts ? it->ts : cs->last_ts;
		return 0;
	}
	if (cs->len && cs->len + EV_MAX > t->pkt_size && (code = write_packet(c, it->stream)) != 0)
		return code;
	if (!cs->len) {
		cs->len = PKT_PREFIX;
		cs->first_ts = it->ts;
	} else if (it->ts < cs->last_ts && !cs->went_back) {
		cs->went_back = 1;
		cli_error(NULL, UINT64_MAX, "warning: time goes back in stream %u (%s); CTF readers may refuse it",
			  it->stream, cv_stream_name(c, it->stream));
	}
	{
		const hvlog_event *ev = it->event;
		uint8_t *p = cs->buf + cs->len;
		put_le(p, ev->number, 2);
		put_le(p + 2, it->ts, 8);
		p += 10;
		for (uint32_t i = 0; i < ev->nparams; i++) {
			unsigned nb = type_bytes[ev->params[i].type];
			put_le(p, it->values[i], nb);
			p += nb;
		}
		cs->len = (size_t)(p - cs->buf);
	}
	cs->last_ts = it->ts;
	return 0;
}

static int ctf_end(cv_ctx *c)
{
	struct ctf *t = c->priv;
	int code = 0;

	if (!t)
		return 0;
	for (uint32_t i = 0; t->s && i < c->m->nstreams; i++) {
		struct cstream *cs = &t->s[i];
		if (!code && (cs->len || cs->discarded != cs->discarded_written))
			code = write_packet(c, i);
		free(cs->buf);
	}
	if (t->damaged)
		cli_error(NULL, UINT64_MAX, "%llu damaged region(s) of the input have no CTF form and were left out",
			  (unsigned long long)t->damaged);
	free(t->s);
	free(t->dir);
	free(t);
	c->priv = NULL;
	return code;
}

const cv_format cv_format_ctf = { "ctf", 1, 0, ctf_begin, ctf_item, ctf_end };
