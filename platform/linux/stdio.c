/* plat_stdio_*: the three host streams the sandbox was given. Only fds
 * 0, 1 and 2 are reachable (the filter pins read/write/ioctl to them) and
 * only the terminal requests listed in platform.h pass. */
#include "plat_linux.h"

bool g_plat_console;

static bool stream_ok(int stream) {
  return stream >= 0 && stream <= 2;
}

/* A host call cut short by a signal: retry, unless it was a kick (or the
 * timer): then the thread must go and look at its signals, so the wait
 * ends with -EINTR (the shim restarts the call when no handler runs). */
static bool interrupted_by_kick(void) {
  struct plat_thread *t = plat_current_thread();
  return t && __atomic_load_n(&t->kicked, __ATOMIC_SEQ_CST);
}

static long stdio_read(int stream, void *buf, size_t len) {
  plat_count(PF_STDIO_READ);
  if (!stream_ok(stream))
    return -LINUX_EBADF;
  if (len > LINUX_MAX_RW_COUNT)
    len = LINUX_MAX_RW_COUNT;
  long r;
  do
    r = hsys3(HNR_read, stream, buf, len);
  while (r == -LINUX_EINTR && !interrupted_by_kick());
  if (r > (long)len)
    return -LINUX_EIO;
  return r;
}

static long stdio_write(int stream, const void *buf, size_t len) {
  plat_count(PF_STDIO_WRITE);
  if (!stream_ok(stream))
    return -LINUX_EBADF;
  if (len == 0)
    return 0;
  if (len > LINUX_MAX_RW_COUNT)
    len = LINUX_MAX_RW_COUNT;
  long r;
  do
    r = hsys3(HNR_write, stream, buf, len);
  while (r == -LINUX_EINTR && !interrupted_by_kick());
  if (r == -LINUX_EINTR)
    return r;
  if (r > (long)len || r == 0)
    return -LINUX_EIO;
  return r;
}

_Static_assert(sizeof(struct plat_termios) == sizeof(struct linux_termios),
               "plat_termios is the host's termios");
_Static_assert(sizeof(struct plat_winsize) == sizeof(struct linux_winsize),
               "plat_winsize is the host's winsize");

int plat_stdio_term(int stream, int op, void *arg) {
  static const unsigned request[] = {
      [PLAT_TERM_GET] = LINUX_TCGETS,
      [PLAT_TERM_SET] = LINUX_TCSETS,
      [PLAT_TERM_SET_DRAIN] = LINUX_TCSETSW,
      [PLAT_TERM_SET_FLUSH] = LINUX_TCSETSF,
      [PLAT_TERM_GET_SIZE] = LINUX_TIOCGWINSZ,
      [PLAT_TERM_SET_SIZE] = LINUX_TIOCSWINSZ,
  };
  plat_count(PF_STDIO_IOCTL);
  if (!stream_ok(stream))
    return -LINUX_EBADF;
  if (op < PLAT_TERM_GET || op > PLAT_TERM_SET_SIZE)
    return -LINUX_EINVAL;
  /* With the console the host's terminal belongs to the runner: the
   * sandbox only looks at it (the filter allows no more). */
  if (g_plat_console && op != PLAT_TERM_GET && op != PLAT_TERM_GET_SIZE)
    return -LINUX_ENOTTY;
  long r = hsys3(HNR_ioctl, stream, request[op], arg);
  return r < 0 ? (int)r : 0;
}

/* The two kinds of host byte stream: the standard streams here, the
 * network's handles in net.c. */
long plat_io_read(int kind, int handle, void *buf, size_t len, unsigned flags) {
  if (kind == PLAT_IO_NET)
    return plat_linux_net_recv(handle, buf, len, flags);
  if (kind != PLAT_IO_STREAM || flags)
    return -LINUX_EINVAL;
  return stdio_read(handle, buf, len);
}

long plat_io_write(int kind, int handle, const void *buf, size_t len,
                   unsigned flags) {
  if (kind == PLAT_IO_NET)
    return plat_linux_net_send(handle, buf, len, flags);
  if (kind != PLAT_IO_STREAM || flags)
    return -LINUX_EINVAL;
  return stdio_write(handle, buf, len);
}
