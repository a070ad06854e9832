/* /proc/PID/fd and /proc/PID/fdinfo read while the same descriptors are
 * in use: threads list and rewind directory descriptors (getdents holds
 * the open file while it walks the directory) while other threads and a
 * child process open fdinfo and readlink fd entries of exactly those
 * descriptors, and one thread closes and reopens them. Each reader checks
 * what it got against proc(5): "pos:" first in fdinfo, a link target
 * that is an absolute path. A lock-order deadlock between the two sides
 * hung moat here (the suite's timeout catches a hang). Native vs moat:
 * only counts that cannot differ are printed. */
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

#define NDIRS 4
#define SECONDS 1.5

static int g_dirfd[NDIRS];
static volatile int g_stop;
static int g_bad;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Lists the directory descriptors again and again. */
static void *lister(void *arg) {
  char buf[4096];
  long i = (long)arg;
  while (!g_stop) {
    int fd = __atomic_load_n(&g_dirfd[i % NDIRS], __ATOMIC_RELAXED);
    if (lseek(fd, 0, SEEK_SET) == 0)
      while (syscall(SYS_getdents64, fd, buf, sizeof(buf)) > 0)
        ;
    i++;
  }
  return NULL;
}

/* Reads fdinfo and the fd links of pid's directory descriptors. */
static int read_entries(pid_t pid, double until) {
  char path[64], buf[512];
  int bad = 0;
  while (until ? now() < until : !g_stop) {
    for (int i = 0; i < NDIRS; i++) {
      int fd = __atomic_load_n(&g_dirfd[i], __ATOMIC_RELAXED);
      snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
      int f = open(path, O_RDONLY);
      if (f >= 0) {
        ssize_t n = read(f, buf, sizeof(buf) - 1);
        if (n < 5 || strncmp(buf, "pos:", 4))
          bad++;
        close(f);
      } else if (errno != ENOENT) {
        bad++;
      }
      snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
      ssize_t n = readlink(path, buf, sizeof(buf));
      if (n > 0 ? buf[0] != '/' : errno != ENOENT)
        bad++;
    }
    snprintf(path, sizeof(path), "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (d) {
      while (readdir(d))
        ;
      closedir(d);
    }
  }
  return bad;
}

static void *reader(void *arg) {
  (void)arg;
  int bad = read_entries(getpid(), 0.0);
  __atomic_add_fetch(&g_bad, bad, __ATOMIC_RELAXED);
  return NULL;
}

/* Closes and reopens the directory descriptors in place (dup2), so the
 * readers also meet descriptors that go away under them. */
static void *churner(void *arg) {
  (void)arg;
  static const char *dirs[] = {"/", "/tmp", "/proc/self/fd", "/proc"};
  int i = 0;
  while (!g_stop) {
    int fd = open(dirs[i % NDIRS], O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      dup2(fd, g_dirfd[i % NDIRS]);
      close(fd);
    }
    i++;
    usleep(200);
  }
  return NULL;
}

int main(void) {
  static const char *dirs[] = {"/", "/tmp", "/proc/self/fd", "/proc"};
  for (int i = 0; i < NDIRS; i++) {
    g_dirfd[i] = open(dirs[i], O_RDONLY | O_DIRECTORY);
    if (g_dirfd[i] < 0) {
      printf("open %s: %s\n", dirs[i], errname(errno));
      return 1;
    }
  }
  pid_t self = getpid();
  double end = now() + SECONDS;
  pid_t child = fork();
  if (child == 0) {
    /* Another process reading this one's entries. */
    int bad = read_entries(self, end);
    _exit(bad ? 1 : 0);
  }
  pthread_t t[6];
  pthread_create(&t[0], NULL, lister, (void *)0L);
  pthread_create(&t[1], NULL, lister, (void *)1L);
  pthread_create(&t[2], NULL, lister, (void *)2L);
  pthread_create(&t[3], NULL, reader, NULL);
  pthread_create(&t[4], NULL, reader, NULL);
  pthread_create(&t[5], NULL, churner, NULL);
  while (now() < end)
    usleep(10000);
  g_stop = 1;
  for (int i = 0; i < 6; i++)
    pthread_join(t[i], NULL);
  int status;
  waitpid(child, &status, 0);
  printf("readers in this process: %s\n", g_bad ? "bad entries" : "ok");
  printf("reader in another process: %s\n",
         WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
  return 0;
}
