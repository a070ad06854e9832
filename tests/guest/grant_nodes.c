/* FIFOs and sockets on a host grant (issue 9, item 6): mkfifo, mknod of
 * S_IFIFO and S_IFSOCK, and bind of an AF_UNIX socket in a granted
 * directory make the node on the host (a FIFO or socket node, the
 * guest's umask applied) and work between the sandbox's processes.
 * tests/run.py runs it in a fresh directory: natively a host directory,
 * inside moat that directory as an rw --mount (the cwd). */
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "guest.h"

static void show(const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    printf("%s: lstat -1 %s\n", path, errname(errno));
    return;
  }
  const char *t = S_ISFIFO(st.st_mode)   ? "fifo"
                  : S_ISSOCK(st.st_mode) ? "socket"
                  : S_ISREG(st.st_mode)  ? "file"
                                         : "other";
  printf("%s: %s %04o size %lld\n", path, t, st.st_mode & 07777,
         (long long)st.st_size);
}

int main(void) {
  umask(027);
  OK("mkfifo p 0666", mkfifo("p", 0666));
  show("p");
  R("mkfifo p again", mkfifo("p", 0666));
  OK("mknod q S_IFIFO 0640", mknod("q", S_IFIFO | 0640, 0));
  show("q");
  OK("mknod s S_IFSOCK 0777", mknod("s", S_IFSOCK | 0777, 0));
  show("s");
  umask(0);
  OK("mkfifo r 0666 (umask 0)", mkfifo("r", 0666));
  show("r");

  /* the FIFO carries data between two processes */
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("p", O_WRONLY);
    if (fd < 0)
      _exit(1);
    (void)!write(fd, "through the fifo\n", 17);
    close(fd);
    _exit(0);
  }
  int fd = open("p", O_RDONLY);
  char buf[64] = {0};
  if (fd < 0) {
    printf("open p: -1 %s\n", errname(errno));
  } else {
    ssize_t n, got = 0;
    while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
      got += n;
    printf("read %zd: %s", got, buf);
    close(fd);
  }
  int status;
  waitpid(pid, &status, 0);
  printf("writer: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  R("open O_RDONLY|O_NONBLOCK", fd = open("q", O_RDONLY | O_NONBLOCK));
  if (fd >= 0)
    close(fd);
  R("open O_WRONLY|O_NONBLOCK no reader", open("q", O_WRONLY | O_NONBLOCK));
  R("open socket node", open("s", O_RDONLY));

  /* an AF_UNIX socket bound in the directory */
  umask(022);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "sock");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  OK("bind sock", bind(l, (struct sockaddr *)&a, sizeof a));
  show("sock");
  OK("listen", listen(l, 1));
  int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R("bind sock again", bind(l2, (struct sockaddr *)&a, sizeof a));
  strcpy(a.sun_path, "s");
  R("connect to an unbound socket node",
    connect(l2, (struct sockaddr *)&a, sizeof a));
  close(l2);
  strcpy(a.sun_path, "p");
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  R("connect to a fifo", connect(c, (struct sockaddr *)&a, sizeof a));
  close(c);
  strcpy(a.sun_path, "sock");
  c = socket(AF_UNIX, SOCK_STREAM, 0);
  OK("connect", connect(c, (struct sockaddr *)&a, sizeof a));
  int s = accept(l, NULL, NULL);
  R("send", send(c, "over the socket", 15, 0));
  memset(buf, 0, sizeof buf);
  R("recv", recv(s, buf, sizeof buf, 0));
  printf("got: %s\n", buf);
  close(s);
  close(c);
  close(l);

  OK("unlink p", unlink("p"));
  OK("unlink q", unlink("q"));
  OK("unlink r", unlink("r"));
  OK("unlink s", unlink("s"));
  OK("unlink sock", unlink("sock"));
  return 0;
}
