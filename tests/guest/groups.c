/* Supplementary groups (issue 9, item 6): root sets them with setgroups
 * (the list comes back sorted, as Linux keeps it), they show in
 * /proc/self/status and they count in the permission checks; a process
 * without CAP_SETGID may not change them; initgroups gives root the
 * groups /etc/group names. */
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

static void show_groups(const char *label) {
  gid_t g[64];
  int n = getgroups(64, g);
  printf("%s:", label);
  if (n < 0)
    printf(" -1 %s", errname(errno));
  for (int i = 0; i < n; i++)
    printf(" %u", (unsigned)g[i]);
  printf("\n");
}

static void status_groups(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "Groups:", 7))
      printf("status %s", line);
  if (f)
    fclose(f);
}

int main(void) {
  enter_workdir("groups");
  gid_t set[] = {500, 30, 100, 30, 7};
  OK("setgroups 5", setgroups(5, set));
  show_groups("getgroups");
  R("getgroups(0)", getgroups(0, NULL));
  gid_t small[2];
  R("getgroups(2) too small", getgroups(2, small));
  R("getgroups(-1)", syscall(SYS_getgroups, -1, small));
  R("setgroups(-1)", syscall(SYS_setgroups, -1, set));
  R("setgroups(65537)", syscall(SYS_setgroups, 65537, set));
  R("setgroups bad pointer", syscall(SYS_setgroups, 2, (void *)8));
  status_groups();

  write_file("g100", "group 100 may read\n");
  write_file("g200", "group 200 may read\n");
  OK("chown g100", chown("g100", 0, 100));
  OK("chown g200", chown("g200", 0, 200));
  OK("chmod g100", chmod("g100", 0040));
  OK("chmod g200", chmod("g200", 0040));
  OK("mkdir d", mkdir("d", 0755));
  OK("chown d", chown("d", 0, 30));
  OK("chmod d 0070", chmod("d", 0070));
  fflush(stdout);

  pid_t pid = fork();
  if (pid == 0) {
    /* an ordinary user that keeps the supplementary groups */
    if (setgid(1000) < 0 || setuid(1000) < 0)
      _exit(1);
    show_groups("user getgroups");
    printf("user read g100: %s", read_file("g100"));
    R("user open g200", open("g200", O_RDONLY));
    R("user access g100 R_OK", access("g100", R_OK));
    R("user access g200 R_OK", access("g200", R_OK));
    OK("user create in d (group 30)", open("d/x", O_CREAT | O_WRONLY, 0600));
    R("user chown g100 to group 500", chown("g100", (uid_t)-1, 500));
    R("user chown g100 to group 1", chown("g100", (uid_t)-1, 1));
    gid_t one[] = {1000};
    R("user setgroups", setgroups(1, one));
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  OK("setgroups 0", setgroups(0, NULL));
  show_groups("after clearing");
  status_groups();
  pid = fork();
  if (pid == 0) {
    if (setgid(1000) < 0 || setuid(1000) < 0)
      _exit(1);
    R("user open g100 without the group", open("g100", O_RDONLY));
    R("user create in d without the group",
      open("d/y", O_CREAT | O_WRONLY, 0600));
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  /* login, su and sshd start a session this way: the groups /etc/group
   * lists root in, plus gid 0 (the sandbox's /etc/group is the host's) */
  OK("initgroups root 0", initgroups("root", 0));
  show_groups("after initgroups");
  status_groups();
  leave_workdir();
  return 0;
}
