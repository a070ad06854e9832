/* The older x86-64 syscall numbers that static programs still use (busybox
 * and older libcs call open, stat, lstat, access, readlink, symlink, link,
 * unlink, rename, mkdir, rmdir, chmod, chown, creat, dup2, pipe,
 * getrlimit, time, utimes, getdents, alarm-free ones), made directly with
 * syscall() so neither libc can route them to the *at() forms. */
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("legacy");
  struct stat st;
  char buf[256];
  R("open creat", syscall(SYS_open, "f", O_RDWR | O_CREAT, 0644));
  R("write", write(3, "legacy", 6));
  R("close", close(3));
  R("open missing", syscall(SYS_open, "nope", O_RDONLY));
  R("creat", syscall(SYS_creat, "c", 0600));
  R("close", close(3));
  R("stat", syscall(SYS_stat, "f", &st));
  printf("size %ld mode %o\n", (long)st.st_size, (unsigned)st.st_mode);
  R("stat missing", syscall(SYS_stat, "nope", &st));
  R("symlink", syscall(SYS_symlink, "f", "l"));
  R("lstat", syscall(SYS_lstat, "l", &st));
  FACT("lstat sees a link", S_ISLNK(st.st_mode));
  R("stat via link", syscall(SYS_stat, "l", &st));
  FACT("stat follows", S_ISREG(st.st_mode));
  R("open dir fd", syscall(SYS_open, ".", O_RDONLY | O_DIRECTORY));
  R("fstat", syscall(SYS_fstat, 3, &st));
  FACT("fstat dir", S_ISDIR(st.st_mode));
  R("close", close(3));
  memset(buf, 0, sizeof buf);
  R("readlink", syscall(SYS_readlink, "l", buf, sizeof buf));
  printf("target %s\n", buf);
  R("readlink not link", syscall(SYS_readlink, "f", buf, sizeof buf));
  R("access", syscall(SYS_access, "f", R_OK));
  R("access missing", syscall(SYS_access, "nope", F_OK));
  R("link", syscall(SYS_link, "f", "h"));
  R("link exists", syscall(SYS_link, "f", "h"));
  R("unlink", syscall(SYS_unlink, "h"));
  R("unlink missing", syscall(SYS_unlink, "h"));
  R("rename", syscall(SYS_rename, "c", "c2"));
  R("rename missing", syscall(SYS_rename, "c", "c3"));
  R("mkdir", syscall(SYS_mkdir, "d", 0755));
  R("mkdir exists", syscall(SYS_mkdir, "d", 0755));
  R("rmdir", syscall(SYS_rmdir, "d"));
  R("rmdir missing", syscall(SYS_rmdir, "d"));
  R("chmod", syscall(SYS_chmod, "f", 0640));
  R("stat", syscall(SYS_stat, "f", &st));
  printf("mode %o\n", (unsigned)st.st_mode & 07777);
  R("chown self", syscall(SYS_chown, "f", geteuid(), getegid()));
  R("lchown self", syscall(SYS_lchown, "l", geteuid(), getegid()));
  R("truncate", syscall(SYS_truncate, "f", 3));
  R("stat", syscall(SYS_stat, "f", &st));
  printf("size %ld\n", (long)st.st_size);
  struct timeval tv[2] = {{1000000000, 0}, {1000000001, 500000}};
  R("utimes", syscall(SYS_utimes, "f", tv));
  R("stat", syscall(SYS_stat, "f", &st));
  printf("mtime %ld.%09ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  int p[2];
  R("pipe", syscall(SYS_pipe, p));
  R("dup2", syscall(SYS_dup2, p[1], 9));
  R("write via dup2", write(9, "xy", 2));
  R("read", read(p[0], buf, sizeof buf));
  R("dup2 bad", syscall(SYS_dup2, 77, 9));
  struct {
    unsigned long cur, max;
  } rl;
  R("getrlimit", syscall(SYS_getrlimit, RLIMIT_NOFILE, &rl));
  FACT("cur <= max", rl.cur <= rl.max);
  R("setrlimit same", syscall(SYS_setrlimit, RLIMIT_NOFILE, &rl));
  long t = syscall(SYS_time, NULL);
  FACT("time", t > 1600000000);
  R("gettimeofday", syscall(SYS_gettimeofday, &tv[0], NULL));
  R("getpgrp > 0", syscall(SYS_getpgrp) > 0);
  R("getppid >= 0", syscall(SYS_getppid) >= 0);
  R("umask", syscall(SYS_umask, 022));
  R("fsync on a pipe", syscall(SYS_fsync, p[0]));
  R("sched_yield", syscall(SYS_sched_yield));

  return 0;
}
