/* The sandbox's shape from the command line: which host directories are
 * granted (and how), what the root is, and the guest's environment. All of
 * it runs before lockdown (libc allowed); the result is a struct
 * moat_config whose strings stay valid for the life of the process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "moat/platform.h"
#include "linux_platform.h"
#include "sandbox.h"

#define DEFAULT_PATH                                                           \
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The host's system directories that form the default root. */
static const char *const g_system_dirs[] = {
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"};

static struct moat_mount *add_mount(struct moat_config *cfg) {
  if (cfg->nmounts >= MOAT_MAX_MOUNTS) {
    fprintf(stderr, "moat: too many mounts (at most %d)\n", MOAT_MAX_MOUNTS);
    return NULL;
  }
  struct moat_mount *m = &cfg->mounts[cfg->nmounts++];
  memset(m, 0, sizeof(*m));
  m->handle = -1;
  return m;
}

static int grant(const char *what, const char *path, bool writable,
                 bool public_only, int *handle) {
  int err = plat_linux_grant_dir(path, writable, public_only, handle);
  if (err) {
    fprintf(stderr, "moat: %s %s: %s\n", what, path,
            err == -ENOTDIR ? "not a directory" : strerror(-err));
    return -1;
  }
  return 0;
}

/* Each system directory as it is on the host: a symlink stays the same
 * symlink, a directory becomes a copy-on-write view, absence stays absent. */
static int default_root(bool read_only, struct moat_config *cfg) {
  for (size_t i = 0; i < sizeof(g_system_dirs) / sizeof(g_system_dirs[0]);
       i++) {
    const char *path = g_system_dirs[i];
    struct stat st;
    if (lstat(path, &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlink(path, target, sizeof(target) - 1);
      if (n <= 0)
        continue;
      target[n] = 0;
      struct moat_mount *m = add_mount(cfg);
      if (!m)
        return -1;
      m->guest_path = path;
      m->kind = MOAT_MOUNT_SYMLINK;
      m->access = MOAT_ACCESS_RO;
      m->target = strdup(target);
      if (!m->target)
        return -1;
    } else if (S_ISDIR(st.st_mode)) {
      struct moat_mount *m = add_mount(cfg);
      if (!m || grant("system directory", path, false, true, &m->handle) < 0)
        return -1;
      m->guest_path = path;
      m->kind = MOAT_MOUNT_HOSTDIR;
      m->access = read_only ? MOAT_ACCESS_RO : MOAT_ACCESS_COW;
    }
  }
  return 0;
}

static int user_root(const char *root, bool read_only,
                     struct moat_config *cfg) {
  struct stat st;
  if (stat(root, &st) < 0) {
    fprintf(stderr, "moat: --root %s: %s\n", root, strerror(errno));
    return -1;
  }
  struct moat_mount *m = add_mount(cfg);
  if (!m)
    return -1;
  m->guest_path = "/";
  m->access = read_only ? MOAT_ACCESS_RO : MOAT_ACCESS_COW;
  if (S_ISDIR(st.st_mode)) {
    m->kind = MOAT_MOUNT_HOSTDIR;
    return grant("--root", root, false, false, &m->handle);
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "moat: --root %s: not a directory or a tar image\n", root);
    return -1;
  }
  m->kind = MOAT_MOUNT_TAR;
  int err = plat_linux_map_image(root, &m->tar_base, &m->tar_size);
  if (err) {
    fprintf(stderr, "moat: --root %s: cannot map the image: %s\n", root,
            strerror(-err));
    return -1;
  }
  return 0;
}

/* --file: the host file's contents and mode now (a regular file of at
 * most MAX_FILE_SIZE bytes). */
static int read_host_file(const char *path, struct moat_mount *m) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "moat: --file %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
    fprintf(stderr, "moat: --file %s: %s\n", path,
            S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
    close(fd);
    return -1;
  }
  char *data = malloc((size_t)st.st_size + 1);
  size_t done = 0;
  while (data && done < (size_t)st.st_size) {
    ssize_t n = read(fd, data + done, (size_t)st.st_size - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  close(fd);
  if (!data) {
    fprintf(stderr, "moat: --file %s: out of memory\n", path);
    return -1;
  }
  m->file_data = data;
  m->file_size = done;
  m->file_mode = st.st_mode & 0777;
  return 0;
}

int sandbox_config(const struct run_options *o, struct moat_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  if ((o->root ? user_root(o->root, o->read_only, cfg)
               : default_root(o->read_only, cfg)) < 0)
    return -1;
  for (int i = 0; i < o->nmounts; i++) {
    const struct user_mount *u = &o->mounts[i];
    struct moat_mount *m = add_mount(cfg);
    if (!m || grant("--mount", u->host, u->writable, false, &m->handle) < 0)
      return -1;
    m->guest_path = u->guest;
    m->kind = MOAT_MOUNT_HOSTDIR;
    m->access = u->writable ? MOAT_ACCESS_RW : MOAT_ACCESS_RO;
  }
  for (int i = 0; i < o->nfiles_in; i++) {
    const struct user_mount *u = &o->files_in[i];
    /* A copy placed inside a host directory grant would overwrite the
     * host's file there (the core refuses it too, by file system). */
    for (int k = 0; k < o->nmounts; k++) {
      size_t n = strlen(o->mounts[k].guest);
      while (n > 1 && o->mounts[k].guest[n - 1] == '/')
        n--;
      if (!strncmp(u->guest, o->mounts[k].guest, n) &&
          (u->guest[n] == '/' || u->guest[n] == 0 || n == 1)) {
        fprintf(stderr,
                "moat: --file %s:%s: %s lies in the host directory granted "
                "at %s; its copy would overwrite the host's file\n",
                u->host, u->guest, u->guest, o->mounts[k].guest);
        return -1;
      }
    }
    struct moat_mount *m = add_mount(cfg);
    if (!m || read_host_file(u->host, m) < 0)
      return -1;
    m->guest_path = u->guest;
    m->kind = MOAT_MOUNT_FILE;
    m->access = MOAT_ACCESS_RW;
  }
  for (int i = 0; i < o->ntmpfs; i++) {
    struct moat_mount *m = add_mount(cfg);
    if (!m)
      return -1;
    m->guest_path = o->tmpfs[i];
    m->file_mode = o->tmpfs_mode[i];
    m->kind = MOAT_MOUNT_MEMFS;
    m->access = MOAT_ACCESS_RW;
  }
  cfg->cwd = o->cwd ? o->cwd : "/";
  cfg->uid = o->uid;
  cfg->gid = o->gid;
  cfg->ngroups = o->ngroups;
  for (uint32_t i = 0; i < o->ngroups && i < MOAT_MAX_GROUPS; i++)
    cfg->groups[i] = o->groups[i];
  cfg->hostname = o->hostname ? o->hostname : "moat";
  cfg->strace = o->strace;
  cfg->stats = o->stats;
  cfg->max_tasks = o->max_tasks;
  cfg->mem_limit = o->memory;
  cfg->tmp_size = o->tmp_size;
  cfg->sig_ignored = o->sig_ignored;
  cfg->sig_blocked = o->sig_blocked;
  cfg->console = o->console;
  cfg->console_streams = o->console_streams;
  cfg->console_tio = o->console_tio;
  for (int r = 0; r < LINUX_RLIMIT_NLIMITS; r++)
    if (o->rlimits_set & (1u << r))
      cfg->rlimits[r] = o->rlimits[r];
  cfg->rlimits_set = o->rlimits_set;
  if (o->files) {
    cfg->rlimits[LINUX_RLIMIT_NOFILE] =
        (struct linux_rlimit){o->files, o->files};
    cfg->rlimits_set |= 1u << LINUX_RLIMIT_NOFILE;
  }
  if (o->cpu_soft) {
    cfg->rlimits[LINUX_RLIMIT_CPU] =
        (struct linux_rlimit){o->cpu_soft, o->cpu_hard};
    cfg->rlimits_set |= 1u << LINUX_RLIMIT_CPU;
  }
  for (int i = 0; i < o->npubs && i < MOAT_MAX_PUBLISHED; i++) {
    cfg->published_udp[cfg->npublished] = o->pubs[i].proto == PLAT_NET_UDP;
    cfg->published[cfg->npublished++] = o->pubs[i].guest_port;
  }
  /* The guest is shown as many CPUs as moat may run on. */
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  cfg->ncpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                   ? (uint32_t)CPU_COUNT(&cpus)
                   : 1;
  return 0;
}

static void env_set(const char **env, int *n, const char *entry) {
  size_t name_len = (size_t)(strchr(entry, '=') - entry);
  for (int i = 0; i < *n; i++) {
    if (!strncmp(env[i], entry, name_len + 1)) {
      env[i] = entry;
      return;
    }
  }
  env[(*n)++] = entry;
}

const char *const *sandbox_environment(const struct run_options *o) {
  /* 3 defaults + every --env + the terminating NULL */
  const char **env = calloc(3 + (size_t)o->nenv + 1, sizeof(*env));
  if (!env)
    return NULL;
  int n = 0;
  if (!o->clear_env) {
    env_set(env, &n, "PATH=" DEFAULT_PATH);
    env_set(env, &n, o->uid == 0 ? "HOME=/root" : "HOME=/");
  }
  const char *term = o->clear_env ? NULL : getenv("TERM");
  if (term && term[0]) {
    char *t = malloc(strlen(term) + 6);
    if (t) {
      sprintf(t, "TERM=%s", term);
      env_set(env, &n, t);
    }
  }
  for (int i = 0; i < o->nenv; i++)
    env_set(env, &n, o->env[i]);
  env[n] = NULL;
  return env;
}
