/*
 * format.c - text and JSON lines, without printf on the per-event path.
 *
 * A line is put together from a few pieces.  The pieces that depend only on
 * the metadata (a stream's padded name, an event's group and name columns,
 * each " key=", the JSON head of an event, the names of enum values) are
 * rendered once per file into tables (hvlog__fmt_build, called by the
 * metadata decoder; hvlog_meta.internal points to them), by the same
 * functions that render them per item when there are no tables (an
 * hvlog_meta built by hand): both ways give the same bytes, and the tables
 * spare every item the scans for control characters and JSON escapes, the
 * padding loops and the lookups.
 *
 * The plain text line of an event with tables, the most common line by
 * far, has a writer of its own (text_line_roomy): the tables say the most
 * bytes that event's line can take, and with that much room the pieces
 * and numbers go in without a check each.  It must write what text_item_
 * writes, byte for byte; test_format compares them.  The JSON line of an
 * event with tables, without a time mode, likewise (json_event_roomy,
 * against json_item_).
 */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "format_int.h"

/* A name from the trace's metadata, for a terminal: control characters
 * (an escape sequence a hostile file could carry) become '?': C0 and DEL,
 * and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F; U+009B is a
 * CSI to many terminals), whose two bytes become "??" so that a name
 * still takes one byte of output per byte. */
static void put_name(struct out *o, const char *s)
{
	size_t n = 0;

	while ((unsigned char)s[n] >= 0x20 && s[n] != 0x7f && (unsigned char)s[n] != 0xc2)
		n++;
	put_mem(o, s, n);
	for (s += n; *s; s++) {
		int c1 = (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f;
		put_ch(o, ((unsigned char)*s < 0x20 || *s == 0x7f || c1) ? '?' : *s);
		if (c1)
			put_ch(o, '?'), s++;
	}
}

/* Spaces up to `width` bytes after `from` (not past the end of the line). */
static void pad_to(struct out *o, char *from, size_t width)
{
	while ((size_t)(o->p - from) < width && o->p < o->end)
		*o->p++ = ' ';
}

/* Whether any of the 8 bytes of w needs an escape in JSON: a quote, a
 * backslash or a control character (SWAR: a byte b < k sets the top bit
 * of (b - k) & ~b, for k <= 0x80; a byte equal to c is a byte of w ^ c
 * below 1). */
static inline int json_esc8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high ? 1 : 0;
}

/* The bytes that need an escape in JSON. */
static const uint8_t json_esc[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* control characters */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1,
};

static void put_json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s), n = 0;

	/* most names need no escape: find that 8 bytes at a time, copy whole */
	for (uint64_t w; n + 8 <= len; n += 8) {
		memcpy(&w, s + n, 8);
		if (json_esc8(w))
			break;
	}
	while (n < len && !json_esc[(unsigned char)s[n]])
		n++;
	put_ch(o, '"');
	put_mem(o, s, n);
	for (s += n; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			put_ch(o, '\\');
			put_ch(o, (char)c);
		} else if (c < 0x20) {
			put_lit(o, "\\u00");
			put_ch(o, hex[c >> 4]);
			put_ch(o, hex[c & 15]);
		} else {
			put_ch(o, (char)c);
		}
	}
	put_ch(o, '"');
}

/* ---- numbers ------------------------------------------------------------ */

/* Numbers are written straight into the line, by writers of at most
 * NUM_MAX bytes that return where they stopped (near the end of the
 * buffer, into a scratch array first, copied as far as it fits).  Not
 * through a scratch array every time: a copy that loads what was just
 * stored in small pieces stalls the CPU (no store-to-load forwarding). */
#define NUM_MAX HVLOG__NUM_ROOM

typedef char *num_writer(char *p, uint64_t v);

static void put_num_cut(struct out *o, num_writer *at, uint64_t v)
{
	char tmp[NUM_MAX];

	put_mem(o, tmp, (size_t)(at(tmp, v) - tmp));
}

static inline void put_num(struct out *o, num_writer *at, uint64_t v)
{
	if ((size_t)(o->end - o->p) >= NUM_MAX)
		o->p = at(o->p, v);
	else
		put_num_cut(o, at, v);
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits in v (1 for 0): from its bit length, which gives the
 * digits or one more (Bit Twiddling Hacks, "IntegerLog10"); v | 1 has as
 * many digits as v (10^k - 1 is odd) and is not 0. */
static unsigned dec_len(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
		10000000000u, 100000000000u, 1000000000000u, 10000000000000u, 100000000000000u,
		1000000000000000u, 10000000000000000u, 100000000000000000u, 1000000000000000000u,
		10000000000000000000u,
	};
	unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;

	return t + ((v | 1) >= pow10[t]);
}

/* The 8 digits of v < 10^8, with leading zeros, at p: 32-bit arithmetic,
 * two digits per table look-up. */
static void dec8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(p, digit_pairs + 2 * (hi / 100), 2);
	memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
	memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
	memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* The decimal digits of v, ending at `end`. */
static void dec_digits(char *end, uint64_t v)
{
	uint32_t w;

	while (v >= 100000000) {
		end -= 8;
		dec8(end, (uint32_t)(v % 100000000));
		v /= 100000000;
	}
	for (w = (uint32_t)v; w >= 100; w /= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (w % 100), 2);
	}
	if (w >= 10)
		memcpy(end - 2, digit_pairs + 2 * w, 2);
	else
		end[-1] = (char)('0' + w);
}

static char *dec_at(char *p, uint64_t v)
{
	p += dec_len(v);
	dec_digits(p, v);
	return p;
}

#if defined(__SSE2__) && defined(__x86_64__)
/* The 16 hex digits of v, most significant first: its bytes in memory
 * order split into nibbles, high nibble first, and each nibble to its
 * digit, all at once. */
static inline __m128i hex16(uint64_t v)
{
	const __m128i nibble = _mm_set1_epi8(0x0f);
	__m128i x = _mm_cvtsi64_si128((long long)__builtin_bswap64(v));
	__m128i d = _mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi16(x, 4), nibble), _mm_and_si128(x, nibble));
	__m128i letters = _mm_and_si128(_mm_cmpgt_epi8(d, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));

	return _mm_add_epi8(_mm_add_epi8(d, _mm_set1_epi8('0')), letters);
}
#else
/* The 8 hex digits of x as the bytes they are in memory, most significant
 * first, computed on all of them at once instead of one per loop. */
static uint64_t hex8(uint32_t x)
{
	uint64_t v = x;

	/* nibble i of x into byte i */
	v = (v | v << 16) & 0x0000ffff0000ffffull;
	v = (v | v << 8) & 0x00ff00ff00ff00ffull;
	v = (v | v << 4) & 0x0f0f0f0f0f0f0f0full;
	/* '0' + nibble, and 'a' - '0' - 10 more where the nibble is >= 10
	 * (there nibble + 6 carries into bit 4) */
	v += 0x3030303030303030ull + (((v + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull) * 0x27;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v); /* byte 7 (nibble 7) first in memory */
#endif
	return v;
}
#endif

/* "0x" and the hex digits of v without leading zeros (writes 18 bytes,
 * what follows overwrites the rest). */
static char *hex_at(char *p, uint64_t v)
{
	/* hex digits (v | 1 has as many as v, and one for 0) */
	unsigned n = (unsigned)(67 - __builtin_clzll(v | 1)) / 4;

	/* v shifted up so that its n digits come first */
	v <<= 4 * (16 - n);
	memcpy(p, "0x", 2);
#if defined(__SSE2__) && defined(__x86_64__)
	_mm_storeu_si128((__m128i *)(void *)(p + 2), hex16(v));
#else
	{
		uint64_t x = hex8((uint32_t)(v >> 32));
		memcpy(p + 2, &x, 8);
		x = hex8((uint32_t)v);
		memcpy(p + 10, &x, 8);
	}
#endif
	return p + 2 + n;
}

static char *hex_quoted_at(char *p, uint64_t v)
{
	*p = '"';
	p = hex_at(p + 1, v);
	*p = '"';
	return p + 1;
}

/* Seconds with nanosecond precision: "12.000345678" (at most 21 bytes). */
static char *seconds_at(char *p, uint64_t ns)
{
	uint64_t sec = ns / 1000000000u;
	uint32_t frac = (uint32_t)(ns % 1000000000u);

	p = dec_at(p, sec);
	p[0] = '.';
	p[1] = (char)('0' + frac / 100000000);
	dec8(p + 2, frac % 100000000);
	return p + 10;
}

/* x stored with its byte i (bits 8i to 8i + 7) at p + i. */
static inline void store_bytes8(char *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(p, &x, 8);
}

#if !(defined(__SSE2__) && defined(__x86_64__))
/* Without SSE2 only (time_column_short and dec_roomy_at take digits8x2
 * there, and an unused function is a warning): the 8 decimal digits of
 * v < 10^8 as byte values 0-9, the most significant in byte 0 (for
 * store_bytes8), computed on all of them at once: the two halves of 4
 * digits in 32-bit lanes, split into pairs in 16-bit lanes, then into
 * digits in bytes, each split a multiply and a shift (10486 / 2^20 is
 * 1 / 100 below 43699 and 103 / 2^10 is 1 / 10 below 179, and no lane's
 * product reaches the next). */
static inline uint64_t dec8_bytes(uint32_t v)
{
	uint64_t x = v / 10000 | (uint64_t)(v % 10000) << 32, y;

	y = (x * 10486) >> 20 & 0x0000007f0000007full;
	x = (x - y * 100) << 16 | y;
	y = (x * 103) >> 10 & 0x000f000f000f000full;
	return (x - y * 10) << 8 | y;
}
#endif

/* A time column below 10^5 s, which is every trace's first day and more:
 * always 16 bytes, "SSSSS.FFFFFFFFF " with the seconds' leading zeros as
 * spaces, put together from the 8 digits of ns / 10^7 (the seconds and
 * two decimals) and the 8 of ns % 10^7 (the other seven decimals). */
#define TIME_SHORT_NS 100000000000000ull
#if defined(__SSE2__) && defined(__x86_64__)
/* The digits of both numbers at once (digits8x2).  Then the bytes moved
 * to their places, the point and space added, and the leading zeros made spaces
 * by a subtraction loaded from a sliding window. */
/* The 8 digits (byte values 0-9, the most significant first) of each of
 * the two numbers below 10^8 in the 64-bit lanes of x, the low lane's
 * first: each number as two halves of 4 digits, each half times 4 in four
 * 16-bit lanes, divided by 1000, 100, 10 and 1 by two high-half
 * multiplies, and each lane less ten times the one before (Wojciech
 * Mula's SSE2 conversion). */
static ALWAYS_INLINE __m128i digits8x2(__m128i x)
{
	const __m128i div = _mm_setr_epi16(8389, 5243, 13108, -32768, 8389, 5243, 13108, -32768);
	const __m128i shift = _mm_setr_epi16(1 << 7, 1 << 11, 1 << 13, -32768, 1 << 7, 1 << 11, 1 << 13, -32768);
	const __m128i ten = _mm_set1_epi16(10);
	__m128i hi = _mm_srli_epi64(_mm_mul_epu32(x, _mm_set1_epi32((int)0xd1b71759)), 45); /* / 10^4 */
	__m128i lo = _mm_sub_epi32(x, _mm_mul_epu32(hi, _mm_set1_epi32(10000)));
	__m128i v = _mm_slli_epi16(_mm_or_si128(hi, _mm_slli_epi64(lo, 16)), 2);
	__m128i a = _mm_shuffle_epi32(_mm_unpacklo_epi16(v, v), 0x50);
	__m128i b = _mm_shuffle_epi32(_mm_unpackhi_epi16(v, v), 0x50);

	a = _mm_mulhi_epu16(_mm_mulhi_epu16(a, div), shift);
	b = _mm_mulhi_epu16(_mm_mulhi_epu16(b, div), shift);
	a = _mm_sub_epi16(a, _mm_slli_epi64(_mm_mullo_epi16(a, ten), 16));
	b = _mm_sub_epi16(b, _mm_slli_epi64(_mm_mullo_epi16(b, ten), 16));
	return _mm_packus_epi16(a, b);
}

static ALWAYS_INLINE char *time_column_short(char *p, uint64_t ns)
{
	static const char spaces[20] = { ' ' - '0', ' ' - '0', ' ' - '0', ' ' - '0' };
	const __m128i zero = _mm_set1_epi8('0');
	/* digits 1-5 of the first number one byte down, its 6-7 in place,
	 * the second's 1-7 one down */
	const __m128i down = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);
	const __m128i stay = _mm_setr_epi8(0, 0, 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i chars = _mm_setr_epi8('0', '0', '0', '0', '0', '.', '0', '0', '0', '0', '0', '0', '0', '0', '0', ' ');
	__m128i x = digits8x2(_mm_set_epi64x((long long)(ns % 10000000), (long long)(ns / 10000000)));
	unsigned zeros;

	x = _mm_add_epi8(_mm_or_si128(_mm_and_si128(_mm_srli_epi64(x, 8), down), _mm_and_si128(x, stay)), chars);
	/* the seconds' leading zero digits, all but the last */
	zeros = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) | 0x10);
	x = _mm_add_epi8(x, _mm_loadu_si128((const __m128i *)(const void *)(spaces + 4 - zeros)));
	_mm_storeu_si128((__m128i *)(void *)p, x);
	return p + 16;
}
#else
/* The digits a word at a time (dec8_bytes), the bytes moved by shifts. */
static char *time_column_short(char *p, uint64_t ns)
{
	uint64_t a = dec8_bytes((uint32_t)(ns / 10000000)), b = dec8_bytes((uint32_t)(ns % 10000000));
	/* a's bytes 1-5 (the seconds) one down, the point between them and
	 * its 6-7; b's 1-7 one down, then the space */
	uint64_t lo = (a >> 8 & 0x000000ffffffffffull) | (a & 0xffff000000000000ull), hi = b >> 8;
	/* the seconds' leading zero digits, all but the last, become spaces */
	unsigned zeros = (unsigned)__builtin_ctzll(lo | 1ull << 32) & ~7u;

	lo += 0x30302e3030303030ull - (((1ull << zeros) - 1) & 0x1010101010101010ull);
	hi += 0x2030303030303030ull;
	store_bytes8(p, lo);
	store_bytes8(p + 8, hi);
	return p + 16;
}
#endif

/* The text time column: seconds right-aligned in 15 columns, then a space. */
static char *time_column_at(char *p, uint64_t ns)
{
	unsigned len;

	if (ns < TIME_SHORT_NS)
		return time_column_short(p, ns);
	len = dec_len(ns / 1000000000u) + 10;
	memcpy(p, "                ", 16); /* the padding of short times */
	p = seconds_at(len < 15 ? p + 15 - len : p, ns);
	*p = ' ';
	return p + 1;
}

static void put_dec(struct out *o, uint64_t v)
{
	put_num(o, dec_at, v);
}

/* In JSON, hex values are strings: numbers above 2^53 lose precision in
 * many readers. */
static void put_hex(struct out *o, uint64_t v, int quoted)
{
	put_num(o, quoted ? hex_quoted_at : hex_at, v);
}

char *hvlog__dec_at(char *p, uint64_t v)
{
	return dec_at(p, v);
}

char *hvlog__hex_at(char *p, uint64_t v)
{
	return hex_at(p, v);
}

void hvlog__put_num_cut(struct out *o, num_writer *at, uint64_t v)
{
	put_num_cut(o, at, v);
}

void hvlog__put_json_str(struct out *o, const char *s)
{
	put_json_str(o, s);
}

size_t hvlog_format_dec(char *out, uint64_t v)
{
	return (size_t)(dec_at(out, v) - out);
}

size_t hvlog_format_hex(char *out, uint64_t v)
{
	return (size_t)(hex_at(out, v) - out);
}

size_t hvlog_format_json_str(char *out, const char *s)
{
	struct out o = { out, out + 2 + 6 * strlen(s) };

	put_json_str(&o, s);
	return (size_t)(o.p - out);
}

/* ---- time --------------------------------------------------------------- */

uint64_t hvlog_ticks_to_ns(uint64_t t, uint64_t t0, uint64_t hz)
{
	uint64_t d = t - t0;

	if (t < t0)
		return 0;
	if (hz == 1000000000u)
		return d;
	unsigned __int128 ns = (unsigned __int128)d * 1000000000u / hz;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* hvlog_ticks_to_ns for one rate, without its 128-bit division per call:
 * ns = floor(d * 10^9 / hz) = d * k + floor(d * r / hz), where k and r are
 * the quotient and remainder of 10^9 / hz.  The fraction r / hz is kept as
 * f = floor(2^64 * r / hz); (d * f) >> 64 is then floor(d * r / hz) or one
 * less (the error of f is below 1, times d < 2^64 it is below 2^64), and
 * the remainder d * 10^9 - ns * hz, which is below 2 * hz, says which. */
void hvlog__clock_init(hvlog__clock *c, uint64_t hz)
{
	c->hz = hz;
	c->k = hz ? 1000000000u / hz : 0;
	c->f = hz ? (uint64_t)(((unsigned __int128)(1000000000u % hz) << 64) / hz) : 0;
}

uint64_t hvlog__clock_ns(const hvlog__clock *c, uint64_t t, uint64_t t0)
{
	uint64_t d = t - t0, n;
	unsigned __int128 ns;

	if (t < t0)
		return 0;
	/* a rate that divides 10^9 (1 GHz, 1 MHz: f is 0) is a product alone */
	if (!c->f)
		return __builtin_mul_overflow(d, c->k, &n) ? UINT64_MAX : n;
	ns = (unsigned __int128)d * c->k + (((unsigned __int128)d * c->f) >> 64);
	if ((unsigned __int128)d * 1000000000u - ns * c->hz >= c->hz)
		ns++;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* ---- the tables ------------------------------------------------------------ */

/* A value table's names, and its values in a hash (open addressing, a
 * multiplicative hash of 2^bits slots, at least twice the values): a
 * look-up without hvlog__valtab_index's search. */
struct name_slot {
	uint64_t value;
	uint32_t k1;                              /* the value's index + 1; 0: empty */
};

struct fmt_valtab {
	const struct piece *text;                 /* per entry of the table */
	const struct piece *json;                 /* the same as JSON strings */
	const struct name_slot *slots;
	uint64_t mask;                            /* 2^bits - 1 */
	unsigned shift;                           /* 64 - bits */
};

#define NAME_HASH 0x9e3779b97f4a7c15ull  /* 2^64 / the golden ratio */

/* hvlog__valtab_index by the hash: the first index of v, or -1. */
static inline long fmt_valtab_index(const struct fmt_valtab *t, uint64_t v)
{
	for (uint64_t h = (v * NAME_HASH) >> t->shift;; h = (h + 1) & t->mask) {
		const struct name_slot *sl = &t->slots[h];
		if (!sl->k1)
			return -1;
		if (sl->value == v)
			return (long)sl->k1 - 1;
	}
}

/* How text_event_roomy writes a value: as text_value does for its
 * parameter's display. */
enum text_kind { TEXT_HEX, TEXT_DEC, TEXT_BOOL, TEXT_NAMES };

/* How json_event_roomy writes a value: as json_value does (a decimal
 * above 2^53 a string, but in the dialects that say otherwise). */
enum json_kind { JSON_DEC, JSON_HEX, JSON_BOOL };

struct fmt_param {
	struct piece text_key;                    /* " key=" */
	struct piece json_key;                    /* ,"key": (the first one without the comma) */
	const struct fmt_valtab *names;           /* of its value table, or NULL */
	enum text_kind text_kind;
	enum json_kind json_kind;
};

/* The index of value v in parameter p's table (fp: its tables, or NULL),
 * or -1. */
static inline long param_value_index(const hvlog_param *p, const struct fmt_param *fp, uint64_t v)
{
	return fp && fp->names ? fmt_valtab_index(fp->names, v) : hvlog__valtab_index(p->values, v);
}

struct fmt_event {
	struct piece text_head;                   /* the group and event columns */
	struct piece json_head;                   /* ,"group":..,"event":..,"number":N,"params":{ */
	const struct fmt_param *params;
	/* the most bytes its text line takes, with the widest stream column
	 * and the bytes a writer may put past its end; 0 for an event whose
	 * text_event_roomy would not write what text_item_ does (32 bits:
	 * a line is far shorter, and the table stays 48 bytes an event) */
	uint32_t text_room;
	/* the same for its JSON line in any dialect and time mode
	 * (json_event_roomy and json_item_) */
	uint32_t json_room;
};

struct hvlog__fmt {
	/* what they were built for: a copy of the view changed by hand, or an
	 * event from elsewhere, is formatted without them */
	const hvlog_schema *schema;
	const hvlog_stream_info *streams;
	uint32_t nstreams;
	const struct piece *text_streams;         /* the name padded, then a space */
	const struct piece *json_streams;         /* ,"stream":N,"stream_name":"..","offset": */
	const hvlog_event *schema_events;         /* = schema->events */
	size_t events_size;                       /* of schema->events, in bytes */
	const struct fmt_event *events;           /* parallel to schema->events */
	hvlog__clock clock;
};

static const hvlog__fmt *tables_of(const hvlog_meta *m)
{
	const hvlog__fmt *f = m->internal;

	return f && f->schema == m->schema && f->streams == m->streams && f->nstreams == m->nstreams ? f : NULL;
}

static const struct fmt_event *event_tables(const hvlog__fmt *f, const hvlog_event *ev)
{
	/* compared as integers: ev may point anywhere */
	uintptr_t off = (uintptr_t)ev - (uintptr_t)f->schema_events;

	if (off < f->events_size)
		return &f->events[off / sizeof *ev];
	return NULL;
}

static uint64_t item_ns(const hvlog_meta *m, const hvlog__fmt *f, uint64_t t, uint64_t t0)
{
	if (f && f->clock.hz == m->clock_hz)
		return hvlog__clock_ns(&f->clock, t, t0);
	return hvlog_ticks_to_ns(t, t0, m->clock_hz);
}


/* ---- the pieces that depend only on the metadata ---------------------------- */

static const char *event_name(const hvlog_event *ev)
{
	return strncmp(ev->symbol, "HV_TR_", 6) ? ev->symbol : ev->symbol + 6;
}

const char *hvlog__fmt_group_alias(const hvlog_meta *m, const hvlog_event *ev)
{
	return ev->group < m->schema->ngroups ? m->schema->groups[ev->group].alias : "?";
}

const char *hvlog__fmt_stream_name(const hvlog_meta *m, uint32_t s)
{
	return s < m->nstreams && m->streams[s].name ? m->streams[s].name : "?";
}

#define group_alias hvlog__fmt_group_alias
#define stream_name hvlog__fmt_stream_name

static void text_stream_piece(struct out *o, const hvlog_meta *m, uint32_t s)
{
	char *col = o->p;

	put_name(o, s == UINT32_MAX ? "-" : stream_name(m, s));
	pad_to(o, col, 8);
	put_ch(o, ' ');
}

static void text_event_piece(struct out *o, const hvlog_meta *m, const hvlog_event *ev)
{
	char *col = o->p;

	put_name(o, group_alias(m, ev));
	pad_to(o, col, 10);
	put_ch(o, ' ');
	col = o->p;
	put_name(o, event_name(ev));
	pad_to(o, col, 26);
}

/* ANSI colours of the text line (HVLOG_FMT_COLOR). */
#define SGR_RESET "\033[0m"
#define SGR_TIME "\033[2m"      /* dim */
#define SGR_GROUP "\033[36m"    /* cyan */
#define SGR_EVENT "\033[1m"     /* bold */
#define SGR_VALUE "\033[32m"    /* green */
#define SGR_LOST "\033[33m"     /* yellow */
#define SGR_DAMAGE "\033[1;31m" /* bold red */

/* A name in colour sgr, then spaces up to `width` columns; an empty name
 * gets no escapes. */
static void put_name_colored(struct out *o, const char *sgr, size_t sgr_len, const char *s, size_t width)
{
	size_t n = strlen(s); /* put_name writes one byte per byte */

	if (n) {
		put_mem(o, sgr, sgr_len);
		put_name(o, s);
		put_lit(o, SGR_RESET);
	}
	for (; n < width; n++)
		put_ch(o, ' ');
}

/* text_event_piece in colour: the group cyan, the event bold. */
static void text_event_piece_color(struct out *o, const hvlog_meta *m, const hvlog_event *ev)
{
	put_name_colored(o, SGR_GROUP, sizeof SGR_GROUP - 1, group_alias(m, ev), 10);
	put_ch(o, ' ');
	put_name_colored(o, SGR_EVENT, sizeof SGR_EVENT - 1, event_name(ev), 26);
}

static void text_key_piece(struct out *o, const hvlog_param *p)
{
	put_ch(o, ' ');
	put_name(o, p->key);
	put_ch(o, '=');
}

/* From the stream to the offset's value: ,"stream":N,"stream_name":"..","offset":
 * (without the offset's key if `offset` is 0). */
#define OFFSET_KEY ",\"offset\":"
static void json_stream_piece(struct out *o, const hvlog_meta *m, uint32_t s, int offset)
{
	put_lit(o, ",\"stream\":");
	if (s == UINT32_MAX) {
		put_lit(o, "null");
	} else {
		put_dec(o, s);
		put_lit(o, ",\"stream_name\":");
		put_json_str(o, stream_name(m, s));
	}
	if (offset)
		put_lit(o, OFFSET_KEY);
}

static void json_event_piece(struct out *o, const hvlog_meta *m, const hvlog_event *ev)
{
	put_lit(o, ",\"group\":");
	put_json_str(o, group_alias(m, ev));
	put_lit(o, ",\"event\":");
	put_json_str(o, ev->symbol);
	put_lit(o, ",\"number\":");
	put_dec(o, ev->number);
	put_lit(o, ",\"params\":{");
}

static void json_key_piece(struct out *o, const hvlog_param *p, int comma)
{
	if (comma)
		put_ch(o, ',');
	put_json_str(o, p->key);
	put_ch(o, ':');
}

/* The key of parameter i from the tables, or rendered. */
static void put_json_key(struct out *o, const hvlog_param *p, const struct fmt_param *fp, int comma)
{
	if (fp)
		put_piece(o, comma ? fp->json_key : (struct piece){ fp->json_key.s + 1, fp->json_key.n - 1 });
	else
		json_key_piece(o, p, comma);
}

/* ---- items ------------------------------------------------------------------ */

static ALWAYS_INLINE void text_value(struct out *o, const hvlog_param *p, const struct fmt_param *fp, uint64_t v)
{
	long k;

	switch (p->display) {
	case HVLOG_DISPLAY_DEC:
		put_dec(o, v);
		break;
	case HVLOG_DISPLAY_BOOL:
		if (v)
			put_lit(o, "true");
		else
			put_lit(o, "false");
		break;
	case HVLOG_DISPLAY_ENUM:
		if (fp && fp->names) {
			if ((k = fmt_valtab_index(fp->names, v)) >= 0) {
				put_piece(o, fp->names->text[k]);
				break;
			}
		} else if ((k = hvlog__valtab_index(p->values, v)) >= 0) {
			put_name(o, p->values->values[k].name);
			break;
		}
		put_hex(o, v, 0); /* unnamed values show as hex */
		break;
	default:
		put_hex(o, v, 0);
		break;
	}
}

/* ---- time modes other than the default (hvlog_time_mode) ---------------- */

/* What an item's time needs besides its tick and t0 (NULL: the default,
 * seconds since t0). */
struct time_mode {
	hvlog_time_mode mode;
	uint64_t prev; /* DELTA: the previous item's tick */
};

/* Unix time in ns (128 bits: epoch_ns plus up to 2^64 ns) as
 * "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (30 bytes; years 1677 to 2846) at p.
 * The date from the day number by Howard Hinnant's civil_from_days. */
static char *utc_at(char *p, __int128 unix_ns)
{
	__int128 sec = unix_ns / 1000000000, frac = unix_ns % 1000000000;
	int64_t days, era, y;
	unsigned doe, yoe, doy, mp, d, mo, sod;

	if (frac < 0)
		frac += 1000000000, sec--;
	days = (int64_t)(sec / 86400);
	if (sec % 86400 < 0)
		days--;
	sod = (unsigned)(sec - (__int128)days * 86400);
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	mo = mp < 10 ? mp + 3 : mp - 9;
	y = (int64_t)yoe + era * 400 + (mo <= 2);
	memcpy(p, digit_pairs + 2 * (y / 100), 2);
	memcpy(p + 2, digit_pairs + 2 * (y % 100), 2);
	p[4] = '-';
	memcpy(p + 5, digit_pairs + 2 * mo, 2);
	p[7] = '-';
	memcpy(p + 8, digit_pairs + 2 * d, 2);
	p[10] = 'T';
	memcpy(p + 11, digit_pairs + 2 * (sod / 3600), 2);
	p[13] = ':';
	memcpy(p + 14, digit_pairs + 2 * (sod / 60 % 60), 2);
	p[16] = ':';
	memcpy(p + 17, digit_pairs + 2 * (sod % 60), 2);
	p[19] = '.';
	p[20] = (char)('0' + (unsigned)frac / 100000000);
	dec8(p + 21, (uint32_t)frac % 100000000);
	p[29] = 'Z';
	return p + 30;
}

/* The wall-clock time of tick t: the clock's epoch plus t in ns. */
static char *item_utc_at(char *p, const hvlog_meta *m, const hvlog__fmt *f, uint64_t t)
{
	return utc_at(p, (__int128)m->clock_epoch_ns + item_ns(m, f, t, 0));
}

char *hvlog__fmt_utc_at(char *p, const hvlog_formatter *f, uint64_t t)
{
	return utc_at(p, (__int128)f->m->clock_epoch_ns + hvlog__clock_ns(&f->clock, t, 0));
}

/* Tick t in mode tm (DELTA: seconds since t0, for the times inside a
 * lost-events line) at p, at most 32 bytes. */
static char *mode_time_at(char *p, const hvlog_meta *m, const hvlog__fmt *f, const struct time_mode *tm,
			  uint64_t t, uint64_t t0)
{
	switch (tm->mode) {
	case HVLOG_TIME_ABSOLUTE:
		return item_utc_at(p, m, f, t);
	case HVLOG_TIME_TICKS:
		return dec_at(p, t);
	default:
		return seconds_at(p, item_ns(m, f, t, t0));
	}
}

static void put_mode_time(struct out *o, const hvlog_meta *m, const hvlog__fmt *f, const struct time_mode *tm,
			  uint64_t t, uint64_t t0)
{
	char buf[NUM_MAX];

	put_mem(o, buf, (size_t)(mode_time_at(buf, m, f, tm, t, t0) - buf));
}

/* The text time column in mode tm: right-aligned in 15 columns (ticks:
 * 20), then a space; dim if color. */
static __attribute__((noinline)) void time_column_mode(struct out *o, const hvlog_meta *m, const hvlog__fmt *f,
							const struct time_mode *tm, const hvlog_item *it,
							uint64_t t0, int color)
{
	char buf[NUM_MAX], *p = buf;
	size_t width = tm->mode == HVLOG_TIME_TICKS ? 20 : 15;

	if (tm->mode == HVLOG_TIME_DELTA) {
		*p++ = '+';
		p = seconds_at(p, item_ns(m, f, it->ts, tm->prev));
	} else {
		p = mode_time_at(p, m, f, tm, it->ts, t0);
	}
	for (size_t len = (size_t)(p - buf); len < width; len++)
		put_ch(o, ' ');
	if (color)
		put_lit(o, SGR_TIME);
	put_mem(o, buf, (size_t)(p - buf));
	if (color)
		put_lit(o, SGR_RESET);
	put_ch(o, ' ');
}

/* The text line; in colour if color_heads is not NULL (the coloured event
 * columns per schema event, or an empty piece without tables).  Inlined
 * into the callers, so that the plain line pays nothing for colour. */
static ALWAYS_INLINE void text_item_(struct out *o, const hvlog_meta *m,
							     const hvlog__fmt *f, const hvlog_item *it,
							     uint64_t t0, const struct piece *color_heads,
							     const struct time_mode *tm)
{
	uint64_t ns = item_ns(m, f, it->ts, t0);

	if (tm) {
		time_column_mode(o, m, f, tm, it, t0, color_heads != NULL);
	} else if (color_heads) {
		/* the padding plain, the time dim */
		unsigned len = dec_len(ns / 1000000000u) + 10;
		for (; len < 15; len++)
			put_ch(o, ' ');
		put_lit(o, SGR_TIME);
		put_num(o, seconds_at, ns);
		put_lit(o, SGR_RESET " ");
	} else {
		put_num(o, time_column_at, ns);
	}
	if (f && it->stream < f->nstreams)
		put_piece(o, f->text_streams[it->stream]);
	else
		text_stream_piece(o, m, it->stream);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const hvlog_event *ev = it->event;
		const struct fmt_event *fe = f ? event_tables(f, ev) : NULL;
		if (color_heads && fe)
			put_piece(o, color_heads[fe - f->events]);
		else if (color_heads)
			text_event_piece_color(o, m, ev);
		else if (fe)
			put_piece(o, fe->text_head);
		else
			text_event_piece(o, m, ev);
		for (uint32_t i = 0; i < ev->nparams; i++) {
			const struct fmt_param *fp = fe ? &fe->params[i] : NULL;
			if (fp)
				put_piece(o, fp->text_key);
			else
				text_key_piece(o, &ev->params[i]);
			if (color_heads)
				put_lit(o, SGR_VALUE);
			text_value(o, &ev->params[i], fp, it->values[i]);
			if (color_heads)
				put_lit(o, SGR_RESET);
		}
		break;
	}
	case HVLOG_ITEM_LOST:
		if (color_heads)
			put_lit(o, SGR_LOST);
		put_str(o, "--         LOST ");
		put_dec(o, it->lost_count);
		put_str(o, " events between ");
		if (tm) {
			put_mode_time(o, m, f, tm, it->lost_first_ts, t0);
			put_str(o, " and ");
			put_mode_time(o, m, f, tm, it->lost_last_ts, t0);
		} else {
			put_num(o, seconds_at, item_ns(m, f, it->lost_first_ts, t0));
			put_str(o, " and ");
			put_num(o, seconds_at, item_ns(m, f, it->lost_last_ts, t0));
		}
		if (color_heads)
			put_lit(o, SGR_RESET);
		break;
	case HVLOG_ITEM_DAMAGE:
		if (color_heads)
			put_lit(o, SGR_DAMAGE);
		put_str(o, "--         DAMAGE at offset ");
		put_dec(o, it->offset);
		put_str(o, " (");
		put_dec(o, it->damage_len);
		put_str(o, " bytes");
		if (it->damage_events) {
			put_str(o, ", ");
			put_dec(o, it->damage_events);
			put_str(o, " events lost");
		}
		put_str(o, "): ");
		put_str(o, it->damage_msg ? it->damage_msg : "");
		if (color_heads)
			put_lit(o, SGR_RESET);
		break;
	}
}

/* A piece at p, which has room for it and PIECE_SLACK bytes more, in
 * blocks of 32 bytes after a first of `first` (32, or 48 for a piece of
 * at least 16 bytes: what is copied past its end stays within its slack). */
static ALWAYS_INLINE char *piece_at(char *p, struct piece pc, uint32_t first)
{
	memcpy(p, pc.s, first);
	for (uint32_t i = first; i < pc.n; i += 32)
		memcpy(p + i, pc.s + i, 32);
	return p + pc.n;
}

/* The plain text line of an event with tables, when the line has room
 * for the most it can take (fe->text_room): what text_item_ writes, with
 * no check of the room per piece and number. */
static ALWAYS_INLINE char *text_event_roomy(char *p, const hvlog__fmt *f, const struct fmt_event *fe,
					    const hvlog_item *it, uint64_t ns)
{
	const struct fmt_param *fp = fe->params;
	const uint64_t *v = it->values, *end = v + it->event->nparams;
	long k;

	p = ns < TIME_SHORT_NS ? time_column_short(p, ns) : time_column_at(p, ns);
	p = piece_at(p, f->text_streams[it->stream], 32);
	p = piece_at(p, fe->text_head, 48); /* (the columns are 37 bytes or more) */
	for (; v < end; v++, fp++) {
		p = piece_at(p, fp->text_key, 32);
		if (fp->text_kind == TEXT_HEX) { /* the most common, first */
			p = hex_at(p, *v);
			continue;
		}
		switch (fp->text_kind) {
		case TEXT_DEC:
			p = dec_at(p, *v);
			break;
		case TEXT_BOOL:
			memcpy(p, *v ? "true" : "false", 5);
			p += *v ? 4 : 5;
			break;
		case TEXT_NAMES:
			if ((k = fmt_valtab_index(fp->names, *v)) >= 0) {
				p = piece_at(p, fp->names->text[k], 32);
				break;
			}
			p = hex_at(p, *v); /* unnamed values show as hex */
			break;
		default:
			p = hex_at(p, *v);
			break;
		}
	}
	return p;
}

/* The tables of an item that text_event_roomy (json: json_event_roomy)
 * can write into room bytes, or NULL. */
static inline const struct fmt_event *roomy_event(const hvlog__fmt *f, const hvlog_item *it, size_t room, int json)
{
	const struct fmt_event *fe;
	uint32_t need;

	if (!f || it->kind != HVLOG_ITEM_EVENT || it->stream >= f->nstreams || !(fe = event_tables(f, it->event)))
		return NULL;
	need = json ? fe->json_room : fe->text_room;
	return need && need <= room ? fe : NULL;
}

static ALWAYS_INLINE void text_item(struct out *o, const hvlog_meta *m, const hvlog__fmt *f, const hvlog_item *it,
				    uint64_t t0)
{
	const struct fmt_event *fe = roomy_event(f, it, (size_t)(o->end - o->p), 0);

	if (fe)
		o->p = text_event_roomy(o->p, f, fe, it, item_ns(m, f, it->ts, t0));
	else
		text_item_(o, m, f, it, t0, NULL, NULL);
}

static void text_item_color(struct out *o, const hvlog_meta *m, const hvlog__fmt *f, const hvlog_item *it,
			    uint64_t t0, const struct piece *heads, const struct time_mode *tm)
{
	static const struct piece none; /* no tables: render the columns per item */

	text_item_(o, m, f, it, t0, heads ? heads : &none, tm);
}

/* The text line with a time mode, plain. */
static void text_item_mode(struct out *o, const hvlog_meta *m, const hvlog__fmt *f, const hvlog_item *it,
			   uint64_t t0, const struct time_mode *tm)
{
	text_item_(o, m, f, it, t0, NULL, tm);
}

/* ,"k": for the formatter's own keys (plain ASCII, nothing to escape) */
static void json_key(struct out *o, const char *k)
{
	put_lit(o, ",\"");
	put_str(o, k);
	put_lit(o, "\":");
}

#define JSON_EXACT_MAX HVLOG__JSON_EXACT_MAX

static char *dec_quoted_at(char *p, uint64_t v)
{
	*p = '"';
	p = dec_at(p + 1, v);
	*p = '"';
	return p + 1;
}

/* An integer of an item (a time, a count, an offset): in the default
 * dialect a decimal string above 2^53 (a tick count past 52 days at 2 GHz
 * is one), which a reader that parses numbers as doubles would round. */
static ALWAYS_INLINE void json_uint(struct out *o, uint64_t v, unsigned flags)
{
	if (v > JSON_EXACT_MAX && !(flags & (HVLOG_FMT_JSON_INTEGERS | HVLOG_FMT_JSON_DECODE_V1)))
		put_num(o, dec_quoted_at, v);
	else
		put_dec(o, v);
}

/* A parameter's value in the dialect of flags. */
static ALWAYS_INLINE void json_value(struct out *o, const hvlog_param *p, uint64_t v,
							     unsigned flags)
{
	if (flags & HVLOG_FMT_JSON_INTEGERS) {
		put_dec(o, v);
	} else if (p->display == HVLOG_DISPLAY_BOOL || p->type == HVLOG_TYPE_BOOL) {
		if (v)
			put_lit(o, "true");
		else
			put_lit(o, "false");
	} else if (p->display == HVLOG_DISPLAY_HEX) {
		put_hex(o, v, 1);
	} else if (v > JSON_EXACT_MAX && !(flags & HVLOG_FMT_JSON_DECODE_V1)) {
		put_num(o, dec_quoted_at, v);
	} else {
		put_dec(o, v);
	}
}

static ALWAYS_INLINE void json_params(struct out *o, const hvlog_event *ev,
							      const struct fmt_event *fe, const uint64_t *values,
							      unsigned flags)
{
	long names[HVLOG_MAX_PARAMS]; /* value_index of each parameter */
	int named = 0;

	for (uint32_t i = 0; i < ev->nparams; i++) {
		const hvlog_param *p = &ev->params[i];
		uint64_t v = values[i];
		const struct fmt_param *fp = fe ? &fe->params[i] : NULL;
		long k = param_value_index(p, fp, v);
		put_json_key(o, p, fp, i > 0);
		json_value(o, p, v, flags);
		if (i < HVLOG_MAX_PARAMS)
			names[i] = k;
		named |= k >= 0;
	}
	put_ch(o, '}');
	if (!named)
		return;
	put_lit(o, ",\"names\":{");
	named = 0;
	for (uint32_t i = 0; i < ev->nparams; i++) {
		const hvlog_param *p = &ev->params[i];
		const struct fmt_param *fp = fe ? &fe->params[i] : NULL;
		/* (only a schema built by hand has more parameters than the limit) */
		long k = i < HVLOG_MAX_PARAMS ? names[i] : param_value_index(p, fp, values[i]);
		if (k < 0)
			continue;
		put_json_key(o, p, fp, named++);
		if (fp && fp->names)
			put_piece(o, fp->names->json[k]);
		else
			put_json_str(o, p->values->values[k].name);
	}
	put_ch(o, '}');
}

/* A JSON item in the dialect of flags (format.h); inlined into its callers
 * with flags a constant for the decode dialect. */
static ALWAYS_INLINE void json_item_(struct out *o, const hvlog_meta *m,
							     const hvlog__fmt *f, const hvlog_item *it,
							     uint64_t t0, unsigned flags, const struct time_mode *tm)
{
#define JSON_HEAD(kind) "{\"type\":\"" kind "\",\"time_ns\":"
	/* 32 bytes each: pieces with the slack put_piece needs */
	static const char heads[][32] = { JSON_HEAD("event"), JSON_HEAD("lost"), JSON_HEAD("damage") };
	static const uint8_t head_len[] = { sizeof JSON_HEAD("event") - 1, sizeof JSON_HEAD("lost") - 1,
					    sizeof JSON_HEAD("damage") - 1 };
#undef JSON_HEAD
	int offset = (flags & (HVLOG_FMT_OFFSETS | HVLOG_FMT_JSON_DECODE_V1)) || it->kind == HVLOG_ITEM_DAMAGE;

	put_piece(o, (struct piece){ heads[it->kind], head_len[it->kind] });
	json_uint(o, item_ns(m, f, it->ts, t0), flags);
	put_lit(o, ",\"ts\":");
	json_uint(o, it->ts, flags);
	if (tm && tm->mode == HVLOG_TIME_ABSOLUTE) {
		put_lit(o, ",\"time_utc\":\"");
		put_mode_time(o, m, f, tm, it->ts, t0);
		put_ch(o, '"');
	} else if (tm && tm->mode == HVLOG_TIME_DELTA) {
		put_lit(o, ",\"delta_ns\":");
		json_uint(o, item_ns(m, f, it->ts, tm->prev), flags);
	}
	if (f && it->stream < f->nstreams) {
		struct piece pc = f->json_streams[it->stream]; /* ends with the offset's key */
		if (!offset)
			pc.n -= (uint32_t)(sizeof OFFSET_KEY - 1);
		put_piece(o, pc);
	} else {
		json_stream_piece(o, m, it->stream, offset);
	}
	if (offset)
		json_uint(o, it->offset, flags);
	switch (it->kind) {
	case HVLOG_ITEM_EVENT: {
		const struct fmt_event *fe = f ? event_tables(f, it->event) : NULL;
		if (fe)
			put_piece(o, fe->json_head);
		else
			json_event_piece(o, m, it->event);
		json_params(o, it->event, fe, it->values, flags);
		break;
	}
	case HVLOG_ITEM_LOST:
		json_key(o, "count");
		json_uint(o, it->lost_count, flags);
		json_key(o, "first_ts");
		json_uint(o, it->lost_first_ts, flags);
		json_key(o, "last_ts");
		json_uint(o, it->lost_last_ts, flags);
		if (!(flags & HVLOG_FMT_JSON_DECODE_V1)) {
			json_key(o, "first_ns");
			json_uint(o, item_ns(m, f, it->lost_first_ts, t0), flags);
			json_key(o, "last_ns");
			json_uint(o, item_ns(m, f, it->lost_last_ts, t0), flags);
		}
		break;
	case HVLOG_ITEM_DAMAGE:
		json_key(o, "kind");
		put_json_str(o, hvlog_status_str(it->damage));
		json_key(o, "length");
		json_uint(o, it->damage_len, flags);
		json_key(o, "events_lost");
		json_uint(o, it->damage_events, flags);
		json_key(o, "message");
		put_json_str(o, it->damage_msg ? it->damage_msg : "");
		break;
	}
	put_ch(o, '}');
}

static ALWAYS_INLINE void json_item_v1(struct out *o, const hvlog_meta *m, const hvlog__fmt *f,
				       const hvlog_item *it, uint64_t t0)
{
	json_item_(o, m, f, it, t0, HVLOG_FMT_JSON_DECODE_V1, NULL);
}

static void json_item(struct out *o, const hvlog_meta *m, const hvlog__fmt *f, const hvlog_item *it, uint64_t t0,
		      unsigned flags, const struct time_mode *tm)
{
	json_item_(o, m, f, it, t0, flags, tm);
}

/* dec_at for a line with room to spare (JSON_NUM_MAX bytes): below
 * 10^16, the digits 8 at a time (dec8_bytes), the leading zeros of the
 * first 8 shifted out, each 8 stored whole (what follows the number
 * overwrites what is stored past it). */
#if defined(__SSE2__) && defined(__x86_64__)
/* (with SSE2, below 10^16: the 16 digits at once, digits8x2, the leading
 * zeros shifted out of them as a 128-bit number) */
static ALWAYS_INLINE char *dec_roomy_at(char *p, uint64_t v)
{
	__m128i d, z;
	unsigned __int128 x;
	unsigned skip;

	if (v >= 10000000000000000ull)
		return dec_at(p, v);
	d = digits8x2(_mm_set_epi64x((long long)(v % 100000000), (long long)(v / 100000000)));
	z = _mm_cmpeq_epi8(d, _mm_setzero_si128());
	/* the leading zero digits, all but the last (of 0) */
	skip = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(z) | 0x8000);
	d = _mm_add_epi8(d, _mm_set1_epi8('0'));
	x = (unsigned __int128)(uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(d, d)) << 64 |
	    (uint64_t)_mm_cvtsi128_si64(d);
	x >>= 8 * skip;
	store_bytes8(p, (uint64_t)x);
	store_bytes8(p + 8, (uint64_t)(x >> 64));
	return p + 16 - skip;
}
#else
static ALWAYS_INLINE char *dec_roomy_at(char *p, uint64_t v)
{
	const uint64_t zeros = 0x3030303030303030ull;
	uint64_t hi, x;
	unsigned skip;

	if (v < 100000000) {
		x = dec8_bytes((uint32_t)v);
		/* the leading zero digits, all but the last (of 0) */
		skip = (unsigned)__builtin_ctzll(x | 1ull << 56) / 8;
		store_bytes8(p, (x >> 8 * skip) + zeros);
		return p + 8 - skip;
	}
	if (v >= 10000000000000000ull)
		return dec_at(p, v);
	hi = v / 100000000;
	x = dec8_bytes((uint32_t)hi); /* (hi is not 0) */
	skip = (unsigned)__builtin_ctzll(x) / 8;
	store_bytes8(p, (x >> 8 * skip) + zeros);
	p += 8 - skip;
	store_bytes8(p, dec8_bytes((uint32_t)(v - hi * 100000000)) + zeros);
	return p + 8;
}
#endif

/* json_uint at p, which has room for it. */
static ALWAYS_INLINE char *json_uint_at(char *p, uint64_t v, unsigned flags)
{
	if (v > JSON_EXACT_MAX && !(flags & (HVLOG_FMT_JSON_INTEGERS | HVLOG_FMT_JSON_DECODE_V1)))
		return dec_quoted_at(p, v);
	return dec_roomy_at(p, v);
}

/* The JSON line of an event with tables in the dialect of flags, with
 * time mode tm (NULL: the default; m and clock: for its times), when the
 * line has room for the most it can take (fe->json_room): what json_item_
 * writes, with no check of the room per piece and number. */
static ALWAYS_INLINE char *json_event_roomy(char *p, const hvlog__fmt *f, const struct fmt_event *fe,
					    const hvlog_item *it, uint64_t ns, unsigned flags,
					    const struct time_mode *tm, const hvlog_meta *m,
					    const hvlog__clock *clock)
{
	static const char head[32] = "{\"type\":\"event\",\"time_ns\":";
	const int offset = (flags & (HVLOG_FMT_OFFSETS | HVLOG_FMT_JSON_DECODE_V1)) != 0;
	const struct fmt_param *fp = fe->params;
	const uint64_t *v = it->values;
	const uint32_t n = it->event->nparams;
	long names[HVLOG_MAX_PARAMS]; /* the index of each value's name, or -1 */
	struct piece pc = f->json_streams[it->stream]; /* ends with the offset's key */
	long named = -1;

	memcpy(p, head, 32);
	p = json_uint_at(p + sizeof "{\"type\":\"event\",\"time_ns\":" - 1, ns, flags);
	memcpy(p, ",\"ts\":", 6);
	p = json_uint_at(p + 6, it->ts, flags);
	if (tm && tm->mode == HVLOG_TIME_ABSOLUTE) {
		memcpy(p, ",\"time_utc\":\"", 13);
		p = item_utc_at(p + 13, m, f, it->ts);
		*p++ = '"';
	} else if (tm && tm->mode == HVLOG_TIME_DELTA) {
		memcpy(p, ",\"delta_ns\":", 12);
		p = json_uint_at(p + 12, hvlog__clock_ns(clock, it->ts, tm->prev), flags);
	}
	if (!offset)
		pc.n -= (uint32_t)(sizeof OFFSET_KEY - 1);
	p = piece_at(p, pc, 32);
	if (offset)
		p = json_uint_at(p, it->offset, flags);
	p = piece_at(p, fe->json_head, 48); /* (the head is 40 bytes or more) */
	for (uint32_t i = 0; i < n; i++, fp++) {
		long k = fp->names ? fmt_valtab_index(fp->names, v[i]) : -1;
		p = i ? piece_at(p, fp->json_key, 32)
		      : piece_at(p, (struct piece){ fp->json_key.s + 1, fp->json_key.n - 1 }, 32);
		if (flags & HVLOG_FMT_JSON_INTEGERS) {
			p = dec_roomy_at(p, v[i]);
		} else {
			switch (fp->json_kind) {
			case JSON_HEX:
				p = hex_quoted_at(p, v[i]);
				break;
			case JSON_BOOL:
				memcpy(p, v[i] ? "true" : "false", 5);
				p += v[i] ? 4 : 5;
				break;
			default:
				p = v[i] > JSON_EXACT_MAX && !(flags & HVLOG_FMT_JSON_DECODE_V1) ? dec_quoted_at(p, v[i])
												 : dec_roomy_at(p, v[i]);
				break;
			}
		}
		names[i] = k;
		named &= k; /* -1 while none is named */
	}
	*p++ = '}';
	if (named >= 0) {
		memcpy(p, ",\"names\":{", 10);
		p += 10;
		fp = fe->params;
		named = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (names[i] < 0)
				continue;
			p = named++ ? piece_at(p, fp[i].json_key, 32)
				    : piece_at(p, (struct piece){ fp[i].json_key.s + 1, fp[i].json_key.n - 1 }, 32);
			p = piece_at(p, fp[i].names->json[names[i]], 32);
		}
		*p++ = '}';
	}
	*p++ = '}';
	return p;
}

/* A line into buf: the item, cut to leave room for its end (eol, 1 or 2
 * bytes) and a NUL. */
static struct out line_start(char *buf, size_t cap, size_t eol)
{
	return (struct out){ buf, buf + cap - eol - 1 };
}

static size_t line_end(struct out *o, char *buf, const char *eol, size_t n)
{
	memcpy(o->p, eol, n);
	o->p += n;
	*o->p = 0;
	return (size_t)(o->p - buf);
}

/* The plain text line of an event by text_event_roomy (fe: roomy_event
 * with the room line_start leaves; clock: the metadata's), then its end:
 * apart from the code of the other kinds and cases, which costs the
 * common line the set-up of a large function. */
static __attribute__((noinline)) size_t text_line_roomy(const hvlog__clock *clock, uint64_t t0,
							 const hvlog__fmt *f, const struct fmt_event *fe,
							 const hvlog_item *it, char *buf)
{
	char *p = text_event_roomy(buf, f, fe, it, hvlog__clock_ns(clock, it->ts, t0));

	memcpy(p, "\n", 2); /* and the NUL */
	return (size_t)(p + 1 - buf);
}

/* The JSON line of an event by json_event_roomy (fe: roomy_event
 * with the room line_start leaves), then its end; one copy for the
 * default dialect, one for decode's old one, one for the rest. */
static ALWAYS_INLINE size_t json_line_roomy(const hvlog__clock *clock, uint64_t t0, const hvlog__fmt *f,
					     const struct fmt_event *fe, const hvlog_item *it, char *buf,
					     unsigned flags)
{
	uint64_t ns = hvlog__clock_ns(clock, it->ts, t0);
	char *p;

	if (flags == 0)
		p = json_event_roomy(buf, f, fe, it, ns, 0, NULL, NULL, NULL);
	else if (flags == HVLOG_FMT_JSON_DECODE_V1)
		p = json_event_roomy(buf, f, fe, it, ns, HVLOG_FMT_JSON_DECODE_V1, NULL, NULL, NULL);
	else
		p = json_event_roomy(buf, f, fe, it, ns, flags, NULL, NULL, NULL);
	memcpy(p, "\n", 2); /* and the NUL */
	return (size_t)(p + 1 - buf);
}

/* json_line_roomy with a time mode (m: the metadata, for the wall-clock
 * time): one copy for every dialect. */
static __attribute__((noinline)) size_t json_line_mode(const hvlog__clock *clock, const hvlog_meta *m,
							uint64_t t0, const hvlog__fmt *f, const struct fmt_event *fe,
							const hvlog_item *it, char *buf, unsigned flags,
							const struct time_mode *tm)
{
	char *p = json_event_roomy(buf, f, fe, it, hvlog__clock_ns(clock, it->ts, t0), flags, tm, m, clock);

	memcpy(p, "\n", 2); /* and the NUL */
	return (size_t)(p + 1 - buf);
}

/* hvlog_format_item but for text_line_roomy's lines. */
static __attribute__((noinline)) size_t format_item(const hvlog_meta *m, const hvlog__fmt *f, const hvlog_item *it,
						    hvlog_format_kind kind, uint64_t t0, char *buf, size_t cap)
{
	struct out o;

	if (cap < 2) {
		if (cap)
			*buf = 0;
		return 0;
	}
	o = line_start(buf, cap, 1);
	if (kind == HVLOG_FORMAT_JSON)
		json_item_v1(&o, m, f, it, t0);
	else
		text_item(&o, m, f, it, t0);
	return line_end(&o, buf, "\n", 1);
}

size_t hvlog_format_item(const hvlog_meta *m, const hvlog_item *it, hvlog_format_kind kind, uint64_t t0,
			 char *buf, size_t cap)
{
	const hvlog__fmt *f = tables_of(m);
	const struct fmt_event *fe;

	if (cap >= 2 && f && f->clock.hz == m->clock_hz) {
		if (kind != HVLOG_FORMAT_JSON && (fe = roomy_event(f, it, cap - 2, 0)))
			return text_line_roomy(&f->clock, t0, f, fe, it, buf);
		if (kind == HVLOG_FORMAT_JSON && (fe = roomy_event(f, it, cap - 2, 1)))
			return json_line_roomy(&f->clock, t0, f, fe, it, buf, HVLOG_FMT_JSON_DECODE_V1);
	}
	return format_item(m, f, it, kind, t0, buf, cap);
}

/* ---- the formatter object ---------------------------------------------------- */

void *hvlog__fmt_alloc(void *ctx, size_t size)
{
	hvlog_formatter *f = ctx;
	struct fmt_block *b = calloc(1, sizeof *b + size);

	if (!b)
		return NULL;
	b->next = f->blocks;
	f->blocks = b;
	return b->data;
}

/* The coloured event columns of every schema event (tables for the text
 * line with HVLOG_FMT_COLOR). */
static int color_heads_build(hvlog_formatter *f)
{
	const hvlog_schema *s = f->m->schema;
	struct arena a = { NULL, 0, hvlog__fmt_alloc, f };
	struct piece *heads = hvlog__fmt_alloc(f, (s->nevents + 1) * sizeof *heads);
	char buf[PIECE_MAX];
	struct out o;

	if (!heads)
		return 0;
	for (uint32_t e = 0; e < s->nevents; e++) {
		SCRATCH(o, buf);
		text_event_piece_color(&o, f->m, &s->events[e]);
		if (!hvlog__fmt_keep(&a, &heads[e], buf, &o))
			return 0;
	}
	f->color_heads = heads;
	return 1;
}

/* A name of m longer than a reader allows (only a hand-built hvlog_meta
 * has one), or an event with more parameters: what the formatter's
 * pieces and hvlog_formatter_item_max are sized by.  NULL if none. */
static const char *too_large(const hvlog_meta *m)
{
	const hvlog_schema *s = m->schema;
#define LONG(name) ((name) && strnlen(name, HVLOG_MAX_NAME + 1) > HVLOG_MAX_NAME)

	for (uint32_t i = 0; i < m->nstreams; i++)
		if (LONG(m->streams[i].name))
			return "a stream name";
	for (uint32_t i = 0; i < s->ngroups; i++)
		if (LONG(s->groups[i].alias))
			return "a group alias";
	for (uint32_t i = 0; i < s->nvaltabs; i++)
		for (uint32_t j = 0; j < s->valtabs[i].nvalues; j++)
			if (LONG(s->valtabs[i].values[j].name))
				return "a value name";
	for (uint32_t e = 0; e < s->nevents; e++) {
		if (LONG(s->events[e].symbol))
			return "an event symbol";
		if (s->events[e].nparams > HVLOG_MAX_PARAMS)
			return "an event's parameter count";
		for (uint32_t i = 0; i < s->events[e].nparams; i++)
			if (LONG(s->events[e].params[i].key))
				return "a parameter key";
	}
#undef LONG
	return NULL;
}

/* The flags each kind takes. */
static const unsigned kind_flags[] = {
	[HVLOG_FORMAT_TEXT] = HVLOG_FMT_COLOR,
	[HVLOG_FORMAT_JSON] = HVLOG_FMT_OFFSETS | HVLOG_FMT_JSON_INTEGERS | HVLOG_FMT_JSON_DECODE_V1,
	[HVLOG_FORMAT_CSV] = 0,
	[HVLOG_FORMAT_CBOR] = HVLOG_FMT_OFFSETS,
};

static const char *const kind_names[] = { "text", "JSON", "CSV", "CBOR" };

hvlog_status hvlog_formatter_create(hvlog_formatter **out, const hvlog_meta *m, const hvlog_formatter_config *cfg,
				    hvlog_error *err)
{
	hvlog_formatter *f;
	const char *what;
	int ok = 1;
	/* the time mode in its own bits, for every kind */
	unsigned flags = cfg->flags & ~HVLOG_FMT_TIME_MASK;
	unsigned time = (cfg->flags & HVLOG_FMT_TIME_MASK) >> HVLOG_FMT_TIME_SHIFT;

	*out = NULL;
	if ((unsigned)cfg->kind >= sizeof kind_flags / sizeof kind_flags[0])
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "unknown format kind %u", (unsigned)cfg->kind);
	if (flags & ~kind_flags[cfg->kind])
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "format flags 0x%x do not apply to %s",
				   flags & ~kind_flags[cfg->kind], kind_names[cfg->kind]);
	if (!m->clock_hz)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "the metadata's clock rate is 0");
	if (time > HVLOG_TIME_DELTA)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX, "unknown time mode %u", time);
	if (time == HVLOG_TIME_ABSOLUTE && !m->clock_epoch_ns)
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "the trace's clock epoch is unknown (clock '%s' has epoch_ns 0), so its times "
				   "cannot be shown as wall-clock time",
				   m->clock_name ? m->clock_name : "");
	if ((what = too_large(m)))
		return hvlog__fail(err, HVLOG_INVALID, UINT64_MAX,
				   "%s in the metadata is over the limit (%d bytes, %d parameters)", what,
				   HVLOG_MAX_NAME, HVLOG_MAX_PARAMS);
	if (!(f = calloc(1, sizeof *f)))
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory for a formatter");
	*f = (hvlog_formatter){ .m = m, .tab = tables_of(m), .kind = cfg->kind, .flags = flags,
				.t0 = cfg->t0, .item_max = HVLOG_FORMAT_MAX };
	hvlog__clock_init(&f->clock, m->clock_hz);
	/* outside text, TICKS writes what RELATIVE does: time_ns and ts are
	 * always there */
	f->time = time == HVLOG_TIME_TICKS && f->kind != HVLOG_FORMAT_TEXT ? HVLOG_TIME_RELATIVE : (hvlog_time_mode)time;
	switch (f->kind) {
	case HVLOG_FORMAT_TEXT:
		/* the coloured columns go with the metadata's tables */
		if ((f->flags & HVLOG_FMT_COLOR) && f->tab)
			ok = color_heads_build(f);
		break;
	case HVLOG_FORMAT_JSON:
		/* (decode's old dialect had no meta item) */
		ok = (f->flags & HVLOG_FMT_JSON_DECODE_V1) || hvlog__meta_item(f);
		break;
	case HVLOG_FORMAT_CSV:
		ok = hvlog__csv_build(f, cfg->events);
		break;
	case HVLOG_FORMAT_CBOR:
		ok = hvlog__cbor_build(f) && hvlog__meta_item(f);
		break;
	}
	if (!ok) {
		hvlog_formatter_free(f);
		return hvlog__fail(err, HVLOG_NOMEM, UINT64_MAX, "out of memory for a formatter's tables");
	}
	*out = f;
	return HVLOG_OK;
}

const char *hvlog_formatter_header(const hvlog_formatter *f, size_t *len)
{
	*len = f->header_len;
	return f->header ? f->header : "";
}

size_t hvlog_formatter_item_max(const hvlog_formatter *f)
{
	return f->item_max;
}

/* json_line_roomy for formatter F: out of line, in as few arguments as
 * a tail call from the entry points takes. */
static __attribute__((noinline)) size_t json_line_of(const hvlog_formatter *F, const struct fmt_event *fe,
						      const hvlog_item *it, char *buf)
{
	return json_line_roomy(&F->clock, F->t0, F->tab, fe, it, buf, F->flags);
}

/* The tables of an item of f for json_line_roomy, or NULL. */
static inline const struct fmt_event *json_roomy_item(const hvlog_formatter *f, const hvlog_item *it, size_t cap)
{
	if (f->kind != HVLOG_FORMAT_JSON || cap < 2)
		return NULL;
	return roomy_event(f->tab, it, cap - 2, 1);
}

/* An item with a time mode (f->time not RELATIVE): apart from the default
 * lines' path, which pays nothing for the modes. */
static __attribute__((noinline)) size_t item_mode(const hvlog_formatter *f, const hvlog_item *it, uint64_t prev,
						  char *buf, size_t cap)
{
	const struct time_mode tm = { f->time, prev };
	const struct fmt_event *fe;
	struct out o;

	if (f->kind == HVLOG_FORMAT_CBOR)
		return hvlog__cbor_item(f, it, f->time, prev, buf, cap);
	if ((fe = json_roomy_item(f, it, cap)))
		return json_line_mode(&f->clock, f->m, f->t0, f->tab, fe, it, buf, f->flags, &tm);
	if (cap < (f->kind == HVLOG_FORMAT_CSV ? 3u : 2u)) {
		if (cap)
			*buf = 0;
		return 0;
	}
	switch (f->kind) {
	case HVLOG_FORMAT_CSV:
		o = line_start(buf, cap, 2);
		hvlog__csv_item(f, &o, it, prev);
		return line_end(&o, buf, "\r\n", 2);
	case HVLOG_FORMAT_JSON:
		o = line_start(buf, cap, 1);
		json_item(&o, f->m, f->tab, it, f->t0, f->flags, &tm);
		break;
	default:
		o = line_start(buf, cap, 1);
		if (f->flags & HVLOG_FMT_COLOR)
			text_item_color(&o, f->m, f->tab, it, f->t0, f->color_heads, &tm);
		else
			text_item_mode(&o, f->m, f->tab, it, f->t0, &tm);
		break;
	}
	return line_end(&o, buf, "\n", 1);
}

/* An item without a time mode, but for text_line_roomy's (out of line:
 * the entry points then set up nothing for the common text line). */
static __attribute__((noinline)) size_t item_plain(const hvlog_formatter *f, const hvlog_item *it, char *buf,
						   size_t cap)
{
	struct out o;

	if (f->kind == HVLOG_FORMAT_CBOR)
		return hvlog__cbor_item(f, it, HVLOG_TIME_RELATIVE, 0, buf, cap);
	if (cap < (f->kind == HVLOG_FORMAT_CSV ? 3u : 2u)) { /* not even the line end and NUL */
		if (cap)
			*buf = 0;
		return 0;
	}
	switch (f->kind) {
	case HVLOG_FORMAT_CSV:
		o = line_start(buf, cap, 2);
		hvlog__csv_item(f, &o, it, 0);
		return line_end(&o, buf, "\r\n", 2);
	case HVLOG_FORMAT_JSON:
		o = line_start(buf, cap, 1);
		if (f->flags == HVLOG_FMT_JSON_DECODE_V1)
			json_item_v1(&o, f->m, f->tab, it, f->t0);
		else
			json_item(&o, f->m, f->tab, it, f->t0, f->flags, NULL);
		break;
	default:
		o = line_start(buf, cap, 1);
		if (f->flags & HVLOG_FMT_COLOR)
			text_item_color(&o, f->m, f->tab, it, f->t0, f->color_heads, NULL);
		else
			text_item(&o, f->m, f->tab, it, f->t0);
		break;
	}
	return line_end(&o, buf, "\n", 1);
}

/* The tables of an item of f for text_line_roomy, or NULL. */
static inline const struct fmt_event *roomy_item(const hvlog_formatter *f, const hvlog_item *it, size_t cap)
{
	if (f->kind != HVLOG_FORMAT_TEXT || f->flags || cap < 2)
		return NULL;
	return roomy_event(f->tab, it, cap - 2, 0); /* the room line_start leaves */
}

size_t hvlog_formatter_item(const hvlog_formatter *f, const hvlog_item *it, char *buf, size_t cap)
{
	const struct fmt_event *fe;

	if (HVLOG_UNLIKELY(f->time))
		return item_mode(f, it, f->t0, buf, cap);
	if ((fe = roomy_item(f, it, cap)))
		return text_line_roomy(&f->clock, f->t0, f->tab, fe, it, buf);
	if (f->kind == HVLOG_FORMAT_JSON && (fe = json_roomy_item(f, it, cap)))
		return json_line_of(f, fe, it, buf);
	return item_plain(f, it, buf, cap);
}

size_t hvlog_formatter_item_since(const hvlog_formatter *f, const hvlog_item *it, uint64_t prev, char *buf,
				  size_t cap)
{
	const struct fmt_event *fe;

	if (HVLOG_UNLIKELY(f->time))
		return item_mode(f, it, prev, buf, cap);
	if ((fe = roomy_item(f, it, cap)))
		return text_line_roomy(&f->clock, f->t0, f->tab, fe, it, buf);
	if (f->kind == HVLOG_FORMAT_JSON && (fe = json_roomy_item(f, it, cap)))
		return json_line_of(f, fe, it, buf);
	return item_plain(f, it, buf, cap);
}

void hvlog_formatter_free(hvlog_formatter *f)
{
	if (!f)
		return;
	for (struct fmt_block *b = f->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(f->header);
	free(f);
}

/* ---- building the tables ---------------------------------------------------- */

#define ARENA_BLOCK 16384

int hvlog__fmt_keep(struct arena *a, struct piece *pc, const char *scratch, const struct out *o)
{
	size_t n = (size_t)(o->p - scratch);

	if (n + PIECE_SLACK > a->left) {
		size_t size = n + PIECE_SLACK > ARENA_BLOCK ? n + PIECE_SLACK : ARENA_BLOCK;
		if (!(a->p = a->alloc(a->ctx, size)))
			return 0;
		a->left = size;
	}
	memcpy(a->p, scratch, n);
	*pc = (struct piece){ a->p, (uint32_t)n };
	a->p += n;
	a->left -= n;
	return 1;
}

#define keep hvlog__fmt_keep

/* The hash's size for t: the bits of its slot numbers. */
static unsigned valtab_hash_bits(const hvlog_valtab *t)
{
	unsigned bits = 1;

	while ((1ull << bits) < 2ull * t->nvalues)
		bits++;
	return bits;
}

/* The hash of a value table's values in the (zeroed) slots given, as many
 * as valtab_hash_bits says.  A value that comes again keeps its first
 * index, as the table's search finds. */
static void valtab_hash(const hvlog_valtab *t, struct fmt_valtab *vt, struct name_slot *slots)
{
	unsigned bits = valtab_hash_bits(t);

	vt->slots = slots;
	vt->mask = (1ull << bits) - 1;
	vt->shift = 64 - bits;
	for (uint32_t j = 0; j < t->nvalues; j++) {
		uint64_t h = (t->values[j].value * NAME_HASH) >> vt->shift;
		if (fmt_valtab_index(vt, t->values[j].value) >= 0)
			continue;
		while (slots[h].k1)
			h = (h + 1) & vt->mask;
		slots[h] = (struct name_slot){ t->values[j].value, j + 1 };
	}
}

/* The names of a value table, as text and as JSON strings. */
static int valtab_tables(struct arena *a, const hvlog_valtab *t, struct piece *text, struct piece *json)
{
	char buf[PIECE_MAX];
	struct out o;

	for (uint32_t j = 0; j < t->nvalues; j++) {
		SCRATCH(o, buf);
		put_name(&o, t->values[j].name);
		if (!keep(a, &text[j], buf, &o))
			return 0;
		SCRATCH(o, buf);
		put_json_str(&o, t->values[j].name);
		if (!keep(a, &json[j], buf, &o))
			return 0;
	}
	return 1;
}

/* The most bytes a value of parameter p takes in text_event_roomy (hex
 * writes HVLOG_HEX_MAX, whatever its digits), and how it writes it; 0 if
 * it would not write what text_value does. */
static size_t text_kind_of(const hvlog_param *p, struct fmt_param *fp)
{
	size_t most = HVLOG_HEX_MAX;

	switch (p->display) {
	case HVLOG_DISPLAY_DEC:
		fp->text_kind = TEXT_DEC;
		return HVLOG_DEC_MAX;
	case HVLOG_DISPLAY_BOOL:
		fp->text_kind = TEXT_BOOL;
		return 5;
	case HVLOG_DISPLAY_ENUM:
		fp->text_kind = TEXT_HEX; /* without a table, or a table from elsewhere (0) */
		if (!fp->names)
			return p->values ? 0 : HVLOG_HEX_MAX;
		fp->text_kind = TEXT_NAMES;
		for (uint32_t j = 0; j < p->values->nvalues; j++)
			if (fp->names->text[j].n > most)
				most = fp->names->text[j].n;
		return most;
	default:
		fp->text_kind = TEXT_HEX;
		return HVLOG_HEX_MAX;
	}
}

/* The longest time column (seconds of UINT64_MAX ns, the point, nine
 * decimals and a space). */
#define TIME_COLUMN_MAX 22

/* The most bytes json_event_roomy writes for a number (a decimal
 * string) and for the head of a line, with what it copies past it. */
#define JSON_NUM_MAX (HVLOG_DEC_MAX + 2)
#define JSON_HEAD_MAX 32
/* ,"time_utc":"..." or ,"delta_ns":N */
#define JSON_MODE_MAX (sizeof ",\"time_utc\":\"\"" + HVLOG__UTC_LEN)

/* How json_event_roomy writes a value of parameter p (as json_value). */
static enum json_kind json_kind_of(const hvlog_param *p)
{
	if (p->display == HVLOG_DISPLAY_BOOL || p->type == HVLOG_TYPE_BOOL)
		return JSON_BOOL;
	return p->display == HVLOG_DISPLAY_HEX ? JSON_HEX : JSON_DEC;
}

static int event_tables_build(struct arena *a, const hvlog_meta *m, const hvlog_event *ev, struct fmt_event *fe,
			      struct fmt_param *fps, const struct fmt_valtab *vts, size_t stream_most,
			      size_t json_stream_most)
{
	size_t room = TIME_COLUMN_MAX + stream_most + PIECE_SLACK;
	/* the head, time_ns, ts, a time mode's field, stream and offset; the
	 * closing braces of params, names and the line, and the names' key */
	size_t json_room = JSON_HEAD_MAX + 3 * JSON_NUM_MAX + sizeof ",\"ts\":" + JSON_MODE_MAX + json_stream_most +
			   3 + sizeof ",\"names\":{" + PIECE_SLACK;
	const hvlog_schema *s = m->schema;
	char buf[PIECE_MAX];
	struct out o;
	size_t most;

	SCRATCH(o, buf);
	text_event_piece(&o, m, ev);
	if (!keep(a, &fe->text_head, buf, &o))
		return 0;
	SCRATCH(o, buf);
	json_event_piece(&o, m, ev);
	if (!keep(a, &fe->json_head, buf, &o))
		return 0;
	for (uint32_t i = 0; i < ev->nparams; i++) {
		const hvlog_param *p = &ev->params[i];
		uintptr_t vt = (uintptr_t)p->values - (uintptr_t)s->valtabs;
		SCRATCH(o, buf);
		text_key_piece(&o, p);
		if (!keep(a, &fps[i].text_key, buf, &o))
			return 0;
		SCRATCH(o, buf);
		json_key_piece(&o, p, 1);
		if (!keep(a, &fps[i].json_key, buf, &o))
			return 0;
		if (p->values && vt < (uintptr_t)s->nvaltabs * sizeof *p->values && vt % sizeof *p->values == 0)
			fps[i].names = &vts[vt / sizeof *p->values];
		most = text_kind_of(p, &fps[i]);
		room = most && room ? room + fps[i].text_key.n + most : 0;
		fps[i].json_kind = json_kind_of(p);
		/* the key twice (params and names), the value, its name */
		most = 0;
		if (fps[i].names)
			for (uint32_t j = 0; j < p->values->nvalues; j++)
				if (fps[i].names->json[j].n > most)
					most = fps[i].names->json[j].n;
		/* (values without the tables' names: only json_item_ looks them up) */
		if (p->values && !fps[i].names)
			json_room = 0;
		json_room = json_room ? json_room + 2 * fps[i].json_key.n + JSON_NUM_MAX + most : 0;
	}
	fe->params = fps;
	fe->text_room = room ? (uint32_t)(room + fe->text_head.n) : 0;
	fe->json_room = json_room && ev->nparams <= HVLOG_MAX_PARAMS ? (uint32_t)(json_room + fe->json_head.n) : 0;
	return 1;
}

const hvlog__fmt *hvlog__fmt_build(const hvlog_meta *m, void *(*alloc)(void *ctx, size_t size), void *ctx)
{
	const hvlog_schema *s = m->schema;
	struct arena a = { NULL, 0, alloc, ctx };
	hvlog__fmt *f = alloc(ctx, sizeof *f);
	struct piece *text_streams = alloc(ctx, m->nstreams * sizeof *text_streams);
	struct piece *json_streams = alloc(ctx, m->nstreams * sizeof *json_streams);
	struct fmt_event *events = alloc(ctx, s->nevents * sizeof *events);
	struct fmt_valtab *vts = alloc(ctx, s->nvaltabs * sizeof *vts);
	struct fmt_param *params;
	struct piece *names;
	struct name_slot *slots;
	size_t nparams = 0, nnames = 0, nslots = 0, stream_most = 0, json_stream_most = 0;
	char buf[PIECE_MAX];
	struct out o;

	for (uint32_t i = 0; i < s->nevents; i++)
		nparams += s->events[i].nparams;
	for (uint32_t i = 0; i < s->nvaltabs; i++) {
		nnames += s->valtabs[i].nvalues;
		nslots += (size_t)1 << valtab_hash_bits(&s->valtabs[i]);
	}
	if (!f || !text_streams || !json_streams || !events || !vts ||
	    !(params = alloc(ctx, nparams * sizeof *params)) || !(names = alloc(ctx, 2 * nnames * sizeof *names)) ||
	    !(slots = alloc(ctx, nslots * sizeof *slots)))
		return NULL;
	for (uint32_t i = 0; i < m->nstreams; i++) {
		SCRATCH(o, buf);
		text_stream_piece(&o, m, i);
		if (!keep(&a, &text_streams[i], buf, &o))
			return NULL;
		if (text_streams[i].n > stream_most)
			stream_most = text_streams[i].n;
		SCRATCH(o, buf);
		json_stream_piece(&o, m, i, 1);
		if (!keep(&a, &json_streams[i], buf, &o))
			return NULL;
		if (json_streams[i].n > json_stream_most)
			json_stream_most = json_streams[i].n;
	}
	for (uint32_t i = 0; i < s->nvaltabs; i++) {
		struct piece *text = names, *json = names + s->valtabs[i].nvalues;
		names += 2 * s->valtabs[i].nvalues;
		if (!valtab_tables(&a, &s->valtabs[i], text, json))
			return NULL;
		valtab_hash(&s->valtabs[i], &vts[i], slots);
		slots += (size_t)1 << valtab_hash_bits(&s->valtabs[i]);
		vts[i].text = text;
		vts[i].json = json;
	}
	for (uint32_t i = 0; i < s->nevents; i++) {
		if (!event_tables_build(&a, m, &s->events[i], &events[i], params, vts, stream_most, json_stream_most))
			return NULL;
		params += s->events[i].nparams;
	}
	f->schema = s;
	f->streams = m->streams;
	f->nstreams = m->nstreams;
	f->text_streams = text_streams;
	f->json_streams = json_streams;
	f->schema_events = s->events;
	f->events_size = s->nevents * sizeof *s->events;
	f->events = events;
	hvlog__clock_init(&f->clock, m->clock_hz);
	return f;
}
