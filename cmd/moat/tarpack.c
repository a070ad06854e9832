/* A small tar writer (cmd/moat/tarpack.h): what `moat run --platform vm`
 * packs into the initrd as the guest's root file system. Host code, libc
 * allowed. Every failure leaves a one-line reason in t->why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tarpack.h"

#define BLOCK 512

static int failf(struct tarpack *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int failf(struct tarpack *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->why, sizeof(t->why), fmt, ap);
  va_end(ap);
  return -1;
}

void tarpack_init(struct tarpack *t, int fd) {
  memset(t, 0, sizeof(*t));
  t->fd = fd;
}

static int put(struct tarpack *t, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(t->fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return failf(t, "writing the root image: %s",
                   n < 0 ? strerror(errno) : "short write");
    p += n;
    len -= (size_t)n;
    t->size += (uint64_t)n;
  }
  return 0;
}

static int pad(struct tarpack *t) {
  static const char zero[BLOCK];
  size_t rest = (size_t)(t->size % BLOCK);
  return rest ? put(t, zero, BLOCK - rest) : 0;
}

/* A numeric field: octal digits and a NUL when they fit, else GNU
 * base-256 (0x80, then the value big-endian). */
static void put_number(unsigned char *f, size_t n, uint64_t v) {
  if (n - 1 >= 22 || v < (1ull << (3 * (n - 1)))) {
    snprintf((char *)f, n, "%0*llo", (int)(n - 1), (unsigned long long)v);
    return;
  }
  memset(f, 0, n);
  f[0] = 0x80;
  for (size_t i = n - 1; i > 0 && v; i--, v >>= 8)
    f[i] = (unsigned char)(v & 0xff);
}

static bool skipped(const struct tarpack *t, const char *name) {
  for (int i = 0; i < t->nskip; i++) {
    size_t n = strlen(t->skip[i]);
    if (!strncmp(name, t->skip[i], n) && (name[n] == 0 || name[n] == '/'))
      return true;
  }
  return false;
}

/* A GNU long-name ('L') or long-link ('K') record holding s. */
static int long_record(struct tarpack *t, char type, const char *s) {
  unsigned char h[BLOCK];
  memset(h, 0, sizeof(h));
  size_t len = strlen(s) + 1;
  strcpy((char *)h, "././@LongLink");
  put_number(h + 100, 8, 0644);
  put_number(h + 108, 8, 0);
  put_number(h + 116, 8, 0);
  put_number(h + 124, 12, len);
  put_number(h + 136, 12, 0);
  h[156] = (unsigned char)type;
  memcpy(h + 257, "ustar  ", 8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  if (put(t, h, BLOCK) < 0 || put(t, s, len) < 0)
    return -1;
  return pad(t);
}

/* One header (and the long records it needs before it). name is the
 * archive name as it goes in (a directory's with its trailing '/'). */
static int header(struct tarpack *t, const char *name, char type,
                  const char *link, uint64_t size, const struct tarpack_attr *a,
                  dev_t rdev) {
  if (strlen(name) >= PATH_MAX || (link && strlen(link) >= PATH_MAX))
    return failf(t, "%s: name too long for the root image", name);
  if (strlen(name) > 100 && long_record(t, 'L', name) < 0)
    return -1;
  if (link && strlen(link) > 100 && long_record(t, 'K', link) < 0)
    return -1;
  unsigned char h[BLOCK];
  memset(h, 0, sizeof(h));
  memcpy(h, name, strnlen(name, 100));
  put_number(h + 100, 8, a->mode & 07777);
  put_number(h + 108, 8, a->uid);
  put_number(h + 116, 8, a->gid);
  put_number(h + 124, 12, size);
  put_number(h + 136, 12, a->mtime < 0 ? 0 : (uint64_t)a->mtime);
  h[156] = (unsigned char)type;
  if (link)
    memcpy(h + 157, link, strnlen(link, 100));
  memcpy(h + 257, "ustar  ", 8);
  if (type == '3' || type == '4') {
    put_number(h + 329, 8, major(rdev));
    put_number(h + 337, 8, minor(rdev));
  }
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  return put(t, h, BLOCK);
}

int tarpack_dir(struct tarpack *t, const char *name,
                const struct tarpack_attr *a) {
  if (skipped(t, name))
    return 0;
  if (!name[0] || !strcmp(name, "."))
    return header(t, "./", '5', NULL, 0, a, 0);
  char *slashed = malloc(strlen(name) + 2);
  if (!slashed)
    return failf(t, "out of memory");
  sprintf(slashed, "%s/", name);
  int r = header(t, slashed, '5', NULL, 0, a, 0);
  free(slashed);
  return r;
}

int tarpack_symlink(struct tarpack *t, const char *name, const char *target,
                    const struct tarpack_attr *a) {
  if (skipped(t, name))
    return 0;
  return header(t, name, '2', target, 0, a, 0);
}

int tarpack_data(struct tarpack *t, const char *name, const void *data,
                 size_t len, const struct tarpack_attr *a) {
  if (skipped(t, name))
    return 0;
  if (header(t, name, '0', NULL, len, a, 0) < 0 || put(t, data, len) < 0)
    return -1;
  return pad(t);
}

static struct tarpack_attr attr_of(const struct stat *st) {
  struct tarpack_attr a = {(uint32_t)(st->st_mode & 07777), st->st_uid,
                           st->st_gid, (int64_t)st->st_mtime};
  return a;
}

/* A regular file's contents, exactly the size its header announced. */
static int copy_file(struct tarpack *t, int fd, uint64_t size,
                     const char *host) {
  char buf[65536];
  uint64_t left = size;
  while (left) {
    ssize_t n = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return failf(t, "%s: %s", host, strerror(errno));
    if (n == 0)
      return failf(t, "%s: the file shrank while it was packed", host);
    if (put(t, buf, (size_t)n) < 0)
      return -1;
    left -= (uint64_t)n;
  }
  return pad(t);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pack_at(struct tarpack *t, int dirfd, const char *entry,
                   const char *host, const char *name, const char *what,
                   int depth);

/* Everything in the directory open as fd, in name order. */
static int pack_children(struct tarpack *t, int fd, const char *host,
                         const char *name, const char *what, int depth) {
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return failf(t, "%s %s: %s", what, host, strerror(errno));
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int r = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno)
        r = failf(t, "%s %s: %s", what, host, strerror(errno));
      break;
    }
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **grown = realloc(names, cap * sizeof(*names));
      if (!grown) {
        r = failf(t, "out of memory");
        break;
      }
      names = grown;
    }
    if (!(names[n] = strdup(e->d_name))) {
      r = failf(t, "out of memory");
      break;
    }
    n++;
  }
  if (r == 0)
    qsort(names, n, sizeof(*names), cmp_names);
  for (size_t i = 0; i < n && r == 0; i++) {
    size_t hl = strlen(host), nl = strlen(name), el = strlen(names[i]);
    char *h = malloc(hl + el + 2), *a = malloc(nl + el + 2);
    if (!h || !a) {
      r = failf(t, "out of memory");
    } else {
      sprintf(h, "%s%s%s", host, hl && host[hl - 1] == '/' ? "" : "/",
              names[i]);
      sprintf(a, "%s%s%s", name, nl ? "/" : "", names[i]);
      r = pack_at(t, dirfd(d), names[i], h, a, what, depth + 1);
    }
    free(h);
    free(a);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  closedir(d);
  return r;
}

/* The entry `entry` of dirfd (host path host, for messages) at name. */
static int pack_at(struct tarpack *t, int dirfd, const char *entry,
                   const char *host, const char *name, const char *what,
                   int depth) {
  if (skipped(t, name))
    return 0;
  if (depth > 256)
    return failf(t, "%s %s: directories nested too deep", what, host);
  struct stat st;
  if (fstatat(dirfd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return failf(t, "%s %s: %s", what, host, strerror(errno));
  struct tarpack_attr a = attr_of(&st);
  if (S_ISDIR(st.st_mode)) {
    int fd =
        openat(dirfd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return failf(t, "%s %s: %s", what, host, strerror(errno));
    if (tarpack_dir(t, name, &a) < 0) {
      close(fd);
      return -1;
    }
    return pack_children(t, fd, host, name, what, depth);
  }
  if (!name[0])
    return failf(t, "%s %s: the root must be a directory", what, host);
  if (S_ISREG(st.st_mode)) {
    int fd = openat(dirfd, entry,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat now;
    if (fd < 0 || fstat(fd, &now) < 0) {
      int e = errno;
      if (fd >= 0)
        close(fd);
      return failf(t, "%s %s: %s", what, host, strerror(e));
    }
    if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino ||
        now.st_dev != st.st_dev) {
      close(fd);
      return failf(t, "%s %s: changed while it was packed", what, host);
    }
    a = attr_of(&now);
    int r = header(t, name, '0', NULL, (uint64_t)now.st_size, &a, 0);
    if (r == 0)
      r = copy_file(t, fd, (uint64_t)now.st_size, host);
    close(fd);
    return r;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, entry, target, sizeof(target));
    if (n < 0)
      return failf(t, "%s %s: %s", what, host, strerror(errno));
    if ((size_t)n >= sizeof(target))
      return failf(t, "%s %s: symlink target too long", what, host);
    target[n] = 0;
    return header(t, name, '2', target, 0, &a, 0);
  }
  if (S_ISFIFO(st.st_mode))
    return header(t, name, '6', NULL, 0, &a, 0);
  if (S_ISCHR(st.st_mode))
    return header(t, name, '3', NULL, 0, &a, st.st_rdev);
  if (S_ISBLK(st.st_mode))
    return header(t, name, '4', NULL, 0, &a, st.st_rdev);
  return 0; /* a socket: nothing a tar can hold */
}

int tarpack_host(struct tarpack *t, const char *host, const char *name,
                 const char *what) {
  return pack_at(t, AT_FDCWD, host, host, name, what, 0);
}

int tarpack_end(struct tarpack *t) {
  static const char zero[2 * BLOCK];
  return put(t, zero, sizeof(zero));
}

char *tarpack_name(struct tarpack *t, const char *guest_path) {
  size_t len = strlen(guest_path);
  char *out = malloc(len + 1);
  if (!out) {
    failf(t, "out of memory");
    return NULL;
  }
  size_t o = 0;
  const char *p = guest_path;
  while (*p) {
    while (*p == '/')
      p++;
    const char *c = p;
    while (*p && *p != '/')
      p++;
    size_t n = (size_t)(p - c);
    if (n == 0)
      continue;
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
      free(out);
      failf(t, "%s: a path with a . or .. component", guest_path);
      return NULL;
    }
    if (o)
      out[o++] = '/';
    memcpy(out + o, c, n);
    o += n;
  }
  out[o] = 0;
  if (o >= PATH_MAX) {
    free(out);
    failf(t, "%s: path too long", guest_path);
    return NULL;
  }
  return out;
}
