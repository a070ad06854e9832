/* `moat run --platform vm` (docs/vm.md, "Running a program in the VM" and
 * "The runner's protocol with the kernel"): the runner writes an initrd
 * (a header with the program, its environment and the policy, then the
 * root file system as a tar image) into a memfd, starts
 * qemu-system-x86_64 with the VM kernel (vm/moat-vm.elf next to the moat
 * binary) and that initrd, and relays: QEMU's serial line carries the
 * guest's standard output and error (0xfe escapes) and its exit status
 * one way, the runner's standard input the other. The isolation is the
 * virtual machine: the runner itself sets up no seccomp filter, no
 * namespace and no Landlock rule, and QEMU runs as the invoking user.
 * Host code, libc allowed. */
#include <elf.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linux_platform.h"
#include "plat_linux.h"
#include "sandbox.h"
#include "tarpack.h"
#include "vm.h"

#define EXIT_TIMEOUT 124
#define VM_MAGIC "MOATVM02"
#define VM_HEADER_FIXED 64
#define VM_FLAG_STRACE 1u
#define VM_FLAG_STATS 2u
#define VM_FLAG_READ_ONLY 4u
/* Guest RAM past the guest's memory limit and the initrd: the kernel's
 * image, its page tables and its own bookkeeping. */
#define VM_RAM_SLACK (64ull << 20)
/* The guest's memory limit without --memory (the header says 0). */
#define VM_DEFAULT_MEMORY (256ull << 20)
/* QEMU's threads (main loop, vCPU, RCU, workers), for its pids cgroup */
#define VM_QEMU_TASKS 56

/* Serial line escapes (docs/vm.md). */
#define ESC 0xfe
#define ESC_STDOUT 0x01
#define ESC_STDERR 0x02
#define ESC_STATUS 0x10
#define ESC_READY 0x11 /* the kernel takes standard input from now on */

/* ---- what the VM platform cannot do (yet) ---- */

static int refuse(const char *what) {
  complain("%s is not supported with --platform vm yet", what);
  return -1;
}

static int check_options(const struct run_options *o) {
  for (int i = 0; i < o->nmounts; i++)
    if (o->mounts[i].writable) {
      complain("--mount %s:%s:rw is not supported with --platform vm yet "
               "(a read-only --mount is copied into the root image)",
               o->mounts[i].host, o->mounts[i].guest);
      return -1;
    }
  if (o->ngrants)
    return refuse("--allow-connect");
  if (o->npubs)
    return refuse("--publish");
  if (o->host_uid_given)
    return refuse("--host-uid");
  if (o->allow_no_userns)
    return refuse("--allow-no-userns");
  if (o->no_fast_path)
    return refuse("--no-fast-path");
  if (o->max_tasks)
    return refuse("--pids");
  if (o->cpu_hard)
    return refuse("--cpu-time");
  if (o->tmp_size)
    return refuse("--tmp-size");
  if (o->files)
    return refuse("--files");
  if (o->rlimits_set)
    return refuse("--rlimit");
  if (o->ngroups)
    return refuse("--groups");
  if (o->ntmpfs)
    return refuse("--tmpfs");
  /* the kernel maps 64 GiB of physical memory (platform/vm/boot.S);
   * QEMU puts RAM past 3 GiB above the 4 GiB hole */
  if (o->memory > (56ull << 30)) {
    complain("--memory: at most 56G with --platform vm");
    return -1;
  }
  return 0;
}

/* ---- the initrd ---- */

/* vm/moat-vm.elf in the directory of the running moat binary. */
static char *kernel_path(void) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    complain("--platform vm: cannot find moat's own binary "
             "(/proc/self/exe): %s",
             n < 0 ? strerror(errno) : "empty");
    return NULL;
  }
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = 0;
  char *path = malloc(strlen(self) + sizeof("/vm/moat-vm.elf"));
  if (!path) {
    complain("out of memory");
    return NULL;
  }
  sprintf(path, "%s/vm/moat-vm.elf", self);
  struct stat st;
  const char *why = NULL;
  if (stat(path, &st) < 0 || access(path, R_OK) < 0)
    why = strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  if (why) {
    complain("--platform vm: no VM kernel at %s (%s); it is built next to "
             "the moat binary (make)",
             path, why);
    free(path);
    return NULL;
  }
  return path;
}

struct strings {
  char *buf;
  size_t len, cap;
};

static int add_string(struct strings *s, const char *str) {
  size_t n = strlen(str) + 1;
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + n)
      cap *= 2;
    char *grown = realloc(s->buf, cap);
    if (!grown)
      return -1;
    s->buf = grown;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, str, n);
  s->len += n;
  return 0;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static int write_at(int fd, const void *buf, size_t len, off_t off) {
  const char *p = buf;
  while (len) {
    ssize_t n = pwrite(fd, p, len, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

/* Is path a static x86-64 executable (no PT_INTERP)? why when not. */
static bool static_elf(const char *path, const char **why) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  Elf64_Ehdr eh;
  *why = "not a 64-bit ELF executable";
  if (fd < 0) {
    *why = strerror(errno);
    return false;
  }
  bool ok = false;
  if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
      !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64 &&
      eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
    ok = true;
    for (unsigned i = 0; i < eh.e_phnum && ok; i++) {
      Elf64_Phdr ph;
      if (pread(fd, &ph, sizeof(ph),
                (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
          (ssize_t)sizeof(ph)) {
        ok = false;
      } else if (ph.p_type == PT_INTERP) {
        *why = "dynamically linked";
        ok = false;
      }
    }
  }
  close(fd);
  return ok;
}

/* busybox --list: its applets' names, one a line. Allocated, or NULL. */
static char *busybox_applets(const char *busybox) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return NULL;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return NULL;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0)
      dup2(null, 0);
    execl(busybox, "busybox", "--list", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t len = 0, cap = 65536;
  char *buf = malloc(cap + 1);
  bool ok = buf != NULL;
  while (ok) {
    ssize_t n = read(p[0], buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    if (len == cap) {
      char *grown = cap < (1u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
      if (!grown)
        ok = false;
      else
        buf = grown, cap *= 2;
    }
  }
  close(p[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
    free(buf);
    return NULL;
  }
  buf[len] = 0;
  return buf;
}

/* The root without --root: a static busybox, its applets as symlinks in
 * /bin, a minimal /etc/passwd and /etc/group, and empty /tmp /root
 * /home /var /run (docs/vm.md). */
static int default_root(struct tarpack *t) {
  const char *busybox = NULL, *why = "not found";
  static const char *const candidates[] = {"/bin/busybox", "/usr/bin/busybox"};
  for (size_t i = 0; i < 2 && !busybox; i++) {
    if (access(candidates[i], X_OK) == 0 && static_elf(candidates[i], &why))
      busybox = candidates[i];
  }
  if (!busybox) {
    complain("--platform vm: the default root needs a static busybox at "
             "/bin/busybox (%s; Debian: busybox-static), or give --root",
             why);
    return -1;
  }
  struct stat st;
  if (stat(busybox, &st) < 0) {
    complain("--platform vm: %s: %s", busybox, strerror(errno));
    return -1;
  }
  char *applets = busybox_applets(busybox);
  if (!applets) {
    complain("--platform vm: `%s --list` did not list its applets", busybox);
    return -1;
  }
  struct tarpack_attr dir = {0755, 0, 0, st.st_mtime};
  struct tarpack_attr file = {0644, 0, 0, st.st_mtime};
  struct tarpack_attr link = {0777, 0, 0, st.st_mtime};
  struct tarpack_attr tmp = {01777, 0, 0, st.st_mtime};
  struct tarpack_attr home = {0700, 0, 0, st.st_mtime};
  static const char passwd[] =
      "root:x:0:0:root:/root:/bin/sh\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
  int r = 0;
  if (tarpack_dir(t, "", &dir) < 0 || tarpack_dir(t, "bin", &dir) < 0 ||
      tarpack_host(t, busybox, "bin/busybox", "busybox") < 0)
    r = -1;
  for (char *save = NULL, *name = strtok_r(applets, "\n", &save);
       name && r == 0; name = strtok_r(NULL, "\n", &save)) {
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
        !strcmp(name, "..") || !strcmp(name, "busybox") || strlen(name) > 64)
      continue;
    char path[80];
    snprintf(path, sizeof(path), "bin/%s", name);
    r = tarpack_symlink(t, path, "busybox", &link);
  }
  free(applets);
  if (r == 0 &&
      (tarpack_dir(t, "etc", &dir) < 0 ||
       tarpack_data(t, "etc/passwd", passwd, sizeof(passwd) - 1, &file) < 0 ||
       tarpack_data(t, "etc/group", group, sizeof(group) - 1, &file) < 0 ||
       tarpack_dir(t, "tmp", &tmp) < 0 || tarpack_dir(t, "root", &home) < 0 ||
       tarpack_dir(t, "home", &dir) < 0 || tarpack_dir(t, "var", &dir) < 0 ||
       tarpack_dir(t, "run", &dir) < 0))
    r = -1;
  if (r < 0)
    complain("--platform vm: the default root: %s", t->why);
  return r;
}

/* --mount HOST:GUEST:ro and --file HOST:GUEST as copies in the image, in
 * order after the root (a later one over an earlier one, as mounts). */
struct overlay {
  const char *host, *what;
  char *name;
};

static int pack_overlays(struct tarpack *t, struct overlay *ov, int n) {
  for (int i = 0; i < n; i++) {
    struct stat st;
    if (stat(ov[i].host, &st) < 0) {
      complain("%s %s: %s", ov[i].what, ov[i].host, strerror(errno));
      return -1;
    }
    bool want_dir = !strcmp(ov[i].what, "--mount");
    if (want_dir && !S_ISDIR(st.st_mode)) {
      complain("--mount %s: not a directory", ov[i].host);
      return -1;
    }
    if (!want_dir && !S_ISREG(st.st_mode)) {
      complain("--file %s: not a regular file", ov[i].host);
      return -1;
    }
    if (!ov[i].name[0]) {
      complain("%s %s: not at /", ov[i].what, ov[i].host);
      return -1;
    }
    /* What a later one covers is left out of this one. */
    t->nskip = 0;
    for (int j = i + 1; j < n; j++)
      t->skip[t->nskip++] = ov[j].name;
    /* A file packed by stat's path follows a symlink, as --file does. */
    if (tarpack_host(t, ov[i].host, ov[i].name, ov[i].what) < 0) {
      complain("%s", t->why);
      return -1;
    }
  }
  t->nskip = 0;
  return 0;
}

/* Copy the image file into fd at its offset; its size in *size. */
static int copy_image(const char *path, int fd, uint64_t *size) {
  int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (in < 0) {
    complain("--root %s: %s", path, strerror(errno));
    return -1;
  }
  char buf[65536];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      complain("--root %s: %s", path, strerror(errno));
      close(in);
      return -1;
    }
    if (n == 0)
      break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(fd, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        complain("--platform vm: writing the initrd: %s",
                 w < 0 ? strerror(errno) : "short write");
        close(in);
        return -1;
      }
      done += w;
    }
    total += (uint64_t)n;
  }
  close(in);
  *size = total;
  return 0;
}

/* The initrd in a memfd: the header, then the root image at offset H.
 * Returns the fd (its size in *total), or -1 after a message. */
static int build_initrd(const struct run_options *o, uint64_t *total) {
  const char *const *envp = sandbox_environment(o);
  struct strings s = {0};
  int envc = 0;
  bool oom = !envp;
  for (int i = 0; i < o->argc && !oom; i++)
    oom = add_string(&s, o->argv[i]) < 0;
  for (; envp && envp[envc] && !oom; envc++)
    oom = add_string(&s, envp[envc]) < 0;
  if (!oom)
    oom = add_string(&s, o->cwd ? o->cwd : "/") < 0 ||
          add_string(&s, o->hostname ? o->hostname : "") < 0;
  if (oom) {
    complain("out of memory");
    free(s.buf);
    return -1;
  }
  uint64_t hsize = (VM_HEADER_FIXED + s.len + 4095) & ~4095ull;
  if (hsize > 0xffffffffull) {
    complain("--platform vm: arguments and environment too large");
    free(s.buf);
    return -1;
  }

  int fd = memfd_create("moat-vm-initrd", MFD_CLOEXEC);
  if (fd < 0) {
    complain("--platform vm: memfd_create: %s", strerror(errno));
    free(s.buf);
    return -1;
  }
  if (lseek(fd, (off_t)hsize, SEEK_SET) < 0) {
    complain("--platform vm: the initrd: %s", strerror(errno));
    goto fail;
  }

  uint64_t tar_size = 0;
  struct tarpack t;
  tarpack_init(&t, fd);
  struct overlay ov[MAX_USER_MOUNTS + MAX_FILES];
  int nov = 0;
  for (int i = 0; i < o->nmounts; i++)
    ov[nov++] = (struct overlay){o->mounts[i].host, "--mount",
                                 tarpack_name(&t, o->mounts[i].guest)};
  for (int i = 0; i < o->nfiles_in; i++)
    ov[nov++] = (struct overlay){o->files_in[i].host, "--file",
                                 tarpack_name(&t, o->files_in[i].guest)};
  for (int i = 0; i < nov; i++)
    if (!ov[i].name) {
      complain("%s: %s", ov[i].what, t.why);
      goto fail_ov;
    }
  for (int i = 0; i < nov; i++)
    t.skip[t.nskip++] = ov[i].name;

  struct stat st;
  if (o->root && stat(o->root, &st) < 0) {
    complain("--root %s: %s", o->root, strerror(errno));
    goto fail_ov;
  }
  if (o->root && S_ISREG(st.st_mode)) {
    if (nov) {
      complain("--platform vm: --mount and --file with --root IMAGE.tar are "
               "not supported yet (give --root a directory)");
      goto fail_ov;
    }
    if (copy_image(o->root, fd, &tar_size) < 0)
      goto fail_ov;
  } else {
    if (o->root && !S_ISDIR(st.st_mode)) {
      complain("--root %s: not a directory or a tar image", o->root);
      goto fail_ov;
    }
    if (o->root && tarpack_host(&t, o->root, "", "--root") < 0) {
      complain("%s", t.why);
      goto fail_ov;
    }
    if (!o->root && default_root(&t) < 0)
      goto fail_ov;
    if (pack_overlays(&t, ov, nov) < 0)
      goto fail_ov;
    if (tarpack_end(&t) < 0) {
      complain("--platform vm: %s", t.why);
      goto fail_ov;
    }
    tar_size = t.size;
  }
  for (int i = 0; i < nov; i++)
    free(ov[i].name);

  unsigned char *h = calloc(1, (size_t)hsize);
  if (!h) {
    complain("out of memory");
    goto fail;
  }
  uint32_t flags = (o->strace ? VM_FLAG_STRACE : 0) |
                   (o->stats ? VM_FLAG_STATS : 0) |
                   (o->read_only ? VM_FLAG_READ_ONLY : 0);
  memcpy(h, VM_MAGIC, 8);
  put32(h + 8, (uint32_t)hsize);
  put32(h + 12, (uint32_t)o->argc);
  put32(h + 16, (uint32_t)envc);
  put32(h + 20, o->uid);
  put32(h + 24, o->gid);
  put32(h + 28, flags);
  put64(h + 32, tar_size);
  put64(h + 40, o->memory);
  put64(h + 48, o->sig_ignored);
  put64(h + 56, o->sig_blocked);
  memcpy(h + VM_HEADER_FIXED, s.buf, s.len);
  int w = write_at(fd, h, (size_t)hsize, 0);
  free(h);
  free(s.buf);
  s.buf = NULL;
  if (w < 0) {
    complain("--platform vm: writing the initrd: %s", strerror(errno));
    close(fd);
    return -1;
  }
  *total = hsize + tar_size;
  return fd;

fail_ov:
  for (int i = 0; i < nov; i++)
    free(ov[i].name);
fail:
  free(s.buf);
  close(fd);
  return -1;
}

/* ---- QEMU ---- */

/* KVM with the CPU's own virtualization (kvm_intel, kvm_amd). A
 * /dev/kvm served by kvm_pvm (a software "KVM" some cloud machines
 * offer, docs/vm.md) does not run this kernel: auto takes TCG there. */
bool vm_kvm_usable(void) {
  if (access("/sys/module/kvm_intel", F_OK) != 0 &&
      access("/sys/module/kvm_amd", F_OK) != 0)
    return false;
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return false;
  close(fd);
  return true;
}

/* Writes all of buf to one of the runner's own streams, blocking (also
 * when a launcher left the descriptor non-blocking). -1 on EPIPE or
 * another error. */
static int write_stream(int fd, const unsigned char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

struct relay {
  int stream; /* 1 or 2: where the guest's bytes go now */
  int state;  /* 0: data; 1: after ESC; 2: after ESC ESC_STATUS */
  bool got_status, broken;
  bool ready; /* ESC_READY came: standard input may flow */
  int status;
};

/* Demultiplex a chunk of QEMU's serial output onto stdout and stderr. */
static void demux(struct relay *r, const unsigned char *in, size_t n) {
  unsigned char out[65536];
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = in[i];
    if (r->state == 2) {
      r->status = c;
      r->got_status = true;
      r->state = 0;
      continue;
    }
    if (r->state == 1) {
      r->state = 0;
      if (c == ESC) {
        out[o++] = ESC;
      } else if (c == ESC_STDOUT || c == ESC_STDERR) {
        if (o && !r->broken && write_stream(r->stream, out, o) < 0)
          r->broken = true;
        o = 0;
        r->stream = c == ESC_STDOUT ? 1 : 2;
      } else if (c == ESC_STATUS) {
        r->state = 2;
      } else if (c == ESC_READY) {
        r->ready = true;
      }
      continue;
    }
    if (c == ESC)
      r->state = 1;
    else
      out[o++] = c;
  }
  if (o && !r->broken && write_stream(r->stream, out, o) < 0)
    r->broken = true;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const int g_caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* The first executable name on PATH (execvp's search), into out as an
 * absolute path without symlinks. */
static int find_on_path(const char *name, char *out, size_t len) {
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/bin:/bin";
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    int n = snprintf(out, len, "%.*s%s%s", (int)(end - p), p,
                     end > p ? "/" : "", name);
    struct stat st;
    char real[PATH_MAX];
    if (n > 0 && (size_t)n < len && stat(out, &st) == 0 &&
        S_ISREG(st.st_mode) && access(out, X_OK) == 0 && realpath(out, real) &&
        strlen(real) < len) {
      strcpy(out, real); /* absolute: its directory is a directory */
      return 0;
    }
    if (!*end)
      return -1;
    p = end;
  }
}

/* The kernel image copied into a memfd, as the initrd is: QEMU needs
 * no access to the build tree (it runs as nobody when moat runs as
 * root). -1 with a message on failure. */
static int kernel_memfd(const char *path) {
  int in = open(path, O_RDONLY | O_CLOEXEC);
  int fd = memfd_create("moat-vm-kernel", MFD_CLOEXEC);
  struct stat st;
  if (in < 0 || fd < 0 || fstat(in, &st) < 0) {
    complain("--platform vm: the kernel %s: %s", path, strerror(errno));
    goto fail;
  }
  for (off_t off = 0; off < st.st_size;) {
    ssize_t n = sendfile(fd, in, &off, (size_t)(st.st_size - off));
    if (n <= 0) {
      complain("--platform vm: copying the kernel %s: %s", path,
               n < 0 ? strerror(errno) : "it shrank");
      goto fail;
    }
  }
  close(in);
  return fd;
fail:
  if (in >= 0)
    close(in);
  if (fd >= 0)
    close(fd);
  return -1;
}

/* In QEMU's child, before exec: QEMU's own confinement (docs/vm.md,
 * "Host interface of this platform"). 0, or an errno.
 *  - namespaces of its own for the network (only a loopback: QEMU has no
 *    network device, and a subverted QEMU reaches no host network), IPC
 *    and the hostname; as root directly, else in a user namespace of its
 *    own where the host allows one (without, it goes on: the other
 *    layers hold);
 *  - as root: the ids of nobody (65534), no supplementary group but
 *    /dev/kvm's when KVM is used;
 *  - no new privileges;
 *  - Landlock: reading and running files under /usr, /lib, /lib64, /etc
 *    and QEMU's own directory (QEMU, its libraries and firmware),
 *    /dev/kvm read-write when KVM is used, nothing else (the kernel and
 *    the initrd are memfds). */
static int confine_qemu(bool kvm, const char *qemu) {
  bool root = geteuid() == 0;
  int ns = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
  if (unshare(root ? ns : ns | CLONE_NEWUSER) < 0 && root)
    return errno;
  if (root) {
    gid_t groups[1];
    size_t ngroups = 0;
    struct stat st;
    if (kvm && stat("/dev/kvm", &st) == 0 && st.st_gid != 0)
      groups[ngroups++] = st.st_gid;
    if (setgroups(ngroups, groups) < 0 || setresgid(65534, 65534, 65534) < 0 ||
        setresuid(65534, 65534, 65534) < 0)
      return errno;
    /* the credential change cleared the parent-death signal: again */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
      return errno;
    /* dumpable again: its own /proc/self/fd (the memfds) stays its */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
      return errno;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return errno;
  char qemu_dir[PATH_MAX];
  snprintf(qemu_dir, sizeof(qemu_dir), "%s", qemu);
  char *slash = strrchr(qemu_dir, '/');
  if (slash && slash != qemu_dir)
    *slash = 0;
  const char *const ro[] = {"/usr", "/lib", "/lib64", "/etc", qemu_dir};
  int fds[6];
  unsigned rights[6];
  int n = 0;
  for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
    int fd = open(ro[i], O_PATH | O_CLOEXEC);
    if (fd >= 0) {
      fds[n] = fd;
      rights[n++] = PLAT_LL_READ | PLAT_LL_EXEC;
    }
  }
  if (kvm) {
    int fd = open("/dev/kvm", O_PATH | O_CLOEXEC);
    if (fd >= 0) {
      fds[n] = fd;
      rights[n++] = PLAT_LL_READ | PLAT_LL_WRITE_FILE;
    }
  }
  int abi = 0;
  int err = plat_landlock_apply_rights(fds, rights, n, &abi);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  if (err && err != -EOPNOTSUPP) /* a kernel without Landlock: goes on */
    return -err;
  return 0;
}

static int vm_run(const struct run_options *o) {
  if (check_options(o) < 0)
    return EXIT_MOAT_ERROR;
  char *kernel = kernel_path();
  if (!kernel)
    return EXIT_MOAT_ERROR;
  bool kvm;
  if (o->vm_accel == VM_ACCEL_KVM) {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      complain("--vm-accel kvm: /dev/kvm: %s", strerror(errno));
      return EXIT_MOAT_ERROR;
    }
    close(fd);
    if (!vm_kvm_usable()) {
      /* QEMU would stop the VM at the kernel's first XRSTOR and wait */
      complain("--vm-accel kvm: /dev/kvm here is not the CPU's own "
               "virtualization (neither kvm_intel nor kvm_amd is loaded; "
               "kvm_pvm does not run this kernel): use --vm-accel tcg");
      return EXIT_MOAT_ERROR;
    }
    kvm = true;
  } else {
    kvm = o->vm_accel == VM_ACCEL_AUTO && vm_kvm_usable();
  }
  uint64_t initrd_size;
  int initrd = build_initrd(o, &initrd_size);
  if (initrd < 0)
    return EXIT_MOAT_ERROR;
  int kfd = kernel_memfd(kernel);
  if (kfd < 0)
    return EXIT_MOAT_ERROR;
  char kernel_fd_path[64];
  snprintf(kernel_fd_path, sizeof(kernel_fd_path), "/proc/self/fd/%d", kfd);

  uint64_t ram =
      (o->memory ? o->memory : VM_DEFAULT_MEMORY) + initrd_size + VM_RAM_SLACK;
  char mem[32], initrd_path[64];
  snprintf(mem, sizeof(mem), "%lluM",
           (unsigned long long)((ram + (1ull << 20) - 1) >> 20));
  snprintf(initrd_path, sizeof(initrd_path), "/proc/self/fd/%d", initrd);
  plat_linux_limits_setup(ram, VM_QEMU_TASKS, o->verbose);
  char *const qemu_argv[] = {
      "qemu-system-x86_64", "-accel", kvm ? "kvm" : "tcg", "-cpu",
      kvm ? "host" : "max", "-kernel", kernel_fd_path, "-initrd", initrd_path,
      "-chardev", "stdio,id=s0,signal=off", "-serial", "chardev:s0", "-display",
      "none", "-monitor", "none", "-nodefaults", "-no-reboot", "-smp", "1",
      "-m", mem, "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
      /* QEMU's own seccomp filter: no obsolete
       * calls, no privilege changes, no new
       * processes, no resource control */
      "-sandbox",
      "on,obsolete=deny,elevateprivileges=deny,"
      "spawn=deny,resourcecontrol=deny",
      NULL};
  /* QEMU's path, found on PATH here: its directory is the one outside
   * the system's that its Landlock rules open (confine_qemu) */
  char qemu_path[PATH_MAX];
  if (find_on_path(qemu_argv[0], qemu_path, sizeof(qemu_path)) < 0) {
    complain("--platform vm needs qemu-system-x86_64, which is not on "
             "PATH (Debian: apt-get install qemu-system-x86)");
    return EXIT_MOAT_ERROR;
  }
  if (o->verbose) {
    fputs("moat: vm:", stderr);
    for (int i = 0; qemu_argv[i]; i++)
      fprintf(stderr, " %s", qemu_argv[i]);
    fputs("\n", stderr);
  }

  /* The termination signals end QEMU; they come through a signalfd. A
   * signal the launcher ignored stays ignored, in QEMU too. */
  sigset_t caught, old_mask;
  sigemptyset(&caught);
  for (size_t i = 0; i < sizeof(g_caught) / sizeof(g_caught[0]); i++) {
    struct sigaction sa;
    if (sigaction(g_caught[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
      sigaddset(&caught, g_caught[i]);
  }
  sigprocmask(SIG_BLOCK, &caught, &old_mask);
  struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, &old_pipe);
  int sigfd = signalfd(-1, &caught, SFD_CLOEXEC | SFD_NONBLOCK);
  int to_qemu[2], from_qemu[2], errpipe[2];
  if (sigfd < 0 || pipe2(to_qemu, O_CLOEXEC) < 0 ||
      pipe2(from_qemu, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
    complain("--platform vm: %s", strerror(errno));
    return EXIT_MOAT_ERROR;
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t qemu = fork();
  if (qemu < 0) {
    complain("--platform vm: cannot start QEMU: %s", strerror(errno));
    return EXIT_MOAT_ERROR;
  }
  if (qemu == 0) {
    /* Its own process group (a ^C on the terminal is the runner's to
     * handle), and it dies with the runner. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    sigaction(SIGPIPE, &old_pipe, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    int e = 0;
    char why[256];
    if (plat_linux_limits_enter(why, sizeof(why)) < 0 && o->verbose)
      fprintf(stderr, "moat: vm: %s\n", why);
    if (dup2(to_qemu[0], 0) < 0 || dup2(from_qemu[1], 1) < 0 ||
        fcntl(initrd, F_SETFD, 0) < 0 || fcntl(kfd, F_SETFD, 0) < 0)
      e = errno;
    else if (!(e = confine_qemu(kvm, qemu_path)) && getppid() == parent)
      execv(qemu_path, qemu_argv);
    else if (!e)
      _exit(127); /* the runner is gone already */
    if (!e)
      e = errno;
    ssize_t ignored = write(errpipe[1], &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  close(to_qemu[0]);
  close(from_qemu[1]);
  close(errpipe[1]);
  int exec_err = 0;
  ssize_t got;
  while ((got = read(errpipe[0], &exec_err, sizeof(exec_err))) < 0 &&
         errno == EINTR)
    ;
  close(errpipe[0]);
  if (got > 0) {
    while (waitpid(qemu, NULL, 0) < 0 && errno == EINTR)
      ;
    if (exec_err == ENOENT)
      complain("--platform vm needs qemu-system-x86_64, which is not on "
               "PATH (Debian: apt-get install qemu-system-x86)");
    else
      complain("--platform vm: cannot run qemu-system-x86_64: %s",
               strerror(exec_err));
    return EXIT_MOAT_ERROR;
  }
  /* QEMU has its own descriptor of the initrd (it opens it by its
   * /proc/self/fd path): the runner's can go. */
  close(initrd);
  free(kernel);

  int qin = to_qemu[1], qout = from_qemu[0];
  fcntl(qin, F_SETFL, fcntl(qin, F_GETFL) | O_NONBLOCK);
  struct relay r = {.stream = 1};
  static unsigned char inbuf[2 * 65536 + 2];
  size_t inlen = 0, inoff = 0;
  bool stdin_open = true, qin_open = true, timed_out = false;
  int signo = 0;
  double deadline = o->timeout > 0 ? now_seconds() + o->timeout : 0;
  while (qout >= 0) {
    struct pollfd p[4];
    int np = 0, isig = -1, iout = -1, iin = -1, iq = -1;
    p[isig = np++] = (struct pollfd){sigfd, POLLIN, 0};
    p[iout = np++] = (struct pollfd){qout, POLLIN, 0};
    if (r.ready && stdin_open && qin_open && inlen == 0)
      p[iin = np++] = (struct pollfd){0, POLLIN, 0};
    if (qin_open && inoff < inlen)
      p[iq = np++] = (struct pollfd){qin, POLLOUT, 0};
    int timeout = -1;
    if (deadline > 0) {
      double left = deadline - now_seconds();
      timeout = left <= 0 ? 0 : (int)(left * 1000) + 1;
    }
    int n = poll(p, (nfds_t)np, timeout);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      complain("--platform vm: poll: %s", strerror(errno));
      kill(qemu, SIGKILL);
      break;
    }
    if (deadline > 0 && now_seconds() >= deadline) {
      timed_out = true;
      deadline = 0;
      kill(qemu, SIGKILL);
    }
    if (p[isig].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (!signo)
          signo = (int)si.ssi_signo;
        kill(qemu, SIGKILL);
      }
    }
    if (p[iout].revents) {
      unsigned char buf[65536];
      ssize_t got_out = read(qout, buf, sizeof(buf));
      if (got_out > 0) {
        bool was_broken = r.broken;
        demux(&r, buf, (size_t)got_out);
        if (r.broken && !was_broken)
          kill(qemu, SIGKILL); /* the reader of our output went away */
      } else if (got_out == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(qout);
        qout = -1;
      }
    }
    if (iin >= 0 && p[iin].revents) {
      unsigned char raw[65536];
      ssize_t got_in = read(0, raw, sizeof(raw));
      if (got_in > 0) {
        for (ssize_t i = 0; i < got_in; i++) {
          inbuf[inlen++] = raw[i];
          if (raw[i] == ESC)
            inbuf[inlen++] = ESC;
        }
      } else if (got_in == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_open = false; /* end of input, or one we cannot read */
        inbuf[inlen++] = ESC;
        inbuf[inlen++] = ESC_STDOUT;
      }
    }
    if (iq >= 0 && p[iq].revents) {
      ssize_t w = write(qin, inbuf + inoff, inlen - inoff);
      if (w > 0) {
        inoff += (size_t)w;
        if (inoff == inlen)
          inoff = inlen = 0;
      } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
        qin_open = false; /* QEMU reads no more (it is ending) */
        inoff = inlen = 0;
      }
    }
  }
  close(qin);
  close(sigfd);
  int status = 0;
  while (waitpid(qemu, &status, 0) < 0) {
    if (errno != EINTR) {
      complain("--platform vm: waiting for QEMU: %s", strerror(errno));
      return EXIT_MOAT_ERROR;
    }
  }
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  if (r.broken)
    return 128 + SIGPIPE; /* as a program whose reader went away */
  if (r.got_status)
    return r.status;
  if (signo)
    return 128 + signo;
  if (timed_out) {
    complain("sandbox killed: --timeout of %g s reached", o->timeout);
    return EXIT_TIMEOUT;
  }
  if (WIFEXITED(status))
    complain("--platform vm: QEMU ended with status %d without the "
             "sandbox's exit status",
             WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    complain("--platform vm: QEMU was killed by signal %d without the "
             "sandbox's exit status",
             WTERMSIG(status));
  else
    complain("--platform vm: QEMU ended without the sandbox's exit status");
  return EXIT_MOAT_ERROR;
}

/* QEMU in cgroups of its own (memory: the VM's RAM and half again, or
 * 128 MiB, for QEMU itself; tasks: QEMU's threads), made by the runner,
 * joined by QEMU's child before anything else and removed at the end:
 * the host bounds what a subverted QEMU can take (platform/linux's
 * cgroup.c, as for the Linux platform's sandbox). */
int vm_main(const struct run_options *o) {
  int status = vm_run(o);
  uint64_t oom = plat_linux_limits_finish();
  if (oom)
    complain("--platform vm: the host's OOM killer killed QEMU at the VM's "
             "memory limit");
  return status;
}
