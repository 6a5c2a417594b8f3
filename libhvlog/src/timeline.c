/*
 * timeline.c - hvlog/timeline.h: counts per stream, group and time bin,
 * the bins doubling in width to hold the whole trace.
 */
#include <stdlib.h>
#include <string.h>

#include "hvlog/timeline.h"
#include "internal.h"

struct hvlog_timeline {
	uint32_t nstreams, ngroups, nbins, used;
	int started;
	uint64_t origin, width;
	uint64_t *c; /* [stream][group][bin] */
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
	t->c = calloc((size_t)t->nstreams * t->ngroups * nbins, sizeof *t->c);
	if (!t->c) {
		free(t);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	*out = t;
	return HVLOG_OK;
}

/* Halves the resolution: bins 2i and 2i+1 become bin i. */
static void widen(hvlog_timeline *t)
{
	size_t rows = (size_t)t->nstreams * t->ngroups;

	for (size_t r = 0; r < rows; r++) {
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
	t->c[((size_t)s * t->ngroups + g) * t->nbins + b]++;
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
	if (g != UINT32_MAX)
		return g < t->ngroups ? t->c[((size_t)s * t->ngroups + g) * t->nbins + b] : 0;
	for (uint32_t k = 0; k < t->ngroups; k++)
		n += t->c[((size_t)s * t->ngroups + k) * t->nbins + b];
	return n;
}

void hvlog_timeline_free(hvlog_timeline *t)
{
	if (!t)
		return;
	free(t->c);
	free(t);
}
