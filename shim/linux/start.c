/* shim_linux_start(): how a Linux program begins inside the sandbox. Find
 * argv[0] on the sandbox's PATH as execvp does, follow "#!" lines as
 * Linux's binfmt_script does, load the ELF image (and its interpreter),
 * build the initial stack, set the break, and enter the guest. */
#include "moat/platform.h"
#include "moat/shim_linux.h"
#include "elf.h"
#include "shim.h"
#include "stack.h"

#define DEFAULT_PATH                                                           \
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Linux follows at most this many "#!" interpreters in a row. */
#define SCRIPT_DEPTH_MAX 4
#define ARGS_MAX 32768

/* One exec's loader state: large (the #! argv buffers), so it is
 * allocated for the exec (shim_exec_new) rather than on a stack, and it
 * belongs to that exec alone: two processes may exec at once in one
 * library OS (a platform whose address spaces share its memory). */
struct shim_exec {
  struct linux_image image;
  char path[LINUX_PATH_MAX];
  char execfn[LINUX_PATH_MAX];
  char exe[LINUX_PATH_MAX];
  char interp[SCRIPT_DEPTH_MAX][LINUX_BINPRM_BUF];
  char interp_arg[SCRIPT_DEPTH_MAX][LINUX_BINPRM_BUF];
  char script_path[SCRIPT_DEPTH_MAX][LINUX_PATH_MAX];
  const char *argv_buf[2][ARGS_MAX + 2 * SCRIPT_DEPTH_MAX + 1];
};

struct shim_exec *shim_exec_new(void) {
  return kmalloc(sizeof(struct shim_exec));
}

void shim_exec_free(struct shim_exec *x) {
  kfree(x);
}

static const char *find_env(const char *const *envp, const char *name) {
  size_t n = rt_strlen(name);
  for (; envp && *envp; envp++)
    if (!rt_strncmp(*envp, name, n) && (*envp)[n] == '=')
      return *envp + n + 1;
  return NULL;
}

/* Is path an existing regular file we may execute? 0, or why not. */
static int check_candidate(const char *path) {
  struct linux_stat st;
  int err = moat_fstatat(LINUX_AT_FDCWD, path, &st, 0);
  if (err < 0)
    return err;
  if (!LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFREG))
    return -LINUX_EACCES;
  return moat_faccessat(LINUX_AT_FDCWD, path, LINUX_X_OK, 0);
}

/* execvp's search: each PATH entry in turn (an empty one is the current
 * directory); a file found but not executable is remembered as EACCES
 * and the search goes on. */
static int search_path(struct shim_exec *x, const char *name,
                       const char *path_env, char *why, size_t whylen) {
  const char *dir = path_env;
  bool denied = false;
  size_t nlen = rt_strlen(name);

  if (!nlen) {
    rt_snprintf(why, whylen, "empty program name");
    return -LINUX_ENOENT;
  }
  if (nlen >= LINUX_NAME_MAX + 1) {
    rt_snprintf(why, whylen, "name too long");
    return -LINUX_ENAMETOOLONG;
  }
  if (rt_strchr(name, '/')) {
    if (nlen >= sizeof(x->path)) {
      rt_snprintf(why, whylen, "path too long");
      return -LINUX_ENAMETOOLONG;
    }
    rt_strlcpy(x->path, name, sizeof(x->path));
    return 0;
  }
  for (;;) {
    const char *end = rt_strchr(dir, ':');
    size_t dlen = end ? (size_t)(end - dir) : rt_strlen(dir);
    if (dlen + 1 + nlen < sizeof(x->path)) {
      int err;
      if (dlen) {
        memcpy(x->path, dir, dlen);
        x->path[dlen] = '/';
        memcpy(x->path + dlen + 1, name, nlen + 1);
      } else {
        memcpy(x->path, name, nlen + 1);
      }
      err = check_candidate(x->path);
      if (err == 0)
        return 0;
      if (err == -LINUX_EACCES)
        denied = true;
    }
    if (!end)
      break;
    dir = end + 1;
  }
  if (denied) {
    rt_snprintf(why, whylen, "permission denied");
    return -LINUX_EACCES;
  }
  rt_snprintf(why, whylen, "not found");
  return -LINUX_ENOENT;
}

/* The first bytes of a file, for the "#!" check. */
static long read_head(const char *path, char *head, size_t len) {
  long n;
  int fd = moat_open_exec(path, true);
  if (fd < 0)
    return fd;
  n = moat_pread(fd, head, len, 0);
  moat_close(fd);
  return n;
}

static void set_comm(const char *path) {
  const char *base = rt_strrchr(path, '/');
  base = base ? base + 1 : path;
  moat_set_comm(base);
}

/* The canonical absolute path of a file, symlinks resolved, as
 * /proc/self/exe shows it. Returns 0 or a negative errno. */
static int real_path(const char *in, char *out, size_t outlen) {
  static char rest[LINUX_PATH_MAX], target[LINUX_PATH_MAX];
  int links = 0;
  size_t len;

  if (in[0] == '/') {
    rt_strlcpy(out, "/", outlen);
  } else {
    long n = moat_getcwd(out, outlen);
    if (n < 0)
      return (int)n;
  }
  if (rt_strlcpy(rest, in, sizeof(rest)) >= sizeof(rest))
    return -LINUX_ENAMETOOLONG;
  char *p = rest;
  while (*p) {
    char *end, *comp;
    while (*p == '/')
      p++;
    if (!*p)
      break;
    comp = p;
    end = rt_strchr(p, '/');
    if (end) {
      *end = 0;
      p = end + 1;
    } else {
      p += rt_strlen(p);
    }
    if (!rt_strcmp(comp, "."))
      continue;
    len = rt_strlen(out);
    if (!rt_strcmp(comp, "..")) {
      char *slash = rt_strrchr(out, '/');
      if (slash && slash != out)
        *slash = 0;
      else
        rt_strlcpy(out, "/", outlen);
      continue;
    }
    if (len + 1 + rt_strlen(comp) + 1 > outlen)
      return -LINUX_ENAMETOOLONG;
    if (len > 1)
      out[len++] = '/';
    rt_strlcpy(out + len, comp, outlen - len);
    long n = moat_readlinkat(LINUX_AT_FDCWD, out, target, sizeof(target) - 1);
    if (n == -LINUX_EINVAL)
      continue; /* not a symlink */
    if (n < 0)
      return (int)n;
    if (++links > LINUX_SYMLOOP_MAX)
      return -LINUX_ELOOP;
    target[n] = 0;
    /* Go on with the link's target followed by what was left. */
    if (n + 1 + rt_strlen(p) + 1 > (long)sizeof(target))
      return -LINUX_ENAMETOOLONG;
    if (*p) {
      target[n] = '/';
      rt_strlcpy(target + n + 1, p, sizeof(target) - (size_t)n - 1);
    }
    rt_strlcpy(rest, target, sizeof(rest));
    p = rest;
    if (rest[0] == '/') {
      rt_strlcpy(out, "/", outlen);
    } else {
      char *slash = rt_strrchr(out, '/');
      if (slash && slash != out)
        *slash = 0;
      else
        rt_strlcpy(out, "/", outlen);
    }
  }
  return 0;
}

/* Follow "#!" lines from x->path: the interpreter runs with the script's
 * path as its argument, after the one optional argument of the #! line.
 * On return x->path names the ELF file to load and *args, *nargs the argv
 * it gets. */
static int follow_scripts(struct shim_exec *x, const char *const **args,
                          int *nargs, char *why, size_t whylen) {
  for (int depth = 0;; depth++) {
    char head[LINUX_BINPRM_BUF];
    long n = read_head(x->path, head, sizeof(head));
    const char **next;
    int is_script, pos = 0;

    if (n == -LINUX_ENOENT) {
      if (depth)
        rt_snprintf(why, whylen, "interpreter %s: not found", x->path);
      else
        rt_snprintf(why, whylen, "not found");
      return (int)n;
    }
    if (n < 0)
      return 0; /* the loader reports it with a proper reason */
    if (depth >= SCRIPT_DEPTH_MAX) {
      if (n >= 2 && head[0] == '#' && head[1] == '!') {
        rt_snprintf(why, whylen, "too many levels of #! interpreters");
        return -LINUX_ELOOP;
      }
      return 0;
    }
    is_script = linux_script_parse(head, (size_t)n, x->interp[depth],
                                   x->interp_arg[depth]);
    if (is_script == 0)
      return 0;
    if (is_script < 0) {
      rt_snprintf(why, whylen, "no interpreter on the #! line of %s", x->path);
      return -LINUX_ENOEXEC;
    }
    /* The new argv: interp, [arg], script path, old argv[1..], built in
     * the buffer the old one is not in. */
    next = x->argv_buf[depth % 2];
    rt_strlcpy(x->script_path[depth], x->path, LINUX_PATH_MAX);
    next[pos++] = x->interp[depth];
    if (x->interp_arg[depth][0])
      next[pos++] = x->interp_arg[depth];
    next[pos++] = x->script_path[depth];
    for (int i = 1; i < *nargs; i++) {
      if (pos >= ARGS_MAX + 2 * SCRIPT_DEPTH_MAX) {
        rt_snprintf(why, whylen, "argument list too long");
        return -LINUX_E2BIG;
      }
      next[pos++] = (*args)[i];
    }
    next[pos] = NULL;
    *args = next;
    *nargs = pos;
    rt_strlcpy(x->path, x->interp[depth], sizeof(x->path));
  }
}

int shim_exec_prepare(struct shim_exec *x, const char *path,
                      const char *const **args, int *nargs, char *why,
                      size_t whylen) {
  int err;
  if (*nargs > ARGS_MAX) {
    rt_snprintf(why, whylen, "argument list too long");
    return -LINUX_E2BIG;
  }
  if (rt_strlen(path) >= sizeof(x->path)) {
    rt_snprintf(why, whylen, "path too long");
    return -LINUX_ENAMETOOLONG;
  }
  if (path != x->path)
    rt_strlcpy(x->path, path, sizeof(x->path));
  rt_strlcpy(x->execfn, x->path, sizeof(x->execfn));
  err = follow_scripts(x, args, nargs, why, whylen);
  if (err < 0)
    return err;
  return linux_elf_check(x->path, &x->image, why, whylen);
}

int shim_exec_load(struct shim_exec *x, int nargs, const char *const *args,
                   const char *const *envp, struct moat_regs *regs, char *why,
                   size_t whylen) {
  uint64_t sp;
  int err = linux_elf_load(x->path, &x->image, why, whylen);
  if (err < 0)
    return err;
  err = linux_stack_build(&x->image, nargs, args, envp, x->execfn, &sp, why,
                          whylen);
  if (err < 0)
    return err;
  moat_brk_init(x->image.brk);
  set_comm(x->execfn);
  {
    /* /proc/self/exe names the ELF file that runs: for a script, its
     * interpreter. Without a canonical path it keeps the one we have. */
    if (real_path(x->path, x->exe, sizeof(x->exe)) < 0)
      rt_strlcpy(x->exe, x->path, sizeof(x->exe));
    moat_set_program(x->exe, nargs, args);
    moat_set_environ(envp);
  }
  memset(regs, 0, offsetof(struct moat_regs, fpstate));
  regs->rip = x->image.entry;
  regs->rsp = sp;
  regs->rdx = 0; /* no function for the program to register with atexit */
  regs->rflags = 0x202;
  return 0;
}

int shim_linux_start(int argc, const char *const *argv, const char *const *envp,
                     char *why, size_t whylen) {
  struct moat_regs regs;
  const char *path_env;
  const char *const *args = argv;
  int nargs = argc;
  int err;

  if (argc < 1 || !argv || !argv[0]) {
    rt_snprintf(why, whylen, "no program to run");
    return -LINUX_EINVAL;
  }
  /* The first exec counts as the first process's first system call (an
   * execve of the program), so it shares what it learns from the host
   * as a guest's execve does (moat_call_begin). */
  moat_call_begin();
  struct shim_exec *x = shim_exec_new();
  if (!x) {
    moat_call_end();
    rt_snprintf(why, whylen, "no memory for the loader");
    return -LINUX_ENOMEM;
  }
  path_env = find_env(envp, "PATH");
  err =
      search_path(x, argv[0], path_env ? path_env : DEFAULT_PATH, why, whylen);
  if (err >= 0)
    err = shim_exec_prepare(x, x->path, &args, &nargs, why, whylen);
  if (err >= 0) {
    memset(&regs, 0, sizeof(regs));
    err = shim_exec_load(x, nargs, args, envp, &regs, why, whylen);
  }
  shim_exec_free(x);
  moat_call_end();
  if (err < 0)
    return err;
  plat_enter(&regs);
}
