/* String helpers of the core runtime (core/rt.h): the few libc string
 * functions the core needs, under rt_ names so they never clash with a
 * libc in hosted test builds. */
#include "rt.h"

size_t rt_strlen(const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

size_t rt_strnlen(const char *s, size_t max) {
  size_t n = 0;
  while (n < max && s[n])
    n++;
  return n;
}

int rt_strcmp(const char *a, const char *b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return (unsigned char)*a - (unsigned char)*b;
}

int rt_strncmp(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i] || !a[i])
      return (unsigned char)a[i] - (unsigned char)b[i];
  }
  return 0;
}

char *rt_strchr(const char *s, int c) {
  for (;; s++) {
    if (*s == (char)c)
      return (char *)s;
    if (!*s)
      return NULL;
  }
}

char *rt_strrchr(const char *s, int c) {
  const char *last = NULL;
  for (;; s++) {
    if (*s == (char)c)
      last = s;
    if (!*s)
      return (char *)last;
  }
}

size_t rt_strlcpy(char *dst, const char *src, size_t size) {
  size_t len = rt_strlen(src);
  if (size) {
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
  }
  return len;
}

char *rt_strndup(const char *s, size_t n) {
  size_t len = rt_strnlen(s, n);
  char *p = kmalloc(len + 1);
  if (!p)
    return NULL;
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

char *rt_strdup(const char *s) {
  return rt_strndup(s, rt_strlen(s));
}
