/* Directory syscalls: mkdir/mkdirat, rmdir, getdents64 (through readdir and
 * directly), chdir, fchdir, getcwd, and their error cases. Listings are
 * sorted before printing: the order of entries is the file system's. */
#include <sys/syscall.h>

#include "guest.h"

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    printf("list %s: -1 %s\n", path, errname(errno));
    return;
  }
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    char type = e->d_type == DT_DIR   ? 'd'
                : e->d_type == DT_REG ? 'f'
                : e->d_type == DT_LNK ? 'l'
                                      : '?';
    char *s = malloc(strlen(e->d_name) + 3);
    sprintf(s, "%s:%c", e->d_name, type);
    names[n++] = s;
  }
  closedir(d);
  qsort(names, n, sizeof names[0], cmp);
  printf("list %s:", path);
  for (int i = 0; i < n; i++) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

static void cwd_rel(const char *label) {
  char buf[4096];
  if (!getcwd(buf, sizeof buf)) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  size_t n = strlen(g_workdir);
  if (!strncmp(buf, g_workdir, n))
    printf("%s: <work>%s\n", label, buf + n);
  else
    printf("%s: %s\n", label, buf);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("dirs");
  umask(022);
  R("mkdir a", mkdir("a", 0755));
  R("mkdir a again", mkdir("a", 0755));
  R("mkdir a/b/c no parent", mkdir("a/b/c", 0755));
  R("mkdir a/b", mkdir("a/b", 0755));
  R("mkdir trailing slash", mkdir("a/t/", 0755));
  R("mkdirat", mkdirat(AT_FDCWD, "a/b/c", 0700));
  write_file("a/file", "x");
  R("mkdir under file", mkdir("a/file/x", 0755));
  R("mkdir empty", mkdir("", 0755));
  R("symlink", symlink("b", "a/lb"));
  list("a");
  list("a/b");
  R("rmdir nonempty", rmdir("a"));
  R("rmdir file", rmdir("a/file"));
  R("rmdir missing", rmdir("a/nope"));
  R("rmdir dot", rmdir("a/t/."));
  R("rmdir dotdot", rmdir("a/b/c/.."));
  R("rmdir symlink to dir", rmdir("a/lb"));
  R("unlink dir", unlink("a/t"));
  R("rmdir t", rmdir("a/t"));
  R("rmdir t again", rmdir("a/t"));
  list("a");

  /* cwd */
  cwd_rel("cwd");
  R("chdir a/b", chdir("a/b"));
  cwd_rel("cwd");
  R("chdir ..", chdir(".."));
  cwd_rel("cwd");
  R("chdir via link", chdir("lb"));
  cwd_rel("cwd (link resolved)");
  R("chdir ../..", chdir("../.."));
  cwd_rel("cwd");
  R("chdir file", chdir("a/file"));
  R("chdir missing", chdir("nope"));
  R("chdir empty", chdir(""));
  char small[4];
  errno = 0;
  const char *got = getcwd(small, sizeof small) ? "ok" : "NULL";
  printf("getcwd small: %s %s\n", got, errname(errno));
  R("raw getcwd size 0", syscall(SYS_getcwd, small, 0));
  R("open a", open("a", O_RDONLY | O_DIRECTORY));
  R("fchdir", fchdir(3));
  cwd_rel("cwd after fchdir");
  R("open file", open("file", O_RDONLY));
  R("fchdir file", fchdir(4));
  R("fchdir bad", fchdir(77));
  R("close", close(4));
  R("chdir /", chdir("/"));
  cwd_rel("cwd /");
  R("chdir /..", chdir("/.."));
  cwd_rel("cwd /..");
  R("chdir back", chdir(g_workdir));

  /* raw getdents64 with a small buffer: every entry exactly once */
  R("mkdir many", mkdir("many", 0755));
  for (int i = 0; i < 100; i++) {
    char p[64];
    snprintf(p, sizeof p, "many/entry-%02d", i);
    write_file(p, "");
  }
  int fd = open("many", O_RDONLY | O_DIRECTORY);
  char buf[256];
  int seen[100] = {0}, dots = 0, total = 0;
  long n;
  R("getdents64 tiny buffer", syscall(SYS_getdents64, fd, buf, 8));
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      unsigned short reclen = *(unsigned short *)(buf + off + 16);
      const char *name = buf + off + 19;
      int i;
      if (sscanf(name, "entry-%d", &i) == 1 && i >= 0 && i < 100) {
        seen[i]++;
        total++;
      } else if (!strcmp(name, ".") || !strcmp(name, ".."))
        dots++;
      off += reclen;
    }
  }
  int once = 1;
  for (int i = 0; i < 100; i++)
    once &= seen[i] == 1;
  printf("getdents64: last %ld total %d each once %d dots %d\n", n, total, once,
         dots);
  R("lseek dir 0", lseek(fd, 0, SEEK_SET));
  n = syscall(SYS_getdents64, fd, buf, sizeof buf);
  FACT("after rewind entries again", n > 0);
  R("getdents64 bad fd", syscall(SYS_getdents64, 4 + 100, buf, sizeof buf));
  int f = open("a/file", O_RDONLY);
  R("getdents64 not dir", syscall(SYS_getdents64, f, buf, sizeof buf));
  close(f);
  close(fd);
  /* a directory removed while it is the cwd */
  R("mkdir gone", mkdir("gone", 0755));
  R("chdir gone", chdir("gone"));
  R("rmdir cwd", rmdir("../gone"));
  R("create in removed cwd", open("x", O_WRONLY | O_CREAT, 0644));
  R("chdir back", chdir(g_workdir));
  return 0;
}
