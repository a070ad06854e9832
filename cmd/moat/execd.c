/* The sandbox's exec server (docs/oci.md, "exec and signals"): a host
 * process of the sandbox, forked from the first one after moat_boot and
 * before the first program, that runs no guest task. It receives the
 * supervisor's records on the control channel (cmd/moat/control.h):
 * a signal for the first guest process or for a process started here,
 * and exec requests. For each exec it makes the guest process
 * (moat_spawn) and forks a shepherd, which forks the process's host
 * process and waits for its end, then says it on the channel and ends.
 *
 * Runs after lockdown: the core, the platform and nothing of libc that
 * reaches the host. Everything in a record is checked here; a bad
 * record is answered with CTL_ERROR or dropped, never trusted. */
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "linux_platform.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "moat/shim_linux.h"

#define EXIT_NOT_FOUND 127
#define EXIT_NOT_EXECUTABLE 126
#define SECOND_NS 1000000000ll

/* The record being served (a fork copies it to the shepherd and the
 * process). */
static union {
  struct ctl_exec e;
  char bytes[CTL_MAX_RECORD];
} g_rec;
/* cwd, argc arguments, NULL, envc variables, NULL (argc + envc <=
 * CTL_MAX_WORDS), and one more NULL. */
static const char *g_words[CTL_MAX_WORDS + 4];
/* The supervisor's exec id of each handle's process (0: none): the
 * newest assignment of a handle wins, so a late signal for an ended
 * process never reaches the next one. */
static uint32_t g_id_of[MOAT_SPAWN_MAX + 1];
static int g_shepherd[MOAT_SPAWN_MAX + 1]; /* its shepherd's host id */

static void send_head(uint32_t type, uint32_t id, int32_t a) {
  struct ctl_head h = {type, id, a, 0};
  plat_linux_control_send(&h, sizeof(h));
}

static void send_error(uint32_t id, int err, const char *what) {
  struct {
    struct ctl_head h;
    char msg[256];
  } r = {{CTL_ERROR, id, err < 0 ? -err : err, 0}, {0}};
  size_t n = 0;
  while (what && what[n] && n < sizeof(r.msg) - 1) {
    r.msg[n] = what[n];
    n++;
  }
  plat_linux_control_send(&r, sizeof(r.h) + n);
}

static size_t str_len(const char *s, size_t max) {
  size_t n = 0;
  while (n < max && s[n])
    n++;
  return n;
}

/* Split the exec record of len bytes into g_words: the working
 * directory, argc arguments, NULL, envc variables, NULL. */
static int split_words(size_t len, const char **why) {
  const struct ctl_exec *e = &g_rec.e;
  *why = "a malformed exec request";
  if (len < sizeof(*e) || e->ngroups > CTL_MAX_GROUPS || e->argc < 1 ||
      e->argc > CTL_MAX_WORDS || e->envc > CTL_MAX_WORDS - e->argc)
    return -1;
  const char *p = g_rec.bytes + sizeof(*e), *end = g_rec.bytes + len;
  uint32_t want = 1 + e->argc + e->envc, n = 0;
  for (uint32_t w = 0; w < want; w++) {
    if (p >= end)
      return -1;
    size_t l = str_len(p, (size_t)(end - p));
    if (p + l >= end)
      return -1; /* not NUL-terminated */
    if (w == 1 + e->argc)
      g_words[n++] = NULL; /* the end of the arguments */
    g_words[n++] = p;
    p += l + 1;
  }
  if (p != end)
    return -1;
  if (e->envc == 0)
    g_words[n++] = NULL;
  g_words[n] = NULL;
  if (g_words[0][0] != '/') {
    *why = "the working directory (not absolute)";
    return -1;
  }
  if (!g_words[1][0]) {
    *why = "an empty program name";
    return -1;
  }
  return 0;
}

/* The process of the exec: its host process was just made; load the
 * program. Never returns. */
static _Noreturn void run_process(const int fds[3]) {
  const struct ctl_exec *e = &g_rec.e;
  plat_linux_host_close(plat_linux_control_fd());
  plat_linux_set_control(-1);
  int err = plat_linux_stdio_take(fds);
  if (err >= 0)
    err = moat_spawn_stdio();
  if (err < 0) {
    /* (its streams may still be the sandbox's: nothing said there) */
    moat_exit_group(EXIT_NOT_EXECUTABLE);
  }
  const char *const *argv = &g_words[1];
  const char *const *envp = &g_words[2 + e->argc];
  /* The working directory again, now with the process's own ids (the
   * server found it as root): a directory the user may not search is
   * refused as runc refuses it. */
  err = moat_chdir(g_words[0]);
  if (err < 0) {
    moat_log("moat: exec: the working directory %s: %s\n", g_words[0],
             shim_errno_text(-err));
    moat_exit_group(EXIT_NOT_EXECUTABLE);
  }
  char why[512];
  err = shim_linux_start((int)e->argc, argv, envp, why, sizeof(why));
  moat_log("moat: exec: %s: %s\n", argv[0], why);
  moat_exit_group(err == -LINUX_ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
}

/* The shepherd of the exec of handle: forks the process's host process,
 * says it started, waits for its end and says it. Never returns. */
static _Noreturn void shepherd(int handle, uint32_t id, const int fds[3]) {
  int pid = moat_spawn_fork(handle);
  if (pid == 0)
    run_process(fds);
  for (int i = 0; i < 3; i++)
    plat_linux_host_close(fds[i]);
  if (pid < 0) {
    send_error(id, pid, "cannot start the process's host process");
    plat_space_exit(0);
  }
  send_head(CTL_START, id, pid);
  int status = 0, r;
  while ((r = moat_spawn_wait(handle, -1, &status)) == 0)
    ;
  if (r < 0)
    send_error(id, r, "the process's end was lost");
  else
    send_head(CTL_EXIT, id, status);
  plat_space_exit(0);
}

static void serve_exec(size_t len, const int fds[3], int nfds) {
  const struct ctl_exec *e = &g_rec.e;
  uint32_t id = e->h.id;
  const char *why;
  if (nfds != 3 || split_words(len, &why) < 0) {
    send_error(id, -LINUX_EINVAL,
               nfds != 3 ? "the standard streams were not passed" : why);
    return;
  }
  struct moat_spawn req = {
      .uid = e->uid, .gid = e->gid, .ngroups = e->ngroups, .cwd = g_words[0]};
  for (uint32_t i = 0; i < e->ngroups; i++)
    req.groups[i] = e->groups[i];
  int handle = moat_spawn(&req, &why);
  if (handle < 0) {
    send_error(id, handle, why);
    return;
  }
  for (int h = 1; h <= MOAT_SPAWN_MAX; h++)
    if (g_id_of[h] == id)
      g_id_of[h] = 0;
  g_id_of[handle] = id;
  int r = moat_helper_fork();
  if (r == 0)
    shepherd(handle, id, fds);
  if (r < 0) {
    moat_spawn_cancel(handle);
    g_id_of[handle] = 0;
    send_error(id, r, "cannot fork the exec's shepherd");
  } else {
    g_shepherd[handle] = r;
  }
}

static void serve_signal(uint32_t id, int sig) {
  if (sig < 1 || sig > 64)
    return;
  if (id == 0) {
    moat_spawn_signal(0, sig);
    return;
  }
  for (int h = 1; h <= MOAT_SPAWN_MAX; h++)
    if (g_id_of[h] == id)
      moat_spawn_signal(h, sig);
}

/* A shepherd that ended without saying the end of its process (killed
 * by the host: its memory limit's OOM killer, say): the process goes
 * too, and its caller hears of it. */
static void shepherd_ended(int pid, int how) {
  for (int h = 1; h <= MOAT_SPAWN_MAX; h++) {
    if (g_shepherd[h] != pid)
      continue;
    g_shepherd[h] = 0;
    if (how == 0 || !g_id_of[h])
      return; /* it said the end itself */
    moat_spawn_signal(h, LINUX_SIGKILL);
    send_error(g_id_of[h], -LINUX_EIO, "the exec's shepherd was killed");
    g_id_of[h] = 0;
  }
}

static _Noreturn void serve(void) {
  for (;;) {
    int how = 0, pid;
    while ((pid = moat_helper_reap(&how)) > 0)
      shepherd_ended(pid, how);
    int w = plat_linux_control_wait(SECOND_NS);
    if (w == 0 || w == -LINUX_EINTR) {
      /* The sandbox ends with its first process (the host's PID
       * namespace takes this one with it); without that namespace,
       * this notices. */
      if (moat_spawn_signal(0, 0) == -LINUX_ESRCH)
        plat_space_exit(0);
      continue;
    }
    int fds[3], nfds = 0;
    long n = w < 0 ? w
                   : plat_linux_control_recv(g_rec.bytes, sizeof(g_rec.bytes),
                                             fds, &nfds);
    if (n == 0 || (n < 0 && n != -LINUX_EMSGSIZE && n != -LINUX_EAGAIN))
      plat_space_exit(0); /* the supervisor is gone */
    if (n >= (long)sizeof(struct ctl_head) && g_rec.e.h.type == CTL_EXEC)
      serve_exec((size_t)n, fds, nfds);
    else if (n >= (long)sizeof(struct ctl_head) && g_rec.e.h.type == CTL_SIGNAL)
      serve_signal(g_rec.e.h.id, g_rec.e.h.a);
    for (int i = 0; i < nfds; i++)
      plat_linux_host_close(fds[i]); /* the shepherd has its copies */
  }
}

void execd_start(void) {
  int ctl = plat_linux_control_fd();
  if (ctl < 0)
    return;
  int r = moat_helper_fork();
  if (r == 0)
    serve();
  if (r < 0)
    moat_log("moat: cannot start the exec server (moat exec will fail)\n");
  plat_linux_host_close(ctl);
  plat_linux_set_control(-1);
}
