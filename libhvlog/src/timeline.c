/*
 * timeline.c - hvlog/timeline.h: counts per stream, group and time bin,
 * the bins doubling in width to hold the whole trace.
 */
#include <stdlib.h>
#include <string.h>

#include "hvlog/timeline.h"
#include "internal.h"

/* The bins of a (stream, group) pair are a row of nbins counters, made
 * when the pair's first event comes: the metadata alone (tens of
 * thousands of streams, 64 groups) would otherwise ask for gigabytes,
 * and every widening would sweep them. */
struct hvlog_timeline {
	uint32_t nstreams, ngroups, nbins, used;
	int started;
	uint64_t origin, width;
	uint32_t *row;          /* [stream][group]: 0 none yet, else 1 + its row in c */
	uint64_t *c;            /* [row][bin] */
	size_t nrows, caprows;
};

hvlog_status hvlog_timeline_create(hvlog_timeline **out, const hvlog_meta *m, uint32_t nbins, hvlog_error *err)
{
	hvlog_timeline *t;

	*out = NULL;
	if (!m || !m->schema || nbins < 2 || nbins > 4096)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "hvlog_timeline_create: no metadata or bins not in 2..4096");
	if (!(t = calloc(1, sizeof *t)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	t->nstreams = m->nstreams ? m->nstreams : 1;
	t->ngroups = m->schema->ngroups ? m->schema->ngroups : 1;
	t->nbins = nbins;
	t->width = 1024;
	t->row = calloc((size_t)t->nstreams * t->ngroups, sizeof *t->row);
	if (!t->row) {
		free(t);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	*out = t;
	return HVLOG_OK;
}

/* Halves the resolution: bins 2i and 2i+1 become bin i. */
static void widen(hvlog_timeline *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		uint64_t *row = &t->c[r * t->nbins];
		for (uint32_t i = 0; i < t->nbins / 2; i++)
			row[i] = row[2 * i] + row[2 * i + 1];
		if (t->nbins & 1)
			row[t->nbins / 2] = row[t->nbins - 1];
		memset(&row[(t->nbins + 1) / 2], 0, (t->nbins - (t->nbins + 1) / 2) * sizeof *row);
	}
	t->used = (t->used + 1) / 2;
	t->width = t->width > UINT64_MAX / 2 ? UINT64_MAX : t->width * 2;
}

void hvlog_timeline_add(hvlog_timeline *t, const hvlog_item *it)
{
	uint64_t b;

	if (!t || it->kind != HVLOG_ITEM_EVENT)
		return;
	if (!t->started) {
		t->started = 1;
		t->origin = it->ts;
	}
	b = it->ts > t->origin ? (it->ts - t->origin) / t->width : 0;
	while (b >= t->nbins) {
		widen(t);
		b = (it->ts - t->origin) / t->width;
	}
	uint32_t s = it->stream < t->nstreams ? it->stream : 0;
	uint32_t g = it->event->group < t->ngroups ? it->event->group : 0;
	uint32_t *r = &t->row[(size_t)s * t->ngroups + g];
	if (!*r) {
		if (t->nrows == t->caprows) {
			size_t nc = t->caprows ? 2 * t->caprows : 64;
			uint64_t *ncs = realloc(t->c, nc * t->nbins * sizeof *ncs);
			if (!ncs)
				return; /* out of memory: the event is not counted */
			t->c = ncs;
			t->caprows = nc;
		}
		memset(&t->c[t->nrows * t->nbins], 0, t->nbins * sizeof *t->c);
		*r = (uint32_t)++t->nrows;
	}
	t->c[(*r - 1) * t->nbins + b]++;
	if (b + 1 > t->used)
		t->used = (uint32_t)b + 1;
}

void hvlog_timeline_info_get(const hvlog_timeline *t, hvlog_timeline_info *info)
{
	*info = (hvlog_timeline_info){ t->origin, t->width, t->used, t->nstreams, t->ngroups };
}

uint64_t hvlog_timeline_count(const hvlog_timeline *t, uint32_t s, uint32_t g, uint32_t b)
{
	uint64_t n = 0;

	if (!t || s >= t->nstreams || b >= t->nbins)
		return 0;
	for (uint32_t k = g == UINT32_MAX ? 0 : g; k < t->ngroups && (g == UINT32_MAX || k == g); k++) {
		uint32_t r = t->row[(size_t)s * t->ngroups + k];
		n += r ? t->c[(r - 1) * t->nbins + b] : 0;
	}
	return n;
}

void hvlog_timeline_free(hvlog_timeline *t)
{
	if (!t)
		return;
	free(t->row);
	free(t->c);
	free(t);
}
