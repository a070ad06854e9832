/* Model checks: long deterministic sequences of random file operations
 * (pwrite at any offset, write, truncate to any size, lseek) applied both
 * to a sandbox file and to a plain buffer, then compared byte for byte.
 * They find off-by-one and page-boundary bugs in the data paths of memfs,
 * of the overlay (a lower file copied up first) and of hostfs (rw). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#define MODEL_MAX (3 * 4096 * 8)

static uint64_t g_seed;
static uint64_t next(void) {
  g_seed ^= g_seed << 13;
  g_seed ^= g_seed >> 7;
  g_seed ^= g_seed << 17;
  return g_seed;
}

static void model_run(const char *path, const char *initial) {
  static unsigned char model[MODEL_MAX], got[MODEL_MAX], chunk[9000];
  size_t size = strlen(initial);
  memcpy(model, initial, size);
  int fd = xopen(path, LINUX_O_RDWR, 0);
  g_seed = 0x2545f4914f6cdd1dull;
  int64_t pos = 0;
  for (int step = 0; step < 400; step++) {
    unsigned op = next() % 4;
    size_t len = 1 + next() % sizeof chunk;
    int64_t off = (int64_t)(next() % (MODEL_MAX - sizeof chunk));
    for (size_t i = 0; i < len; i++)
      chunk[i] = (unsigned char)next();
    if (op == 0) {
      ck_assert_int_eq(moat_pwrite(fd, chunk, len, off), (long)len);
      memcpy(model + off, chunk, len);
      if ((size_t)off + len > size) {
        if ((size_t)off > size)
          memset(model + size, 0, off - size);
        size = off + len;
      }
    } else if (op == 1) {
      if ((size_t)pos + len > MODEL_MAX)
        continue;
      ck_assert_int_eq(moat_write(fd, chunk, len), (long)len);
      if ((size_t)pos > size)
        memset(model + size, 0, pos - size);
      memcpy(model + pos, chunk, len);
      pos += len;
      if ((size_t)pos > size)
        size = pos;
    } else if (op == 2) {
      size_t n = next() % MODEL_MAX;
      ck_assert_int_eq(moat_ftruncate(fd, n), 0);
      if (n > size)
        memset(model + size, 0, n - size);
      size = n;
    } else {
      pos = off;
      ck_assert_int_eq(moat_lseek(fd, off, LINUX_SEEK_SET), off);
    }
  }
  struct linux_stat st;
  ck_assert_int_eq(moat_fstat(fd, &st), 0);
  ck_assert_int_eq(st.st_size, (int64_t)size);
  ck_assert_int_eq(moat_pread(fd, got, MODEL_MAX, 0), (long)size);
  ck_assert_msg(memcmp(got, model, size) == 0, "content differs from model");
  /* and in odd-sized reads from odd offsets */
  for (int i = 0; i < 50; i++) {
    size_t off = next() % (size + 1), len = next() % 5000;
    long want = (long)(off + len <= size ? len : size - off);
    ck_assert_int_eq(moat_pread(fd, got, len, off), want);
    ck_assert(memcmp(got, model + off, want) == 0);
  }
  moat_close(fd);
}

START_TEST(model_memfs) {
  boot_memfs();
  put_file("/tmp/m", "start");
  model_run("/tmp/m", "start");
}
END_TEST

START_TEST(model_overlay) {
  const char *d = host_tmpdir();
  host_write(d, "lower.txt", "lower content that is copied up first\n");
  boot_host(d, "/", MOAT_ACCESS_COW);
  model_run("/lower.txt", "lower content that is copied up first\n");
  char buf[64];
  host_read(d, "lower.txt", buf, sizeof buf);
  ck_assert_str_eq(buf, "lower content that is copied up first\n");
}
END_TEST

START_TEST(model_hostfs) {
  const char *d = host_tmpdir();
  host_write(d, "f", "host");
  boot_host(d, "/h", MOAT_ACCESS_RW);
  model_run("/h/f", "host");
  /* the host file holds the same bytes */
  char p[256];
  snprintf(p, sizeof p, "%s/f", d);
  struct stat hst;
  ck_assert_int_eq(stat(p, &hst), 0);
  struct linux_stat st;
  ck_assert_int_eq(moat_fstatat(AT, "/h/f", &st, 0), 0);
  ck_assert_int_eq(hst.st_size, st.st_size);
}
END_TEST

Suite *suite_model(void) {
  Suite *s = suite_create("model");
  TCase *tc = unit_tcase(s, "model");
  tcase_add_test(tc, model_memfs);
  tcase_add_test(tc, model_overlay);
  tcase_add_test(tc, model_hostfs);
  return s;
}
