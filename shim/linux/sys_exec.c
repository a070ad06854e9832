/* execve in the Linux shim: replace the program of the current process,
 * keeping its pid, open files (but close-on-exec ones), ignored signals,
 * signal mask and pending signals, as Linux does. Everything the guest
 * passed is copied out of its memory first, the new program is checked
 * completely, and only then is the old image thrown away: up to that
 * point a failure returns an error to the old program, after it the
 * process dies of SIGSEGV (Linux's behaviour too). */
#include "moat/platform.h"
#include "elf.h"
#include "shim.h"

/* Linux's limits: one string at most 32 pages, all of them at most a
 * quarter of the stack. */
#define EXEC_STRING_MAX (32 * LINUX_PAGE_SIZE)
/* Leave room for the file name and up to a few #! interpreter words, so
 * that the stack builder never refuses what was accepted here. */
#define EXEC_TOTAL_MAX (LINUX_STACK_SIZE / 4 - 8 * LINUX_PATH_MAX)
#define EXEC_COUNT_MAX 32768

struct string_list {
  char **v;
  int n;
};

static void list_free(struct string_list *l) {
  for (int i = 0; l->v && i < l->n; i++)
    kfree(l->v[i]);
  kfree(l->v);
  l->v = NULL;
  l->n = 0;
}

/* Copy a NULL-terminated guest array of strings (NULL itself is an empty
 * array). *total accumulates the bytes for the E2BIG check. */
static long list_import(uint64_t guest, struct string_list *out, char *tmp,
                        size_t *total) {
  int cap = 0;
  out->v = NULL;
  out->n = 0;
  if (!guest)
    goto terminate;
  for (;;) {
    uint64_t p;
    long len;
    if (user_read(&p, guest + (uint64_t)out->n * 8, 8) < 0)
      return -LINUX_EFAULT;
    if (!p)
      break;
    if (out->n >= EXEC_COUNT_MAX)
      return -LINUX_E2BIG;
    len = moat_user_strncpy(tmp, p, EXEC_STRING_MAX);
    if (len == -LINUX_ENAMETOOLONG)
      return -LINUX_E2BIG;
    if (len < 0)
      return len;
    *total += (size_t)len + 1 + 8;
    if (*total > EXEC_TOTAL_MAX)
      return -LINUX_E2BIG;
    if (out->n + 1 >= cap) {
      int ncap = cap ? cap * 2 : 16;
      char **nv = krealloc(out->v, (size_t)ncap * sizeof(*nv));
      if (!nv)
        return -LINUX_ENOMEM;
      out->v = nv;
      cap = ncap;
    }
    out->v[out->n] = rt_strdup(tmp);
    if (!out->v[out->n])
      return -LINUX_ENOMEM;
    out->n++;
  }
terminate:
  if (!out->v) {
    out->v = kmalloc(sizeof(*out->v));
    if (!out->v)
      return -LINUX_ENOMEM;
  }
  out->v[out->n] = NULL;
  return 0;
}

/* What exec resets in the process: handled signals go back to their
 * default (ignored ones stay ignored), the alternate stack goes.
 * (Close-on-exec descriptors: close_on_exec, after the load. The tid address
 * and the robust list are the core's, reset by moat_set_program.) */
static void reset_process_state(void) {
  struct linux_stack off;

  for (int sig = 1; sig <= LINUX_NSIG; sig++) {
    struct linux_sigaction act;
    if (sig == LINUX_SIGKILL || sig == LINUX_SIGSTOP)
      continue;
    if (moat_sigaction(sig, NULL, &act) < 0)
      continue;
    if (act.handler != LINUX_SIG_DFL && act.handler != LINUX_SIG_IGN) {
      memset(&act, 0, sizeof(act));
      moat_sigaction(sig, &act, NULL);
    }
  }
  memset(&off, 0, sizeof(off));
  off.ss_flags = LINUX_SS_DISABLE;
  moat_sigaltstack(&off, NULL);
}

/* Close-on-exec descriptors go after the new image is loaded, so that
 * fexecve (execveat with AT_EMPTY_PATH) of a close-on-exec fd can still
 * reach the file through /proc/self/fd, as Linux reaches it. */
static void close_on_exec(void) {
  moat_close_on_exec();
}

/* The new program starts with the FPU in its initial state. */
static void reset_fpu(struct moat_regs *regs) {
  shim_fpstate_ready(regs);
  char *fp = regs->fpstate;
  uint16_t fcw = 0x37f;
  uint32_t mxcsr = 0x1f80;
  if (!fp || regs->fpstate_size < 512)
    return;
  /* The legacy area up to the software bytes: control, status, tags,
   * x87 and SSE registers; the XSAVE header stays the platform's. */
  memset(fp, 0, 24);
  memset(fp + 32, 0, 464 - 32);
  memcpy(fp, &fcw, 2);
  memcpy(fp + 24, &mxcsr, 4);
}

/* execve of path (already in library OS memory) with the guest's argv and
 * envp arrays. */
static long do_execve(struct moat_regs *regs, const char *path, uint64_t a1,
                      uint64_t a2) {
  char why[256];
  struct string_list argv = {0}, envp = {0};
  const char *const *args;
  int nargs;
  size_t total = 0;
  char *tmp;
  long err;
  struct shim_exec *x = NULL;

  tmp = kmalloc(EXEC_STRING_MAX);
  if (!tmp)
    return -LINUX_ENOMEM;
  err = list_import(a1, &argv, tmp, &total);
  if (!err)
    err = list_import(a2, &envp, tmp, &total);
  kfree(tmp);
  if (err < 0)
    goto out;
  if (!path[0]) {
    err = -LINUX_ENOENT;
    goto out;
  }
  args = (const char *const *)argv.v;
  nargs = argv.n;
  x = shim_exec_new();
  if (!x) {
    err = -LINUX_ENOMEM;
    goto out;
  }
  err = shim_exec_prepare(x, path, &args, &nargs, why, sizeof(why));
  if (err < 0)
    goto out;

  /* The point of no return: as Linux, the other threads end first (they
   * leave at their next return to the library OS), then the old image
   * goes. */
  err = moat_exec_single_thread();
  if (err < 0)
    goto out;
  moat_mm_exec_reset();
  reset_process_state();
  err = shim_exec_load(x, nargs, args, (const char *const *)envp.v, regs, why,
                       sizeof(why));
  if (err < 0) {
    moat_log("moat: exec %s: %s\n", path, why);
    list_free(&argv);
    list_free(&envp);
    shim_exec_free(x);
    shim_die_of_signal(LINUX_SIGSEGV);
  }
  close_on_exec();
  regs->fs_base = 0;
  reset_fpu(regs);
  err = 0;
out:
  shim_exec_free(x);
  list_free(&argv);
  list_free(&envp);
  return err;
}

long sys_execve(SYSARGS) {
  char path[LINUX_PATH_MAX];
  long err = user_path(path, a0);
  if (err < 0)
    return err;
  return do_execve(regs, path, a1, a2);
}

/* execveat: a path relative to a directory fd, or with AT_EMPTY_PATH the
 * file open at fd itself (fexecve), which is reached again through
 * /proc/self/fd as glibc's fexecve does on old kernels. */
long sys_execveat(SYSARGS) {
  char rel[LINUX_PATH_MAX], path[LINUX_PATH_MAX];
  int dirfd = (int)a0, flags = (int)a4;
  if (flags & ~(LINUX_AT_EMPTY_PATH | LINUX_AT_SYMLINK_NOFOLLOW))
    return -LINUX_EINVAL;
  long err = user_path(rel, a1);
  if (err < 0)
    return err;
  if (!rel[0]) {
    struct linux_stat st;
    if (!(flags & LINUX_AT_EMPTY_PATH))
      return -LINUX_ENOENT;
    err = moat_fstat(dirfd, &st);
    if (err < 0)
      return err;
    rt_snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
  } else if (rel[0] == '/' || dirfd == LINUX_AT_FDCWD) {
    rt_strlcpy(path, rel, sizeof(path));
  } else {
    err = moat_dir_path(dirfd, path, sizeof(path));
    if (err < 0)
      return err;
    size_t n = rt_strlen(path);
    if (rt_snprintf(path + n, sizeof(path) - n, "%s%s", n > 1 ? "/" : "",
                    rel) >= (int)(sizeof(path) - n))
      return -LINUX_ENAMETOOLONG;
  }
  if (rel[0] && (flags & LINUX_AT_SYMLINK_NOFOLLOW)) {
    struct linux_stat st;
    err = moat_fstatat(LINUX_AT_FDCWD, path, &st, LINUX_AT_SYMLINK_NOFOLLOW);
    if (err < 0)
      return err;
    if (LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFLNK))
      return -LINUX_ELOOP;
  }
  return do_execve(regs, path, a2, a3);
}
