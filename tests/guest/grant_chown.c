/* chown on a host grant (issue 9, item 6): a grant is a file system
 * mounted with an idmap that maps one id, the sandbox's 0. chown, fchown,
 * lchown and fchownat (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH) to that id
 * succeed; to any other uid or gid they fail with EOVERFLOW, as Linux's
 * notify_change does for an id the mount cannot map; -1/-1 changes
 * nothing. tests/run.py runs it in a fresh directory: natively as root
 * in an idmapped mount of a host directory that maps only id 0 (the very
 * case), inside moat in the same kind of directory granted as an rw
 * --mount. Then, in a work directory under /tmp (the host's tmpfs
 * natively, moat's own file system inside: grants never hold set-id
 * bits), the set-id bits chown drops: set-user-ID always, set-group-ID
 * when group-exec is set or the caller is outside the file's group, even
 * for chown(-1, -1), never on a directory; a caller who is not the owner
 * may not have them dropped (EPERM). */
#include <grp.h>
#include <sys/wait.h>

#include "guest.h"

static void owner_of(const char *label, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    printf("%s: %u:%u %04o\n", label, (unsigned)st.st_uid, (unsigned)st.st_gid,
           st.st_mode & 07777);
}

static void on_grant(void) {
  int fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644);
  OK("create f", fd);
  close(fd);
  OK("mkdir d", mkdir("d", 0755));
  OK("symlink l -> f", symlink("f", "l"));
  owner_of("f", "f");
  owner_of("d", "d");
  owner_of("l", "l");

  OK("chown f 0 0", chown("f", 0, 0));
  OK("chown f -1 -1", chown("f", -1, -1));
  OK("chown f 0 -1", chown("f", 0, -1));
  R("chown f 1000 -1", chown("f", 1000, -1));
  R("chown f -1 1000", chown("f", -1, 1000));
  R("chown f 0 1000", chown("f", 0, 1000));
  R("chown f 1000 0", chown("f", 1000, 0));
  R("chown f 65534 65534", chown("f", 65534, 65534));
  R("chown f 65536 -1", chown("f", 65536, -1));
  R("chown l 1000 1000 (follows)", chown("l", 1000, 1000));
  owner_of("f after", "f");

  fd = open("f", O_RDONLY);
  OK("fchown f 0 0", fchown(fd, 0, 0));
  R("fchown f 1000 1000", fchown(fd, 1000, 1000));
  R("fchown f -1 1", fchown(fd, -1, 1));
  close(fd);

  OK("lchown l 0 0", lchown("l", 0, 0));
  OK("lchown l -1 -1", lchown("l", -1, -1));
  R("lchown l 1000 -1", lchown("l", 1000, -1));
  R("lchown l -1 1000", lchown("l", -1, 1000));
  OK("fchownat l 0 0 nofollow",
     fchownat(AT_FDCWD, "l", 0, 0, AT_SYMLINK_NOFOLLOW));
  R("fchownat l 1000 0 nofollow",
    fchownat(AT_FDCWD, "l", 1000, 0, AT_SYMLINK_NOFOLLOW));
  R("fchownat l 0 1000 (follows)", fchownat(AT_FDCWD, "l", 0, 1000, 0));
  owner_of("l after", "l");

  fd = open("f", O_PATH);
  OK("fchownat O_PATH f empty 0 0", fchownat(fd, "", 0, 0, AT_EMPTY_PATH));
  R("fchownat O_PATH f empty 1000 -1",
    fchownat(fd, "", 1000, -1, AT_EMPTY_PATH));
  R("fchownat O_PATH f empty without AT_EMPTY_PATH", fchownat(fd, "", 0, 0, 0));
  close(fd);
  fd = open("d", O_RDONLY | O_DIRECTORY);
  OK("fchownat d empty 0 0", fchownat(fd, "", 0, 0, AT_EMPTY_PATH));
  R("fchownat d empty -1 1000", fchownat(fd, "", -1, 1000, AT_EMPTY_PATH));
  OK("fchown d 0 0", fchown(fd, 0, 0));
  close(fd);
  OK("chown d 0 0", chown("d", 0, 0));
  R("chown d 1000 1000", chown("d", 1000, 1000));
  R("chown missing 0 0", chown("missing", 0, 0));
  R("fchownat bad flags", fchownat(AT_FDCWD, "f", 0, 0, 0x4));
  owner_of("d after", "d");
  owner_of("f end", "f");
  owner_of("l end", "l");
}

/* chown(f, u, g) of a fresh file of the given mode: the mode after. */
static void setid_case(mode_t mode, int u, int g) {
  char label[64];
  int fd = open("s", O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd >= 0)
    close(fd);
  if (chmod("s", mode) < 0) {
    printf("chmod s %04o: -1 %s\n", (unsigned)mode, errname(errno));
    return;
  }
  snprintf(label, sizeof label, "%04o chown %d %d", (unsigned)mode, u, g);
  if (chown("s", (uid_t)u, (gid_t)g) < 0)
    printf("%s: -1 %s\n", label, errname(errno));
  else
    owner_of(label, "s");
}

static void setid_bits(void) {
  static const mode_t modes[] = {04644, 04755, 02755, 02745, 06755, 06711};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    setid_case(modes[i], -1, -1);
    setid_case(modes[i], 0, 0);
    setid_case(modes[i], 0, -1);
    setid_case(modes[i], -1, 0);
  }
  OK("mkdir sd", mkdir("sd", 0755));
  OK("chmod sd 06755", chmod("sd", 06755));
  OK("chown sd 0 0", chown("sd", 0, 0));
  owner_of("sd", "sd");

  /* files for an ordinary user: root's, and the user's own */
  write_file("root4755", "x\n");
  OK("chmod root4755", chmod("root4755", 04755));
  write_file("root0644", "x\n");
  write_file("own4744", "x\n");
  OK("chown own4744", chown("own4744", 1000, 1000));
  OK("chmod own4744", chmod("own4744", 04744));
  write_file("own2745", "x\n");
  OK("chown own2745 1000 0", chown("own2745", 1000, 0));
  OK("chmod own2745", chmod("own2745", 02745));
  write_file("own2745g", "x\n");
  OK("chown own2745g", chown("own2745g", 1000, 1000));
  OK("chmod own2745g", chmod("own2745g", 02745));
  OK("chmod . 0777", chmod(".", 0777));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0)
      _exit(1);
    R("user chown root4755 -1 -1", chown("root4755", -1, -1));
    R("user chown root0644 -1 -1", chown("root0644", -1, -1));
    R("user chown root0644 1000 -1", chown("root0644", 1000, -1));
    R("user chown own4744 -1 -1", chown("own4744", -1, -1));
    R("user chown own2745 -1 -1 (not in group 0)", chown("own2745", -1, -1));
    R("user chown own2745g -1 -1 (in its group)", chown("own2745g", -1, -1));
    R("user chown own4744 0 -1", chown("own4744", 0, -1));
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  owner_of("root4755", "root4755");
  owner_of("root0644", "root0644");
  owner_of("own4744", "own4744");
  owner_of("own2745", "own2745");
  owner_of("own2745g", "own2745g");
}

int main(void) {
  umask(022);
  on_grant();
  enter_workdir("grant_chown");
  setid_bits();
  leave_workdir();
  return 0;
}
