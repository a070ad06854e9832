/* System V shared memory: shmget (keys, sizes, IPC_CREAT/IPC_EXCL, a
 * larger size for an existing key), shmat (anywhere, at an address,
 * SHM_RND, SHM_REMAP, busy ranges, SHM_RDONLY with a write that faults
 * and an mprotect that is refused), zero-filled pages, data that stays
 * across detach and re-attach, shm_nattch through fork, exit, shmdt and a
 * munmap of part of an attach, IPC_STAT/IPC_SET/IPC_RMID (SHM_DEST, the
 * key released at once, the segment kept until the last detach),
 * IPC_INFO, /proc/sysvipc/shm, and the point of it all: a process forked
 * before the segment existed attaches it later and both see each other's
 * writes (and one that execs first). No id, key, pid or address is
 * printed, only comparisons. */
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "guest.h"

static void reap(const char *label, pid_t c) {
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFEXITED(st))
    printf("%s: exit %d\n", label, WEXITSTATUS(st));
  else
    printf("%s: signal %d\n", label, WTERMSIG(st));
}

static long nattch(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) < 0)
    return -errno;
  return (long)ds.shm_nattch;
}

/* The exec'd helper: attach id, check the parent's words, write back. */
static int exec_helper(const char *arg) {
  int id = atoi(arg);
  char *m = shmat(id, NULL, 0);
  if (m == (void *)-1)
    return 2;
  if (strcmp(m, "before exec"))
    return 3;
  strcpy(m + 100, "written after exec");
  return shmdt(m) == 0 ? 0 : 4;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "exec-helper"))
    return exec_helper(argv[2]);
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("shm");
  int fd = open("keyfile", O_CREAT | O_WRONLY, 0600);
  close(fd);
  key_t key = ftok("keyfile", 'h');

  /* shmget. */
  R("size 0", shmget(IPC_PRIVATE, 0, 0600));
  R("missing key", shmget(key, 4096, 0600));
  int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
  FACT("create", id >= 0);
  R("exclusive again", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
  FACT("same key", shmget(key, 5000, 0) == id);
  FACT("same key size 0", shmget(key, 0, 0) == id);
  R("larger size", shmget(key, 10001, 0));
  struct shmid_ds ds;
  R("IPC_STAT", shmctl(id, IPC_STAT, &ds));
  printf("segsz=%zu nattch=%lu mode=%o cpid_me=%d lpid=%d uid_ok=%d "
         "atime=%ld\n",
         ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode,
         ds.shm_cpid == getpid(), ds.shm_lpid, ds.shm_perm.uid == geteuid(),
         (long)ds.shm_atime);
  struct shminfo si;
  FACT("IPC_INFO", shmctl(0, IPC_INFO, (struct shmid_ds *)&si) >= 0);
  printf("shmmin=%lu\n", (unsigned long)si.shmmin);
  struct shm_info sinfo;
  FACT("SHM_INFO", shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0);
  R("bad command", shmctl(id, 99, &ds));
  R("IPC_STAT bad pointer", shmctl(id, IPC_STAT, (void *)8));

  /* shmat. */
  R("shmat bad id", (long)shmat(-1, NULL, 0));
  char *m = shmat(id, NULL, 0);
  FACT("shmat", m != (void *)-1);
  int zero = 1;
  for (int i = 0; i < 10000; i++)
    zero &= m[i] == 0;
  FACT("zero-filled", zero);
  R("nattch", nattch(id));
  shmctl(id, IPC_STAT, &ds);
  printf("lpid_me=%d atime_set=%d\n", ds.shm_lpid == getpid(),
         ds.shm_atime != 0);
  strcpy(m, "hello");
  strcpy(m + 9000, "tail");
  /* A second attach sees the same bytes. */
  char *m2 = shmat(id, NULL, SHM_RDONLY);
  FACT("second attach shares", m2 != (void *)-1 && m2 != m &&
                                   !strcmp(m2, "hello") &&
                                   !strcmp(m2 + 9000, "tail"));
  R("nattch 2", nattch(id));
  R("mprotect a read-only attach writable",
    mprotect(m2, 4096, PROT_READ | PROT_WRITE));
  pid_t c = fork();
  if (c == 0) {
    m2[0] = 'x'; /* SIGSEGV */
    _exit(0);
  }
  reap("write to SHM_RDONLY", c);
  R("shmdt read-only", shmdt(m2));
  R("shmdt again", shmdt(m2));
  R("shmdt unaligned", shmdt(m + 1));
  R("shmdt inside", shmdt(m + 4096));
  R("nattch 1", nattch(id));

  /* Addresses: SHM_RND, busy ranges, SHM_REMAP. */
  char *area =
      mmap(NULL, 8 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(area, 8 * 4096);
  R("unaligned address", (long)shmat(id, area + 100, 0));
  char *r = shmat(id, area + 100, SHM_RND);
  FACT("SHM_RND rounds down", r == area);
  FACT("SHM_RND sees data", r != (void *)-1 && !strcmp(r, "hello"));
  R("busy address", (long)shmat(id, area, 0));
  R("SHM_REMAP without address", (long)shmat(id, NULL, SHM_REMAP));
  char *r2 = shmat(id, area, SHM_REMAP);
  FACT("SHM_REMAP replaces", r2 == area);
  R("nattch (remap replaced one)", nattch(id));
  /* munmap of part of an attach: the rest still counts. */
  R("munmap first page", munmap(r2, 4096));
  R("nattch after part munmap", nattch(id));
  R("shmdt where the start was unmapped", shmdt(r2));
  R("munmap the rest", munmap(r2 + 4096, 3 * 4096));
  R("nattch", nattch(id));

  /* Fork: the child inherits the attach; writes go both ways. */
  c = fork();
  if (c == 0) {
    printf("child: nattch=%ld sees=%s\n", nattch(id), m);
    strcpy(m + 10, "child was here");
    _exit(0);
  }
  reap("fork child", c);
  printf("parent sees: %s\n", m + 10);
  R("nattch after the child's exit", nattch(id));

  /* A process forked before the segment exists attaches it by key. */
  int go[2], done[2];
  if (pipe(go) < 0 || pipe(done) < 0)
    return 1;
  c = fork();
  if (c == 0) {
    char ch;
    if (read(go[0], &ch, 1) != 1)
      _exit(1);
    int late = shmget(ftok("keyfile", 'L'), 0, 0);
    char *p = shmat(late, NULL, 0);
    if (p == (void *)-1)
      _exit(2);
    printf("late child sees: %s\n", p);
    strcpy(p + 64, "late child's answer");
    if (write(done[1], "y", 1) != 1)
      _exit(3);
    if (read(go[0], &ch, 1) != 1) /* until the parent has read it */
      _exit(4);
    printf("late child sees the parent's second write: %s\n", p + 128);
    _exit(shmdt(p) == 0 ? 0 : 5);
  }
  int late = shmget(ftok("keyfile", 'L'), 8192, IPC_CREAT | IPC_EXCL | 0600);
  char *lp = shmat(late, NULL, 0);
  strcpy(lp, "made after the fork");
  if (write(go[1], "x", 1) != 1)
    return 1;
  char ch;
  if (read(done[0], &ch, 1) != 1)
    return 1;
  printf("parent sees: %s\n", lp + 64);
  strcpy(lp + 128, "second");
  R("nattch with the late child", nattch(late));
  if (write(go[1], "x", 1) != 1)
    return 1;
  reap("late child", c);
  R("nattch after", nattch(late));

  /* Across exec. */
  strcpy(lp, "before exec");
  c = fork();
  if (c == 0) {
    char arg[32];
    snprintf(arg, sizeof(arg), "%d", late);
    execl("/proc/self/exe", argv[0], "exec-helper", arg, (char *)NULL);
    _exit(9);
  }
  reap("exec child", c);
  printf("after exec: %s\n", lp + 100);
  R("nattch after exec child", nattch(late));

  /* posix_spawn (a vfork child on the parent's memory until it execs). */
  strcpy(lp + 100, "");
  {
    char arg[32];
    snprintf(arg, sizeof(arg), "%d", late);
    char *sargv[] = {argv[0], "exec-helper", arg, NULL};
    pid_t sp;
    R("posix_spawn",
      posix_spawn(&sp, "/proc/self/exe", NULL, NULL, sargv, NULL));
    reap("spawned", sp);
  }
  printf("after spawn: %s\n", lp + 100);
  R("nattch after spawn", nattch(late));

  /* IPC_SET, IPC_RMID with an attach, the segment kept until shmdt. */
  shmctl(id, IPC_STAT, &ds);
  ds.shm_perm.mode = 0640;
  R("IPC_SET", shmctl(id, IPC_SET, &ds));
  R("SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
  shmctl(id, IPC_STAT, &ds);
  printf("mode=%o\n", ds.shm_perm.mode);
  R("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL));
  R("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL));
  R("shmget by key after IPC_RMID", shmget(key, 0, 0));
  R("IPC_STAT after IPC_RMID", shmctl(id, IPC_STAT, &ds));
  printf("mode=%o key=%d nattch=%lu\n", ds.shm_perm.mode,
         (int)ds.shm_perm.__key, (unsigned long)ds.shm_nattch);
  printf("still readable: %s\n", m);
  int again = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  FACT("the key is free again", again >= 0 && again != id);
  shmctl(again, IPC_RMID, NULL);
  c = fork();
  if (c == 0) {
    printf("child of a removed segment: nattch=%ld\n", nattch(id));
    _exit(0);
  }
  reap("child", c);
  R("shmdt the last", shmdt(m));
  R("IPC_STAT once detached", shmctl(id, IPC_STAT, &ds));
  R("shmat once gone", (long)shmat(id, NULL, 0));

  /* Data stays without attaches until IPC_RMID. */
  R("shmdt late", shmdt(lp));
  lp = shmat(late, NULL, 0);
  printf("re-attached: %s\n", lp + 64);

  /* /proc/sysvipc/shm. */
  FILE *f = fopen("/proc/sysvipc/shm", "r");
  char line[512];
  int found = 0;
  unsigned long size = 0, na = 0;
  unsigned mode = 0;
  while (f && fgets(line, sizeof(line), f)) {
    long k, i;
    int cpid, lpid;
    if (sscanf(line, "%ld %ld %o %lu %d %d %lu", &k, &i, &mode, &size, &cpid,
               &lpid, &na) == 7 &&
        i == late) {
      found = 1;
      break;
    }
  }
  if (f)
    fclose(f);
  printf("/proc/sysvipc/shm: found=%d perms=%o size=%lu nattch=%lu\n", found,
         mode, size, na);
  shmdt(lp);
  R("IPC_RMID", shmctl(late, IPC_RMID, NULL));
  unlink("keyfile");
  printf("done\n");
  return 0;
}
