/* Concurrent file system load (issue 7, item 7): several processes, each
 * with several threads, open, read, stat, rename, list, create and unlink
 * files at once, in every writable directory given (-d DIR: a host grant,
 * the in-memory /tmp) and in /usr/include (read-only, on the default root
 * a host directory), and check every result: contents and sizes of files
 * whose contents are known, errors only where Linux allows them (a name
 * that a concurrent rename just moved). It prints "fs_stress: ok" or the
 * first errors; -v adds operation counts on stderr.
 *
 * Usage: fs_stress [-t SECONDS] [-p PROCS] [-n THREADS] [-v] [-d DIR]...
 * Without -d it works in /tmp. As a guest test it runs briefly with the
 * defaults, natively and in moat; tests/run.py's stress/fs-concurrent runs
 * it for tens of seconds over a host grant and /tmp. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#define NSHARED 12 /* rotating files per directory: fNN <-> gNN */
#define MAXDIRS 4
#define MAXRO 256 /* read-only files sampled from /usr/include */
#define MAXERR 20 /* errors printed per process */
#define BUFSZ (1 << 16)

static char g_dirs[MAXDIRS][512]; /* our scratch directory in each -d DIR */
static int g_ndirs;
static double g_deadline;
static int g_verbose;

struct ro_file {
  char path[256];
  off_t size;
  uint32_t sum;
};
static struct ro_file g_ro[MAXRO];
static int g_nro;

enum {
  OP_READ,
  OP_RENAME,
  OP_STAT,
  OP_HOLD,
  OP_PRIVATE,
  OP_RO,
  OP_LIST,
  OP_PREAD,
  NOPS
};
static const char *op_names[NOPS] = {"read",    "rename", "stat", "hold",
                                     "private", "ro",     "list", "pread"};

static int g_errors; /* this process's */
static unsigned long g_counts[NOPS];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&g_mu);
  if (g_errors++ < MAXERR) {
    printf("fs_stress: ERROR %s\n", line);
    fflush(stdout);
  }
  pthread_mutex_unlock(&g_mu);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *ename(int e) {
  return errname(e);
}

/* The contents of rotating file idx: its size and byte j. */
static size_t shared_size(int idx) {
  return 3000 + (size_t)idx * 1297;
}
static unsigned char shared_byte(int idx, size_t j) {
  return (unsigned char)(idx * 31 + j * 7 + (j >> 8));
}

static uint32_t checksum(const unsigned char *p, size_t n, uint32_t h) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Read fd to its end (at most cap bytes) into buf. */
static long read_all(int fd, unsigned char *buf, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fd, buf + got, cap - got);
    if (r < 0)
      return -errno;
    if (r == 0 || got + r == cap)
      return (long)(got + r);
    got += r;
  }
}

static void shared_name(char *out, size_t len, int d, int idx, char c) {
  snprintf(out, len, "%s/s/%c%02d", g_dirs[d], c, idx);
}

/* Open rotating file idx under whichever name it has now. -ENOENT only
 * when a rename kept moving it away. */
static int open_shared(int d, int idx, int flags) {
  char p[600];
  for (int tries = 0; tries < 8; tries++) {
    shared_name(p, sizeof(p), d, idx, tries & 1 ? 'g' : 'f');
    int fd = open(p, flags);
    if (fd >= 0 || errno != ENOENT)
      return fd >= 0 ? fd : -errno;
  }
  return -ENOENT;
}

static void check_shared_fd(int fd, int d, int idx, const char *what,
                            unsigned char *buf) {
  size_t want = shared_size(idx);
  struct stat st;
  if (fstat(fd, &st) < 0)
    error("%s: fstat of %s/s/?%02d: %s", what, g_dirs[d], idx, ename(errno));
  else if ((size_t)st.st_size != want)
    error("%s: fstat of ?%02d: size %lld, want %zu", what, idx,
          (long long)st.st_size, want);
  long n = read_all(fd, buf, BUFSZ);
  if (n < 0) {
    error("%s: read of %s/s/?%02d: %s", what, g_dirs[d], idx, ename((int)-n));
    return;
  }
  if ((size_t)n != want) {
    error("%s: read %ld bytes of ?%02d, want %zu", what, n, idx, want);
    return;
  }
  for (size_t j = 0; j < want; j++)
    if (buf[j] != shared_byte(idx, j)) {
      error("%s: byte %zu of ?%02d is %u, want %u", what, j, idx, buf[j],
            shared_byte(idx, j));
      return;
    }
}

static void op_read(int d, int idx, unsigned char *buf) {
  int fd = open_shared(d, idx, O_RDONLY);
  if (fd == -ENOENT)
    return;
  if (fd < 0) {
    error("read: open ?%02d: %s", idx, ename(-fd));
    return;
  }
  check_shared_fd(fd, d, idx, "read", buf);
  if (close(fd) < 0)
    error("read: close: %s", ename(errno));
}

static void op_rename(int d, int idx) {
  char f[600], g[600];
  shared_name(f, sizeof(f), d, idx, 'f');
  shared_name(g, sizeof(g), d, idx, 'g');
  if (rename(f, g) == 0)
    return;
  if (errno == ENOENT && rename(g, f) == 0)
    return;
  /* ENOENT twice: other threads moved it back and forth meanwhile */
  if (errno != ENOENT)
    error("rename ?%02d: %s", idx, ename(errno));
}

static void op_stat(int d, int idx) {
  char p[600];
  struct stat st;
  for (int c = 0; c < 2; c++) {
    shared_name(p, sizeof(p), d, idx, c ? 'g' : 'f');
    if (stat(p, &st) == 0) {
      if ((size_t)st.st_size != shared_size(idx) || !S_ISREG(st.st_mode))
        error("stat %s: size %lld mode %o", p, (long long)st.st_size,
              st.st_mode);
      return;
    }
    if (errno != ENOENT) {
      error("stat %s: %s", p, ename(errno));
      return;
    }
  }
}

/* Open, rename under the open file, then read through it. */
static void op_hold(int d, int idx, unsigned char *buf) {
  int fd = open_shared(d, idx, O_RDONLY);
  if (fd == -ENOENT)
    return;
  if (fd < 0) {
    error("hold: open ?%02d: %s", idx, ename(-fd));
    return;
  }
  op_rename(d, idx);
  check_shared_fd(fd, d, idx, "hold", buf);
  close(fd);
}

static void op_private(int d, int tid, unsigned long n, unsigned char *buf) {
  char a[600], b[600];
  snprintf(a, sizeof(a), "%s/p/%d-%d-%lu", g_dirs[d], (int)getpid(), tid, n);
  snprintf(b, sizeof(b), "%s/p/%d-%d-%lu.moved", g_dirs[d], (int)getpid(), tid,
           n);
  size_t len = 100 + (n * 977) % 20000;
  for (size_t j = 0; j < len; j++)
    buf[j] = (unsigned char)(j * 13 + n);
  int fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    error("private: create %s: %s", a, ename(errno));
    return;
  }
  if (write(fd, buf, len) != (ssize_t)len)
    error("private: write %s: %s", a, ename(errno));
  close(fd);
  if (rename(a, b) < 0) {
    error("private: rename %s: %s", a, ename(errno));
    unlink(a);
    return;
  }
  struct stat st;
  if (stat(b, &st) < 0 || (size_t)st.st_size != len)
    error("private: stat %s: %s size %lld want %zu", b, ename(errno),
          (long long)st.st_size, len);
  fd = open(b, O_RDONLY);
  if (fd < 0) {
    error("private: open %s: %s", b, ename(errno));
  } else {
    memset(buf, 0, len);
    long got = read_all(fd, buf, BUFSZ);
    if (got != (long)len)
      error("private: read %s: %ld of %zu", b, got, len);
    for (size_t j = 0; j < len && got == (long)len; j++)
      if (buf[j] != (unsigned char)(j * 13 + n)) {
        error("private: %s byte %zu differs", b, j);
        break;
      }
    /* unlinked while open: still readable */
    if (unlink(b) < 0)
      error("private: unlink %s: %s", b, ename(errno));
    if (pread(fd, buf, 1, 0) != 1 || buf[0] != (unsigned char)n)
      error("private: pread after unlink of %s: %s", b, ename(errno));
    close(fd);
  }
  if (access(b, F_OK) == 0 || errno != ENOENT)
    error("private: %s still there after unlink", b);
}

static void op_ro(int i, unsigned char *buf) {
  struct ro_file *f = &g_ro[i];
  int fd = open(f->path, O_RDONLY);
  if (fd < 0) {
    error("ro: open %s: %s", f->path, ename(errno));
    return;
  }
  long n = read_all(fd, buf, BUFSZ);
  if (n < 0)
    error("ro: read %s: %s", f->path, ename((int)-n));
  else if (n != f->size || checksum(buf, n, 2166136261u) != f->sum)
    error("ro: %s: %ld bytes, want %lld, or contents differ", f->path, n,
          (long long)f->size);
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size != f->size)
    error("ro: fstat %s", f->path);
  close(fd);
  if (stat(f->path, &st) < 0 || st.st_size != f->size)
    error("ro: stat %s: %s", f->path, ename(errno));
}

static int op_list(int d) {
  char p[600];
  snprintf(p, sizeof(p), "%s/s", g_dirs[d]);
  DIR *dir = opendir(p);
  if (!dir) {
    error("list %s: %s", p, ename(errno));
    return -1;
  }
  struct dirent *e;
  int n = 0;
  errno = 0;
  while ((e = readdir(dir))) {
    n++;
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
        !((e->d_name[0] == 'f' || e->d_name[0] == 'g') &&
          strlen(e->d_name) == 3))
      error("list %s: unexpected name %s", p, e->d_name);
  }
  if (errno)
    error("list %s: %s", p, ename(errno));
  /* A name renamed during the listing may show more than once or not at
   * all (Linux's tmpfs moves it to the end of the list); the count is
   * checked after the run. */
  closedir(dir);
  return n;
}

static void op_pread(int d, int idx, unsigned int *seed) {
  int fd = open_shared(d, idx, O_RDONLY);
  if (fd == -ENOENT)
    return;
  if (fd < 0) {
    error("pread: open ?%02d: %s", idx, ename(-fd));
    return;
  }
  int fd2 = dup(fd);
  if (fd2 < 0)
    error("pread: dup: %s", ename(errno));
  for (int k = 0; k < 4; k++) {
    size_t off = rand_r(seed) % shared_size(idx);
    unsigned char c;
    if (pread(k & 1 ? fd2 : fd, &c, 1, (off_t)off) != 1 ||
        c != shared_byte(idx, off))
      error("pread ?%02d at %zu: %s", idx, off, ename(errno));
  }
  close(fd);
  if (fd2 >= 0)
    close(fd2);
}

struct worker {
  pthread_t thread;
  int tid;
  unsigned long counts[NOPS];
};

static void *work(void *arg) {
  struct worker *w = arg;
  unsigned int seed = (unsigned int)(getpid() * 1000 + w->tid);
  unsigned char *buf = malloc(BUFSZ);
  unsigned long n = 0;
  if (!buf) {
    error("out of memory");
    return NULL;
  }
  while (now() < g_deadline) {
    int op = rand_r(&seed) % NOPS;
    int d = rand_r(&seed) % g_ndirs;
    int idx = rand_r(&seed) % NSHARED;
    errno = 0;
    switch (op) {
    case OP_READ:
      op_read(d, idx, buf);
      break;
    case OP_RENAME:
      op_rename(d, idx);
      break;
    case OP_STAT:
      op_stat(d, idx);
      break;
    case OP_HOLD:
      op_hold(d, idx, buf);
      break;
    case OP_PRIVATE:
      op_private(d, w->tid, n++, buf);
      break;
    case OP_RO:
      if (!g_nro)
        continue;
      op_ro(rand_r(&seed) % g_nro, buf);
      break;
    case OP_LIST:
      op_list(d);
      break;
    case OP_PREAD:
      op_pread(d, idx, &seed);
      break;
    }
    w->counts[op]++;
  }
  free(buf);
  return NULL;
}

static int run_process(int nthreads, int procno) {
  struct worker *ws = calloc(nthreads, sizeof(*ws));
  for (int i = 0; i < nthreads; i++) {
    ws[i].tid = procno * 100 + i;
    int e = pthread_create(&ws[i].thread, NULL, work, &ws[i]);
    if (e) {
      error("pthread_create: %s", ename(e));
      nthreads = i;
      break;
    }
  }
  for (int i = 0; i < nthreads; i++) {
    pthread_join(ws[i].thread, NULL);
    for (int k = 0; k < NOPS; k++)
      g_counts[k] += ws[i].counts[k];
  }
  if (g_verbose) {
    fprintf(stderr, "fs_stress: process %d:", procno);
    for (int k = 0; k < NOPS; k++)
      fprintf(stderr, " %s %lu", op_names[k], g_counts[k]);
    fprintf(stderr, "\n");
  }
  return g_errors ? 1 : 0;
}

static void setup_ro(void) {
  glob_t gl;
  if (glob("/usr/include/*.h", 0, NULL, &gl) != 0)
    return;
  unsigned char *buf = malloc(BUFSZ);
  for (size_t i = 0; i < gl.gl_pathc && g_nro < MAXRO; i++) {
    struct ro_file *f = &g_ro[g_nro];
    if (strlen(gl.gl_pathv[i]) >= sizeof(f->path))
      continue;
    int fd = open(gl.gl_pathv[i], O_RDONLY);
    if (fd < 0)
      continue;
    long n = read_all(fd, buf, BUFSZ);
    close(fd);
    if (n < 0 || n == BUFSZ)
      continue; /* unreadable or too big to check whole */
    strcpy(f->path, gl.gl_pathv[i]);
    f->size = n;
    f->sum = checksum(buf, n, 2166136261u);
    g_nro++;
  }
  free(buf);
  globfree(&gl);
}

static int setup_dir(const char *base, int d) {
  snprintf(g_dirs[d], sizeof(g_dirs[d]), "%s/fs_stress.XXXXXX", base);
  if (!mkdtemp(g_dirs[d])) {
    printf("fs_stress: mkdtemp in %s: %s\n", base, ename(errno));
    return -1;
  }
  char p[600];
  snprintf(p, sizeof(p), "%s/s", g_dirs[d]);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/p", g_dirs[d]);
  mkdir(p, 0755);
  unsigned char *buf = malloc(BUFSZ);
  for (int idx = 0; idx < NSHARED; idx++) {
    shared_name(p, sizeof(p), d, idx, 'f');
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    size_t len = shared_size(idx);
    for (size_t j = 0; j < len; j++)
      buf[j] = shared_byte(idx, j);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
      printf("fs_stress: create %s: %s\n", p, ename(errno));
      return -1;
    }
    close(fd);
  }
  free(buf);
  return 0;
}

static void rm_rf(const char *path) {
  DIR *dir = opendir(path);
  if (dir) {
    struct dirent *e;
    char p[1024];
    while ((e = readdir(dir))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
      rm_rf(p);
    }
    closedir(dir);
    rmdir(path);
  } else {
    unlink(path);
  }
}

int main(int argc, char **argv) {
  double seconds = 2;
  int procs = 3, threads = 4, opt;
  const char *bases[MAXDIRS];
  int nbases = 0;
  while ((opt = getopt(argc, argv, "t:p:n:d:v")) != -1) {
    switch (opt) {
    case 't':
      seconds = atof(optarg);
      break;
    case 'p':
      procs = atoi(optarg);
      break;
    case 'n':
      threads = atoi(optarg);
      break;
    case 'd':
      if (nbases < MAXDIRS)
        bases[nbases++] = optarg;
      break;
    case 'v':
      g_verbose = 1;
      break;
    default:
      fprintf(stderr, "usage: %s [-t S] [-p N] [-n N] [-v] [-d DIR]...\n",
              argv[0]);
      return 2;
    }
  }
  if (!nbases)
    bases[nbases++] = "/tmp";
  setvbuf(stdout, NULL, _IOLBF, 0);
  setup_ro();
  int status = 0;
  for (int i = 0; i < nbases; i++) {
    if (setup_dir(bases[i], i) < 0)
      status = 1;
    g_ndirs = i + 1;
  }
  if (status)
    goto out;
  g_deadline = now() + seconds;
  pid_t pids[64];
  int started = 0;
  for (int i = 0; i < procs && i < 64; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      _exit(run_process(threads, i + 1));
    }
    if (pid < 0) {
      printf("fs_stress: fork: %s\n", ename(errno));
      status = 1;
      break;
    }
    pids[started++] = pid;
  }
  /* the parent is one more process of threads */
  if (run_process(threads, 0))
    status = 1;
  for (int i = 0; i < started; i++) {
    int ws;
    if (waitpid(pids[i], &ws, 0) < 0) {
      printf("fs_stress: waitpid: %s\n", ename(errno));
      status = 1;
    } else if (!WIFEXITED(ws) || WEXITSTATUS(ws)) {
      printf("fs_stress: process %d ended with status 0x%x\n", i + 1, ws);
      status = 1;
    }
  }
  /* every rotating file still there, once, with its contents */
  for (int d = 0; d < g_ndirs; d++) {
    unsigned char *buf = malloc(BUFSZ);
    for (int idx = 0; idx < NSHARED; idx++) {
      char f[600], g[600];
      shared_name(f, sizeof(f), d, idx, 'f');
      shared_name(g, sizeof(g), d, idx, 'g');
      int hf = access(f, F_OK) == 0, hg = access(g, F_OK) == 0;
      if (hf + hg != 1) {
        printf("fs_stress: ERROR after the run: ?%02d has %d names\n", idx,
               hf + hg);
        status = 1;
        continue;
      }
      int fd = open(hf ? f : g, O_RDONLY);
      int before = g_errors;
      check_shared_fd(fd, d, idx, "final", buf);
      close(fd);
      if (g_errors != before)
        status = 1;
    }
    free(buf);
    int n = op_list(d);
    if (n != 2 + NSHARED) {
      printf("fs_stress: ERROR after the run: %d entries in %s/s\n", n,
             g_dirs[d]);
      status = 1;
    }
    char p[600];
    snprintf(p, sizeof(p), "%s/p", g_dirs[d]);
    DIR *dir = opendir(p);
    struct dirent *e;
    while (dir && (e = readdir(dir)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        printf("fs_stress: ERROR after the run: %s/%s left\n", p, e->d_name);
        status = 1;
      }
    if (dir)
      closedir(dir);
  }
out:
  for (int d = 0; d < g_ndirs; d++)
    rm_rf(g_dirs[d]);
  if (!status)
    printf("fs_stress: ok\n");
  return status;
}
