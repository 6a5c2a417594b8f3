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
		*code = cli_fail(!strcmp(file, "-") ? "(stdin)" : file, &err);
		return NULL;
	}
	return r;
}
