/* Links and renames: link/linkat, symlink/symlinkat, readlink/readlinkat,
 * unlink/unlinkat, rename/renameat/renameat2 (NOREPLACE, EXCHANGE), with
 * their error cases, symlink loops, dangling links, and unlink of an open
 * file. */
#include <sys/syscall.h>

#include "guest.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif

static long renameat2_(const char *a, const char *b, unsigned flags) {
  return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void nlink(const char *label, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: nlink %ld\n", label, (long)st.st_nlink);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("links");
  write_file("f", "file f");
  R("mkdir d", mkdir("d", 0755));
  /* hard links */
  R("link", link("f", "g"));
  nlink("f", "f");
  struct stat a, b;
  stat("f", &a);
  stat("g", &b);
  FACT("same inode", a.st_ino == b.st_ino);
  R("link existing", link("f", "g"));
  R("link dir", link("d", "d2"));
  R("link missing", link("nope", "x"));
  R("link into missing dir", link("f", "nodir/x"));
  R("unlink f", unlink("f"));
  nlink("g", "g");
  printf("g: %s\n", read_file("g"));
  R("linkat", linkat(AT_FDCWD, "g", AT_FDCWD, "d/g", 0));
  /* symlinks */
  R("symlink", symlink("g", "s"));
  R("symlink existing", symlink("x", "s"));
  R("symlink empty target", symlink("", "e"));
  printf("via s: %s\n", read_file("s"));
  char buf[256];
  memset(buf, 0, sizeof buf);
  R("readlink", readlink("s", buf, sizeof buf));
  printf("target: %s\n", buf);
  R("readlink short buffer", readlink("s", buf, 0 + 1));
  R("readlink file", readlink("g", buf, sizeof buf));
  R("readlink missing", readlink("nope", buf, sizeof buf));
  R("readlinkat", readlinkat(AT_FDCWD, "s", buf, sizeof buf));
  R("symlinkat dangling", symlinkat("does-not-exist", AT_FDCWD, "dl"));
  printf("via dangling: %s\n", read_file("dl"));
  R("creat through dangling", open("dl", O_WRONLY | O_CREAT, 0644));
  R("close", close(3));
  R("target now exists", access("does-not-exist", F_OK));
  R("symlink loop a", symlink("loop-b", "loop-a"));
  R("symlink loop b", symlink("loop-a", "loop-b"));
  printf("loop: %s\n", read_file("loop-a"));
  R("stat through loop dir", access("loop-a/x", F_OK));
  R("lstat loop", lstat("loop-a", &a));
  R("symlink self", symlink("self", "self"));
  printf("self: %s\n", read_file("self"));
  R("link of symlink (no follow)",
    linkat(AT_FDCWD, "s", AT_FDCWD, "s-hard", 0));
  R("lstat hard", lstat("s-hard", &a));
  FACT("hard link of symlink is a symlink", S_ISLNK(a.st_mode));
  R("linkat follow",
    linkat(AT_FDCWD, "s", AT_FDCWD, "s-follow", AT_SYMLINK_FOLLOW));
  R("lstat follow", lstat("s-follow", &a));
  FACT("followed link is a file", S_ISREG(a.st_mode));
  R("unlink symlink", unlink("s"));
  R("target kept", access("g", F_OK));
  R("unlinkat dir without flag", unlinkat(AT_FDCWD, "d", 0));
  R("unlinkat file with REMOVEDIR", unlinkat(AT_FDCWD, "g", AT_REMOVEDIR));
  R("unlinkat bad flag", unlinkat(AT_FDCWD, "g", 0x1));
  R("unlink missing", unlink("nope"));

  /* renames */
  write_file("r1", "one");
  write_file("r2", "two");
  R("rename over file", rename("r1", "r2"));
  printf("r2: %s\n", read_file("r2"));
  printf("r1: %s\n", read_file("r1"));
  R("rename missing", rename("r1", "r3"));
  R("mkdir e", mkdir("e", 0755));
  R("mkdir full", mkdir("full", 0755));
  write_file("full/x", "x");
  R("rename file over dir", rename("r2", "e"));
  R("rename dir over file", rename("e", "r2"));
  R("rename dir over nonempty", rename("e", "full"));
  R("rename dir into itself", rename("e", "e/sub"));
  R("rename dir over empty dir", rename("d", "e"));
  R("d gone", access("d", F_OK));
  R("e/g there", access("e/g", F_OK));
  R("rename to itself", rename("r2", "r2"));
  R("link r2 r2b", link("r2", "r2b"));
  R("rename onto own hard link", rename("r2", "r2b"));
  R("both still there", access("r2", F_OK) + access("r2b", F_OK));
  R("renameat", renameat(AT_FDCWD, "r2b", AT_FDCWD, "e/r2b"));
  R("rename dot", rename(".", "x"));
  R("rename into missing dir", rename("r2", "nodir/r2"));
  write_file("p", "P");
  write_file("q", "Q");
  R("renameat2 noreplace existing", renameat2_("p", "q", RENAME_NOREPLACE));
  R("renameat2 noreplace new", renameat2_("p", "p2", RENAME_NOREPLACE));
  R("renameat2 exchange", renameat2_("p2", "q", RENAME_EXCHANGE));
  printf("p2: %s\n", read_file("p2"));
  printf("q: %s\n", read_file("q"));
  R("renameat2 exchange missing", renameat2_("p2", "zz", RENAME_EXCHANGE));
  R("renameat2 both flags",
    renameat2_("p2", "q", RENAME_EXCHANGE | RENAME_NOREPLACE));
  R("renameat2 bad flags", renameat2_("p2", "q", 0x100));
  R("rename exchange dir and file", renameat2_("e", "q", RENAME_EXCHANGE));
  R("q is dir", access("q/g", F_OK));

  /* unlink while open */
  write_file("open", "still readable");
  int fd = open("open", O_RDWR);
  R("unlink open file", unlink("open"));
  memset(buf, 0, sizeof buf);
  R("read after unlink", read(fd, buf, sizeof buf));
  printf("data: %s\n", buf);
  R("write after unlink", write(fd, "!", 1));
  R("fstat after unlink", fstat(fd, &a));
  printf("nlink %ld size %ld\n", (long)a.st_nlink, (long)a.st_size);
  R("close", close(fd));
  R("gone", access("open", F_OK));
  /* rename while open keeps the open file */
  write_file("mv", "moving");
  fd = open("mv", O_RDONLY);
  R("rename open file", rename("mv", "moved"));
  memset(buf, 0, sizeof buf);
  R("read after rename", read(fd, buf, sizeof buf));
  printf("data: %s\n", buf);
  close(fd);
  return 0;
}
