/*
 * diff.c - hvlog/diff.h: two hvlog_stats compared, row by row.
 *
 * Only the public read-out of hvlog/stats.h is used: counts, interval
 * quantiles and top values.  The few functions of libm needed (exp, sqrt,
 * log2) are computed here, so that libhvlog links nothing but libcbor.
 */
#include <math.h> /* INFINITY only: no libm function is called */
#include <stdlib.h>
#include <string.h>

#include "hvlog/diff.h"
#include "hvlog/format.h"
#include "internal.h"

#define Z_1PCT 2.5758 /* two-sided 1 % of the normal distribution */
#define ALPHA 0.01
#define NQ 100        /* quantiles per side for the KS distance */

struct hvlog_diff {
	hvlog_diff_row *rows;
	uint32_t n, cap, differing;
	double threshold;
};

/* ---- small math ------------------------------------------------------------ */

static double d_sqrt(double x)
{
	double r = x > 1 ? x : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 200; i++) {
		double nr = 0.5 * (r + x / r);
		if (nr == r)
			break;
		r = nr;
	}
	return r;
}

/* e^x for x <= 0 (all this file needs): halve into [-0.5, 0], Taylor, square. */
static double d_exp_neg(double x)
{
	int halvings = 0;
	double t = 1, sum = 1;

	if (x < -700)
		return 0;
	while (x < -0.5) {
		x /= 2;
		halvings++;
	}
	for (int k = 1; k < 20; k++) {
		t *= x / k;
		sum += t;
	}
	while (halvings--)
		sum *= sum;
	return sum;
}

static double d_log2(double x)
{
	int e = 0;
	double z, z2, t, sum = 0;

	if (x <= 0)
		return -1e300;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	z = (x - 1) / (x + 1); /* ln x = 2 atanh z, z in [0, 1/3) */
	z2 = z * z;
	t = z;
	for (int k = 1; k < 40; k += 2) {
		sum += t / k;
		t *= z2;
	}
	return e + 2 * sum / 0.6931471805599453;
}

double hvlog_ks_p_value(double d, uint64_t n, uint64_t m)
{
	double ne, lambda, p = 0;

	if (!n || !m || d <= 0)
		return 1;
	ne = (double)n * (double)m / ((double)n + (double)m);
	lambda = (d_sqrt(ne) + 0.12 + 0.11 / d_sqrt(ne)) * d;
	if (lambda < 0.3)
		return 1; /* the series converges slowly there; p is ~1 */
	for (int k = 1; k <= 100; k++) {
		double term = d_exp_neg(-2.0 * k * k * lambda * lambda);
		p += (k & 1) ? term : -term;
		if (term < 1e-12)
			break;
	}
	p *= 2;
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* ---- rows ------------------------------------------------------------------ */

static hvlog_diff_row *add_row(hvlog_diff *d, hvlog_diff_kind kind, const char *name)
{
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		hvlog_diff_row *r = realloc(d->rows, (size_t)cap * sizeof *r);
		if (!r)
			return NULL;
		d->rows = r;
		d->cap = cap;
	}
	hvlog_diff_row *r = &d->rows[d->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->name = name;
	return r;
}

typedef struct side {
	const hvlog_stats *s;
	const hvlog_meta *m;
	hvlog_stats_totals t;
	double span_s; /* seconds between the first and the last event */
} side;

/* Counts a and b: rates, change, effect, and whether they differ. */
static void judge_counts(const hvlog_diff *d, hvlog_diff_row *r, const side *sd)
{
	for (int i = 0; i < 2; i++)
		r->rate[i] = sd[i].span_s > 0 ? (double)r->count[i] / sd[i].span_s : 0;
	r->side = r->count[0] && r->count[1] ? 0 : r->count[0] ? 1 : r->count[1] ? 2 : 0;
	r->change = r->rate[0] > 0 ? r->rate[1] / r->rate[0] - 1 : (r->rate[1] > 0 ? INFINITY : 0);
	/* rates of counts + 1, so that a row on one side only has a finite effect */
	double ra = sd[0].span_s > 0 ? ((double)r->count[0] + 1) / sd[0].span_s : (double)r->count[0] + 1;
	double rb = sd[1].span_s > 0 ? ((double)r->count[1] + 1) / sd[1].span_s : (double)r->count[1] + 1;
	double l = d_log2(rb / ra);
	r->effect = l < 0 ? -l : l;
	if (r->side) {
		r->differs = 1;
		return;
	}
	/* two Poisson counts: var(rate) = count / span^2 */
	double se = 0;
	if (sd[0].span_s > 0 && sd[1].span_s > 0)
		se = d_sqrt((double)r->count[0] / (sd[0].span_s * sd[0].span_s) +
			    (double)r->count[1] / (sd[1].span_s * sd[1].span_s));
	double diff = r->rate[1] - r->rate[0], ch = r->change < 0 ? -r->change : r->change;
	if (se > 0)
		r->differs = ch >= d->threshold && (diff < 0 ? -diff : diff) >= Z_1PCT * se;
	else /* no span: counts alone */
		r->differs = ch >= d->threshold;
}

static int count_row(hvlog_diff *d, hvlog_diff_kind kind, const char *name, uint64_t a, uint64_t b, const side *sd)
{
	hvlog_diff_row *r;

	if (!a && !b)
		return 0;
	if (!(r = add_row(d, kind, name)))
		return -1;
	r->count[0] = a;
	r->count[1] = b;
	judge_counts(d, r, sd);
	return 0;
}

/* The index of the event with this symbol in m's schema, or -1. */
static long event_index(const hvlog_meta *m, const char *sym)
{
	for (uint32_t e = 0; e < m->schema->nevents; e++)
		if (!strcmp(m->schema->events[e].symbol, sym))
			return e;
	return -1;
}

static long group_index(const hvlog_meta *m, const char *alias)
{
	for (uint32_t g = 0; g < m->schema->ngroups; g++)
		if (!strcmp(m->schema->groups[g].alias, alias))
			return g;
	return -1;
}

static uint64_t ticks_ns(const hvlog_meta *m, uint64_t t)
{
	return hvlog_ticks_to_ns(t, 0, m->clock_hz ? m->clock_hz : 1000000000u);
}

/* The fraction of q[0..NQ) (ascending quantiles p1..p100) at most x. */
static double cdf(const uint64_t *q, uint64_t x)
{
	uint32_t lo = 0, hi = NQ;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (q[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (double)lo / NQ;
}

/* The intervals of event ea in A and eb in B. */
static int interval_row(hvlog_diff *d, const char *name, const side *sd, uint32_t ea, uint32_t eb)
{
	hvlog_stats_interval iv[2];
	uint64_t q[2][NQ];
	const uint32_t idx[2] = { ea, eb };
	hvlog_diff_row *r;

	hvlog_stats_interval_get(sd[0].s, ea, &iv[0]);
	hvlog_stats_interval_get(sd[1].s, eb, &iv[1]);
	if (!iv[0].count || !iv[1].count)
		return 0;
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < NQ; k++) {
			uint64_t v = 0;
			hvlog_stats_interval_quantile(sd[i].s, idx[i], (k + 1) / (double)NQ, &v);
			q[i][k] = ticks_ns(sd[i].m, v);
		}
	if (!(r = add_row(d, HVLOG_DIFF_INTERVAL, name)))
		return -1;
	for (int i = 0; i < 2; i++) {
		r->count[i] = iv[i].count;
		r->p50[i] = q[i][49];
		r->p90[i] = q[i][89];
		r->p99[i] = q[i][98];
	}
	double dmax = 0;
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < NQ; k++) {
			double g = cdf(q[0], q[i][k]) - cdf(q[1], q[i][k]);
			if (g < 0)
				g = -g;
			if (g > dmax)
				dmax = g;
		}
	r->ks = dmax;
	r->p_value = hvlog_ks_p_value(dmax, iv[0].count, iv[1].count);
	r->effect = dmax;
	r->differs = dmax >= d->threshold && r->p_value < ALPHA;
	r->change = r->p50[0] ? (double)r->p50[1] / (double)r->p50[0] - 1 : 0;
	return 0;
}

static int cmp_value(const void *a, const void *b)
{
	uint64_t x = ((const hvlog_stats_value *)a)->value, y = ((const hvlog_stats_value *)b)->value;
	return (x > y) - (x < y);
}

/* The values of top t on both sides (every value in either table). */
static int value_rows(hvlog_diff *d, const char *key, uint32_t t, const side *sd)
{
	hvlog_stats_top_info info[2];
	hvlog_stats_value *v[2] = { NULL, NULL };
	uint32_t n[2] = { 0, 0 };
	int rc = -1;

	for (int i = 0; i < 2; i++) {
		if (hvlog_stats_top_info_get(sd[i].s, t, &info[i]) != HVLOG_OK)
			return 0;
		if (!(v[i] = malloc(((size_t)info[i].distinct + 1) * sizeof *v[i])))
			goto out;
		n[i] = hvlog_stats_top_values(sd[i].s, t, v[i], info[i].distinct);
		qsort(v[i], n[i], sizeof *v[i], cmp_value);
	}
	for (uint32_t i = 0, j = 0; i < n[0] || j < n[1];) {
		uint64_t a = 0, b = 0, val;
		if (j == n[1] || (i < n[0] && v[0][i].value < v[1][j].value)) {
			val = v[0][i].value;
			a = v[0][i++].count;
		} else if (i == n[0] || v[1][j].value < v[0][i].value) {
			val = v[1][j].value;
			b = v[1][j++].count;
		} else {
			val = v[0][i].value;
			a = v[0][i++].count;
			b = v[1][j++].count;
		}
		if (count_row(d, HVLOG_DIFF_VALUE, key, a, b, sd) != 0)
			goto out;
		if (a || b)
			d->rows[d->n - 1].value = val;
	}
	rc = 0;
out:
	free(v[0]);
	free(v[1]);
	return rc;
}

static int cmp_row(const void *pa, const void *pb)
{
	const hvlog_diff_row *a = pa, *b = pb;

	if (a->differs != b->differs)
		return b->differs - a->differs;
	if (a->effect != b->effect)
		return a->effect < b->effect ? 1 : -1;
	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	int c = strcmp(a->name, b->name);
	return c ? c : (a->value > b->value) - (a->value < b->value);
}

hvlog_status hvlog_diff_compute(hvlog_diff **out, const hvlog_stats *a, const hvlog_meta *ma, const hvlog_stats *b,
				const hvlog_meta *mb, const hvlog_diff_config *cfg, hvlog_error *err)
{
	side sd[2] = { { .s = a, .m = ma }, { .s = b, .m = mb } };
	hvlog_diff *d;

	if (out)
		*out = NULL;
	if (!out || !a || !b || !ma || !mb || !ma->schema || !mb->schema)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "hvlog_diff_compute: a NULL argument");
	if (!(d = calloc(1, sizeof *d)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
	d->threshold = cfg && cfg->threshold > 0 ? cfg->threshold : 0.10;
	for (int i = 0; i < 2; i++) {
		hvlog_stats_totals_get(sd[i].s, &sd[i].t);
		uint64_t span = sd[i].t.last_ts - sd[i].t.first_ts;
		sd[i].span_s = (double)ticks_ns(sd[i].m, span) / 1e9;
	}
	const hvlog_schema *sa = ma->schema, *sb = mb->schema;
	if (count_row(d, HVLOG_DIFF_TOTAL, "events", sd[0].t.events, sd[1].t.events, sd) ||
	    count_row(d, HVLOG_DIFF_TOTAL, "lost", sd[0].t.lost, sd[1].t.lost, sd) ||
	    count_row(d, HVLOG_DIFF_TOTAL, "damaged", sd[0].t.damaged, sd[1].t.damaged, sd))
		goto nomem;
	/* groups and events of A (with B's by name), then those of B only */
	for (uint32_t g = 0; g < sa->ngroups; g++) {
		long gb = group_index(mb, sa->groups[g].alias);
		if (count_row(d, HVLOG_DIFF_GROUP, sa->groups[g].alias, hvlog_stats_group_count(a, g),
			      gb >= 0 ? hvlog_stats_group_count(b, (uint32_t)gb) : 0, sd))
			goto nomem;
	}
	for (uint32_t g = 0; g < sb->ngroups; g++)
		if (group_index(ma, sb->groups[g].alias) < 0 &&
		    count_row(d, HVLOG_DIFF_GROUP, sb->groups[g].alias, 0, hvlog_stats_group_count(b, g), sd))
			goto nomem;
	for (uint32_t e = 0; e < sa->nevents; e++) {
		const char *sym = sa->events[e].symbol;
		long eb = event_index(mb, sym);
		if (count_row(d, HVLOG_DIFF_EVENT, sym, hvlog_stats_event_count(a, e),
			      eb >= 0 ? hvlog_stats_event_count(b, (uint32_t)eb) : 0, sd))
			goto nomem;
		if (eb >= 0 && interval_row(d, sym, sd, e, (uint32_t)eb) != 0)
			goto nomem;
	}
	for (uint32_t e = 0; e < sb->nevents; e++)
		if (event_index(ma, sb->events[e].symbol) < 0 &&
		    count_row(d, HVLOG_DIFF_EVENT, sb->events[e].symbol, 0, hvlog_stats_event_count(b, e), sd))
			goto nomem;
	for (uint32_t t = 0; cfg && t < cfg->ntops; t++)
		if (value_rows(d, cfg->top_keys[t], t, sd) != 0)
			goto nomem;
	if (d->n)
		qsort(d->rows, d->n, sizeof *d->rows, cmp_row);
	while (d->differing < d->n && d->rows[d->differing].differs)
		d->differing++;
	*out = d;
	return HVLOG_OK;
nomem:
	hvlog_diff_free(d);
	return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory");
}

uint32_t hvlog_diff_count(const hvlog_diff *d)
{
	return d ? d->n : 0;
}

uint32_t hvlog_diff_differing(const hvlog_diff *d)
{
	return d ? d->differing : 0;
}

const hvlog_diff_row *hvlog_diff_row_get(const hvlog_diff *d, uint32_t i)
{
	return d && i < d->n ? &d->rows[i] : NULL;
}

double hvlog_diff_threshold(const hvlog_diff *d)
{
	return d ? d->threshold : 0;
}

void hvlog_diff_free(hvlog_diff *d)
{
	if (!d)
		return;
	free(d->rows);
	free(d);
}

static int has_key(const hvlog_meta *m, const char *key)
{
	for (uint32_t e = 0; e < m->schema->nevents; e++)
		for (uint32_t i = 0; i < m->schema->events[e].nparams; i++)
			if (!strcmp(m->schema->events[e].params[i].key, key))
				return 1;
	return 0;
}

uint32_t hvlog_diff_top_keys(const hvlog_meta *a, const hvlog_meta *b, const char **keys, uint32_t cap)
{
	static const char *const candidates[] = { "port", "index", "input_value" };
	uint32_t n = 0;

	for (size_t k = 0; k < sizeof candidates / sizeof candidates[0] && n < cap; k++)
		if (a && b && a->schema && b->schema && has_key(a, candidates[k]) && has_key(b, candidates[k]))
			keys[n++] = candidates[k];
	return n;
}

static const char *const kind_names[HVLOG_DIFF_KIND_COUNT_] = { "total", "group", "event", "value", "interval" };

const char *hvlog_diff_kind_name(hvlog_diff_kind k)
{
	return (unsigned)k < HVLOG_DIFF_KIND_COUNT_ ? kind_names[k] : "?";
}
