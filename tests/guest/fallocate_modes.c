/* fallocate(2) modes on tmpfs (/dev/shm natively and in moat), as Linux
 * answers them: the mode checks of vfs_fallocate (one operation, KEEP_SIZE
 * only with the ones it fits), tmpfs's own set (allocation, KEEP_SIZE,
 * PUNCH_HOLE|KEEP_SIZE; the rest EOPNOTSUPP), the descriptor checks
 * (EBADF, ESPIPE, ENODEV, EINVAL, EFBIG), and what a punched hole does:
 * zeros in the range (partial pages at the ends, whole pages between),
 * the size kept, the blocks given back, a shared mapping seeing the zeros
 * at once. Native vs moat. */
#include <stdint.h>
#include <sys/mman.h>

#include "guest.h"

/* musl's fcntl.h has only the first two. */
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE 0x10
#define FALLOC_FL_INSERT_RANGE 0x20
#endif

static int g_fd;
static const char *g_path = "/dev/shm/moat-fallocate-test";

static void fill(size_t n) {
  static char buf[65536];
  memset(buf, 'x', sizeof(buf));
  ftruncate(g_fd, 0);
  for (size_t done = 0; done < n;) {
    size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
    pwrite(g_fd, buf, k, (off_t)done);
    done += k;
  }
}

/* Zero bytes, first and last zero offsets, size and blocks. */
static void show(const char *label) {
  struct stat st;
  fstat(g_fd, &st);
  static char buf[1 << 20];
  ssize_t n = pread(g_fd, buf, sizeof(buf), 0);
  long zeros = 0, first = -1, last = -1;
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i]) {
      zeros++;
      if (first < 0)
        first = i;
      last = i;
    }
  printf("%s: size %lld blocks %lld zeros %ld [%ld, %ld]\n", label,
         (long long)st.st_size, (long long)st.st_blocks, zeros, first, last);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  g_fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (g_fd < 0) {
    printf("open %s: %s\n", g_path, errname(errno));
    return 1;
  }
  unlink(g_path);

  /* Mode checks, before anything else. */
  static const struct {
    const char *name;
    int mode;
  } modes[] = {
      {"0", 0},
      {"KEEP_SIZE", FALLOC_FL_KEEP_SIZE},
      {"PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE},
      {"PUNCH_HOLE|KEEP_SIZE", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE},
      {"ZERO_RANGE", FALLOC_FL_ZERO_RANGE},
      {"ZERO_RANGE|KEEP_SIZE", FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE},
      {"COLLAPSE_RANGE", FALLOC_FL_COLLAPSE_RANGE},
      {"COLLAPSE_RANGE|KEEP_SIZE",
       FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE},
      {"INSERT_RANGE", FALLOC_FL_INSERT_RANGE},
      {"UNSHARE_RANGE", 0x40},
      {"PUNCH_HOLE|ZERO_RANGE|KEEP_SIZE",
       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE},
      {"0x100", 0x100},
      {"-1", -1},
  };
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    fill(20000);
    char label[64];
    snprintf(label, sizeof(label), "mode %s", modes[i].name);
    R(label, fallocate(g_fd, modes[i].mode, 4096, 8192));
  }
  /* A bad mode beats a bad descriptor; a good one does not. */
  R("bad mode, bad fd", fallocate(-1, 0x100, 0, 1));
  R("bad fd", fallocate(-1, 0, 0, 1));
  R("zero length", fallocate(g_fd, 0, 0, 0));
  R("negative offset", fallocate(g_fd, 0, -1, 1));
  R("past the largest offset", fallocate(g_fd, 0, INT64_MAX - 10, 100));
  int ro = open("/dev/shm", O_RDONLY);
  R("directory", fallocate(ro, 0, 0, 1));
  close(ro);
  int p[2];
  pipe(p);
  R("pipe", fallocate(p[1], 0, 0, 1));
  int null = open("/dev/null", O_WRONLY);
  R("/dev/null", fallocate(null, 0, 0, 1));
  char shm2[64];
  snprintf(shm2, sizeof(shm2), "%s-ro", g_path);
  int w = open(shm2, O_RDWR | O_CREAT, 0600);
  int r = open(shm2, O_RDONLY);
  unlink(shm2);
  R("read-only descriptor", fallocate(r, 0, 0, 1));
  R("read-only descriptor, punch",
    fallocate(r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1));
  close(w);
  close(r);

  /* What a hole is. */
  int pk = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  fill(40960);
  show("filled");
  OK("punch inside one page", fallocate(g_fd, pk, 100, 200));
  show("  after");
  fill(40960);
  OK("punch across pages", fallocate(g_fd, pk, 1000, 3 * 4096 + 10));
  show("  after");
  fill(40960);
  OK("punch whole pages", fallocate(g_fd, pk, 8192, 16384));
  show("  after");
  fill(40960);
  OK("punch past the end", fallocate(g_fd, pk, 36864, 1 << 20));
  show("  after");
  OK("punch wholly past the end", fallocate(g_fd, pk, 1 << 20, 4096));
  show("  after");
  /* KEEP_SIZE allocation past the end: blocks, not size. */
  fill(4096);
  OK("allocate KEEP_SIZE past the end",
     fallocate(g_fd, FALLOC_FL_KEEP_SIZE, 0, 65536));
  show("  after");
  OK("allocate growing", fallocate(g_fd, 0, 0, 12288));
  show("  after");

  /* A shared mapping sees the hole at once, and keeps working. */
  fill(16384);
  char *m = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, g_fd, 0);
  if (m == MAP_FAILED) {
    printf("mmap: %s\n", errname(errno));
    return 1;
  }
  m[5000] = 'y';
  OK("punch a mapped range", fallocate(g_fd, pk, 4096, 8192));
  printf("  mapping: [4095] %c [4096] %d [5000] %d [12288] %c\n", m[4095],
         m[4096], m[5000], m[12288]);
  m[6000] = 'z';
  char c = 0;
  pread(g_fd, &c, 1, 6000);
  printf("  write after the punch reads back: %c\n", c);
  munmap(m, 16384);
  show("  after unmap");
  return 0;
}
