/* Formatted output of the core runtime: a small vsnprintf, panic and the
 * moat_log diagnostic stream. Everything goes to the host through
 * plat_io_write (stream 2); no libc. */
#include "moat/moat.h"
#include "moat/platform.h"
#include "rt.h"

struct out {
  char *buf;
  size_t size;
  size_t len; /* what the full output would need */
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->size)
    o->buf[o->len] = c;
  o->len++;
}

static void put_padding(struct out *o, char c, int n) {
  while (n-- > 0)
    put(o, c);
}

static void put_number(struct out *o, uint64_t v, bool negative, unsigned base,
                       bool upper, int width, bool zero, bool left,
                       const char *prefix) {
  char digits[24];
  const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    digits[n++] = set[v % base];
    v /= base;
  } while (v);
  int plen = prefix ? (int)rt_strlen(prefix) : 0;
  int total = n + (negative ? 1 : 0) + plen;
  if (!left && !zero)
    put_padding(o, ' ', width - total);
  if (negative)
    put(o, '-');
  for (int i = 0; i < plen; i++)
    put(o, prefix[i]);
  if (!left && zero)
    put_padding(o, '0', width - total);
  while (n)
    put(o, digits[--n]);
  if (left)
    put_padding(o, ' ', width - total);
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      put(&o, *p);
      continue;
    }
    p++;
    bool left = false, zero = false;
    for (;; p++) {
      if (*p == '-')
        left = true;
      else if (*p == '0')
        zero = true;
      else
        break;
    }
    int width = 0;
    if (*p == '*') {
      width = va_arg(ap, int);
      if (width < 0) {
        left = true;
        width = -width;
      }
      p++;
    } else {
      while (*p >= '0' && *p <= '9')
        width = width * 10 + (*p++ - '0');
    }
    int prec = -1;
    if (*p == '.') {
      p++;
      prec = 0;
      if (*p == '*') {
        prec = va_arg(ap, int);
        p++;
      } else {
        while (*p >= '0' && *p <= '9')
          prec = prec * 10 + (*p++ - '0');
      }
    }
    int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
    for (;; p++) {
      if (*p == 'l')
        lng++;
      else if (*p == 'z')
        lng = 1;
      else if (*p == 'h')
        lng--;
      else
        break;
    }
    if (left)
      zero = false;
    switch (*p) {
    case 'd':
    case 'i': {
      int64_t v;
      if (lng >= 1)
        v = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
      else
        v = va_arg(ap, int);
      if (lng == -1)
        v = (short)v;
      else if (lng <= -2)
        v = (signed char)v;
      uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
      put_number(&o, u, v < 0, 10, false, width, zero, left, NULL);
      break;
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
      uint64_t v;
      if (lng >= 1)
        v = lng == 1 ? va_arg(ap, unsigned long)
                     : va_arg(ap, unsigned long long);
      else
        v = va_arg(ap, unsigned);
      if (lng == -1)
        v = (unsigned short)v;
      else if (lng <= -2)
        v = (unsigned char)v;
      unsigned base = *p == 'u' ? 10 : *p == 'o' ? 8 : 16;
      put_number(&o, v, false, base, *p == 'X', width, zero, left, NULL);
      break;
    }
    case 'p': {
      uintptr_t v = (uintptr_t)va_arg(ap, void *);
      put_number(&o, v, false, 16, false, width, zero, left, "0x");
      break;
    }
    case 'c': {
      char c = (char)va_arg(ap, int);
      if (!left)
        put_padding(&o, ' ', width - 1);
      put(&o, c);
      if (left)
        put_padding(&o, ' ', width - 1);
      break;
    }
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s)
        s = "(null)";
      size_t n = prec >= 0 ? rt_strnlen(s, (size_t)prec) : rt_strlen(s);
      if (!left)
        put_padding(&o, ' ', width - (int)n);
      for (size_t i = 0; i < n; i++)
        put(&o, s[i]);
      if (left)
        put_padding(&o, ' ', width - (int)n);
      break;
    }
    case '%':
      put(&o, '%');
      break;
    case 0:
      p--; /* a lone '%' at the end */
      break;
    default:
      put(&o, '%');
      put(&o, *p);
      break;
    }
  }
  if (size)
    buf[o.len < size ? o.len : size - 1] = 0;
  return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = rt_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

/* core/pty.h: is host stream s the console's (the host's terminal)? */
bool pty_console_stream(int s);

static void write_all_raw(const char *s, size_t len) {
  while (len) {
    long n = plat_io_write(PLAT_IO_STREAM, 2, s, len, 0);
    if (n <= 0 || (size_t)n > len)
      return;
    s += n;
    len -= (size_t)n;
  }
}

static void write_all(const char *s, size_t len) {
  /* On the console the host's terminal is raw: a line ends with "\r\n"
   * (moat's own messages and --strace bypass the pty's ONLCR). */
  if (pty_console_stream(2)) {
    for (size_t k = 0; k < len; k++) {
      if (s[k] != '\n')
        continue;
      write_all_raw(s, k);
      write_all_raw("\r\n", 2);
      s += k + 1;
      len -= k + 1;
      k = (size_t)-1;
    }
  }
  write_all_raw(s, len);
}

void moat_log(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = rt_vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  write_all(line, MIN((size_t)n, sizeof(line) - 1));
}

_Noreturn void rt_panic(const char *fmt, ...) {
  char line[512];
  static const char prefix[] = "moat: internal error: ";
  size_t len = sizeof(prefix) - 1;
  memcpy(line, prefix, len);
  va_list ap;
  va_start(ap, fmt);
  int n = rt_vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
  va_end(ap);
  len += MIN((size_t)n, sizeof(line) - len - 2);
  line[len++] = '\n';
  write_all(line, len);
  plat_space_exit(125);
}
