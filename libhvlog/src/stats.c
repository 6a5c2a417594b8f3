/*
 * stats.c - mergeable statistics of items (hvlog/stats.h).
 *
 * Per event type: a count, the first and last timestamp (in the order of
 * adding), and the intervals between consecutive events as min, max and a
 * log-linear histogram.  What a merge needs to join two runs exactly is
 * just that: the interval across the seam is b's first minus a's last of
 * the type, and the histograms add.
 *
 * Top values: Space-Saving with a hash table (linear probing) from value
 * to entry and a min-heap of entries by count, so the least counted entry
 * is found in O(1) and an increment costs one sift.
 */
#include <stdlib.h>
#include <string.h>

#include "hvlog/stats.h"
#include "internal.h"
#include "run.h"

#define HIST_BUCKETS 1024
#define TOP_MAX_N 100000u
#define TOP_MIN_CAP 4096u

struct evstat {
	uint64_t count;
	uint64_t first_ts, last_ts;
	uint64_t nint, min, max;
	uint64_t *hist; /* HIST_BUCKETS, allocated with the first interval */
};

struct ss_entry {
	uint64_t value, count, err;
	uint32_t heap_pos;
};

struct top {
	int8_t *idx;        /* parameter index per event, -1: none */
	uint32_t want, cap, n, hmask;
	uint64_t total;     /* events that have the parameter */
	struct ss_entry *e;
	uint32_t *heap;     /* entry indices, a min-heap by count */
	uint32_t *hash;     /* entry index + 1; 0 empty */
	int approx;         /* an entry was evicted (here or in a merged table) */
};

struct hvlog_stats {
	uintptr_t events_base;    /* the schema's events of the reader items come from */
	uint32_t nevents, ngroups, nstreams;
	uint64_t clock_hz;
	uint32_t *ev_group;       /* per event */
	uint64_t *part_of;        /* per stream: partition_id */
	uint64_t n, first, last, lost, damaged;
	uint64_t *scount, *slost; /* per stream */
	struct evstat *ev;        /* per event */
	struct top *tops;
	uint32_t ntops;
};

/* ---- the interval histogram ---------------------------------------------- */

static unsigned hist_bucket(uint64_t v)
{
	unsigned e;

	if (v < 16)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return 16u + (e - 4u) * 16u + (unsigned)((v >> (e - 4u)) & 15u);
}

static uint64_t hist_mid(unsigned b)
{
	unsigned e, sub;

	if (b < 16)
		return b;
	e = (b - 16u) / 16u + 4u;
	sub = (b - 16u) % 16u;
	return ((uint64_t)(16u + sub) << (e - 4u)) + (((uint64_t)1 << (e - 4u)) >> 1);
}

/* [*lo, *hi] widened to hold [blo, bhi]; empty: it held nothing yet. */
static void range_join(uint64_t *lo, uint64_t *hi, int empty, uint64_t blo, uint64_t bhi)
{
	if (empty || blo < *lo)
		*lo = blo;
	if (empty || bhi > *hi)
		*hi = bhi;
}

static inline __attribute__((always_inline)) void interval_add(struct evstat *s, uint64_t d)
{
	s->hist[hist_bucket(d)]++;
	range_join(&s->min, &s->max, !s->nint, d, d);
	s->nint++;
}

/* ---- Space-Saving top values ---------------------------------------------- */

static uint32_t ss_home(const struct top *t, uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return (uint32_t)v & t->hmask;
}

static void heap_swap(struct top *t, uint32_t a, uint32_t b)
{
	uint32_t x = t->heap[a];
	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->e[t->heap[a]].heap_pos = a;
	t->e[t->heap[b]].heap_pos = b;
}

static void sift_down(struct top *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->n && t->e[t->heap[l]].count < t->e[t->heap[m]].count)
			m = l;
		if (r < t->n && t->e[t->heap[r]].count < t->e[t->heap[m]].count)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void sift_up(struct top *t, uint32_t i)
{
	while (i && t->e[t->heap[(i - 1) / 2]].count > t->e[t->heap[i]].count) {
		heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* The hash slot of value v, or of the empty slot where it would go. */
static uint32_t hash_find(const struct top *t, uint64_t v)
{
	uint32_t i = ss_home(t, v);

	while (t->hash[i] && t->e[t->hash[i] - 1].value != v)
		i = (i + 1) & t->hmask;
	return i;
}

/* Remove the hash slot holding entry ix (linear probing, backward shift). */
static void hash_remove(struct top *t, uint32_t ix)
{
	uint32_t i = hash_find(t, t->e[ix].value), j;

	for (j = i;;) {
		uint32_t k;
		j = (j + 1) & t->hmask;
		if (!t->hash[j])
			break;
		k = ss_home(t, t->e[t->hash[j] - 1].value);
		/* move j back to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->hash[i] = t->hash[j];
			i = j;
		}
	}
	t->hash[i] = 0;
}

/* Empty the hash slots of every entry: not a memset of the whole table,
 * whose pages (up to 64 MiB for n = 100000) stay untouched while few
 * values were seen.  Each entry is found by probing from its home; the
 * slots already emptied on the way do not stop the probe. */
static void hash_clear(struct top *t)
{
	for (uint32_t ix = 0; ix < t->n; ix++) {
		uint32_t i = ss_home(t, t->e[ix].value);
		while (t->hash[i] != ix + 1)
			i = (i + 1) & t->hmask;
		t->hash[i] = 0;
	}
}

/* A new entry for a value not in the table, which has room. */
static void top_insert(struct top *t, uint32_t slot, uint64_t v, uint64_t count, uint64_t err)
{
	uint32_t ix = t->n++;

	t->e[ix] = (struct ss_entry){ v, count, err, ix };
	t->heap[ix] = ix;
	t->hash[slot] = ix + 1;
	sift_up(t, ix);
}

static void top_add(struct top *t, uint64_t v)
{
	uint32_t i = hash_find(t, v), ix;

	t->total++;
	if (t->hash[i]) {
		ix = t->hash[i] - 1;
		t->e[ix].count++;
		sift_down(t, t->e[ix].heap_pos);
		return;
	}
	if (t->n < t->cap) {
		top_insert(t, i, v, 1, 0);
		return;
	}
	/* full: the least counted value makes room, and its count carries over
	 * as the newcomer's possible overcount */
	ix = t->heap[0];
	hash_remove(t, ix);
	t->e[ix].err = t->e[ix].count;
	t->e[ix].count++;
	t->e[ix].value = v;
	t->hash[hash_find(t, v)] = ix + 1;
	sift_down(t, 0);
	t->approx = 1;
}

static void top_free(struct top *t)
{
	free(t->idx);
	free(t->e);
	free(t->heap);
	free(t->hash);
}

static int top_init(struct top *t, uint32_t want, uint32_t nevents)
{
	uint32_t h = 1;

	t->want = want;
	t->cap = want * 64 > TOP_MIN_CAP ? want * 64 : TOP_MIN_CAP;
	while (h < 2 * t->cap)
		h <<= 1;
	t->hmask = h - 1;
	t->idx = malloc(nevents ? nevents : 1);
	t->e = calloc(t->cap, sizeof *t->e);
	t->heap = calloc(t->cap, sizeof *t->heap);
	t->hash = calloc(h, sizeof *t->hash);
	return t->idx && t->e && t->heap && t->hash ? 0 : -1;
}

/* Most frequent first, then lower value first: the order of the read-out. */
static int before(uint64_t count_x, uint64_t value_x, uint64_t count_y, uint64_t value_y)
{
	return count_x != count_y ? count_x > count_y : value_x < value_y;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ss_entry *x = a, *y = b;
	return before(x->count, x->value, y->count, y->value) ? -1 : before(y->count, y->value, x->count, x->value);
}

/* What a table says of a value it lacks: 0 if it never evicted (the value
 * was not seen), else at most its least count, all of it possible error. */
static uint64_t top_floor(const struct top *t)
{
	return t->approx && t->n ? t->e[t->heap[0]].count : 0;
}

/* into += from, as in the header's description; c has room for
 * into->n + from->n entries. */
static void top_merge(struct top *into, const struct top *from, struct ss_entry *c)
{
	uint64_t fa = top_floor(into), fb = top_floor(from);
	uint32_t n = 0, keep;

	for (uint32_t i = 0; i < into->n; i++) {
		const struct ss_entry *a = &into->e[i];
		uint32_t slot = hash_find(from, a->value);
		const struct ss_entry *b = from->hash[slot] ? &from->e[from->hash[slot] - 1] : NULL;
		c[n++] = (struct ss_entry){ a->value, a->count + (b ? b->count : fb), a->err + (b ? b->err : fb), 0 };
	}
	for (uint32_t i = 0; i < from->n; i++) {
		const struct ss_entry *b = &from->e[i];
		if (!into->hash[hash_find(into, b->value)])
			c[n++] = (struct ss_entry){ b->value, b->count + fa, b->err + fa, 0 };
	}
	keep = n;
	if (n > into->cap) {
		qsort(c, n, sizeof *c, cmp_entry);
		keep = into->cap;
		into->approx = 1;
	}
	into->approx |= from->approx;
	into->total += from->total;
	hash_clear(into);
	into->n = 0;
	for (uint32_t i = 0; i < keep; i++)
		top_insert(into, hash_find(into, c[i].value), c[i].value, c[i].count, c[i].err);
}

/* ---- create, add, merge ----------------------------------------------------- */

void hvlog_stats_free(hvlog_stats *s)
{
	if (!s)
		return;
	for (uint32_t e = 0; s->ev && e < s->nevents; e++)
		free(s->ev[e].hist);
	for (uint32_t t = 0; s->tops && t < s->ntops; t++)
		top_free(&s->tops[t]);
	free(s->tops);
	free(s->ev);
	free(s->ev_group);
	free(s->part_of); /* and scount, slost */
	free(s);
}

/* Fill t->idx from the configuration; the number of events that have the
 * parameter. */
static uint32_t top_index(struct top *t, const hvlog_schema *sc, const hvlog_stats_top *cf)
{
	uint32_t found = 0;

	for (uint32_t e = 0; e < sc->nevents; e++) {
		const hvlog_event *ev = &sc->events[e];
		t->idx[e] = -1;
		if (cf->index) {
			if (cf->index[e] >= 0 && (uint32_t)cf->index[e] < ev->nparams)
				t->idx[e] = cf->index[e];
		} else {
			for (uint32_t p = 0; p < ev->nparams && t->idx[e] < 0; p++)
				if (ev->params[p].key && !strcmp(ev->params[p].key, cf->param))
					t->idx[e] = (int8_t)p;
		}
		found += t->idx[e] >= 0;
	}
	return found;
}

hvlog_status hvlog_stats_create(hvlog_stats **out, const hvlog_meta *m, const hvlog_stats_config *cfg,
				hvlog_error *err)
{
	const hvlog_schema *sc;
	hvlog_stats *s;
	uint32_t ntops = cfg ? cfg->ntops : 0;

	*out = NULL;
	if (!m || !m->schema || (ntops && !cfg->tops))
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "statistics need the trace's metadata");
	sc = m->schema;
	for (uint32_t t = 0; t < ntops; t++)
		if (cfg->tops[t].n < 1 || cfg->tops[t].n > TOP_MAX_N || (!cfg->tops[t].param && !cfg->tops[t].index))
			return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
					   "top values: a parameter and a count from 1 to %u are needed", TOP_MAX_N);
	if (!(s = calloc(1, sizeof *s)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	s->events_base = (uintptr_t)sc->events;
	s->nevents = sc->nevents;
	s->ngroups = sc->ngroups;
	s->nstreams = m->nstreams;
	s->clock_hz = m->clock_hz;
	s->ntops = ntops;
	s->ev_group = calloc(s->nevents + 1, sizeof *s->ev_group);
	s->ev = calloc(s->nevents + 1, sizeof *s->ev);
	/* the per-stream arrays in one block, freed with part_of */
	s->part_of = calloc(3 * ((size_t)s->nstreams + 1), sizeof *s->part_of);
	s->tops = calloc(ntops + 1, sizeof *s->tops);
	if (!s->ev_group || !s->ev || !s->part_of || !s->tops)
		goto nomem;
	s->scount = s->part_of + s->nstreams + 1;
	s->slost = s->scount + s->nstreams + 1;
	for (uint32_t e = 0; e < s->nevents; e++)
		s->ev_group[e] = sc->events[e].group;
	for (uint32_t i = 0; i < s->nstreams; i++)
		s->part_of[i] = m->streams[i].partition_id;
	for (uint32_t t = 0; t < ntops; t++) {
		if (top_init(&s->tops[t], cfg->tops[t].n, s->nevents) != 0)
			goto nomem;
		if (!top_index(&s->tops[t], sc, &cfg->tops[t])) {
			hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "top values: no event of the schema has a parameter '%s'",
				    cfg->tops[t].param ? cfg->tops[t].param : "");
			hvlog_stats_free(s);
			return HVLOG_INVALID;
		}
	}
	*out = s;
	return HVLOG_OK;
nomem:
	hvlog_stats_free(s);
	return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
}

/* hvlog_stats_add, inlined into hvlog_stats_run's loop. */
static inline __attribute__((always_inline)) hvlog_status stats_add(hvlog_stats *s, const hvlog_item *it)
{
	if (HVLOG_UNLIKELY(it->kind != HVLOG_ITEM_EVENT)) {
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			s->damaged++;
		} else if (it->kind == HVLOG_ITEM_LOST) {
			s->lost = hvlog__sat_add(s->lost, it->lost_count);
			if (it->stream < s->nstreams)
				s->slost[it->stream] = hvlog__sat_add(s->slost[it->stream], it->lost_count);
		}
		return HVLOG_OK;
	}
	uintptr_t off = (uintptr_t)it->event - s->events_base;
	uint32_t e = (uint32_t)(off / sizeof(hvlog_event));
	if (HVLOG_UNLIKELY(off % sizeof(hvlog_event) || off / sizeof(hvlog_event) >= s->nevents))
		return HVLOG_INVALID;
	struct evstat *ev = &s->ev[e];
	int interval = ev->count && it->ts >= ev->last_ts;
	if (HVLOG_UNLIKELY(interval && !ev->hist) && !(ev->hist = calloc(HIST_BUCKETS, sizeof *ev->hist)))
		return HVLOG_NOMEM;
	range_join(&s->first, &s->last, !s->n++, it->ts, it->ts);
	if (it->stream < s->nstreams)
		s->scount[it->stream]++;
	if (interval)
		interval_add(ev, it->ts - ev->last_ts);
	if (!ev->count++)
		ev->first_ts = it->ts;
	ev->last_ts = it->ts;
	for (uint32_t t = 0; t < s->ntops; t++)
		if (s->tops[t].idx[e] >= 0)
			top_add(&s->tops[t], it->values[s->tops[t].idx[e]]);
	return HVLOG_OK;
}

hvlog_status hvlog_stats_add(hvlog_stats *s, const hvlog_item *it)
{
	return stats_add(s, it);
}

struct stats_run {
	hvlog_stats *s;
	hvlog_item_fn fn;
	void *ctx;
	hvlog_status st;
};

static inline __attribute__((always_inline)) int stats_step(void *ctx, const hvlog_item *it)
{
	struct stats_run *x = ctx;

	if (HVLOG_UNLIKELY((x->st = stats_add(x->s, it)) != HVLOG_OK))
		return 1;
	return HVLOG_UNLIKELY(it->kind != HVLOG_ITEM_EVENT) && x->fn ? x->fn(x->ctx, it) : 0;
}

hvlog_status hvlog_stats_run(hvlog_stats *s, hvlog_reader *r, const hvlog_select *sel, uint64_t limit,
			     hvlog_item_fn fn, void *ctx, hvlog_run_counts *counts, hvlog_error *err)
{
	struct stats_run x = { s, fn, ctx, HVLOG_OK };
	hvlog_status st = hvlog__run(r, sel, limit, stats_step, &x, counts, err);

	if (x.st != HVLOG_OK)
		return hvlog__fail(err, x.st, UINT64_MAX, "%s",
				   x.st == HVLOG_NOMEM ? "out of memory" : "hvlog_stats_run: an item of another trace");
	return st;
}

static int same_layout(const hvlog_stats *a, const hvlog_stats *b)
{
	if (a->nevents != b->nevents || a->ngroups != b->ngroups || a->nstreams != b->nstreams ||
	    a->clock_hz != b->clock_hz || a->ntops != b->ntops ||
	    memcmp(a->ev_group, b->ev_group, a->nevents * sizeof *a->ev_group) ||
	    memcmp(a->part_of, b->part_of, a->nstreams * sizeof *a->part_of))
		return 0;
	for (uint32_t t = 0; t < a->ntops; t++)
		if (a->tops[t].want != b->tops[t].want || memcmp(a->tops[t].idx, b->tops[t].idx, a->nevents))
			return 0;
	return 1;
}

/* Join b's intervals of one event type after a's: exact for runs one after
 * the other, as if b's events had been added to a. */
static void evstat_join(struct evstat *a, const struct evstat *b)
{
	if (!b->count)
		return;
	if (!a->count) {
		uint64_t *h = a->hist;
		*a = *b;
		a->hist = h;
		if (b->nint)
			memcpy(a->hist, b->hist, HIST_BUCKETS * sizeof *a->hist);
		return;
	}
	if (b->first_ts >= a->last_ts)
		interval_add(a, b->first_ts - a->last_ts);
	if (b->nint) {
		for (unsigned k = 0; k < HIST_BUCKETS; k++)
			a->hist[k] += b->hist[k];
		range_join(&a->min, &a->max, !a->nint, b->min, b->max);
		a->nint += b->nint;
	}
	a->count += b->count;
	a->last_ts = b->last_ts;
}

hvlog_status hvlog_stats_merge(hvlog_stats *into, const hvlog_stats *from, hvlog_error *err)
{
	if (!into || !from || into == from || !same_layout(into, from))
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "statistics of different trace layouts or configurations cannot be merged");
	/* everything that can fail first, so a failure leaves into as it was:
	 * the histograms the join will write to... */
	for (uint32_t e = 0; e < into->nevents; e++) {
		const struct evstat *a = &into->ev[e], *b = &from->ev[e];
		if (b->count && !into->ev[e].hist && (b->nint || (a->count && b->first_ts >= a->last_ts)) &&
		    !(into->ev[e].hist = calloc(HIST_BUCKETS, sizeof *into->ev[e].hist)))
			return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	}
	/* ...and one scratch array for the candidates of every top table */
	size_t most = 0;
	for (uint32_t t = 0; t < into->ntops; t++)
		if ((size_t)into->tops[t].n + from->tops[t].n > most)
			most = (size_t)into->tops[t].n + from->tops[t].n;
	struct ss_entry *scratch = into->ntops ? malloc((most + 1) * sizeof *scratch) : NULL;
	if (into->ntops && !scratch)
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	for (uint32_t t = 0; t < into->ntops; t++)
		top_merge(&into->tops[t], &from->tops[t], scratch);
	free(scratch);

	for (uint32_t e = 0; e < into->nevents; e++)
		evstat_join(&into->ev[e], &from->ev[e]);
	if (from->n)
		range_join(&into->first, &into->last, !into->n, from->first, from->last);
	into->n += from->n;
	into->lost = hvlog__sat_add(into->lost, from->lost);
	into->damaged += from->damaged;
	for (uint32_t i = 0; i < into->nstreams; i++) {
		into->scount[i] += from->scount[i];
		into->slost[i] = hvlog__sat_add(into->slost[i], from->slost[i]);
	}
	return HVLOG_OK;
}

/* ---- read-out ----------------------------------------------------------------- */

void hvlog_stats_totals_get(const hvlog_stats *s, hvlog_stats_totals *t)
{
	*t = (hvlog_stats_totals){ s->n, s->lost, s->damaged, s->n ? s->first : 0, s->n ? s->last : 0 };
}

uint64_t hvlog_stats_event_count(const hvlog_stats *s, uint32_t e)
{
	return e < s->nevents ? s->ev[e].count : 0;
}

uint64_t hvlog_stats_group_count(const hvlog_stats *s, uint32_t g)
{
	uint64_t n = 0;

	for (uint32_t e = 0; e < s->nevents; e++)
		if (s->ev_group[e] == g)
			n += s->ev[e].count;
	return n;
}

uint64_t hvlog_stats_stream_count(const hvlog_stats *s, uint32_t i)
{
	return i < s->nstreams ? s->scount[i] : 0;
}

uint64_t hvlog_stats_stream_lost(const hvlog_stats *s, uint32_t i)
{
	return i < s->nstreams ? s->slost[i] : 0;
}

uint32_t hvlog_stats_partitions(const hvlog_stats *s, uint64_t *ids, uint64_t *counts, uint32_t cap)
{
	uint32_t np = 0;

	for (uint32_t i = 0; i < s->nstreams; i++) {
		uint32_t k = 0;
		if (!s->scount[i])
			continue;
		/* seen at an earlier stream?  (streams are few: quadratic is fine) */
		for (uint32_t j = 0; j < i && !k; j++)
			k = s->scount[j] && s->part_of[j] == s->part_of[i];
		if (k)
			continue;
		if (np < cap) {
			uint64_t n = 0;
			for (uint32_t j = i; j < s->nstreams; j++)
				if (s->part_of[j] == s->part_of[i])
					n += s->scount[j];
			if (ids)
				ids[np] = s->part_of[i];
			if (counts)
				counts[np] = n;
		}
		np++;
	}
	return np;
}

void hvlog_stats_interval_get(const hvlog_stats *s, uint32_t e, hvlog_stats_interval *iv)
{
	*iv = (hvlog_stats_interval){ 0 };
	if (e < s->nevents && s->ev[e].nint)
		*iv = (hvlog_stats_interval){ s->ev[e].nint, s->ev[e].min, s->ev[e].max };
}

hvlog_status hvlog_stats_interval_quantile(const hvlog_stats *s, uint32_t e, double q, uint64_t *value)
{
	const struct evstat *ev;
	uint64_t rank, seen = 0;

	if (e >= s->nevents || !(q > 0 && q <= 1) || !s->ev[e].nint)
		return HVLOG_INVALID;
	ev = &s->ev[e];
	/* ceil(q * n), kept from a double that may be a hair over an integer */
	rank = (uint64_t)(q * (double)ev->nint + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > ev->nint)
		rank = ev->nint;
	*value = ev->max;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += ev->hist[b];
		if (seen >= rank) {
			uint64_t v = hist_mid(b);
			*value = v < ev->min ? ev->min : v > ev->max ? ev->max : v;
			break;
		}
	}
	return HVLOG_OK;
}

hvlog_status hvlog_stats_top_info_get(const hvlog_stats *s, uint32_t t, hvlog_stats_top_info *info)
{
	const struct top *tp;

	if (t >= s->ntops)
		return HVLOG_INVALID;
	tp = &s->tops[t];
	*info = (hvlog_stats_top_info){ tp->total, tp->want, tp->n, tp->cap, !tp->approx };
	return HVLOG_OK;
}

/* out[0..n) as a heap whose root is the entry that would come last. */
static void out_sift(hvlog_stats_value *h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && before(h[m].count, h[m].value, h[l].count, h[l].value))
			m = l;
		if (r < n && before(h[m].count, h[m].value, h[r].count, h[r].value))
			m = r;
		if (m == i)
			return;
		hvlog_stats_value x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

uint32_t hvlog_stats_top_values(const hvlog_stats *s, uint32_t t, hvlog_stats_value *out, uint32_t cap)
{
	const struct top *tp;
	uint32_t k = 0;

	if (t >= s->ntops || !cap)
		return 0;
	tp = &s->tops[t];
	/* the best cap entries in a heap rooted at the worst of them... */
	for (uint32_t i = 0; i < tp->n; i++) {
		const struct ss_entry *x = &tp->e[i];
		if (k < cap) {
			out[k++] = (hvlog_stats_value){ x->value, x->count, x->err };
			if (k == cap)
				for (uint32_t j = k / 2; j-- > 0;)
					out_sift(out, k, j);
			continue;
		}
		if (before(x->count, x->value, out[0].count, out[0].value)) {
			out[0] = (hvlog_stats_value){ x->value, x->count, x->err };
			out_sift(out, k, 0);
		}
	}
	/* ...then in order, best first */
	if (k < cap)
		for (uint32_t j = k / 2; j-- > 0;)
			out_sift(out, k, j);
	for (uint32_t n = k; n > 1; n--) {
		hvlog_stats_value x = out[0];
		out[0] = out[n - 1];
		out[n - 1] = x;
		out_sift(out, n - 1, 0);
	}
	return k;
}
