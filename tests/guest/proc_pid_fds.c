/* /proc/PID/fd, /proc/PID/fdinfo, /proc/PID/cwd and /proc/PID/root of
 * another process, as proc(5) documents: a reader sees that process's
 * descriptors and directories, not its own. Values that differ between
 * runs (pids, inode and mount numbers, the work directory's name) are
 * printed as facts. Native vs moat. */
#include <sys/wait.h>

#include "guest.h"

/* The names in dir (numbers), as one line in ascending order. */
static void list_fds(const char *label, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  int seen[64] = {0};
  struct dirent *e;
  while ((e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && (fd < 10 || fd == 42))
      seen[fd] = 1;
  }
  closedir(d);
  printf("%s:", label);
  for (int i = 0; i < 64; i++)
    if (seen[i])
      printf(" %d", i);
  printf("\n");
}

/* "name:\tvalue" of an fdinfo file; 0 when absent. */
static int fdinfo_field(const char *text, const char *name,
                        unsigned long long *out, int base) {
  size_t n = strlen(name);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
    if (!strncmp(p, name, n) && p[n] == ':') {
      *out = strtoull(p + n + 1, NULL, base);
      return 1;
    }
  return 0;
}

static void show_fdinfo(const char *label, int fd) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
  const char *text = read_file(path);
  unsigned long long pos = 0, flags = 0, mnt = 0, ino = 0;
  int have = fdinfo_field(text, "pos", &pos, 10) +
             fdinfo_field(text, "flags", &flags, 8) +
             fdinfo_field(text, "mnt_id", &mnt, 10) +
             fdinfo_field(text, "ino", &ino, 10);
  struct stat st;
  fstat(fd, &st);
  printf("%s: fields %d pos %llu accmode %llo append %d cloexec %d "
         "nonblock %d ino matches %d\n",
         label, have, pos, flags & O_ACCMODE, (flags & O_APPEND) != 0,
         (flags & O_CLOEXEC) != 0, (flags & O_NONBLOCK) != 0,
         ino == (unsigned long long)st.st_ino);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("pidfds");
  write_file("data", "0123456789");
  mkdir("sub", 0755);

  /* Our own descriptors through fdinfo. */
  int a = open("data", O_RDONLY);
  char buf[8];
  R("read 5", read(a, buf, 5));
  show_fdinfo("fdinfo rdonly after 5 bytes", a);
  int b = open("data", O_WRONLY | O_APPEND | O_CLOEXEC);
  show_fdinfo("fdinfo append cloexec", b);
  int c = open("data", O_RDWR | O_NONBLOCK);
  lseek(c, 7, SEEK_SET);
  show_fdinfo("fdinfo rdwr nonblock at 7", c);
  R("fdinfo of a closed fd", open("/proc/self/fdinfo/60", O_RDONLY));

  /* readlink of our own: the path the file was opened by, " (deleted)"
   * once it has no name, a directory's own path. */
  char link[4096], want[4096], path[128];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
  ssize_t k = readlink(path, link, sizeof(link) - 1);
  link[k > 0 ? k : 0] = 0;
  snprintf(want, sizeof(want), "%s/data", g_workdir);
  FACT("link of data is its path", !strcmp(link, want));
  write_file("gone", "x");
  int g = open("gone", O_RDONLY);
  unlink("gone");
  snprintf(path, sizeof(path), "/dev/fd/%d", g);
  k = readlink(path, link, sizeof(link) - 1);
  link[k > 0 ? k : 0] = 0;
  snprintf(want, sizeof(want), "%s/gone (deleted)", g_workdir);
  FACT("link of an unlinked file says deleted", !strcmp(link, want));
  close(g);
  int d = open("sub", O_RDONLY | O_DIRECTORY);
  snprintf(path, sizeof(path), "/proc/self/fd/%d", d);
  k = readlink(path, link, sizeof(link) - 1);
  link[k > 0 ? k : 0] = 0;
  snprintf(want, sizeof(want), "%s/sub", g_workdir);
  FACT("link of a directory is its path", !strcmp(link, want));
  snprintf(path, sizeof(path), "/proc/self/fd/%d/..", d);
  struct stat s1, s2;
  FACT("fd/N/.. of a directory is its parent",
       stat(path, &s1) == 0 && stat(".", &s2) == 0 && s1.st_ino == s2.st_ino);
  close(d);
  int e = open("/etc/passwd", O_RDONLY);
  snprintf(path, sizeof(path), "/proc/self/fd/%d", e);
  k = readlink(path, link, sizeof(link) - 1);
  link[k > 0 ? k : 0] = 0;
  printf("link of /etc/passwd: %s\n", link);
  R("short buffer", readlink(path, link, 4));
  close(e);
  R("fdinfo of a bad name", open("/proc/self/fdinfo/07", O_RDONLY));
  close(a);
  close(b);
  close(c);

  char root[256], cwd[256];
  ssize_t n = readlink("/proc/self/root", root, sizeof(root) - 1);
  root[n > 0 ? n : 0] = 0;
  printf("root: %s\n", root);
  n = readlink("/proc/self/cwd", cwd, sizeof(cwd) - 1);
  cwd[n > 0 ? n : 0] = 0;
  FACT("cwd is getcwd", getcwd(want, sizeof(want)) && !strcmp(cwd, want));

  /* A child with descriptors of its own and another directory. */
  int ready[2], go[2];
  if (pipe(ready) < 0 || pipe(go) < 0)
    return 1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    int fd = open("data", O_RDONLY);
    dup2(fd, 42);
    close(fd);
    if (chdir("sub") < 0)
      _exit(3);
    char x = 1;
    if (write(ready[1], &x, 1) != 1)
      _exit(3);
    if (read(go[0], &x, 1) < 0)
      _exit(3);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  char x;
  R("child ready", read(ready[0], &x, 1));

  char dir[64];
  snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
  list_fds("child's fd dir", dir);
  list_fds("own fdinfo dir (with its own descriptor)", "/proc/self/fdinfo");
  snprintf(path, sizeof(path), "/proc/%d/fd/42", (int)pid);
  n = readlink(path, cwd, sizeof(cwd) - 1);
  cwd[n > 0 ? n : 0] = 0;
  snprintf(want, sizeof(want), "%s/data", g_workdir);
  FACT("child's fd 42 names data", n > 0 && !strcmp(cwd, want));
  R("own fd 42", readlink("/proc/self/fd/42", cwd, sizeof(cwd)));
  snprintf(path, sizeof(path), "/proc/%d/fd/42", (int)pid);
  int via = open(path, O_RDONLY);
  R("read through the child's fd link", read(via, buf, 4));
  printf("bytes: %.4s\n", buf);
  close(via);
  snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)pid);
  list_fds("child's fdinfo dir", dir);

  snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
  n = readlink(path, cwd, sizeof(cwd) - 1);
  cwd[n > 0 ? n : 0] = 0;
  snprintf(want, sizeof(want), "%s/sub", g_workdir);
  FACT("child's cwd is sub", n > 0 && !strcmp(cwd, want));
  snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
  n = readlink(path, root, sizeof(root) - 1);
  root[n > 0 ? n : 0] = 0;
  printf("child's root: %s\n", root);

  if (write(go[1], &x, 1) != 1)
    return 1;
  int status;
  waitpid(pid, &status, 0);
  printf("child status %d\n", WEXITSTATUS(status));
  snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
  R("fd dir of a reaped child", open(dir, O_RDONLY | O_DIRECTORY));
  return 0;
}
