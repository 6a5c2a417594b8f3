#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *file, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("hvlog: ", stderr);
	if (file)
		fprintf(stderr, offset == UINT64_MAX ? "%s: " : "%s:%llu: ", file, (unsigned long long)offset);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

const char *cli_tty(const char *s)
{
	static char bufs[8][HVLOG_MAX_NAME * 4 + 1];
	static unsigned next;
	char *b = bufs[next++ % 8];
	size_t i = 0;

	for (; s && *s && i < sizeof bufs[0] - 1; s++)
		b[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	b[i] = 0;
	return b;
}

int cli_fail(const char *file, const hvlog_error *err)
{
	cli_error(file, err->offset, "%s", err->msg);
	switch (err->status) {
	case HVLOG_IO:
	case HVLOG_NOMEM:
		return EXIT_IO;
	case HVLOG_INVALID:
		return EXIT_USAGE;
	default:
		return EXIT_DATA;
	}
}

hvlog_reader *cli_open(const char *file, int *code)
{
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };

	if (hvlog_reader_open_path(&r, file, &err) != HVLOG_OK) {
		*code = cli_fail(cli_shown(file), &err);
		return NULL;
	}
	return r;
}

/* ---- damage kept for a listing ------------------------------------------
 *
 * A max-heap on (offset, order) while it fills up to CLI_DAMAGE_KEEP: once
 * full, an entry before the largest kept replaces it, so what is kept is
 * always the first CLI_DAMAGE_KEEP in offset order, whatever order the
 * items come in.  Items come nearly in offset order, so past the cap most
 * cost one comparison. */

static int dmg_after(const struct cli_damage *a, const struct cli_damage *b)
{
	return a->offset > b->offset || (a->offset == b->offset && a->order > b->order);
}

static void dmg_sift_down(struct cli_damage *h, size_t n, size_t i)
{
	struct cli_damage x = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && dmg_after(&h[c + 1], &h[c]))
			c++;
		if (!dmg_after(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

void cli_damage_add(struct cli_damage_list *l, const hvlog_item *it)
{
	struct cli_damage d = { it->offset, it->damage_len, it->damage_events, it->chunk_seq, l->seen++, it->stream,
				"" };
	size_t i;

	if (l->n == CLI_DAMAGE_KEEP) {
		l->more++;
		if (!dmg_after(&l->v[0], &d))
			return;
		snprintf(d.msg, sizeof d.msg, "%s", it->damage_msg);
		l->v[0] = d;
		dmg_sift_down(l->v, l->n, 0);
		return;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct cli_damage *nv = realloc(l->v, (nc < CLI_DAMAGE_KEEP ? nc : CLI_DAMAGE_KEEP) * sizeof *nv);
		if (!nv) {
			l->more++;
			l->nomem = 1;
			return;
		}
		l->v = nv;
		l->cap = nc < CLI_DAMAGE_KEEP ? nc : CLI_DAMAGE_KEEP;
	}
	snprintf(d.msg, sizeof d.msg, "%s", it->damage_msg);
	for (i = l->n++; i && dmg_after(&d, &l->v[(i - 1) / 2]); i = (i - 1) / 2) /* sift up */
		l->v[i] = l->v[(i - 1) / 2];
	l->v[i] = d;
}

static int cmp_damage(const void *a, const void *b)
{
	return dmg_after(a, b) - dmg_after(b, a);
}

void cli_damage_sort(struct cli_damage_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_damage);
}

void cli_damage_free(struct cli_damage_list *l)
{
	free(l->v);
	*l = (struct cli_damage_list){ 0 };
}
