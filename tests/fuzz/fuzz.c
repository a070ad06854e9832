/* Deterministic fuzzing of moat's two loaders of untrusted images, built
 * hosted with ASan and UBSan on the test platform:
 *  - ELF: mutations of a valid static executable go through the shim's
 *    pure parser linux_elf_parse() in this process, and through
 *    linux_elf_load() (open, check, map into the guest window) in a forked
 *    child that booted a fresh sandbox with the file in its memfs;
 *  - tar: mutations of a valid image (ustar, pax, GNU long names, links)
 *    are mounted as the root by moat_boot() in a forked child, which then
 *    walks the whole tree (getdents64, stat, read, readlink).
 * A child that dies of a signal, trips a sanitizer, panics or hangs is a
 * crash; the input is saved for reproduction. The seed is fixed, so every
 * run tests the same inputs.
 *   usage: moat-fuzz SEED-ELF N-ELF N-TAR
 *          moat-fuzz --elf FILE | --tar FILE   (replay one saved input) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf.h"
#include "moat/moat.h"
#include "tarbuild.h"
#include "testplat.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

static const uint64_t k_interesting[] = {0,
                                         1,
                                         0x7f,
                                         0xff,
                                         0x1000,
                                         0xffff,
                                         0x7fffffff,
                                         0xffffffff,
                                         0x100000000ull,
                                         0x3ffffffff000ull,
                                         0x400000000000ull,
                                         0x7fffffffffffffffull,
                                         0xffffffffffffffffull};

/* One mutation of buf (len bytes, capacity cap) focused on the first
 * `hot` bytes, where the headers are. Returns the new length. */
static size_t mutate(unsigned char *buf, size_t len, size_t hot,
                     unsigned kind) {
  if (len == 0)
    return 0;
  size_t span = hot < len ? hot : len;
  switch (kind % 5) {
  case 0: /* flip a few bits in the headers */
    for (int i = 0, n = 1 + rnd() % 8; i < n; i++)
      buf[rnd() % span] ^= (unsigned char)(1u << (rnd() % 8));
    break;
  case 1: { /* an interesting value at an aligned header offset */
    size_t w = (size_t[]){1, 2, 4, 8}[rnd() % 4];
    if (span <= w)
      break;
    size_t off = (rnd() % (span - w)) & ~(w - 1);
    uint64_t v = k_interesting[rnd() % (sizeof k_interesting / 8)];
    memcpy(buf + off, &v, w);
    break;
  }
  case 2: /* truncate */
    return 1 + rnd() % len;
  case 3: /* random bytes anywhere */
    for (int i = 0, n = 1 + rnd() % 32; i < n; i++)
      buf[rnd() % len] = (unsigned char)rnd();
    break;
  default: /* a run of 0xff or 0x00 in the headers */
  {
    size_t off = rnd() % span, n = 1 + rnd() % 16;
    memset(buf + off, (rnd() & 1) ? 0xff : 0, off + n < len ? n : len - off);
    break;
  }
  }
  return len;
}

static void save(const char *what, int i, const void *data, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "/tmp/moat-fuzz-%d-%s-%d", (int)getpid(), what,
           i);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(data, 1, len, f);
    fclose(f);
  }
  printf("  input saved as %s\n", path);
}

/* Run fn in a child with a time limit; classify how it ended. */
static int in_child(void (*fn)(const void *, size_t), const void *data,
                    size_t len, int *out_status) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    alarm(20);
    fn(data, len);
    _exit(0);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  *out_status = st;
  if (WIFEXITED(st) &&
      (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == TESTPLAT_ENTERED))
    return 0;
  return -1;
}

static void describe(int st) {
  if (WIFSIGNALED(st))
    printf("  killed by signal %d%s\n", WTERMSIG(st),
           WTERMSIG(st) == SIGALRM ? " (hang)" : "");
  else
    printf("  exit status %d (sanitizer report or moat panic above)\n",
           WEXITSTATUS(st));
}

/* ---- ELF -------------------------------------------------------------- */

static int g_loaded;

static void elf_child(const void *data, size_t len) {
  static struct moat_config cfg;
  const char *why = NULL;
  if (moat_boot(&cfg, &why) < 0)
    _exit(0);
  int fd = moat_openat(LINUX_AT_FDCWD, "/tmp/prog",
                       LINUX_O_WRONLY | LINUX_O_CREAT, 0755);
  if (fd < 0 || moat_write(fd, data, len) != (long)len)
    _exit(0);
  moat_close(fd);
  static struct linux_image img;
  char reason[256];
  int r = linux_elf_load("/tmp/prog", &img, reason, sizeof reason);
  _exit(r == 0 ? TESTPLAT_ENTERED : 0);
}

static int fuzz_elf(const char *seed_path, int n) {
  FILE *f = fopen(seed_path, "rb");
  if (!f) {
    perror(seed_path);
    return -1;
  }
  static unsigned char seed[4 << 20], buf[4 << 20];
  size_t seed_len = fread(seed, 1, sizeof seed, f);
  fclose(f);
  struct linux_elf_info info;
  char why[256];
  if (linux_elf_parse(seed, seed_len, &info, why, sizeof why) != 0) {
    printf("the seed ELF does not parse: %s\n", why);
    return -1;
  }
  int crashes = 0, parsed = 0;
  for (int i = 0; i < n; i++) {
    memcpy(buf, seed, seed_len);
    size_t len = seed_len;
    for (int k = 0, m = 1 + rnd() % 3; k < m; k++)
      len = mutate(buf, len, 512, (unsigned)rnd());
    /* in-process: the pure parser (ASan aborts the whole run on a bug) */
    if (linux_elf_parse(buf, len, &info, why, sizeof why) == 0)
      parsed++;
    int st;
    if (in_child(elf_child, buf, len, &st) < 0) {
      printf("ELF input %d crashed the loader:\n", i);
      describe(st);
      save("elf", i, buf, len);
      crashes++;
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == TESTPLAT_ENTERED) {
      g_loaded++;
    }
  }
  printf("elf: %d mutated inputs, %d parsed, %d loaded, %d crashes\n", n,
         parsed, g_loaded, crashes);
  return crashes;
}

/* ---- tar -------------------------------------------------------------- */

static int g_walked;

static void walk(const char *path, int depth) {
  if (depth > 8)
    return;
  int fd =
      moat_openat(LINUX_AT_FDCWD, path, LINUX_O_RDONLY | LINUX_O_DIRECTORY, 0);
  if (fd < 0)
    return;
  char buf[4096];
  long n;
  int entries = 0;
  while ((n = moat_getdents64(fd, buf, sizeof buf)) > 0 && entries < 2000) {
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (void *)(buf + off);
      if (d->d_reclen == 0)
        break;
      off += d->d_reclen;
      entries++;
      if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
        continue;
      /* the sandbox's own /dev and /proc are not the image's */
      if (depth == 0 &&
          (!strcmp(d->d_name, "dev") || !strcmp(d->d_name, "proc")))
        continue;
      char child[8192];
      snprintf(child, sizeof child, "%s/%s", strcmp(path, "/") ? path : "",
               d->d_name);
      struct linux_stat st;
      if (moat_fstatat(LINUX_AT_FDCWD, child, &st, LINUX_AT_SYMLINK_NOFOLLOW) <
          0)
        continue;
      g_walked++;
      if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFDIR)) {
        walk(child, depth + 1);
      } else if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFLNK)) {
        char target[4096];
        moat_readlinkat(LINUX_AT_FDCWD, child, target, sizeof target);
        moat_fstatat(LINUX_AT_FDCWD, child, &st, 0);
      } else {
        int f = moat_openat(LINUX_AT_FDCWD, child, LINUX_O_RDONLY, 0);
        if (f >= 0) {
          char data[4096];
          for (int k = 0; k < 256 && moat_read(f, data, sizeof data) > 0; k++)
            ;
          moat_pread(f, data, 16, 1 << 20);
          moat_close(f);
        }
      }
    }
  }
  moat_close(fd);
}

static void tar_child(const void *data, size_t len) {
  static struct moat_config cfg;
  cfg.mounts[0] = (struct moat_mount){.guest_path = "/",
                                      .kind = MOAT_MOUNT_TAR,
                                      .access = MOAT_ACCESS_COW,
                                      .tar_base = data,
                                      .tar_size = len};
  cfg.nmounts = 1;
  const char *why = NULL;
  if (moat_boot(&cfg, &why) < 0)
    _exit(0);
  walk("/", 0);
  /* and write over it: the overlay copies up from the damaged lower */
  int fd = moat_openat(LINUX_AT_FDCWD, "/d/f.txt", LINUX_O_WRONLY, 0);
  if (fd >= 0)
    moat_write(fd, "x", 1);
  moat_unlinkat(LINUX_AT_FDCWD, "/d/s", 0);
  _exit(TESTPLAT_ENTERED);
}

static void fix_checksums(unsigned char *buf, size_t len) {
  for (size_t off = 0; off + 512 <= len; off += 512) {
    unsigned char *h = buf + off;
    if (memcmp(h + 257, "ustar", 5) != 0)
      continue;
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
      sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum & 0777777);
    h[155] = ' ';
  }
}

static int fuzz_tar(int n) {
  struct tarbuf t;
  tar_init(&t);
  tar_add(&t, "d/", TAR_DIR, 0755, NULL, 0, NULL);
  tar_add(&t, "d/f.txt", TAR_REG, 0644, "some file data\n", 15, NULL);
  tar_add(&t, "d/s", TAR_SYMLINK, 0777, NULL, 0, "f.txt");
  tar_add(&t, "d/h", TAR_HARDLINK, 0644, NULL, 0, "d/f.txt");
  char longname[300];
  memset(longname, 'L', 200);
  strcpy(longname + 200, "/file");
  tar_add_pax(&t, longname, TAR_REG, 0600, "pax\n", 4, NULL);
  tar_add_gnu(&t, longname, TAR_SYMLINK, 0777, NULL, 0, "../d/f.txt");
  tar_add(&t, "e/x/y/z", TAR_REG, 0644, "deep", 4, NULL);
  tar_add(&t, "loop", TAR_SYMLINK, 0777, NULL, 0, "loop");
  tar_finish(&t);
  static unsigned char buf[1 << 20];
  int crashes = 0, booted = 0;
  for (int i = 0; i < n; i++) {
    memcpy(buf, t.data, t.len);
    size_t len = t.len;
    for (int k = 0, m = 1 + rnd() % 3; k < m; k++)
      len = mutate(buf, len, len, (unsigned)rnd());
    if (i % 2) /* get past the checksum to the parser behind it */
      fix_checksums(buf, len);
    int st;
    if (in_child(tar_child, buf, len, &st) < 0) {
      printf("tar input %d crashed tarfs:\n", i);
      describe(st);
      save("tar", i, buf, len);
      crashes++;
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == TESTPLAT_ENTERED) {
      booted++;
    }
  }
  printf("tar: %d mutated inputs, %d booted and walked, %d crashes\n", n,
         booted, crashes);
  tar_free(&t);
  return crashes;
}

static int replay(const char *kind, const char *path) {
  static unsigned char buf[4 << 20];
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 2;
  }
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (!strcmp(kind, "--elf"))
    elf_child(buf, len);
  else
    tar_child(buf, len);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && (!strcmp(argv[1], "--elf") || !strcmp(argv[1], "--tar")))
    return replay(argv[1], argv[2]);
  if (argc != 4) {
    fprintf(stderr, "usage: %s SEED-ELF N-ELF N-TAR\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int e = fuzz_elf(argv[1], atoi(argv[2]));
  int t = fuzz_tar(atoi(argv[3]));
  if (e < 0)
    return 1;
  printf("%d elf + %d tar inputs, %d crashes\n", atoi(argv[2]), atoi(argv[3]),
         e + t);
  return e + t ? 1 : 0;
}
