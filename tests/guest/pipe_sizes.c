/* Pipe capacity and packets as Linux lays them out: F_GETPIPE_SZ and
 * F_SETPIPE_SZ (rounding to a power of two pages, EINVAL, EPERM above
 * /proc/sys/fs/pipe-max-size, EBUSY below the slots in use, EBADF on a
 * file), a one-page pipe that takes exactly 4096 bytes (O_NONBLOCK: then
 * EAGAIN; a blocked writer waits for the reader), slots that a partial
 * read does not free, pipe2(O_DIRECT) packets (one per write, split at
 * PIPE_BUF, a short read drops the rest, one slot each), writev as one
 * write, tee(2) and vmsplice(2). Output is identical natively and in
 * moat. */
#include "guest.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif
#define SPLICE_NONBLOCK 2

static long sc(long nr, long a, long b, long c, long d) {
  errno = 0;
  return syscall(nr, a, b, c, d, 0, 0);
}

static int nread(int fd) {
  int n = -1;
  ioctl(fd, FIONREAD, &n);
  return n;
}

static int writable(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* Bytes a nonblocking writer gets in, chunk bytes a write, until EAGAIN. */
static long fill(int fd, size_t chunk) {
  static char buf[1 << 16];
  long total = 0;
  for (;;) {
    ssize_t n = write(fd, buf, chunk);
    if (n < 0) {
      if (errno != EAGAIN)
        printf("fill: %s\n", errname(errno));
      return total;
    }
    total += n;
  }
}

static void drain(int fd) {
  char buf[4096];
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  while (read(fd, buf, sizeof buf) > 0)
    ;
  fcntl(fd, F_SETFL, fl);
}

static void sizes(void) {
  int p[2];
  if (pipe(p) < 0)
    return;
  R("default size", fcntl(p[0], F_GETPIPE_SZ));
  R("set 0", fcntl(p[1], F_SETPIPE_SZ, 0));
  R("set 1", fcntl(p[1], F_SETPIPE_SZ, 1));
  R("set 4097", fcntl(p[1], F_SETPIPE_SZ, 4097));
  R("set 5 pages", fcntl(p[1], F_SETPIPE_SZ, 5 * 4096));
  R("get from the read end", fcntl(p[0], F_GETPIPE_SZ));
  R("set pipe-max-size", fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
  R("set above pipe-max-size", fcntl(p[1], F_SETPIPE_SZ, (1 << 20) + 1));
  R("set 2^31+1", fcntl(p[1], F_SETPIPE_SZ, (1u << 31) + 1));
  R("set -1", fcntl(p[1], F_SETPIPE_SZ, -1));
  R("size unchanged", fcntl(p[1], F_GETPIPE_SZ));
  R("shrink to 64 KiB", fcntl(p[1], F_SETPIPE_SZ, 65536));
  /* three slots in use: four pages fit, two do not */
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  R("write 3 pages", write(p[1], (char[3 * 4096]){0}, 3 * 4096));
  R("shrink to 2 pages (EBUSY)", fcntl(p[1], F_SETPIPE_SZ, 2 * 4096));
  R("shrink to 3 pages", fcntl(p[1], F_SETPIPE_SZ, 3 * 4096));
  R("content kept", nread(p[0]));
  R("writable when full", writable(p[1]));
  drain(p[0]);
  int fd = open("/proc/self/exe", O_RDONLY);
  R("F_GETPIPE_SZ on a file", fcntl(fd, F_GETPIPE_SZ));
  R("F_SETPIPE_SZ on a file", fcntl(fd, F_SETPIPE_SZ, 4096));
  close(fd);
  close(p[0]);
  close(p[1]);
}

static void one_page(void) {
  int p[2];
  if (pipe2(p, O_NONBLOCK) < 0)
    return;
  R("one page", fcntl(p[1], F_SETPIPE_SZ, 4096));
  R("bytes in, 1 a write", fill(p[1], 1));
  R("FIONREAD", nread(p[0]));
  R("writable", writable(p[1]));
  char c[4096];
  R("read 1", read(p[0], c, 1));
  /* the slot is still in use: no room, not even for one byte */
  R("writable after a partial read", writable(p[1]));
  R("write 1 after a partial read", write(p[1], "x", 1));
  R("read the rest", read(p[0], c, sizeof c));
  R("writable when empty", writable(p[1]));
  R("bytes in, 1000 a write", fill(p[1], 1000));
  drain(p[0]);
  R("bytes in, 4096 a write", fill(p[1], 4096));
  drain(p[0]);
  R("bytes in, 5000 a write", fill(p[1], 5000));
  drain(p[0]);
  /* 2 pages: 3000 + 3000 cannot share a page, a third write has no slot */
  R("two pages", fcntl(p[1], F_SETPIPE_SZ, 8192));
  R("write 3000", write(p[1], c, 3000));
  R("write 3000 again", write(p[1], c, 3000));
  R("write 3000 a third time", write(p[1], c, 3000));
  R("write 1000 (joins the last page)", write(p[1], c, 1000));
  R("FIONREAD", nread(p[0]));
  drain(p[0]);

  /* a blocking writer of 4097 bytes stops after 4096 until read */
  int q[2];
  if (pipe(q) < 0)
    return;
  fcntl(q[1], F_SETPIPE_SZ, 4096);
  pid_t pid = fork();
  if (pid == 0) {
    close(q[0]);
    static char big[4097];
    ssize_t n = write(q[1], big, sizeof big);
    _exit(n == (ssize_t)sizeof big ? 0 : 1);
  }
  close(q[1]);
  wait_sleeping(pid);
  R("blocked writer: FIONREAD", nread(q[0]));
  long got = 0;
  ssize_t n;
  while ((n = read(q[0], c, sizeof c)) > 0)
    got += n;
  int st;
  waitpid(pid, &st, 0);
  R("blocked writer: bytes read", got);
  R("blocked writer: status", WIFEXITED(st) ? WEXITSTATUS(st) : 100);
  close(q[0]);
  close(p[0]);
  close(p[1]);
}

static void packets(void) {
  int p[2];
  if (pipe2(p, O_DIRECT | O_NONBLOCK) < 0) {
    printf("pipe2 O_DIRECT: %s\n", errname(errno));
    return;
  }
  FACT("F_GETFL has O_DIRECT", fcntl(p[1], F_GETFL) & O_DIRECT);
  char buf[8192];
  R("write abc", write(p[1], "abc", 3));
  R("write defgh", write(p[1], "defgh", 5));
  R("FIONREAD", nread(p[0]));
  R("read 100", read(p[0], buf, 100));
  R("read 100 again", read(p[0], buf, 100));
  printf("second packet: %.5s\n", buf);
  R("write 10", write(p[1], "0123456789", 10));
  R("write 2", write(p[1], "xy", 2));
  R("read 4 of 10", read(p[0], buf, 4));
  R("next read", read(p[0], buf, 100));
  printf("after the short read: %.2s\n", buf);
  R("write 5000", write(p[1], buf, 5000));
  R("read 8192", read(p[0], buf, 8192));
  R("read 8192 again", read(p[0], buf, 8192));
  R("empty", read(p[0], buf, 8192));
  /* every packet takes a slot: 16 of them fill a 64 KiB pipe */
  R("one-byte packets", fill(p[1], 1));
  drain(p[0]);
  /* writev is one write: one packet */
  struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
  R("writev 2+2", writev(p[1], iov, 2));
  R("read it", read(p[0], buf, 100));
  /* a plain writer on the same pipe joins plain writes again */
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  R("plain write", write(p[1], "12", 2));
  R("plain write again", write(p[1], "34", 2));
  R("read both", read(p[0], buf, 100));
  close(p[0]);
  close(p[1]);
}

static void tee_vmsplice(void) {
  int a[2], b[2];
  if (pipe2(a, O_NONBLOCK) < 0 || pipe2(b, O_NONBLOCK) < 0)
    return;
  char buf[100];
  R("tee empty", sc(SYS_tee, a[0], b[1], 100, 0));
  R("tee len 0", sc(SYS_tee, a[0], b[1], 0, 0));
  R("tee bad flags", sc(SYS_tee, a[0], b[1], 100, 0x10));
  R("tee bad fd", sc(SYS_tee, 99, b[1], 100, 0));
  R("tee same pipe", sc(SYS_tee, a[0], a[1], 100, 0));
  R("tee wrong ends", sc(SYS_tee, a[1], b[0], 100, 0));
  int fd = open("/proc/self/exe", O_RDONLY);
  R("tee from a file", sc(SYS_tee, fd, b[1], 100, 0));
  write(a[1], "hello", 5);
  write(a[1], " world", 6);
  R("tee 3", sc(SYS_tee, a[0], b[1], 3, 0));
  R("tee 100", sc(SYS_tee, a[0], b[1], 100, 0));
  R("read the copy", read(b[0], buf, sizeof buf));
  printf("copy: %.14s\n", buf);
  R("read the original", read(a[0], buf, sizeof buf));
  printf("original: %.11s\n", buf);
  /* no writer left and nothing in it: 0 */
  int c[2];
  pipe(c);
  close(c[1]);
  R("tee from a pipe without writers", sc(SYS_tee, c[0], b[1], 100, 0));
  close(c[0]);
  /* a full output pipe */
  fcntl(b[1], F_SETPIPE_SZ, 4096);
  fill(b[1], 4096);
  write(a[1], "z", 1);
  R("tee into a full pipe", sc(SYS_tee, a[0], b[1], 100, SPLICE_NONBLOCK));
  drain(a[0]);
  drain(b[0]);

  struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
  R("vmsplice in", sc(SYS_vmsplice, b[1], (long)iov, 2, 0));
  R("FIONREAD", nread(b[0]));
  /* its slots take no later write: the one page is full */
  R("write after vmsplice", write(b[1], "!", 1));
  char out[16] = {0};
  struct iovec o = {out, sizeof out};
  R("vmsplice out", sc(SYS_vmsplice, b[0], (long)&o, 1, 0));
  printf("out: %s\n", out);
  R("vmsplice out nonblock",
    sc(SYS_vmsplice, b[0], (long)&o, 1, SPLICE_NONBLOCK));
  fill(b[1], 4096);
  R("vmsplice into a full pipe",
    sc(SYS_vmsplice, b[1], (long)iov, 2, SPLICE_NONBLOCK));
  R("vmsplice on a file", sc(SYS_vmsplice, fd, (long)iov, 1, 0));
  R("vmsplice bad flags", sc(SYS_vmsplice, b[1], (long)iov, 1, 0x10));
  R("vmsplice bad fd", sc(SYS_vmsplice, 99, (long)iov, 1, 0));
  R("vmsplice 0 segments", sc(SYS_vmsplice, b[1], (long)iov, 0, 0));
  R("vmsplice 1025 segments", sc(SYS_vmsplice, b[1], (long)iov, 1025, 0));
  drain(b[0]);
  R("vmsplice bad iov", sc(SYS_vmsplice, b[1], 8, 1, 0));
  close(fd);

  /* into a pipe with no reader: EPIPE (SIGPIPE ignored) */
  signal(SIGPIPE, SIG_IGN);
  close(b[0]);
  write(a[1], "q", 1);
  R("tee into a pipe without readers", sc(SYS_tee, a[0], b[1], 1, 0));
  R("vmsplice into a pipe without readers",
    sc(SYS_vmsplice, b[1], (long)iov, 1, 0));
  close(a[0]);
  close(a[1]);
  close(b[1]);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sizes();
  one_page();
  packets();
  tee_vmsplice();
  return 0;
}
