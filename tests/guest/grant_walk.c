/* Host grants behave like a file system (issue 9, item 6): the guest's
 * umask shapes the modes of what it creates, and root walks, reads and
 * removes a tree of 0700, 0600 and 0000 directories and files, as root
 * does in a user namespace that owns them (CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH, CAP_FOWNER). tests/run.py runs it in a fresh
 * directory: natively a host directory, inside moat that directory as
 * an rw --mount (the cwd). */
#include <stdbool.h>
#include <sys/types.h>

#include "guest.h"

static void mode_of(const char *label, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %04o\n", label, st.st_mode & 07777);
}

static void umask_case(mode_t mask, const char *name, bool dir, mode_t mode) {
  char label[96];
  umask(mask);
  int r =
      dir ? mkdir(name, mode) : open(name, O_CREAT | O_EXCL | O_WRONLY, mode);
  if (r < 0) {
    printf("create %s: -1 %s\n", name, errname(errno));
    return;
  }
  if (!dir)
    close(r);
  snprintf(label, sizeof label, "umask %03o %s %04o", (unsigned)mask,
           dir ? "mkdir" : "open", (unsigned)mode);
  mode_of(label, name);
}

/* A depth-first walk through fds (openat, fdopendir), as os.fwalk does:
 * names sorted, files read. */
static void walk(int dfd, const char *path, int depth) {
  DIR *d = fdopendir(dfd);
  if (!d) {
    printf("%*s%s: fdopendir -1 %s\n", depth * 2, "", path, errname(errno));
    close(dfd);
    return;
  }
  char names[32][64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 32) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(names[n++], 64, "%s", e->d_name);
  }
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(names[i], names[j]) > 0) {
        char t[64];
        memcpy(t, names[i], 64);
        memcpy(names[i], names[j], 64);
        memcpy(names[j], t, 64);
      }
  for (int i = 0; i < n; i++) {
    struct stat st;
    if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      printf("%*s%s: stat -1 %s\n", depth * 2, "", names[i], errname(errno));
      continue;
    }
    printf("%*s%s %04o\n", depth * 2, "", names[i], st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        printf("%*s  open -1 %s\n", depth * 2, "", errname(errno));
      else
        walk(fd, names[i], depth + 1);
    } else {
      int fd = openat(dirfd(d), names[i], O_RDONLY);
      char buf[64] = {0};
      if (fd < 0) {
        printf("%*s  read -1 %s\n", depth * 2, "", errname(errno));
      } else {
        ssize_t k = read(fd, buf, sizeof buf - 1);
        printf("%*s  read %zd %s", depth * 2, "", k, k > 0 ? buf : "\n");
        close(fd);
      }
    }
  }
  closedir(d);
}

int main(void) {
  umask_case(077, "u077", false, 0666);
  umask_case(0, "u000", false, 0666);
  umask_case(022, "u022", false, 0666);
  umask_case(0, "d000", true, 0777);
  umask_case(027, "d027", true, 0777);
  umask_case(002, "d002", true, 01777);
  umask_case(0777, "u777", false, 0666);
  umask(022);

  /* a tree only root may walk */
  OK("mkdir t", mkdir("t", 0755));
  OK("mkdir t/a", mkdir("t/a", 0755));
  OK("mkdir t/a/b", mkdir("t/a/b", 0755));
  write_file("t/a/secret", "only root\n");
  write_file("t/a/b/deep", "deeper\n");
  write_file("t/open", "open\n");
  OK("chmod t/a/b/deep 0000", chmod("t/a/b/deep", 0));
  OK("chmod t/a/secret 0600", chmod("t/a/secret", 0600));
  OK("chmod t/a/b 0000", chmod("t/a/b", 0));
  OK("chmod t/a 0600", chmod("t/a", 0600));
  OK("chmod t 0700", chmod("t", 0700));
  int fd = open("t", O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    printf("open t: -1 %s\n", errname(errno));
  else
    walk(fd, "t", 0);
  /* root's access(2): any of r and w, x only where some x bit is set */
  R("access 0000 R_OK|W_OK", access("t/a/b/deep", R_OK | W_OK));
  R("access 0000 X_OK", access("t/a/b/deep", X_OK));
  R("access dir 0000 X_OK", access("t/a/b", X_OK));
  OK("open 0000 O_RDWR", fd = open("t/a/b/deep", O_RDWR));
  if (fd >= 0) {
    R("write", write(fd, "x", 1));
    close(fd);
  }
  OK("stat through 0000", access("t/a/b/deep", F_OK));
  OK("utimes 0000", utimensat(AT_FDCWD, "t/a/b/deep", NULL, 0));
  OK("rename inside 0000", rename("t/a/b/deep", "t/a/b/moved"));
  OK("unlink inside 0000", unlink("t/a/b/moved"));
  OK("rmdir 0000", rmdir("t/a/b"));
  OK("unlink in 0600", unlink("t/a/secret"));
  OK("rmdir 0600", rmdir("t/a"));
  OK("unlink", unlink("t/open"));
  OK("rmdir", rmdir("t"));
  return 0;
}
