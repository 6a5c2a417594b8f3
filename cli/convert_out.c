/*
 * convert_out.c - the output buffer, JSON text pieces and the progress
 * bar shared by the `hvlog convert` writers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"

int cv_out_init(cv_out *o, FILE *f, size_t cap)
{
	*o = (cv_out){ .f = f };
	if (cap < 2 * CV_ITEM_MAX)
		cap = 2 * CV_ITEM_MAX;
	if (!(o->buf = malloc(cap)))
		return -1;
	o->p = o->buf;
	o->end = o->buf + cap;
	return 0;
}

int cv_out_room(cv_out *o, size_t item)
{
	char *nb;

	if ((size_t)(o->end - o->buf) >= 2 * item)
		return 0;
	cv_out_flush(o);
	if (!(nb = realloc(o->buf, 2 * item)))
		return -1;
	o->buf = o->p = nb;
	o->end = nb + 2 * item;
	return 0;
}

void cv_put_big(cv_out *o, const void *s, size_t n)
{
	if (n <= (size_t)(o->end - o->p)) {
		cv_mem(o, s, n);
		return;
	}
	cv_out_flush(o);
	if (n && !o->failed && fwrite(s, 1, n, o->f) != n) {
		o->failed = 1;
		o->err = errno;
	}
}

void cv_out_flush(cv_out *o)
{
	size_t n = (size_t)(o->p - o->buf);

	if (n && !o->failed && fwrite(o->buf, 1, n, o->f) != n) {
		o->failed = 1;
		o->err = errno;
	}
	o->p = o->buf;
}

void cv_out_free(cv_out *o)
{
	free(o->buf);
	o->buf = o->p = o->end = NULL;
}

void cv_mem(cv_out *o, const void *s, size_t n)
{
	memcpy(o->p, s, n);
	o->p += n;
}

void cv_str(cv_out *o, const char *s)
{
	cv_mem(o, s, strlen(s));
}

void cv_dec(cv_out *o, uint64_t v)
{
	o->p += hvlog_format_dec(o->p, v);
}

void cv_hex(cv_out *o, uint64_t v)
{
	o->p += hvlog_format_hex(o->p, v);
}

void cv_usec(cv_out *o, uint64_t ns)
{
	unsigned f = (unsigned)(ns % 1000);

	cv_dec(o, ns / 1000);
	cv_ch(o, '.');
	cv_ch(o, (char)('0' + f / 100));
	cv_ch(o, (char)('0' + f / 10 % 10));
	cv_ch(o, (char)('0' + f % 10));
}

void cv_json_str(cv_out *o, const char *s)
{
	o->p += hvlog_format_json_str(o->p, s);
}

void cv_json_uint(cv_out *o, uint64_t v)
{
	if (v <= CV_JSON_EXACT) {
		cv_dec(o, v);
		return;
	}
	cv_ch(o, '"');
	cv_dec(o, v);
	cv_ch(o, '"');
}

void cv_json_damage_tail(cv_out *o, const hvlog_item *it)
{
	cv_str(o, ",\"length\":");
	cv_json_uint(o, it->damage_len);
	cv_str(o, ",\"events_lost\":");
	cv_json_uint(o, it->damage_events);
	cv_str(o, ",\"message\":");
	cv_json_str(o, it->damage_msg ? it->damage_msg : "");
}

const char *cv_short_symbol(const char *symbol)
{
	return strncmp(symbol, "HV_TR_", 6) || !symbol[6] ? symbol : symbol + 6;
}

/* ---- progress ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cv_progress_start(cv_progress *p, const char *label, uint64_t total)
{
	*p = (cv_progress){ .on = total > 0 && isatty(STDERR_FILENO), .total = total, .pct = 101,
			    .label = label };
	if (!p->on)
		return;
	p->t0 = now_ns();
	cv_progress_update(p, 0, 0);
}

/* A rate with a k or M suffix ("2.35M"), or "-" without one yet. */
static void fmt_rate(char *buf, size_t cap, double r)
{
	if (r <= 0)
		snprintf(buf, cap, "-");
	else if (r >= 1e6)
		snprintf(buf, cap, "%.2fM", r / 1e6);
	else if (r >= 1e3)
		snprintf(buf, cap, "%.1fk", r / 1e3);
	else
		snprintf(buf, cap, "%.0f", r);
}

/* Seconds as m:ss or h:mm:ss, or "-:--" without an estimate. */
static void fmt_eta(char *buf, size_t cap, double sec)
{
	unsigned long s;

	if (sec < 0 || sec > 360000) {
		snprintf(buf, cap, "-:--");
		return;
	}
	s = (unsigned long)(sec + 0.5);
	if (s >= 3600)
		snprintf(buf, cap, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, cap, "%lu:%02lu", s / 60, s % 60);
}

void cv_progress_update(cv_progress *p, uint64_t done, uint64_t count)
{
	enum { WIDTH = 30 };
	char bar[WIDTH + 1], rate[32], eta[32];
	uint64_t t;
	double elapsed;
	unsigned pct, fill;
	int len;

	if (!p->on)
		return;
	if (done > p->total)
		done = p->total;
	if (done < p->done)
		done = p->done;
	p->done = done;
	pct = (unsigned)((unsigned __int128)done * 100 / p->total);
	t = now_ns();
	/* a new percentage, or a quarter of a second since the last line */
	if (pct == p->pct && t - p->drawn < 250000000u)
		return;
	p->pct = pct;
	p->drawn = t;
	elapsed = (double)(t - p->t0) / 1e9;
	fill = pct * WIDTH / 100;
	memset(bar, '#', fill);
	memset(bar + fill, '.', WIDTH - fill);
	bar[WIDTH] = 0;
	/* the rate and time left once there is something to go by */
	fmt_rate(rate, sizeof rate, count && elapsed > 0.05 ? (double)count / elapsed : 0);
	fmt_eta(eta, sizeof eta,
		done && elapsed > 0.05 ? elapsed * (double)(p->total - done) / (double)done : -1);
	len = fprintf(stderr, "\r%s [%s] %3u%%  %llu events  %s events/s  ETA %s", p->label, bar, pct,
		      (unsigned long long)count, rate, eta);
	/* (a shorter line than the last: blank out the rest) */
	if (len - 1 < p->len)
		fprintf(stderr, "%*s", p->len - (len - 1), "");
	if (len - 1 > p->len)
		p->len = len - 1;
	fflush(stderr);
}

void cv_progress_end(cv_progress *p)
{
	if (!p->on)
		return;
	/* clear the line: the bar is not part of the output */
	fprintf(stderr, "\r%*s\r", p->len, "");
	fflush(stderr);
	p->on = 0;
}

/* ---- per-file pieces ------------------------------------------------------ */

enum { PIECE_MAX = 4096 }; /* any one piece: names are at most 64 bytes */

enum piece_kind { PIECE_STREAM, PIECE_EVENT, PIECE_PARAM };

/* Write one piece at mem + *total, or only measure it (mem NULL). */
static void one_piece(const cv_ctx *c, const cv_piece_writers *w, enum piece_kind k, uint32_t s, const void *what,
		      char *mem, size_t *total, cv_piece *slot)
{
	static char scratch[PIECE_MAX];
	char *at = mem ? mem + *total : scratch;
	cv_out o = { .buf = at, .p = at, .end = at + PIECE_MAX };

	if (k == PIECE_STREAM && w->stream)
		w->stream(&o, c, s);
	else if (k == PIECE_EVENT && w->event)
		w->event(&o, c, what);
	else if (k == PIECE_PARAM && w->param)
		w->param(&o, c, what);
	if (mem)
		*slot = (cv_piece){ at, (size_t)(o.p - at) };
	*total += (size_t)(o.p - at);
}

/* Every piece, in one block: measured (mem NULL), then written. */
static size_t pieces_pass(cv_pieces *pc, const cv_ctx *c, const cv_piece_writers *w, char *mem)
{
	const hvlog_schema *sc = c->m->schema;
	size_t total = 0;

	for (uint32_t s = 0; s < c->m->nstreams; s++)
		one_piece(c, w, PIECE_STREAM, s, NULL, mem, &total, mem ? &pc->stream[s] : NULL);
	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		one_piece(c, w, PIECE_EVENT, 0, ev, mem, &total, mem ? &pc->event[e] : NULL);
		for (uint32_t i = 0; i < ev->nparams; i++)
			one_piece(c, w, PIECE_PARAM, 0, &ev->params[i], mem, &total,
				  mem ? &pc->param[ev->slot + i] : NULL);
	}
	return total;
}

int cv_pieces_build(cv_pieces *pc, const cv_ctx *c, const cv_piece_writers *w)
{
	const hvlog_schema *sc = c->m->schema;
	size_t total;

	*pc = (cv_pieces){ 0 };
	total = pieces_pass(pc, c, w, NULL);
	if (!(pc->stream = calloc(c->m->nstreams + 1, sizeof *pc->stream)) ||
	    !(pc->event = calloc(sc->nevents + 1, sizeof *pc->event)) ||
	    !(pc->param = calloc(sc->nslots + 1, sizeof *pc->param)) || !(pc->mem = malloc(total + PIECE_MAX))) {
		cv_pieces_free(pc);
		cli_error(NULL, UINT64_MAX, "out of memory");
		return -1;
	}
	pieces_pass(pc, c, w, pc->mem);
	return 0;
}

void cv_pieces_free(cv_pieces *pc)
{
	free(pc->stream);
	free(pc->event);
	free(pc->param);
	free(pc->mem);
	*pc = (cv_pieces){ 0 };
}

int cv_pieces_attach(cv_ctx *c, const cv_piece_writers *w)
{
	cv_pieces *pc = malloc(sizeof *pc);

	if (!pc) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	if (cv_pieces_build(pc, c, w) != 0) {
		free(pc);
		return EXIT_IO;
	}
	c->priv = pc;
	return 0;
}

void cv_pieces_detach(cv_ctx *c)
{
	if (c->priv)
		cv_pieces_free(c->priv);
	free(c->priv);
	c->priv = NULL;
}
