/* SPDX-License-Identifier: MIT */
/*
 * check_fmt.c - the checker's signal-safe printf subset (see check_fmt.h).
 */
#include "check_fmt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* An output cursor that silently drops what does not fit. */
struct fmt_out {
	char *buf;
	size_t size;	/* room for size - 1 characters and the NUL */
	size_t len;
};

static inline void out_char(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void out_repeat(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

static void out_mem(struct fmt_out *o, const char *s, size_t n)
{
	size_t room = o->size - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

struct fmt_spec {
	bool left, zero, alt, plus, space;
	int width;	/* -1: none */
	int prec;	/* -1: none */
};

/* Render @s honouring width, precision and '-'. */
static void out_str(struct fmt_out *o, const struct fmt_spec *sp, const char *s)
{
	size_t n;
	int pad;

	if (!s)
		s = "(null)";
	n = sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s);
	pad = sp->width > (int)n ? sp->width - (int)n : 0;
	if (!sp->left)
		out_repeat(o, ' ', pad);
	out_mem(o, s, n);
	if (sp->left)
		out_repeat(o, ' ', pad);
}

/*
 * Render an integer: @neg and the magnitude @v, in @base, with the sign,
 * prefix, precision (minimum digits) and padding rules of printf.
 */
static void out_int(struct fmt_out *o, const struct fmt_spec *sp, unsigned long long v,
		    bool neg, unsigned int base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int nd = 0, zeros, pad, plen = prefix ? (int)strlen(prefix) : 0;
	char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;

	/*
	 * printf prints no digit for a zero value with precision 0.  Constant
	 * divisors per base: a division by a variable costs tens of cycles per
	 * digit, by a constant a multiplication or a shift.
	 */
	if (!(v == 0 && sp->prec == 0)) {
		switch (base) {
		case 10:
			do {
				tmp[nd++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			break;
		case 16:
			do {
				tmp[nd++] = digits[v & 15];
				v >>= 4;
			} while (v);
			break;
		default:
			do {
				tmp[nd++] = digits[v & 7];
				v >>= 3;
			} while (v);
			break;
		}
	}
	zeros = sp->prec > nd ? sp->prec - nd : 0;
	pad = sp->width - (nd + zeros + plen + (sign ? 1 : 0));
	if (pad < 0)
		pad = 0;
	/* '0' pads between the sign/prefix and the digits, unless a precision is given. */
	if (sp->zero && !sp->left && sp->prec < 0) {
		zeros += pad;
		pad = 0;
	}
	if (!sp->left)
		out_repeat(o, ' ', pad);
	if (sign)
		out_char(o, sign);
	if (plen)
		out_mem(o, prefix, (size_t)plen);
	out_repeat(o, '0', zeros);
	while (nd > 0)
		out_char(o, tmp[--nd]);
	if (sp->left)
		out_repeat(o, ' ', pad);
}

enum fmt_len { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

static long long get_signed(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_HH:
		return (signed char)va_arg(*ap, int);
	case LEN_H:
		return (short)va_arg(*ap, int);
	case LEN_L:
		return va_arg(*ap, long);
	case LEN_LL:
		return va_arg(*ap, long long);
	case LEN_Z:
		return (long long)va_arg(*ap, ssize_t);
	case LEN_J:
		return va_arg(*ap, intmax_t);
	case LEN_T:
		return va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, int);
	}
}

static unsigned long long get_unsigned(va_list *ap, enum fmt_len len)
{
	switch (len) {
	case LEN_HH:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:
		return va_arg(*ap, unsigned long);
	case LEN_LL:
		return va_arg(*ap, unsigned long long);
	case LEN_Z:
		return va_arg(*ap, size_t);
	case LEN_J:
		return va_arg(*ap, uintmax_t);
	case LEN_T:
		return (unsigned long long)va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

/*
 * The renderer proper.  Returns false at a conversion it does not handle; the
 * caller then starts over with vsnprintf().  @ap is a pointer so the va_list
 * can be consumed across the functions that read it, portably.  One function
 * of about 140 lines, because every trace event of the sim is formatted here:
 * split into a spec parser and a conversion function (even forced inline), a
 * `kvtorture sim` run executed 3 % more instructions (callgrind).
 */
static bool render(struct fmt_out *o, const char *f, va_list *ap)
{
	while (*f) {
		struct fmt_spec sp = { .width = -1, .prec = -1 };
		enum fmt_len len = LEN_NONE;

		if (*f != '%') {
			const char *start = f;

			while (*f && *f != '%')
				f++;
			out_mem(o, start, (size_t)(f - start));
			continue;
		}
		f++;
		for (;; f++) {
			if (*f == '-')
				sp.left = true;
			else if (*f == '0')
				sp.zero = true;
			else if (*f == '#')
				sp.alt = true;
			else if (*f == '+')
				sp.plus = true;
			else if (*f == ' ')
				sp.space = true;
			else
				break;
		}
		if (*f == '*') {
			sp.width = va_arg(*ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				sp.width = (sp.width < 0 ? 0 : sp.width * 10) + (*f++ - '0');
		}
		if (*f == '.') {
			f++;
			sp.prec = 0;
			if (*f == '*') {
				sp.prec = va_arg(*ap, int);
				if (sp.prec < 0)
					sp.prec = -1;
				f++;
			} else {
				while (*f >= '0' && *f <= '9')
					sp.prec = sp.prec * 10 + (*f++ - '0');
			}
		}
		switch (*f) {
		case 'h':
			len = f[1] == 'h' ? LEN_HH : LEN_H;
			f += len == LEN_HH ? 2 : 1;
			break;
		case 'l':
			len = f[1] == 'l' ? LEN_LL : LEN_L;
			f += len == LEN_LL ? 2 : 1;
			break;
		case 'z':
			len = LEN_Z;
			f++;
			break;
		case 'j':
			len = LEN_J;
			f++;
			break;
		case 't':
			len = LEN_T;
			f++;
			break;
		default:
			break;
		}
		switch (*f) {
		case 'd':
		case 'i': {
			long long v = get_signed(ap, len);
			unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v
						       : (unsigned long long)v;

			out_int(o, &sp, mag, v < 0, 10, false, NULL);
			break;
		}
		case 'u':
			out_int(o, &sp, get_unsigned(ap, len), false, 10, false, NULL);
			break;
		case 'x':
		case 'X': {
			unsigned long long v = get_unsigned(ap, len);

			out_int(o, &sp, v, false, 16, *f == 'X',
				sp.alt && v ? (*f == 'X' ? "0X" : "0x") : NULL);
			break;
		}
		case 'o': {
			unsigned long long v = get_unsigned(ap, len);

			out_int(o, &sp, v, false, 8, false, sp.alt && v ? "0" : NULL);
			break;
		}
		case 'p': {
			const void *p = va_arg(*ap, const void *);

			sp.plus = sp.space = false;
			if (!p)
				out_str(o, &(struct fmt_spec){ .left = sp.left, .width = sp.width,
							       .prec = -1 }, "(nil)");
			else
				out_int(o, &sp, (uintptr_t)p, false, 16, false, "0x");
			break;
		}
		case 's':
			if (len != LEN_NONE)
				return false;	/* %ls: wide strings */
			out_str(o, &sp, va_arg(*ap, const char *));
			break;
		case 'c': {
			char c[2] = { (char)va_arg(*ap, int), 0 };

			if (len != LEN_NONE)
				return false;
			/* A NUL character would end the string early: it is dropped. */
			sp.prec = 1;
			out_str(o, &sp, c);
			break;
		}
		case '%':
			out_char(o, '%');
			break;
		default:
			return false;
		}
		f++;
	}
	return true;
}

size_t check_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size, .len = 0 };
	va_list mine, again;
	bool ok;

	if (!size)
		return 0;
	va_copy(mine, ap);
	va_copy(again, ap);
	ok = render(&o, fmt, &mine);
	va_end(mine);
	if (ok) {
		buf[o.len] = 0;
	} else {
		int n = vsnprintf(buf, size, fmt, again);

		o.len = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
		buf[o.len] = 0;
	}
	va_end(again);
	return o.len;
}

size_t check_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = check_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- formats recorded as words ------------------------------------------------ */

/* One conversion specification, "%" up to and including its conversion. */
struct fmt_conv {
	const char *end;	/* past the conversion character */
	char conv;		/* 'd', 's', '%', ...; 0 when the format ends inside */
	enum fmt_len len;
	unsigned int stars;	/* '*' widths and precisions: int words before the value */
};

/* Scan the specification that starts at @f (a '%'). */
static void scan_conv(const char *f, struct fmt_conv *c)
{
	c->stars = 0;
	c->len = LEN_NONE;
	f++;
	while (*f == '-' || *f == '0' || *f == '#' || *f == '+' || *f == ' ')
		f++;
	if (*f == '*') {
		c->stars++;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		f++;
	if (*f == '.') {
		f++;
		if (*f == '*') {
			c->stars++;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			f++;
	}
	switch (*f) {
	case 'h':
		c->len = f[1] == 'h' ? LEN_HH : LEN_H;
		f += c->len == LEN_HH ? 2 : 1;
		break;
	case 'l':
		c->len = f[1] == 'l' ? LEN_LL : LEN_L;
		f += c->len == LEN_LL ? 2 : 1;
		break;
	case 'z':
		c->len = LEN_Z;
		f++;
		break;
	case 'j':
		c->len = LEN_J;
		f++;
		break;
	case 't':
		c->len = LEN_T;
		f++;
		break;
	default:
		break;
	}
	c->conv = *f;
	c->end = *f ? f + 1 : f;
}

unsigned int check_fmt_args(const char *fmt, uint32_t *strs)
{
	unsigned int n = 0;
	struct fmt_conv c;

	*strs = 0;
	for (const char *f = fmt; *f;) {
		if (*f != '%') {
			f++;
			continue;
		}
		scan_conv(f, &c);
		f = c.end;
		if (c.conv == '%' || !c.conv)
			continue;
		n += c.stars;
		if (c.conv == 's' && n < 32)
			*strs |= 1u << n;
		n++;
	}
	return n;
}

/* Render one value of conversion @c with the specification @spec. */
static size_t render_word(char *buf, size_t size, const char *spec, const struct fmt_conv *c,
			  uint64_t w)
{
	switch (c->conv) {
	case 'd':
	case 'i':
		switch (c->len) {
		case LEN_L:
			return check_fmt(buf, size, spec, (long)w);
		case LEN_LL:
			return check_fmt(buf, size, spec, (long long)w);
		case LEN_Z:
			return check_fmt(buf, size, spec, (ssize_t)w);
		case LEN_J:
			return check_fmt(buf, size, spec, (intmax_t)w);
		case LEN_T:
			return check_fmt(buf, size, spec, (ptrdiff_t)w);
		default:
			return check_fmt(buf, size, spec, (int)w);
		}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		switch (c->len) {
		case LEN_L:
			return check_fmt(buf, size, spec, (unsigned long)w);
		case LEN_LL:
			return check_fmt(buf, size, spec, (unsigned long long)w);
		case LEN_Z:
			return check_fmt(buf, size, spec, (size_t)w);
		case LEN_J:
			return check_fmt(buf, size, spec, (uintmax_t)w);
		case LEN_T:
			return check_fmt(buf, size, spec, (ptrdiff_t)w);
		default:
			return check_fmt(buf, size, spec, (unsigned int)w);
		}
	case 'c':
		return check_fmt(buf, size, spec, (int)w);
	case 's':
		return check_fmt(buf, size, spec, (const char *)(uintptr_t)w);
	case 'p':
		return check_fmt(buf, size, spec, (void *)(uintptr_t)w);
	default:
		return check_fmt(buf, size, "?");
	}
}

size_t check_fmt_words(char *buf, size_t size, const char *fmt, const uint64_t *words,
		       unsigned int nwords)
{
	struct fmt_out o = { .buf = buf, .size = size, .len = 0 };
	unsigned int i = 0;
	struct fmt_conv c;

	if (!size)
		return 0;
	for (const char *f = fmt; *f && o.len + 1 < size;) {
		/* A specification with its '*'s replaced by their values. */
		char spec[48];
		size_t sl = 0;

		if (*f != '%') {
			const char *start = f;

			while (*f && *f != '%')
				f++;
			out_mem(&o, start, (size_t)(f - start));
			continue;
		}
		scan_conv(f, &c);
		if (c.conv == '%') {
			out_char(&o, '%');
			f = c.end;
			continue;
		}
		if (!c.conv)
			break;
		for (; f < c.end && sl + 12 < sizeof(spec); f++) {
			if (*f == '*') {
				int v = (int)(i < nwords ? words[i] : 0);

				i++;
				/* A negative precision is no precision, as in printf. */
				if (v < 0 && sl && spec[sl - 1] == '.')
					sl--;
				else
					sl += check_fmt(spec + sl, sizeof(spec) - sl, "%d", v);
			} else {
				spec[sl++] = *f;
			}
		}
		spec[sl] = 0;
		f = c.end;
		o.len += render_word(o.buf + o.len, o.size - o.len, spec, &c,
				     i < nwords ? words[i] : 0);
		i++;
	}
	buf[o.len] = 0;
	return o.len;
}
