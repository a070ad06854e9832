/* memcpy, memmove, memset and memcmp for the freestanding core. The
 * compiler may emit calls to these on its own, so they carry the standard
 * names. Kept alone in this file because hosted unit tests link the core
 * against libc and leave this file out. */
#include "rt.h"

/* From this size on, x86's string instructions (fast on every CPU with
 * ERMS, and they touch no vector register: the library OS leaves those
 * to the guest, see NOFPU in the Makefile). */
#define STRING_OP_MIN 64
/* MOAT_STRING_QWORDS (platform/vm's build): eight bytes per step, for
 * QEMU's TCG, which emulates `rep movsb` a byte at a time. */

void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
#if defined(__x86_64__)
  if (n >= STRING_OP_MIN) {
#ifdef MOAT_STRING_QWORDS
    size_t q = n / 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
    n %= 8;
#endif
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
  }
#endif
  /* Word copies when both are aligned alike: file data moves through here. */
  if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
    while (n && ((uintptr_t)d & 7)) {
      *d++ = *s++;
      n--;
    }
    while (n >= 8) {
      uint64_t w;
      __builtin_memcpy(&w, s, 8);
      __builtin_memcpy(d, &w, 8);
      d += 8;
      s += 8;
      n -= 8;
    }
  }
  while (n--)
    *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d == s || n == 0)
    return dst;
  if (d < s || d >= s + n)
    return memcpy(dst, src, n);
  /* Overlapping with dst above src: copy backwards. */
  d += n;
  s += n;
  while (n--)
    *--d = *--s;
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
#if defined(__x86_64__)
  if (n >= STRING_OP_MIN) {
#ifdef MOAT_STRING_QWORDS
    size_t q = n / 8;
    uint64_t v = (uint8_t)c * 0x0101010101010101ull;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
    n %= 8;
#endif
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
  }
#endif
  if (n >= 16) {
    uint64_t w = (unsigned char)c * 0x0101010101010101ull;
    while ((uintptr_t)d & 7) {
      *d++ = (unsigned char)c;
      n--;
    }
    while (n >= 8) {
      __builtin_memcpy(d, &w, 8);
      d += 8;
      n -= 8;
    }
  }
  while (n--)
    *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
