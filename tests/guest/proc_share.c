/* What processes share and what they do not: fork copies memory (heap,
 * stack, a MAP_PRIVATE mapping: the child's writes stay in the child),
 * MAP_SHARED anonymous and file mappings are one memory for both, files
 * written by one process are read by another (the sandbox's file system is
 * shared), pipe writes of PIPE_BUF bytes from 8 processes never
 * interleave, 8 MiB go through a pipe between processes intact, a writer
 * blocked on a full pipe wakes when another process reads. */
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "guest.h"

static pid_t xfork(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) {
    printf("fork: %s\n", errname(errno));
    exit(2);
  }
  return p;
}

static int status_of(pid_t p) {
  int st = -1;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int g_global = 1;

static void memory(void) {
  int local = 2;
  int *heap = malloc(sizeof *heap);
  *heap = 3;
  char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (priv == MAP_FAILED || shared == MAP_FAILED)
    return;
  strcpy(priv, "parent");
  strcpy(shared, "parent");
  pid_t p = xfork();
  if (p == 0) {
    int ok =
        g_global == 1 && local == 2 && *heap == 3 && !strcmp(priv, "parent");
    g_global = 10, local = 20, *heap = 30;
    strcpy(priv, "child");
    strcpy(shared + 4096, "child wrote the second page");
    strcpy(shared, "child");
    _exit(ok ? 0 : 1);
  }
  int st = status_of(p);
  printf("child saw the parent's memory: %d\n", st == 0);
  printf("parent's copies unchanged: %d %d %d %s\n", g_global, local, *heap,
         priv);
  printf("shared mapping: %s / %s\n", shared, shared + 4096);

  /* the parent's writes after fork are not seen by the child either */
  int fd[2];
  if (pipe(fd) < 0)
    return;
  p = xfork();
  if (p == 0) {
    char c;
    if (read(fd[0], &c, 1) != 1)
      _exit(3);
    _exit(g_global == 1 && !strcmp(priv, "parent") && !strcmp(shared, "after")
              ? 0
              : 1);
  }
  g_global = 1;
  strcpy(priv, "changed");
  strcpy(shared, "after");
  if (write(fd[1], "x", 1) != 1)
    return;
  printf("child: copy-on-write both ways, shared seen: %d\n",
         status_of(p) == 0);
  close(fd[0]);
  close(fd[1]);
  munmap(priv, 8192);
  munmap(shared, 8192);
  free(heap);
}

static void files(void) {
  pid_t p = xfork();
  if (p == 0) {
    write_file("from-child", "written by the child\n");
    mkdir("dir-from-child", 0755);
    write_file("dir-from-child/inner", "inner\n");
    _exit(0);
  }
  status_of(p);
  printf("file: %s", read_file("from-child"));
  printf("inner: %s", read_file("dir-from-child/inner"));

  /* a MAP_SHARED file mapping written by the child */
  int fd = open("mapped", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 4096) < 0)
    return;
  char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED)
    return;
  p = xfork();
  if (p == 0) {
    memcpy(m, "through the mapping", 20);
    _exit(0);
  }
  status_of(p);
  char buf[32] = {0};
  ssize_t n = pread(fd, buf, 19, 0);
  printf("shared file mapping: mapped \"%s\", read %ld \"%s\"\n", m, (long)n,
         buf);
  munmap(m, 4096);
  close(fd);
  /* unlinked by the child while the parent has it open */
  fd = open("from-child", O_RDONLY);
  p = xfork();
  if (p == 0)
    _exit(unlink("from-child") == 0 ? 0 : 1);
  int unlinked = status_of(p) == 0;
  n = read(fd, buf, 7);
  buf[n > 0 ? n : 0] = 0;
  printf("unlinked by the child: %d, still readable: %s, name: %s\n", unlinked,
         buf, read_file("from-child"));
  close(fd);
}

static void pipes(void) {
  enum { WRITERS = 8, RECORDS = 100 };
  int fd[2];
  if (pipe(fd) < 0)
    return;
  for (int w = 0; w < WRITERS; w++) {
    if (xfork() == 0) {
      close(fd[0]);
      char rec[PIPE_BUF];
      memset(rec, 'a' + w, sizeof rec);
      for (int i = 0; i < RECORDS; i++)
        if (write(fd[1], rec, sizeof rec) != (ssize_t)sizeof rec)
          _exit(1);
      _exit(0);
    }
  }
  close(fd[1]);
  int counts[WRITERS] = {0}, mixed = 0;
  static char rec[PIPE_BUF];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd[0], rec + have, sizeof rec - have);
    if (n <= 0)
      break;
    have += (size_t)n;
    if (have < sizeof rec)
      continue;
    have = 0;
    int w = rec[0] - 'a';
    for (size_t i = 1; i < sizeof rec; i++)
      if (rec[i] != rec[0])
        mixed = 1;
    if (w >= 0 && w < WRITERS)
      counts[w]++;
  }
  close(fd[0]);
  int all = 0;
  while (wait(&all) > 0)
    ;
  printf("PIPE_BUF records from %d writers: mixed %d, leftover %zu, counts",
         WRITERS, mixed, have);
  for (int w = 0; w < WRITERS; w++)
    printf(" %d", counts[w]);
  printf("\n");

  /* 8 MiB through a pipe, checksummed on both sides */
  if (pipe(fd) < 0)
    return;
  int back[2];
  if (pipe(back) < 0)
    return;
  pid_t p = xfork();
  if (p == 0) {
    close(fd[1]);
    close(back[0]);
    static char buf[65536];
    uint64_t sum = 0, total = 0;
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++)
        sum = sum * 31 + (unsigned char)buf[i];
      total += (uint64_t)n;
    }
    uint64_t res[2] = {sum, total};
    if (write(back[1], res, sizeof res) != sizeof res)
      _exit(1);
    _exit(0);
  }
  close(fd[0]);
  close(back[1]);
  static char out[100000];
  uint64_t sum = 0, total = 0, x = 12345;
  while (total < 8u << 20) {
    size_t len = sizeof out;
    if (total + len > 8u << 20)
      len = (8u << 20) - total;
    for (size_t i = 0; i < len; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      out[i] = (char)(x >> 56);
      sum = sum * 31 + (unsigned char)out[i];
    }
    if (write(fd[1], out, len) != (ssize_t)len) {
      printf("write: %s\n", errname(errno));
      break;
    }
    total += len;
  }
  close(fd[1]);
  uint64_t res[2] = {0, 0};
  if (read(back[0], res, sizeof res) != sizeof res)
    printf("no answer from the reader\n");
  status_of(p);
  printf("8 MiB through a pipe: bytes match %d, checksum matches %d\n",
         res[1] == total, res[0] == sum);
  close(back[0]);

  /* a writer blocked on a full pipe wakes when another process reads */
  if (pipe(fd) < 0)
    return;
  p = xfork();
  if (p == 0) {
    close(fd[0]);
    static char big[200000];
    ssize_t n = write(fd[1], big, sizeof big); /* blocks until drained */
    _exit(n == (ssize_t)sizeof big ? 0 : 1);
  }
  close(fd[1]);
  usleep(50000);
  static char sink[65536];
  size_t got = 0;
  ssize_t n;
  while ((n = read(fd[0], sink, sizeof sink)) > 0)
    got += (size_t)n;
  printf("blocked writer: status %d, bytes read %zu\n", status_of(p), got);
  close(fd[0]);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  enter_workdir("proc_share");
  memory();
  files();
  pipes();
  return 0;
}
