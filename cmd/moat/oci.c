/* moat as an OCI runtime: the command line container engines (podman,
 * containerd, CRI-O through Kubernetes' RuntimeClass) call as they call
 * runc, and config.json read into moat's own policy. docs/oci.md is the
 * user's guide; what follows is the mechanism.
 *
 * State: one directory per container under the runtime root (--root,
 * default /run/moat), holding state.json (id, bundle, pid, the pid's
 * start time, creation time, annotations) and, between create and
 * start, exec.fifo. `create` forks the container's process, which blocks
 * opening exec.fifo for reading before it builds anything of the
 * sandbox; `start` opens the fifo for writing and writes a byte, and the
 * process goes on as `moat run` does (run_main): it is the sandbox's
 * supervisor, forwards signals to the guest and exits with the guest's
 * status, which the engine (the process's reaper) collects. The status
 * is never stored: "created" while the fifo exists and the process
 * lives, "running" once started while it lives, "stopped" when it is
 * gone or a zombie (the pid's start time guards against a reused pid).
 *
 * Everything here runs before lockdown, with libc; config.json is read
 * with json-c. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"
#include "supervisor.h"

#define OCI_VERSION "1.0.2"
#define DEFAULT_STATE_ROOT "/run/moat"

static struct {
  const char *root; /* --root: the state directory */
  const char *log;  /* --log FILE */
  bool log_json;    /* --log-format json */
  bool systemd_cgroup;
  bool terminal; /* the config's process.terminal */
} g_oci = {.root = DEFAULT_STATE_ROOT};

/* An error: on stderr, and in the --log file in its format (engines
 * read the last error from there). */
static void oci_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void oci_error(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "moat: %s\n", msg);
  if (!g_oci.log)
    return;
  FILE *f = fopen(g_oci.log, "a");
  if (!f)
    return;
  char when[40];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (g_oci.log_json) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "level", json_object_new_string("error"));
    json_object_object_add(o, "msg", json_object_new_string(msg));
    json_object_object_add(o, "time", json_object_new_string(when));
    fprintf(f, "%s\n",
            json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
  } else {
    /* logfmt, as runc writes it: quotes and backslashes escaped, other
     * control characters never written (a message may carry text from
     * the sandbox) */
    char esc[2 * sizeof(msg)];
    size_t n = 0;
    for (const char *p = msg; *p && n + 2 < sizeof(esc); p++) {
      if (*p == '"' || *p == '\\')
        esc[n++] = '\\';
      esc[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    }
    esc[n] = 0;
    fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", when, esc);
  }
  fclose(f);
}

/* ---- telling the two command lines apart ---- */

static const char *const g_commands[] = {"create",   "start", "state", "kill",
                                         "delete",   "list",  "ps",    "exec",
                                         "features", "spec"};

/* A global option at argv[i]: how many words it takes (0: not one). */
static int global_option(char **argv, int i, int argc) {
  static const char *const valued[] = {"--root", "--log", "--log-format",
                                       "--criu", "--rootless"};
  static const char *const flags[] = {"--systemd-cgroup", "--debug"};
  const char *a = argv[i];
  for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
    if (!strcmp(a, flags[k]))
      return 1;
  for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
    size_t n = strlen(valued[k]);
    if (!strncmp(a, valued[k], n) && a[n] == '=')
      return 1;
    if (!strcmp(a, valued[k]))
      return i + 1 < argc ? 2 : 1;
  }
  return 0;
}

bool oci_command(int argc, char **argv) {
  int i = 1, n;
  bool globals = false;
  while (i < argc && (n = global_option(argv, i, argc)) > 0) {
    i += n;
    globals = true;
  }
  if (i >= argc)
    return globals;
  for (size_t k = 0; k < sizeof(g_commands) / sizeof(g_commands[0]); k++)
    if (!strcmp(argv[i], g_commands[k]))
      return true;
  if (strcmp(argv[i], "run"))
    return globals;
  if (globals)
    return true;
  /* `moat run --bundle DIR ID` (or -b, -d, --pid-file, ...) is the
   * runtime's run; `moat run [OPTIONS] PROGRAM` is moat's own. */
  static const char *const oci_run[] = {
      "-b",         "--bundle",         "-d",
      "--detach",   "--pid-file",       "--console-socket",
      "--no-pivot", "--no-new-keyring", "--preserve-fds",
      "--keep"};
  for (int j = i + 1; j < argc && argv[j][0] == '-'; j++) {
    if (!strcmp(argv[j], "--"))
      break;
    for (size_t k = 0; k < sizeof(oci_run) / sizeof(oci_run[0]); k++) {
      size_t len = strlen(oci_run[k]);
      if (!strncmp(argv[j], oci_run[k], len) &&
          (argv[j][len] == 0 || argv[j][len] == '='))
        return true;
    }
  }
  return false;
}

/* ---- the state directory ---- */

static bool id_ok(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)id[i]) && !strchr("_.-+", id[i]))
      return false;
  return true;
}

static void state_path(char *buf, size_t len, const char *id,
                       const char *file) {
  snprintf(buf, len, "%s/%s%s%s", g_oci.root, id, file ? "/" : "",
           file ? file : "");
}

static int mkdir_p(const char *path, mode_t mode) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
    return -ENAMETOOLONG;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* The start time of pid (field 22 of /proc/PID/stat) and its state
 * letter; 0 when it does not exist. */
static unsigned long long proc_start(int pid, char *state) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || !p[1])
    return 0;
  p += 2; /* the state letter is field 3 */
  if (state)
    *state = *p;
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  return p ? strtoull(p, NULL, 10) : 0;
}

struct container {
  json_object *json; /* state.json */
  const char *id, *bundle, *created;
  int pid;
  unsigned long long start;
  bool has_fifo;
  const char *status;
};

static int write_file_atomic(const char *path, const char *data) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -errno;
  bool ok = fputs(data, f) >= 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) < 0) {
    int e = errno ? errno : EIO;
    unlink(tmp);
    return -e;
  }
  return 0;
}

static int save_state(const char *id, const char *bundle, int pid,
                      json_object *annotations) {
  json_object *o = json_object_new_object();
  char when[40];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "bundle", json_object_new_string(bundle));
  json_object_object_add(o, "pid", json_object_new_int(pid));
  json_object_object_add(o, "start",
                         json_object_new_uint64(proc_start(pid, NULL)));
  json_object_object_add(o, "created", json_object_new_string(when));
  json_object_object_add(o, "annotations",
                         annotations ? json_object_get(annotations)
                                     : json_object_new_object());
  char path[PATH_MAX];
  state_path(path, sizeof(path), id, "state.json");
  int err = write_file_atomic(
      path, json_object_to_json_string_ext(
                o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return err;
}

/* Load the container id; its status from its process. Prints the error
 * and returns -1 when there is none. */
static int load(const char *id, struct container *c) {
  memset(c, 0, sizeof(*c));
  if (!id_ok(id)) {
    oci_error("%s: not a valid container ID (letters, digits, _ . - +)", id);
    return -1;
  }
  char path[PATH_MAX];
  state_path(path, sizeof(path), id, "state.json");
  c->json = json_object_from_file(path);
  if (!c->json) {
    oci_error("container %s does not exist (no %s)", id, path);
    return -1;
  }
  json_object *v;
  c->id = id;
  c->bundle = json_object_object_get_ex(c->json, "bundle", &v)
                  ? json_object_get_string(v)
                  : "";
  c->created = json_object_object_get_ex(c->json, "created", &v)
                   ? json_object_get_string(v)
                   : "";
  c->pid = json_object_object_get_ex(c->json, "pid", &v)
               ? json_object_get_int(v)
               : 0;
  c->start = json_object_object_get_ex(c->json, "start", &v)
                 ? json_object_get_uint64(v)
                 : 0;
  state_path(path, sizeof(path), id, "exec.fifo");
  c->has_fifo = access(path, F_OK) == 0;
  char st = 0;
  bool alive = c->pid > 0 && c->start && proc_start(c->pid, &st) == c->start &&
               st != 'Z' && st != 'X';
  c->status = !alive ? "stopped" : c->has_fifo ? "created" : "running";
  return 0;
}

static json_object *state_json(const struct container *c) {
  json_object *o = json_object_new_object();
  json_object *ann = NULL;
  json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
  json_object_object_add(o, "id", json_object_new_string(c->id));
  json_object_object_add(o, "status", json_object_new_string(c->status));
  json_object_object_add(
      o, "pid", json_object_new_int(strcmp(c->status, "stopped") ? c->pid : 0));
  json_object_object_add(o, "bundle", json_object_new_string(c->bundle));
  json_object_object_add(o, "created", json_object_new_string(c->created));
  if (json_object_object_get_ex(c->json, "annotations", &ann))
    json_object_object_add(o, "annotations", json_object_get(ann));
  return o;
}

static void remove_state(const char *id) {
  char path[PATH_MAX];
  static const char *const files[] = {"state.json", "exec.fifo", "ctl.sock"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    state_path(path, sizeof(path), id, files[i]);
    unlink(path);
  }
  state_path(path, sizeof(path), id, NULL);
  rmdir(path);
}

/* ---- config.json -> moat's policy ---- */

/* Words built for options the config gives (kept for the process's life). */
static char *keep(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *keep(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (!s) {
    fprintf(stderr, "moat: out of memory\n");
    exit(EXIT_MOAT_ERROR);
  }
  return s;
}

struct argv_list {
  char *v[512];
  int n;
};

static bool push(struct argv_list *a, char *word) {
  if (a->n >= (int)(sizeof(a->v) / sizeof(a->v[0])) - 1) {
    oci_error("config.json: too many settings");
    return false;
  }
  a->v[a->n++] = word;
  a->v[a->n] = NULL;
  return true;
}

static json_object *field(json_object *o, const char *name, json_type type,
                          const char *path, bool *bad) {
  json_object *v;
  if (!o || !json_object_object_get_ex(o, name, &v) || !v)
    return NULL;
  if (!json_object_is_type(v, type)) {
    oci_error("config.json: %s%s%s: wrong type", path, path[0] ? "." : "",
              name);
    *bad = true;
    return NULL;
  }
  return v;
}

static bool has_option(json_object *options, const char *opt) {
  size_t n = options ? json_object_array_length(options) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *s =
        json_object_get_string(json_object_array_get_idx(options, i));
    if (s && !strcmp(s, opt))
      return true;
  }
  return false;
}

/* Mounts moat provides itself whatever the config says: where an engine
 * asks for the kernel's file systems. */
static bool own_mount(const char *dest, const char *type) {
  static const struct {
    const char *dest, *type;
  } own[] = {{"/proc", "proc"},
             {"/sys", "sysfs"},
             {"/dev", "tmpfs"},
             {"/dev/pts", "devpts"},
             {"/dev/mqueue", "mqueue"},
             {"/dev/shm", "tmpfs"},
             {"/dev/shm", "shm"},
             {"/sys/fs/cgroup", "cgroup"},
             {"/sys/fs/cgroup", "cgroup2"}};
  for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
    if (!strcmp(dest, own[i].dest) && type && !strcmp(type, own[i].type))
      return true;
  return false;
}

/* The mount point dest inside the root directory, made (mode 0755) where
 * missing as runc makes it, component by component below root without
 * following a symlink of the image. 0, or an errno. */
static int walk_beneath(const char *root, const char *dest, bool make,
                        int *out);

static int mount_point(const char *root, const char *dest) {
  return walk_beneath(root, dest, true, NULL);
}

/* The mode bits of the directory dest in the image (reached without
 * following a symlink of the image), or -1. */
static int image_dir_mode(const char *root, const char *dest) {
  int fd = -1;
  struct stat st;
  int mode = walk_beneath(root, dest, false, &fd) == 0 && fstat(fd, &st) == 0
                 ? (int)(st.st_mode & 07777)
                 : -1;
  if (fd >= 0)
    close(fd);
  return mode;
}

/* dest below root, component by component with O_NOFOLLOW; make: the
 * missing directories are made (0755). out (if not NULL) gets an O_PATH
 * fd of dest. 0 or an errno. */
static int walk_beneath(const char *root, const char *dest, bool make,
                        int *out) {
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  char buf[PATH_MAX];
  snprintf(buf, sizeof(buf), "%s", dest);
  int err = 0;
  for (char *save = NULL, *c = strtok_r(buf, "/", &save); c && !err;
       c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, ".") || !strcmp(c, "..")) {
      err = EINVAL;
      break;
    }
    if (make && mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
      err = errno;
    int next =
        err ? -1 : openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!err && next < 0)
      err = errno == ELOOP ? ENOTDIR : errno;
    close(fd);
    fd = next;
  }
  if (!err && out) {
    *out = fd;
    return 0;
  }
  if (fd >= 0)
    close(fd);
  return err;
}

static const char *const g_namespaces[] = {
    "pid", "network", "ipc", "uts", "mount", "user", "cgroup", "time"};

/* process.user.uid (0 when absent or malformed: checked elsewhere). */
static int64_t uid_of(json_object *proc) {
  json_object *user, *uid;
  if (json_object_object_get_ex(proc, "user", &user) &&
      json_object_object_get_ex(user, "uid", &uid) &&
      json_object_is_type(uid, json_type_int))
    return json_object_get_int64(uid);
  return 0;
}

/* The home directory of uid in root/etc/passwd (never through a symlink
 * of the image), or "/". */
static const char *passwd_home(const char *root, int64_t uid) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/etc", root);
  int dir = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int fd = dir < 0 ? -1
                   : openat(dir, "passwd",
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (dir >= 0)
    close(dir);
  struct stat st;
  if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
    close(fd); /* a device or a fifo of the image is never read */
    fd = -1;
  }
  FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
  if (!f) {
    if (fd >= 0)
      close(fd);
    return "/";
  }
  const char *home = "/";
  char line[1024];
  for (int lines = 0; lines < 100000 && fgets(line, sizeof(line), f); lines++) {
    char *field[7] = {0}, *save = NULL, *p = line;
    int n = 0;
    /* name:pass:uid:gid:gecos:home:shell, empty fields allowed */
    for (; n < 7 && p; n++) {
      field[n] = p;
      p = strchr(p, ':');
      if (p)
        *p++ = 0;
    }
    (void)save;
    if (n < 6 || !field[2][0] || strtoll(field[2], NULL, 10) != uid)
      continue;
    if (field[5][0] == '/')
      home = keep("%s", field[5]);
    break;
  }
  fclose(f);
  return home;
}

/* Annotations "moat.NAME": moat run's option --NAME for the options
 * that concern one sandbox and nothing an engine already says (docs/
 * oci.md). A switch takes "true" or "false"; allow-connect a comma-
 * separated list. Any other moat.* annotation is refused. */
static const struct {
  const char *name;
  bool flag;
} g_annotations[] = {
    {"verbose", true},      {"stats", true},    {"strace", true},
    {"no-fast-path", true}, {"timeout", false}, {"cpu-time", false},
    {"tmp-size", false},    {"files", false},   {"allow-connect", false},
};

static int moat_annotations(json_object *cfg, struct argv_list *args) {
  json_object *ann;
  if (!json_object_object_get_ex(cfg, "annotations", &ann) ||
      !json_object_is_type(ann, json_type_object))
    return 0;
  json_object_object_foreach(ann, key, val) {
    if (strncmp(key, "moat.", 5))
      continue; /* the engine's own: kept in the state */
    const char *name = key + 5;
    size_t k = 0, n = sizeof(g_annotations) / sizeof(g_annotations[0]);
    while (k < n && strcmp(name, g_annotations[k].name))
      k++;
    if (k == n) {
      oci_error("config.json: annotations.%s: not a moat option (see "
                "docs/oci.md)",
                key);
      return -1;
    }
    const char *v = json_object_is_type(val, json_type_string)
                        ? json_object_get_string(val)
                        : NULL;
    if (!v || !v[0]) {
      oci_error("config.json: annotations.%s: a string value is needed", key);
      return -1;
    }
    if (g_annotations[k].flag) {
      if (strcmp(v, "true") && strcmp(v, "false")) {
        oci_error("config.json: annotations.%s: expected true or false", key);
        return -1;
      }
      if (!strcmp(v, "true") && !push(args, keep("--%s", name)))
        return -1;
      continue;
    }
    if (strcmp(name, "allow-connect")) {
      if (!push(args, keep("--%s", name)) || !push(args, (char *)v))
        return -1;
      continue;
    }
    /* a list: one option per item */
    char *list = keep("%s", v), *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item;
         item = strtok_r(NULL, ",", &save))
      if (!push(args, keep("--%s", name)) || !push(args, item))
        return -1;
  }
  return 0;
}

/* Read bundle/config.json into moat run's words (args: "moat", "run",
 * options..., "--", program...). Every refusal names its field. */
static int read_config(const char *bundle, struct argv_list *args,
                       json_object **annotations) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_object *cfg = json_object_from_file(path);
  if (!cfg) {
    oci_error("%s: %s", path,
              access(path, R_OK) < 0 ? strerror(errno)
                                     : json_util_get_last_err());
    return -1;
  }
  if (!json_object_is_type(cfg, json_type_object)) {
    oci_error("%s: not a JSON object", path);
    return -1;
  }
  bool bad = false;
  push(args, "moat");
  push(args, "run");
  push(args, "--clear-env");

  json_object *ver = field(cfg, "ociVersion", json_type_string, "", &bad);
  if (!ver && !bad) {
    oci_error("config.json: ociVersion: missing");
    return -1;
  }
  if (ver && strncmp(json_object_get_string(ver), "1.", 2)) {
    oci_error("config.json: ociVersion: %s is not 1.x",
              json_object_get_string(ver));
    return -1;
  }

  /* root */
  json_object *root = field(cfg, "root", json_type_object, "", &bad);
  json_object *rpath = field(root, "path", json_type_string, "root", &bad);
  if (!rpath) {
    if (!bad)
      oci_error("config.json: root.path: missing");
    return -1;
  }
  const char *rp = json_object_get_string(rpath);
  char *root_dir = rp[0] == '/' ? keep("%s", rp) : keep("%s/%s", bundle, rp);
  struct stat st;
  if (stat(root_dir, &st) < 0) {
    oci_error("config.json: root.path: %s: %s", root_dir, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    oci_error("config.json: root.path: %s: not a directory", root_dir);
    return -1;
  }
  push(args, "--root");
  push(args, root_dir);
  json_object *ro = field(root, "readonly", json_type_boolean, "root", &bad);
  if (ro && json_object_get_boolean(ro))
    push(args, "--read-only");

  /* hostname */
  json_object *host = field(cfg, "hostname", json_type_string, "", &bad);
  if (host && json_object_get_string(host)[0]) {
    push(args, "--hostname");
    push(args, (char *)json_object_get_string(host));
  }

  /* mounts */
  json_object *mounts = field(cfg, "mounts", json_type_array, "", &bad);
  size_t nm = mounts ? json_object_array_length(mounts) : 0;
  /* A file's copy may not land in a directory bind mount: it would be
   * written into the host's directory (checked after the loop). */
  const char *dir_binds[64], *file_binds[64];
  size_t ndir = 0, nfile = 0, file_index[64];
  for (size_t i = 0; i < nm && !bad; i++) {
    json_object *m = json_object_array_get_idx(mounts, i);
    char where[32];
    snprintf(where, sizeof(where), "mounts[%zu]", i);
    if (!json_object_is_type(m, json_type_object)) {
      oci_error("config.json: %s: not an object", where);
      return -1;
    }
    json_object *d = field(m, "destination", json_type_string, where, &bad);
    json_object *t = field(m, "type", json_type_string, where, &bad);
    json_object *s = field(m, "source", json_type_string, where, &bad);
    json_object *o = field(m, "options", json_type_array, where, &bad);
    if (bad)
      return -1;
    if (!d || json_object_get_string(d)[0] != '/') {
      oci_error("config.json: %s.destination: an absolute path is needed",
                where);
      return -1;
    }
    const char *dest = json_object_get_string(d);
    const char *type = t ? json_object_get_string(t) : NULL;
    /* /dev/shm is the sandbox's own whatever an engine gives for it (a
     * tmpfs, or podman's bind of a host directory). */
    bool own = own_mount(dest, type) || !strcmp(dest, "/dev/shm");
    bool bind = (type && !strcmp(type, "bind")) || has_option(o, "bind") ||
                has_option(o, "rbind");
    if (bind) {
      if (!s) {
        oci_error("config.json: %s.source: missing for a bind mount", where);
        return -1;
      }
      const char *src = json_object_get_string(s);
      char *full = src[0] == '/' ? keep("%s", src) : keep("%s/%s", bundle, src);
      if (stat(full, &st) < 0) {
        oci_error("config.json: %s.source: %s: %s", where, full,
                  strerror(errno));
        return -1;
      }
      if (S_ISREG(st.st_mode)) {
        /* A copy taken now (/etc/hosts, /etc/resolv.conf, /etc/hostname,
         * /run/.containerenv): docs/oci.md. */
        if (st.st_size > MAX_FILE_SIZE) {
          oci_error("config.json: %s: a bind mount of a file larger than 1 "
                    "MiB (%s) is not supported",
                    where, full);
          return -1;
        }
        push(args, "--file");
        push(args, keep("%s:%s", full, dest));
        if (nfile < 64) {
          file_index[nfile] = i;
          file_binds[nfile++] = dest;
        }
        continue;
      }
      if (!S_ISDIR(st.st_mode)) {
        oci_error("config.json: %s: %s is neither a directory nor a regular "
                  "file",
                  where, full);
        return -1;
      }
      push(args, "--mount");
      push(args,
           keep("%s:%s:%s", full, dest, has_option(o, "ro") ? "ro" : "rw"));
      if (ndir < 64)
        dir_binds[ndir++] = dest;
    } else if (own) {
      continue; /* the sandbox's own /proc, /sys, /dev, ... */
    } else if (type && !strcmp(type, "tmpfs")) {
      /* mode=NNN among the options, as mount(8) gives it to tmpfs */
      const char *mode = NULL;
      size_t no = o ? json_object_array_length(o) : 0;
      for (size_t k = 0; k < no; k++) {
        const char *opt =
            json_object_get_string(json_object_array_get_idx(o, k));
        if (opt && !strncmp(opt, "mode=", 5))
          mode = opt + 5;
      }
      /* Without mode=, a mount point the image has gives its mode, as
       * podman's tmpcopyup does (whose copy of the directory's contents
       * moat does not make: docs/oci.md). */
      char *inherit = NULL;
      int image_mode = mode ? -1 : image_dir_mode(root_dir, dest);
      if (image_mode >= 0)
        inherit = keep("%o", (unsigned)image_mode);
      push(args, "--tmpfs");
      push(args, mode      ? keep("%s:%s", dest, mode)
                 : inherit ? keep("%s:%s", dest, inherit)
                           : (char *)dest);
    } else {
      oci_error("config.json: %s: a mount of type %s at %s is not supported",
                where, type ? type : "(none)", dest);
      return -1;
    }
    int merr = mount_point(root_dir, dest);
    if (merr) {
      oci_error("config.json: %s.destination: %s in the root: %s", where, dest,
                strerror(merr));
      return -1;
    }
  }

  for (size_t f = 0; f < nfile; f++)
    for (size_t k = 0; k < ndir; k++) {
      size_t n = strlen(dir_binds[k]);
      while (n > 1 && dir_binds[k][n - 1] == '/')
        n--;
      if (!strncmp(file_binds[f], dir_binds[k], n) &&
          (file_binds[f][n] == '/' || file_binds[f][n] == 0 || n == 1)) {
        oci_error("config.json: mounts[%zu]: a bind mount of a file at %s "
                  "inside the directory bind mount at %s is not supported "
                  "(its copy would overwrite the host's file)",
                  file_index[f], file_binds[f], dir_binds[k]);
        return -1;
      }
    }

  /* process */
  json_object *proc = field(cfg, "process", json_type_object, "", &bad);
  if (!proc) {
    if (!bad)
      oci_error("config.json: process: missing");
    return -1;
  }
  json_object *term =
      field(proc, "terminal", json_type_boolean, "process", &bad);
  g_oci.terminal = term && json_object_get_boolean(term);
  json_object *cwd = field(proc, "cwd", json_type_string, "process", &bad);
  if (cwd) {
    if (json_object_get_string(cwd)[0] != '/') {
      oci_error("config.json: process.cwd: %s is not an absolute path",
                json_object_get_string(cwd));
      return -1;
    }
    push(args, "--cwd");
    push(args, (char *)json_object_get_string(cwd));
  }
  json_object *user = field(proc, "user", json_type_object, "process", &bad);
  if (user) {
    json_object *uid = field(user, "uid", json_type_int, "process.user", &bad);
    json_object *gid = field(user, "gid", json_type_int, "process.user", &bad);
    json_object *more =
        field(user, "additionalGids", json_type_array, "process.user", &bad);
    if (bad)
      return -1;
    int64_t u = uid ? json_object_get_int64(uid) : 0;
    int64_t g = gid ? json_object_get_int64(gid) : 0;
    if (u < 0 || u > 0xfffffffe || g < 0 || g > 0xfffffffe) {
      oci_error("config.json: process.user: uid and gid must be 0..4294967294");
      return -1;
    }
    size_t ng = more ? json_object_array_length(more) : 0;
    if (ng > 32) {
      oci_error("config.json: process.user.additionalGids: at most 32");
      return -1;
    }
    char *groups = keep("%s", "");
    for (size_t i = 0; i < ng; i++) {
      json_object *x = json_object_array_get_idx(more, i);
      int64_t v =
          json_object_is_type(x, json_type_int) ? json_object_get_int64(x) : -1;
      if (v < 0 || v > 0xfffffffe) {
        oci_error("config.json: process.user.additionalGids[%zu]: not a "
                  "group id",
                  i);
        return -1;
      }
      groups = keep("%s%s%lld", groups, i ? "," : "", (long long)v);
    }
    if (ng) {
      push(args, "--groups");
      push(args, groups);
    }
    if (field(user, "username", json_type_string, "process.user", &bad)) {
      oci_error("config.json: process.user.username: only numeric ids");
      return -1;
    }
    push(args, "--user");
    push(args, keep("%lld:%lld", (long long)u, (long long)g));
  }
  json_object *env = field(proc, "env", json_type_array, "process", &bad);
  size_t ne = env ? json_object_array_length(env) : 0;
  for (size_t i = 0; i < ne && !bad; i++) {
    json_object *e = json_object_array_get_idx(env, i);
    const char *s = json_object_is_type(e, json_type_string)
                        ? json_object_get_string(e)
                        : NULL;
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s) {
      oci_error("config.json: process.env[%zu]: expected NAME=VALUE", i);
      return -1;
    }
    push(args, "--env");
    push(args, (char *)s);
  }
  /* As runc: HOME from the image's /etc/passwd entry of the uid, else
   * "/", when the config gives none. */
  if (bad)
    return -1;
  bool has_home = false;
  for (size_t i = 0; i < ne; i++) {
    const char *e = json_object_get_string(json_object_array_get_idx(env, i));
    has_home = has_home || (e && !strncmp(e, "HOME=", 5));
  }
  if (!has_home) {
    push(args, "--env");
    push(args, keep("HOME=%s", passwd_home(root_dir, uid_of(proc))));
  }
  json_object *rl = field(proc, "rlimits", json_type_array, "process", &bad);
  size_t nr = rl ? json_object_array_length(rl) : 0;
  for (size_t i = 0; i < nr && !bad; i++) {
    json_object *r = json_object_array_get_idx(rl, i);
    char where[40];
    snprintf(where, sizeof(where), "process.rlimits[%zu]", i);
    json_object *t = field(r, "type", json_type_string, where, &bad);
    json_object *soft = field(r, "soft", json_type_int, where, &bad);
    json_object *hard = field(r, "hard", json_type_int, where, &bad);
    if (bad)
      return -1;
    if (!t || !soft || !hard ||
        options_rlimit_index(json_object_get_string(t)) < 0) {
      oci_error("config.json: %s: expected type RLIMIT_..., soft, hard", where);
      return -1;
    }
    uint64_t sv = json_object_get_uint64(soft),
             hv = json_object_get_uint64(hard);
    if (sv > hv) {
      oci_error("config.json: %s: soft above hard", where);
      return -1;
    }
    push(args, "--rlimit");
    push(args, keep("%s=%llu:%llu", json_object_get_string(t),
                    (unsigned long long)sv, (unsigned long long)hv));
  }
  /* noNewPrivileges: every sandbox runs with no_new_privs on the host,
   * and the guest's own setuid files give nothing beyond the sandbox. */
  field(proc, "noNewPrivileges", json_type_boolean, "process", &bad);

  /* linux */
  json_object *lx = field(cfg, "linux", json_type_object, "", &bad);
  json_object *ns = field(lx, "namespaces", json_type_array, "linux", &bad);
  size_t nn = ns ? json_object_array_length(ns) : 0;
  for (size_t i = 0; i < nn && !bad; i++) {
    json_object *n = json_object_array_get_idx(ns, i);
    char where[40];
    snprintf(where, sizeof(where), "linux.namespaces[%zu]", i);
    json_object *t = field(n, "type", json_type_string, where, &bad);
    if (bad)
      return -1;
    bool known = false;
    for (size_t k = 0; t && k < sizeof(g_namespaces) / sizeof(g_namespaces[0]);
         k++)
      known = known || !strcmp(json_object_get_string(t), g_namespaces[k]);
    if (!known) {
      oci_error("config.json: %s.type: unknown namespace", where);
      return -1;
    }
    if (field(n, "path", json_type_string, where, &bad) && !bad) {
      oci_error("config.json: %s.path: joining an existing %s namespace is "
                "not supported (every moat sandbox has its own)",
                where, json_object_get_string(t));
      return -1;
    }
  }
  json_object *res = field(lx, "resources", json_type_object, "linux", &bad);
  json_object *mem =
      field(res, "memory", json_type_object, "linux.resources", &bad);
  json_object *lim =
      field(mem, "limit", json_type_int, "linux.resources.memory", &bad);
  if (lim && json_object_get_int64(lim) > 0) {
    push(args, "--memory");
    push(args, keep("%lld", (long long)json_object_get_int64(lim)));
  }
  json_object *pids =
      field(res, "pids", json_type_object, "linux.resources", &bad);
  json_object *plim =
      field(pids, "limit", json_type_int, "linux.resources.pids", &bad);
  if (plim && json_object_get_int64(plim) > 0) {
    push(args, "--pids");
    push(args, keep("%lld", (long long)json_object_get_int64(plim)));
  }
  if (field(cfg, "hooks", json_type_object, "", &bad) && !bad) {
    json_object *h = NULL;
    json_object_object_get_ex(cfg, "hooks", &h);
    if (json_object_object_length(h) > 0) {
      oci_error("config.json: hooks: not supported (a hook would run on the "
                "host, outside the sandbox)");
      return -1;
    }
  }
  if (bad || moat_annotations(cfg, args) < 0)
    return -1;
  json_object *args_j = field(proc, "args", json_type_array, "process", &bad);
  size_t na = args_j ? json_object_array_length(args_j) : 0;
  if (bad || na == 0) {
    if (!bad)
      oci_error("config.json: process.args: missing or empty");
    return -1;
  }
  push(args, "--");
  for (size_t i = 0; i < na; i++) {
    json_object *a = json_object_array_get_idx(args_j, i);
    if (!json_object_is_type(a, json_type_string)) {
      oci_error("config.json: process.args[%zu]: not a string", i);
      return -1;
    }
    if (!push(args, (char *)json_object_get_string(a)))
      return -1;
  }
  json_object *ann = field(cfg, "annotations", json_type_object, "", &bad);
  *annotations = ann;
  return bad ? -1 : 0;
}

/* The bundle's config as moat run's options. */
static int config_options(const char *bundle, struct run_options *opts,
                          json_object **annotations) {
  static struct argv_list args;
  args.n = 0;
  if (read_config(bundle, &args, annotations) < 0)
    return -1;
  if (options_parse(args.n, args.v, opts) != ACTION_RUN) {
    oci_error("config.json: refused (the reason is above)");
    return -1;
  }
  return 0;
}

/* ---- the commands ---- */

struct create_args {
  const char *bundle, *pid_file, *id, *console_socket;
  bool detach;
};

static int parse_create(int argc, char **argv, int i, bool run,
                        struct create_args *c) {
  memset(c, 0, sizeof(*c));
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = strchr(a, '=');
    size_t len = v ? (size_t)(v - a) : strlen(a);
#define IS(name) (len == strlen(name) && !strncmp(a, name, len))
    if (a[0] != '-')
      break;
    if (IS("--no-pivot") || IS("--no-new-keyring") ||
        (run && (IS("-d") || IS("--detach") || IS("--keep")))) {
      if (IS("-d") || IS("--detach"))
        c->detach = true;
      continue;
    }
    const char **slot = NULL;
    if (IS("-b") || IS("--bundle"))
      slot = &c->bundle;
    else if (IS("--pid-file"))
      slot = &c->pid_file;
    else if (IS("--console-socket"))
      slot = &c->console_socket;
    if (!slot && !IS("--preserve-fds")) {
      oci_error("%s: unknown option %s", run ? "run" : "create", a);
      return -1;
    }
    const char *val = v ? v + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val) {
      oci_error("option %s needs a value", a);
      return -1;
    }
    if (IS("--preserve-fds")) {
      if (strcmp(val, "0")) {
        oci_error("--preserve-fds %s: passing extra descriptors is not "
                  "supported yet",
                  val);
        return -1;
      }
      continue;
    }
    *slot = val;
#undef IS
  }
  if (i != argc - 1) {
    oci_error("%s: expected one container ID", run ? "run" : "create");
    return -1;
  }
  c->id = argv[i];
  return 0;
}

static int write_pid_file(const char *path, int pid) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%d", pid);
  int err = write_file_atomic(path, buf);
  if (err)
    oci_error("--pid-file %s: %s", path, strerror(-err));
  return err;
}

/* process.terminal: a new pseudo-terminal whose master goes to the
 * engine on the console socket (runc's protocol: the slave's name as
 * the message, the master as SCM_RIGHTS), whose slave the container's
 * process takes as its controlling terminal and standard streams. The
 * sandbox then runs the guest on its own console (docs/ptys.md, "The
 * host's terminal"). Returns the slave's fd, or -1 (said). */
static int console_open(const char *sock_path) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  char name[64];
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
      ptsname_r(master, name, sizeof(name)) != 0) {
    oci_error("a terminal: %s", strerror(errno));
    if (master >= 0)
      close(master);
    return -1;
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = slave >= 0 && sock >= 0 && strlen(sock_path) < sizeof(sa.sun_path);
  if (ok) {
    strcpy(sa.sun_path, sock_path);
    ok = connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  }
  if (ok)
    ok = send_with_fds(sock, name, strlen(name), &master, 1, 0) ==
         (ssize_t)strlen(name);
  if (!ok) {
    oci_error("--console-socket %s: %s", sock_path, strerror(errno));
    if (slave >= 0)
      close(slave);
    slave = -1;
  }
  if (sock >= 0)
    close(sock);
  close(master);
  return slave;
}

/* In the container's process: the terminal's slave as its controlling
 * terminal (a session of its own) and standard streams. */
static void console_take(int slave) {
  /* (In the foreground a process-group leader cannot start a session:
   * the terminal is then its streams only.) */
  if (setsid() >= 0)
    ioctl(slave, TIOCSCTTY, 0);
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
    _exit(EXIT_MOAT_ERROR);
  close(slave);
}

/* create (run: false) and run. */
static int cmd_create(int argc, char **argv, int i, bool run) {
  struct create_args c;
  if (parse_create(argc, argv, i, run, &c) < 0)
    return 1;
  if (!id_ok(c.id)) {
    oci_error("%s: not a valid container ID (letters, digits, _ . - +)", c.id);
    return 1;
  }
  char bundle[PATH_MAX];
  if (!realpath(c.bundle ? c.bundle : ".", bundle)) {
    oci_error("bundle %s: %s", c.bundle ? c.bundle : ".", strerror(errno));
    return 1;
  }
  static struct run_options opts;
  json_object *annotations = NULL;
  if (config_options(bundle, &opts, &annotations) < 0)
    return 1;
  if (g_oci.terminal && !c.console_socket) {
    oci_error("config.json: process.terminal: a terminal needs "
              "--console-socket (moat does not make one on its own "
              "streams)");
    return 1;
  }
  if (!g_oci.terminal && c.console_socket) {
    oci_error("--console-socket: given without process.terminal");
    return 1;
  }
  int err = mkdir_p(g_oci.root, 0700);
  if (err) {
    oci_error("state directory %s: %s", g_oci.root, strerror(-err));
    return 1;
  }
  char dir[PATH_MAX], fifo[PATH_MAX];
  state_path(dir, sizeof(dir), c.id, NULL);
  if (mkdir(dir, 0700) < 0) {
    if (errno == EEXIST)
      oci_error("container %s already exists", c.id);
    else
      oci_error("container %s: cannot make its state in %s: %s", c.id,
                g_oci.root, strerror(errno));
    return 1;
  }
  state_path(fifo, sizeof(fifo), c.id, "exec.fifo");
  if (!run && mkfifo(fifo, 0600) < 0) {
    oci_error("container %s: exec.fifo: %s", c.id, strerror(errno));
    remove_state(c.id);
    return 1;
  }
  /* The supervisor's control socket (moat exec, moat kill), listening
   * from now on: what comes before the sandbox runs waits in its queue. */
  char sock[PATH_MAX], why[PATH_MAX + 64];
  state_path(sock, sizeof(sock), c.id, "ctl.sock");
  opts.control = true;
  opts.control_listen = control_listen(sock, why, sizeof(why));
  if (opts.control_listen < 0) {
    oci_error("container %s: control socket %s", c.id, why);
    remove_state(c.id);
    return 1;
  }
  int slave = -1;
  if (g_oci.terminal && (slave = console_open(c.console_socket)) < 0) {
    close(opts.control_listen);
    remove_state(c.id);
    return 1;
  }
  if (run && !c.detach) {
    /* In the foreground: this process is the container's. */
    if (slave >= 0)
      console_take(slave);
    if (save_state(c.id, bundle, getpid(), annotations) < 0 ||
        (c.pid_file && write_pid_file(c.pid_file, getpid()) < 0)) {
      remove_state(c.id);
      return 1;
    }
    fflush(NULL);
    int status = run_main(&opts);
    remove_state(c.id);
    return status;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    oci_error("container %s: fork: %s", c.id, strerror(errno));
    remove_state(c.id);
    return 1;
  }
  if (pid == 0) {
    if (slave >= 0)
      console_take(slave);
    if (!run) {
      /* Blocks until `start` opens the fifo for reading, then says so
       * (runc's direction: start never waits for a reader to appear). */
      int fd = open(fifo, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "s", 1) != 1)
        _exit(EXIT_MOAT_ERROR);
      close(fd);
    }
    _exit(run_main(&opts));
  }
  close(opts.control_listen);
  if (slave >= 0)
    close(slave);
  if (save_state(c.id, bundle, pid, annotations) < 0 ||
      (c.pid_file && write_pid_file(c.pid_file, pid) < 0)) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    remove_state(c.id);
    return 1;
  }
  return 0;
}

static int one_id(int argc, char **argv, int i, const char *cmd) {
  if (i != argc - 1) {
    oci_error("%s: expected one container ID", cmd);
    return -1;
  }
  return i;
}

static int cmd_start(int argc, char **argv, int i) {
  if ((i = one_id(argc, argv, i, "start")) < 0)
    return 1;
  struct container c;
  if (load(argv[i], &c) < 0)
    return 1;
  if (strcmp(c.status, "created")) {
    oci_error("cannot start container %s: it is %s", c.id, c.status);
    return 1;
  }
  char fifo[PATH_MAX];
  state_path(fifo, sizeof(fifo), c.id, "exec.fifo");
  /* Opening for reading without blocking lets the container's process,
   * blocked opening it for writing (now or when it gets there), go on;
   * its byte says it did. Not forever: it may have died meanwhile. */
  int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    oci_error("cannot start container %s: exec.fifo: %s", c.id,
              strerror(errno));
    return 1;
  }
  bool ok = false;
  for (int waited = 0; !ok && waited < 300; waited++) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char b;
    if (poll(&p, 1, 100) > 0 && read(fd, &b, 1) == 1) {
      ok = true;
      break;
    }
    char st = 0;
    if (proc_start(c.pid, &st) != c.start || st == 'Z' || st == 'X')
      break;
  }
  close(fd);
  if (!ok) {
    oci_error("cannot start container %s: its process did not answer", c.id);
    return 1;
  }
  unlink(fifo);
  return 0;
}

static int cmd_state(int argc, char **argv, int i) {
  if ((i = one_id(argc, argv, i, "state")) < 0)
    return 1;
  struct container c;
  if (load(argv[i], &c) < 0)
    return 1;
  json_object *o = state_json(&c);
  printf("%s\n",
         json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return 0;
}

static int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},
               {"ILL", SIGILL},       {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
               {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
               {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
               {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
               {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
               {"URG", SIGURG},       {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
               {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
               {"IO", SIGIO},         {"PWR", SIGPWR},   {"SYS", SIGSYS}};
  if (isdigit((unsigned char)s[0])) {
    char *end;
    long v = strtol(s, &end, 10);
    return *end || v < 1 || v > 64 ? -1 : (int)v;
  }
  if (!strncmp(s, "SIG", 3))
    s += 3;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (!strcmp(s, names[i].name))
      return names[i].sig;
  return -1;
}

/* A connection to container id's supervisor, or -1. */
static int control_connect(const char *id) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  char path[PATH_MAX];
  state_path(path, sizeof(path), id, "ctl.sock");
  if (strlen(path) >= sizeof(sa.sun_path))
    return -1;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int cmd_kill(int argc, char **argv, int i) {
  for (; i < argc && argv[i][0] == '-'; i++)
    if (strcmp(argv[i], "-a") && strcmp(argv[i], "--all")) {
      oci_error("kill: unknown option %s", argv[i]);
      return 1;
    }
  if (i >= argc || argc - i > 2) {
    oci_error("kill: expected ID [SIGNAL]");
    return 1;
  }
  int sig = argc - i == 2 ? parse_signal(argv[i + 1]) : SIGTERM;
  if (sig < 0) {
    oci_error("kill: %s: not a signal", argv[i + 1]);
    return 1;
  }
  struct container c;
  if (load(argv[i], &c) < 0)
    return 1;
  if (!strcmp(c.status, "stopped")) {
    oci_error("cannot kill container %s: it is not running", c.id);
    return 1;
  }
  /* Running: the supervisor passes the signal to the guest's first
   * process, and answers once it did. KILL, and any signal it does not
   * answer for (its connections all taken, say), goes to the supervisor
   * itself, which passes on what it catches (KILL ends it, and the
   * sandbox with it). Created: the waiting process gets it, as runc's
   * waiting init does. */
  int fd = strcmp(c.status, "running") || sig == SIGKILL
               ? -1
               : control_connect(c.id);
  if (fd >= 0) {
    struct ctl_head h = {CTL_KILL, 0, sig, 0};
    bool ok = send(fd, &h, sizeof(h), MSG_NOSIGNAL) == sizeof(h);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct ctl_head r;
    ok = ok && poll(&p, 1, 5000) == 1 &&
         recv(fd, &r, sizeof(r), MSG_DONTWAIT) == sizeof(r) &&
         r.type == CTL_EXIT;
    close(fd);
    if (ok)
      return 0;
    if (sig == SIGSTOP) { /* it would stop the supervisor itself */
      oci_error("kill %s: its supervisor did not answer", c.id);
      return 1;
    }
  }
  if (kill(c.pid, sig) < 0) {
    oci_error("kill %s: %s", c.id, strerror(errno));
    return 1;
  }
  return 0;
}

static int cmd_delete(int argc, char **argv, int i) {
  bool force = false;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
      force = true;
    else {
      oci_error("delete: unknown option %s", argv[i]);
      return 1;
    }
  }
  if ((i = one_id(argc, argv, i, "delete")) < 0)
    return 1;
  struct container c;
  if (load(argv[i], &c) < 0)
    return force ? 0 : 1;
  if (!strcmp(c.status, "running") && !force) {
    oci_error("cannot delete container %s: it is running (stop it, or "
              "delete --force)",
              c.id);
    return 1;
  }
  if (strcmp(c.status, "stopped")) {
    /* A created container never ran; a forced delete ends a running one. */
    kill(c.pid, SIGKILL);
    for (int tries = 0; tries < 500; tries++) {
      char st = 0;
      if (proc_start(c.pid, &st) != c.start || st == 'Z' || st == 'X')
        break;
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
  }
  remove_state(c.id);
  return 0;
}

/* -f/--format table|json at argv[*i] (advanced past its value): 1 if it
 * is one (*json set), 0 if not, -1 for a bad value (said). */
static int format_option(int argc, char **argv, int *i, const char *cmd,
                         bool *json) {
  const char *a = argv[*i], *v = NULL;
  if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && *i + 1 < argc)
    v = argv[++*i];
  else if (!strncmp(a, "--format=", 9))
    v = a + 9;
  else
    return 0;
  if (strcmp(v, "json") && strcmp(v, "table")) {
    oci_error("%s: --format %s: expected table or json", cmd, v);
    return -1;
  }
  *json = !strcmp(v, "json");
  return 1;
}

static int cmd_list(int argc, char **argv, int i) {
  bool json = false, quiet = false;
  for (; i < argc; i++) {
    int f = format_option(argc, argv, &i, "list", &json);
    if (f < 0)
      return 1;
    if (f)
      continue;
    if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
      quiet = true;
    } else {
      oci_error("list: unknown option %s", argv[i]);
      return 1;
    }
  }
  json_object *all = json_object_new_array();
  DIR *d = opendir(g_oci.root);
  if (!quiet && !json)
    printf("%-20s %-8s %-8s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE",
           "CREATED");
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.' || !id_ok(e->d_name))
      continue;
    struct container c;
    char path[PATH_MAX];
    state_path(path, sizeof(path), e->d_name, "state.json");
    if (access(path, F_OK) < 0 || load(e->d_name, &c) < 0)
      continue;
    int pid = strcmp(c.status, "stopped") ? c.pid : 0;
    if (json)
      json_object_array_add(all, state_json(&c));
    else if (quiet)
      printf("%s\n", c.id);
    else
      printf("%-20s %-8d %-8s %-40s %s\n", c.id, pid, c.status, c.bundle,
             c.created);
  }
  if (d)
    closedir(d);
  if (json)
    printf("%s\n",
           json_object_to_json_string_ext(
               all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(all);
  return 0;
}

/* The host pids of the container: its process and every descendant
 * (from each process's parent in /proc/PID/stat), ascending. */
static int container_pids(int top, int *out, int max) {
  int n = 0;
  if (top > 0 && n < max)
    out[n++] = top;
  /* Parents come before children in no guaranteed order: repeat until no
   * new pid joins. */
  for (bool grew = true; grew;) {
    grew = false;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
      int pid = atoi(e->d_name);
      if (pid <= 0)
        continue;
      bool known = false;
      for (int i = 0; i < n && !known; i++)
        known = out[i] == pid;
      if (known)
        continue;
      char path[64], buf[512];
      snprintf(path, sizeof(path), "/proc/%d/stat", pid);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
      if (fd >= 0)
        close(fd);
      if (len <= 0)
        continue;
      buf[len] = 0;
      char *p = strrchr(buf, ')');
      int ppid = 0;
      if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
        continue;
      for (int i = 0; i < n; i++)
        if (out[i] == ppid && n < max) {
          out[n++] = pid;
          grew = true;
          break;
        }
    }
    if (d)
      closedir(d);
  }
  for (int i = 1; i < n; i++) /* insertion sort: a handful of pids */
    for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
      int t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return n;
}

/* `ps [--format table|json] ID [PS OPTIONS]`: the container's host
 * processes, as runc lists them: json, an array of pids; table, the
 * lines of ps(1) (default -ef) whose PID is one of them. */
static int cmd_ps(int argc, char **argv, int i) {
  bool json = false;
  for (; i < argc && argv[i][0] == '-'; i++) {
    int f = format_option(argc, argv, &i, "ps", &json);
    if (f < 0)
      return 1;
    if (!f) {
      oci_error("ps: unknown option %s", argv[i]);
      return 1;
    }
  }
  if (i >= argc) {
    oci_error("ps: expected a container ID");
    return 1;
  }
  struct container c;
  if (load(argv[i++], &c) < 0)
    return 1;
  static int pids[4096];
  int n = strcmp(c.status, "stopped")
              ? container_pids(c.pid, pids, (int)(sizeof(pids) / sizeof(*pids)))
              : 0;
  if (json) {
    json_object *a = json_object_new_array();
    for (int k = 0; k < n; k++)
      json_object_array_add(a, json_object_new_int(pids[k]));
    printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    json_object_put(a);
    return 0;
  }
  /* ps(1) with the caller's options (default -ef), filtered by PID. */
  char *args[64] = {"ps"};
  int na = 1;
  for (; i < argc && na < 62; i++)
    args[na++] = argv[i];
  if (na == 1)
    args[na++] = "-ef";
  args[na] = NULL;
  int fds[2];
  if (pipe(fds) < 0) {
    oci_error("ps: %s", strerror(errno));
    return 1;
  }
  fflush(NULL);
  pid_t child = fork();
  if (child < 0) {
    oci_error("ps: fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return 1;
  }
  if (child == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execvp("ps", args);
    _exit(127);
  }
  close(fds[1]);
  FILE *in = fdopen(fds[0], "r");
  char line[4096];
  int col = -1, status = 0;
  for (bool head = true; in && fgets(line, sizeof(line), in); head = false) {
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", line);
    int k = 0, pid = -1;
    for (char *save = NULL, *w = strtok_r(copy, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save), k++) {
      if (head && !strcmp(w, "PID"))
        col = k;
      if (!head && k == col)
        pid = atoi(w);
    }
    bool ours = head;
    for (int m = 0; m < n && !ours; m++)
      ours = pids[m] == pid;
    if (ours)
      fputs(line, stdout);
  }
  if (in)
    fclose(in);
  waitpid(child, &status, 0);
  if (col < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
    oci_error("ps: ps(1) gave no PID column or failed");
    return 1;
  }
  return 0;
}

static int cmd_features(void) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
  json_object_object_add(o, "ociVersionMax",
                         json_object_new_string(OCI_VERSION));
  json_object_object_add(o, "hooks", json_object_new_array());
  json_object *opts = json_object_new_array();
  static const char *const mopts[] = {"bind", "rbind", "ro", "rw"};
  for (size_t i = 0; i < sizeof(mopts) / sizeof(mopts[0]); i++)
    json_object_array_add(opts, json_object_new_string(mopts[i]));
  json_object_object_add(o, "mountOptions", opts);
  json_object *lx = json_object_new_object();
  json_object *ns = json_object_new_array();
  for (size_t i = 0; i < sizeof(g_namespaces) / sizeof(g_namespaces[0]); i++)
    json_object_array_add(ns, json_object_new_string(g_namespaces[i]));
  json_object_object_add(lx, "namespaces", ns);
  json_object *ann = json_object_new_object();
  json_object_object_add(ann, "org.opencontainers.runtime-spec.features",
                         json_object_new_string("moat"));
  json_object_object_add(ann, "io.github.moat.systemd-cgroup",
                         json_object_new_string(g_oci.systemd_cgroup
                                                    ? "requested, cgroupfs used"
                                                    : "false"));
  json_object_object_add(o, "linux", lx);
  json_object_object_add(o, "annotations", ann);
  printf("%s\n",
         json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
  return 0;
}

/* `moat spec`: a minimal config.json in the bundle (default: here). */
static int cmd_spec(int argc, char **argv, int i) {
  const char *bundle = ".";
  for (; i < argc; i++) {
    if ((!strcmp(argv[i], "-b") || !strcmp(argv[i], "--bundle")) &&
        i + 1 < argc)
      bundle = argv[++i];
    else {
      oci_error("spec: unknown option %s", argv[i]);
      return 1;
    }
  }
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  if (access(path, F_OK) == 0) {
    oci_error("spec: %s exists already", path);
    return 1;
  }
  static const char spec[] =
      "{\n"
      "  \"ociVersion\": \"" OCI_VERSION "\",\n"
      "  \"process\": {\n"
      "    \"terminal\": false,\n"
      "    \"user\": {\"uid\": 0, \"gid\": 0},\n"
      "    \"args\": [\"sh\"],\n"
      "    \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
      "/usr/bin:/sbin:/bin\"],\n"
      "    \"cwd\": \"/\",\n"
      "    \"noNewPrivileges\": true\n"
      "  },\n"
      "  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
      "  \"hostname\": \"moat\",\n"
      "  \"mounts\": [\n"
      "    {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": "
      "\"proc\"},\n"
      "    {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": "
      "\"tmpfs\"}\n"
      "  ],\n"
      "  \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": "
      "\"network\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": "
      "\"mount\"}]}\n"
      "}\n";
  int err = write_file_atomic(path, spec);
  if (err) {
    oci_error("spec: %s: %s", path, strerror(-err));
    return 1;
  }
  return 0;
}

/* ---- exec: a new process in a running container (docs/oci.md) ---- */

struct exec_args {
  const char *process, *cwd, *pid_file, *user, *id, *console_socket;
  bool tty;
  const char *env[256];
  int nenv;
  uint32_t groups[CTL_MAX_GROUPS];
  uint32_t ngroups;
  bool detach;
  int cmd; /* argv index of the command, or argc */
};

static int parse_exec(int argc, char **argv, int i, struct exec_args *e) {
  memset(e, 0, sizeof(*e));
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *v = strchr(a, '=');
    size_t len = v ? (size_t)(v - a) : strlen(a);
#define IS(name) (len == strlen(name) && !strncmp(a, name, len))
    if (IS("--")) {
      break;
    }
    if (IS("-d") || IS("--detach")) {
      e->detach = true;
      continue;
    }
    if (IS("-t") || IS("--tty")) {
      e->tty = true;
      continue;
    }
    if (IS("--no-new-privs") || IS("--ignore-paused"))
      continue; /* every process of a sandbox has no new privileges */
    const char *val = v ? v + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val) {
      oci_error("exec: option %s needs a value", a);
      return -1;
    }
    if (IS("-p") || IS("--process"))
      e->process = val;
    else if (IS("--cwd"))
      e->cwd = val;
    else if (IS("--pid-file"))
      e->pid_file = val;
    else if (IS("-u") || IS("--user"))
      e->user = val;
    else if (IS("-e") || IS("--env")) {
      if (!strchr(val, '=') || val[0] == '=' ||
          e->nenv >= (int)(sizeof(e->env) / sizeof(e->env[0]))) {
        oci_error("exec: --env %s: expected NAME=VALUE", val);
        return -1;
      }
      e->env[e->nenv++] = val;
    } else if (IS("-g") || IS("--additional-gids")) {
      char *end;
      unsigned long g = strtoul(val, &end, 10);
      if (*end || !isdigit((unsigned char)val[0]) || g > 0xfffffffeul ||
          e->ngroups >= CTL_MAX_GROUPS) {
        oci_error("exec: --additional-gids %s: not a group id (at most %d)",
                  val, CTL_MAX_GROUPS);
        return -1;
      }
      e->groups[e->ngroups++] = (uint32_t)g;
    } else if (IS("--console-socket")) {
      e->console_socket = val;
    } else if (IS("--preserve-fds")) {
      if (strcmp(val, "0")) {
        oci_error("exec: --preserve-fds %s: passing extra descriptors is "
                  "not supported yet",
                  val);
        return -1;
      }
    } else if (!IS("-c") && !IS("--cap") && !IS("--apparmor") &&
               !IS("--process-label") && !IS("--cgroup")) {
      oci_error("exec: unknown option %s", a);
      return -1;
    }
#undef IS
  }
  if (i < argc && !strcmp(argv[i], "--"))
    i++;
  if (i >= argc) {
    oci_error("exec: expected ID [COMMAND [ARG...]]");
    return -1;
  }
  e->id = argv[i];
  e->cmd = i + 1;
  if (!e->process && e->cmd >= argc) {
    oci_error("exec: no command given (and no --process)");
    return -1;
  }
  if (e->process && e->cmd < argc) {
    oci_error("exec: --process and a command are exclusive");
    return -1;
  }
  return 0;
}

/* The exec request being built. */
static struct {
  union {
    struct ctl_exec e;
    char bytes[CTL_MAX_RECORD];
  } u;
  size_t len;
  uint32_t words;
} g_req;

static bool req_word(const char *w) {
  size_t n = strlen(w) + 1;
  if (n > sizeof(g_req.u.bytes) - g_req.len || g_req.words >= CTL_MAX_WORDS) {
    oci_error("exec: the command and its environment are too long (at most "
              "%d bytes, %d words)",
              CTL_MAX_RECORD, CTL_MAX_WORDS);
    return false;
  }
  memcpy(g_req.u.bytes + g_req.len, w, n);
  g_req.len += n;
  g_req.words++;
  return true;
}

/* "UID[:GID]" */
static int parse_user(const char *s, int64_t *uid, int64_t *gid) {
  char *end;
  if (!isdigit((unsigned char)s[0]))
    return -1;
  unsigned long long u = strtoull(s, &end, 10);
  if (u > 0xfffffffeull || (*end && *end != ':'))
    return -1;
  *uid = (int64_t)u;
  if (*end == ':') {
    if (!isdigit((unsigned char)end[1]))
      return -1;
    unsigned long long g = strtoull(end + 1, &end, 10);
    if (*end || g > 0xfffffffeull)
      return -1;
    *gid = (int64_t)g;
  }
  return 0;
}

/* Build the request from the process (the --process file's, or the
 * container's config.json's with the command line's command) and the
 * options. */
static int exec_request(const struct exec_args *e, const struct container *c,
                        int argc, char **argv) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof(path), "%s/config.json", c->bundle);
  json_object *cfg = json_object_from_file(path);
  json_object *proc = NULL, *pfile = NULL, *root = NULL, *rp = NULL;
  bool bad = false;
  if (!cfg) {
    oci_error("exec: %s: %s", path, json_util_get_last_err());
    return -1;
  }
  json_object_object_get_ex(cfg, "root", &root);
  rp = field(root, "path", json_type_string, "root", &bad);
  const char *rps = rp ? json_object_get_string(rp) : "rootfs";
  char *root_dir =
      rps[0] == '/' ? keep("%s", rps) : keep("%s/%s", c->bundle, rps);
  if (e->process) {
    pfile = json_object_from_file(e->process);
    if (!pfile || !json_object_is_type(pfile, json_type_object)) {
      oci_error("exec: --process %s: %s", e->process,
                pfile ? "not a JSON object" : json_util_get_last_err());
      return -1;
    }
    proc = pfile;
  } else {
    proc = field(cfg, "process", json_type_object, "", &bad);
  }
  const char *where = e->process ? "--process" : "process";
  json_object *term = field(proc, "terminal", json_type_boolean, where, &bad);
  if (term && json_object_get_boolean(term))
    g_oci.terminal = true;
  json_object *cwd_j = field(proc, "cwd", json_type_string, where, &bad);
  json_object *user = field(proc, "user", json_type_object, where, &bad);
  json_object *uid_j = field(user, "uid", json_type_int, "user", &bad);
  json_object *gid_j = field(user, "gid", json_type_int, "user", &bad);
  json_object *more =
      field(user, "additionalGids", json_type_array, "user", &bad);
  json_object *env = field(proc, "env", json_type_array, where, &bad);
  json_object *args = field(proc, "args", json_type_array, where, &bad);
  if (bad)
    return -1;
  struct ctl_exec *x = &g_req.u.e;
  memset(x, 0, sizeof(*x));
  x->h.type = CTL_EXEC;
  int64_t uid = uid_j ? json_object_get_int64(uid_j) : 0;
  int64_t gid = gid_j ? json_object_get_int64(gid_j) : 0;
  if (e->user && parse_user(e->user, &uid, &gid) < 0) {
    oci_error("exec: --user %s: expected UID[:GID] (numeric)", e->user);
    return -1;
  }
  if (uid < 0 || uid > 0xfffffffe || gid < 0 || gid > 0xfffffffe) {
    oci_error("exec: %s.user: uid and gid must be 0..4294967294", where);
    return -1;
  }
  x->uid = (uint32_t)uid;
  x->gid = (uint32_t)gid;
  size_t ng = more && !e->user ? json_object_array_length(more) : 0;
  for (size_t k = 0; k < ng; k++) {
    json_object *g = json_object_array_get_idx(more, k);
    int64_t v =
        json_object_is_type(g, json_type_int) ? json_object_get_int64(g) : -1;
    if (v < 0 || v > 0xfffffffe || x->ngroups >= CTL_MAX_GROUPS) {
      oci_error("exec: %s.user.additionalGids[%zu]: not a group id (at most "
                "%d)",
                where, k, CTL_MAX_GROUPS);
      return -1;
    }
    x->groups[x->ngroups++] = (uint32_t)v;
  }
  for (uint32_t k = 0; k < e->ngroups && x->ngroups < CTL_MAX_GROUPS; k++)
    x->groups[x->ngroups++] = e->groups[k];
  const char *cwd = e->cwd  ? e->cwd
                    : cwd_j ? json_object_get_string(cwd_j)
                            : "/";
  if (cwd[0] != '/') {
    oci_error("exec: the working directory %s is not an absolute path", cwd);
    return -1;
  }
  g_req.len = sizeof(*x);
  g_req.words = 0;
  if (!req_word(cwd))
    return -1;
  if (e->process) {
    size_t na = args ? json_object_array_length(args) : 0;
    if (na == 0) {
      oci_error("exec: --process %s: args: missing or empty", e->process);
      return -1;
    }
    for (size_t k = 0; k < na; k++) {
      json_object *a = json_object_array_get_idx(args, k);
      if (!json_object_is_type(a, json_type_string)) {
        oci_error("exec: --process %s: args[%zu]: not a string", e->process, k);
        return -1;
      }
      if (!req_word(json_object_get_string(a)))
        return -1;
    }
    x->argc = (uint32_t)na;
  } else {
    for (int k = e->cmd; k < argc; k++)
      if (!req_word(argv[k]))
        return -1;
    x->argc = (uint32_t)(argc - e->cmd);
  }
  /* The environment: the process's, then --env (a later NAME wins). */
  const char *vars[512];
  size_t nv = 0, ne = env ? json_object_array_length(env) : 0;
  for (size_t k = 0; k < ne + (size_t)e->nenv; k++) {
    const char *v =
        k < ne ? json_object_get_string(json_object_array_get_idx(env, k))
               : e->env[k - ne];
    const char *eq = v ? strchr(v, '=') : NULL;
    if (!eq || eq == v) {
      oci_error("exec: %s.env[%zu]: expected NAME=VALUE", where, k);
      return -1;
    }
    size_t n = (size_t)(eq - v) + 1, j = 0;
    while (j < nv && strncmp(vars[j], v, n))
      j++;
    if (j == nv && nv >= sizeof(vars) / sizeof(vars[0]) - 1) {
      oci_error("exec: more than %zu environment variables",
                sizeof(vars) / sizeof(vars[0]) - 1);
      return -1;
    }
    vars[j] = v;
    nv += j == nv;
  }
  bool has_home = false;
  for (size_t k = 0; k < nv; k++)
    has_home = has_home || !strncmp(vars[k], "HOME=", 5);
  if (!has_home) /* as runc: from the image's /etc/passwd, else "/" */
    vars[nv++] = keep("HOME=%s", passwd_home(root_dir, uid));
  for (size_t k = 0; k < nv; k++)
    if (!req_word(vars[k]))
      return -1;
  x->envc = (uint32_t)nv;
  return 0;
}

static int g_exec_pipe[2] = {-1, -1};

static void exec_on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (write(g_exec_pipe[1], &b, 1) < 0) {
    /* full: dropped, as a pending duplicate would be */
  }
  errno = saved;
}

/* The exec'd process's wait status as this process's end. */
static int exec_status(int status) {
  int sig = status & 0x7f;
  if (!sig)
    return (status >> 8) & 0xff;
  /* Killed by a signal: so is this process, without a core dump. */
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  return 128 + sig;
}

static int cmd_exec(int argc, char **argv, int i) {
  struct exec_args e;
  if (parse_exec(argc, argv, i, &e) < 0)
    return 1;
  struct container c;
  if (load(e.id, &c) < 0)
    return 1;
  if (strcmp(c.status, "running")) {
    oci_error("cannot exec in container %s: it is %s", c.id, c.status);
    return 1;
  }
  g_oci.terminal = e.tty;
  if (exec_request(&e, &c, argc, argv) < 0)
    return 1;
  /* A terminal: a new pty whose master goes to the console socket and
   * whose slave is the process's three streams. */
  int stdio[3] = {0, 1, 2};
  if (g_oci.terminal != !!e.console_socket) {
    oci_error("exec: %s", e.console_socket
                              ? "--console-socket without a terminal (--tty)"
                              : "a terminal (--tty) needs --console-socket");
    return 1;
  }
  if (g_oci.terminal) {
    int slave = console_open(e.console_socket);
    if (slave < 0)
      return 1;
    stdio[0] = stdio[1] = stdio[2] = slave;
  }
  int fd = control_connect(c.id);
  if (fd < 0) {
    oci_error("cannot exec in container %s: its supervisor does not answer "
              "(%s)",
              c.id, strerror(errno));
    return 1;
  }
  /* The request, with the new process's standard streams. */
  if (send_with_fds(fd, g_req.u.bytes, g_req.len, stdio, 3, 0) !=
      (ssize_t)g_req.len) {
    oci_error("exec in %s: %s", c.id, strerror(errno));
    return 1;
  }
  if (stdio[0] > 2)
    close(stdio[0]); /* the process has it now */
  /* From here this process stands for the new one: signals go to it,
   * its end is this process's. */
  if (pipe2(g_exec_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    oci_error("exec: pipe: %s", strerror(errno));
    return 1;
  }
  struct sigaction sa = {.sa_handler = exec_on_signal};
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig <= 64; sig++)
    if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGPIPE &&
        sig != 32 && sig != 33)
      sigaction(sig, &sa, NULL);
  bool started = false;
  for (;;) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                          {.fd = g_exec_pipe[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return 1;
    }
    if (p[1].revents) {
      unsigned char sigs[64];
      ssize_t n = read(g_exec_pipe[0], sigs, sizeof(sigs));
      for (ssize_t k = 0; k < n; k++) {
        struct ctl_head h = {CTL_SIGNAL, 0, sigs[k], 0};
        send(fd, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
    }
    if (!p[0].revents)
      continue;
    struct {
      struct ctl_head h;
      char msg[257];
    } r;
    ssize_t n = recv(fd, &r, sizeof(r) - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < (ssize_t)sizeof(r.h)) {
      /* The container ended, and its processes with it. */
      if (!started)
        oci_error("exec in %s: the container ended", c.id);
      return started ? 128 + SIGKILL : 1;
    }
    ((char *)&r)[n] = 0;
    if (r.h.type == CTL_ERROR) {
      oci_error("exec in %s: %s: %s", c.id, r.msg,
                strerror(r.h.a > 0 ? r.h.a : EIO));
      return r.h.a == ENOENT ? 127 : 126;
    }
    if (r.h.type == CTL_EXIT)
      return exec_status(r.h.a);
    if (r.h.type != CTL_START || started)
      continue;
    started = true;
    if (!e.detach) {
      if (e.pid_file && write_pid_file(e.pid_file, getpid()) < 0)
        return 1;
      continue;
    }
    /* Detached: a child of this process goes on standing for the new
     * one (the engine's subreaper collects its end); this one says it
     * started and returns. */
    fflush(NULL);
    pid_t relay = fork();
    if (relay < 0) {
      oci_error("exec: fork: %s", strerror(errno));
      return 1;
    }
    if (relay == 0) {
      setsid();
      int null = open("/dev/null", O_RDWR | O_CLOEXEC);
      for (int k = 0; k < 3 && null >= 0; k++)
        dup2(null, k);
      continue;
    }
    return e.pid_file && write_pid_file(e.pid_file, relay) < 0 ? 1 : 0;
  }
}

int oci_main(int argc, char **argv) {
  int i = 1;
  for (int n; i < argc && (n = global_option(argv, i, argc)) > 0; i += n) {
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    const char *v = eq ? eq + 1 : (n == 2 ? argv[i + 1] : NULL);
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (!strncmp(a, "--systemd-cgroup", len) && len == 16) {
      g_oci.systemd_cgroup = true;
      continue;
    }
    if (!strncmp(a, "--debug", len) && len == 7)
      continue;
    if (!v) {
      oci_error("option %s needs a value", a);
      return 1;
    }
    if (len == 6 && !strncmp(a, "--root", 6)) {
      g_oci.root = v;
    } else if (len == 5 && !strncmp(a, "--log", 5)) {
      g_oci.log = v;
    } else if (len == 12 && !strncmp(a, "--log-format", 12)) {
      if (strcmp(v, "text") && strcmp(v, "json")) {
        oci_error("--log-format %s: expected text or json", v);
        return 1;
      }
      g_oci.log_json = !strcmp(v, "json");
    }
  }
  if (i >= argc) {
    oci_error("no command given (see docs/oci.md)");
    return 1;
  }
  const char *cmd = argv[i++];
  if (!strcmp(cmd, "create"))
    return cmd_create(argc, argv, i, false);
  if (!strcmp(cmd, "run"))
    return cmd_create(argc, argv, i, true);
  if (!strcmp(cmd, "start"))
    return cmd_start(argc, argv, i);
  if (!strcmp(cmd, "state"))
    return cmd_state(argc, argv, i);
  if (!strcmp(cmd, "kill"))
    return cmd_kill(argc, argv, i);
  if (!strcmp(cmd, "delete"))
    return cmd_delete(argc, argv, i);
  if (!strcmp(cmd, "list"))
    return cmd_list(argc, argv, i);
  if (!strcmp(cmd, "features"))
    return cmd_features();
  if (!strcmp(cmd, "spec"))
    return cmd_spec(argc, argv, i);
  if (!strcmp(cmd, "ps"))
    return cmd_ps(argc, argv, i);
  if (!strcmp(cmd, "exec"))
    return cmd_exec(argc, argv, i);
  oci_error("unknown command %s (see docs/oci.md)", cmd);
  return 1;
}
