/* Tries to read each path given on the command line and prints
 * "PATH: READ <first line>" or "PATH: denied ENAME". Leading
 * "--symlink TARGET LINK" pairs create symlinks first (in a rw mount, to
 * test that a guest-made link to a host path stays a sandbox path).
 * tests/run.py gives it host paths outside the grants and escapes from a
 * --mount; every one must be denied. */
#include "guest.h"

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int i = 1;
  while (i + 2 < argc && !strcmp(argv[i], "--symlink")) {
    if (symlink(argv[i + 1], argv[i + 2]) < 0)
      printf("symlink %s: %s\n", argv[i + 2], errname(errno));
    i += 3;
  }
  for (; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      printf("%s: denied %s\n", argv[i], errname(errno));
      continue;
    }
    char buf[128] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
      printf("%s: denied %s (on read)\n", argv[i], errname(errno));
      continue;
    }
    char *nl = strchr(buf, '\n');
    if (nl)
      *nl = 0;
    printf("%s: READ %s\n", argv[i], buf);
  }
  return 0;
}
