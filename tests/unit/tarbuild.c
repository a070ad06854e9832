/* The in-memory tar writer of tarbuild.h (test code, hosted). */
#include "tarbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tar_init(struct tarbuf *t) {
  t->cap = 1 << 16;
  t->len = 0;
  t->data = calloc(1, t->cap);
}

void tar_free(struct tarbuf *t) {
  free(t->data);
  t->data = NULL;
  t->len = t->cap = 0;
}

static unsigned char *grow(struct tarbuf *t, size_t n) {
  while (t->len + n > t->cap) {
    t->data = realloc(t->data, t->cap * 2);
    memset(t->data + t->cap, 0, t->cap);
    t->cap *= 2;
  }
  unsigned char *p = t->data + t->len;
  memset(p, 0, n);
  t->len += n;
  return p;
}

static void octal(char *field, size_t width, uint64_t v) {
  snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

static void header(struct tarbuf *t, const char *name, char type, uint32_t mode,
                   size_t size, const char *linkname) {
  unsigned char *h = grow(t, 512);
  size_t nlen = strlen(name);
  if (nlen <= 100) {
    memcpy(h, name, nlen);
  } else {
    /* split at a '/' so that prefix <= 155 and name <= 100 */
    const char *slash = NULL;
    for (const char *p = name; *p; p++)
      if (*p == '/' && (size_t)(p - name) <= 155 &&
          nlen - (p - name) - 1 <= 100)
        slash = p;
    if (slash) {
      memcpy(h + 345, name, slash - name);
      memcpy(h, slash + 1, nlen - (slash - name) - 1);
    } else {
      memcpy(h, name, 100); /* caller uses pax/gnu for these */
    }
  }
  octal((char *)h + 100, 8, mode);
  octal((char *)h + 108, 8, 0);
  octal((char *)h + 116, 8, 0);
  octal((char *)h + 124, 12, size);
  octal((char *)h + 136, 12, 1700000000);
  h[156] = (unsigned char)type;
  if (linkname)
    strncpy((char *)h + 157, linkname, 100);
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memcpy(h + 265, "root", 4);
  memcpy(h + 297, "root", 4);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

static void body(struct tarbuf *t, const void *data, size_t len) {
  if (!len)
    return;
  unsigned char *p = grow(t, (len + 511) & ~(size_t)511);
  memcpy(p, data, len);
}

void tar_add(struct tarbuf *t, const char *name, char type, uint32_t mode,
             const void *data, size_t len, const char *linkname) {
  size_t size = type == TAR_REG ? len : 0;
  header(t, name, type, mode, size, linkname);
  body(t, data, size);
}

static void pax_record(char *out, size_t cap, const char *key,
                       const char *value) {
  /* "%d key=value\n" where %d counts the whole record, itself included */
  size_t base = strlen(key) + strlen(value) + 3;
  size_t n = base + 1;
  for (;;) {
    char tmp[32];
    size_t digits = (size_t)snprintf(tmp, sizeof tmp, "%zu", n);
    if (base + digits == n)
      break;
    n = base + digits;
  }
  size_t used = strlen(out);
  snprintf(out + used, cap - used, "%zu %s=%s\n", n, key, value);
}

void tar_add_pax(struct tarbuf *t, const char *name, char type, uint32_t mode,
                 const void *data, size_t len, const char *linkname) {
  char rec[8192] = "";
  pax_record(rec, sizeof rec, "path", name);
  if (linkname)
    pax_record(rec, sizeof rec, "linkpath", linkname);
  header(t, "PaxHeaders/x", 'x', 0644, strlen(rec), NULL);
  body(t, rec, strlen(rec));
  if (linkname && strlen(linkname) >= 100)
    linkname = "x";
  tar_add(t, "pax-short-name", type, mode, data, len, linkname);
}

void tar_add_gnu(struct tarbuf *t, const char *name, char type, uint32_t mode,
                 const void *data, size_t len, const char *linkname) {
  header(t, "././@LongLink", 'L', 0644, strlen(name) + 1, NULL);
  body(t, name, strlen(name) + 1);
  if (linkname && strlen(linkname) >= 100) {
    header(t, "././@LongLink", 'K', 0644, strlen(linkname) + 1, NULL);
    body(t, linkname, strlen(linkname) + 1);
    linkname = "x";
  }
  tar_add(t, "gnu-short-name", type, mode, data, len, linkname);
}

void tar_finish(struct tarbuf *t) {
  grow(t, 1024);
}

size_t tar_header_offset(const struct tarbuf *t, int n) {
  size_t off = 0;
  while (off + 512 <= t->len) {
    const unsigned char *h = t->data + off;
    if (h[0] == 0)
      break;
    if (n-- == 0)
      return off;
    unsigned long long size = strtoull((const char *)h + 124, NULL, 8);
    off += 512 + ((size + 511) & ~511ull);
  }
  return (size_t)-1;
}
