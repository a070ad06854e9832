/* The `moat` command: parse the command line, fork, and let the parent
 * supervise while the child builds the sandbox, locks itself down and
 * becomes the guest. The parent only forwards termination signals and
 * turns the child's fate into moat's exit status; the child may use libc
 * only until plat_linux_lockdown returns. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "linux_platform.h"
#include "moat/moat.h"
#include "moat/platform.h"
#include "moat/shim_linux.h"
#include "options.h"
#include "oci.h"
#include "sandbox.h"
#include "supervisor.h"
#include "vm.h"

static volatile pid_t g_child;
static volatile sig_atomic_t g_timed_out;

#define EXIT_TIMEOUT 124 /* as timeout(1) */

static const int g_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static void forward_signal(int sig) {
  pid_t child = g_child;
  if (child > 0)
    kill(child, sig);
}

/* --timeout: SIGKILL of the sandbox's host process. With a PID namespace
 * that process is the relay outside it, whose death takes the
 * namespace's init (parent-death signal) and with it every guest
 * process; without one it is the first guest process, whose children
 * die with it the same way (docs/security.md). */
static void end_sandbox(int sig) {
  (void)sig;
  g_timed_out = 1;
  pid_t child = g_child;
  if (child > 0)
    kill(child, SIGKILL);
}

static int arm_timeout(double seconds) {
  struct sigaction sa = {.sa_handler = end_sandbox};
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) < 0)
    return -1;
  struct itimerval it = {{0, 0}, {0, 0}};
  it.it_value.tv_sec = (time_t)seconds;
  it.it_value.tv_usec =
      (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
  if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
    it.it_value.tv_usec = 1;
  return setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- the host's terminal (docs/ptys.md, "The host's terminal") ----
 * When stdin is a terminal, the guest runs on a pseudo-terminal of the
 * sandbox whose master is this terminal, put in raw mode here: no echo,
 * no line editing, no signal characters (the host kernel never sends
 * SIGINT or SIGTSTP to moat for ^C or ^Z; the sandbox's line discipline
 * turns them into signals for the guest's foreground group). The
 * supervisor puts the modes back exactly as they were on every way out
 * it lives through: the sandbox's end, its own errors, SIGTERM, SIGHUP,
 * SIGINT and SIGQUIT (forwarded, then waited for). */
static struct termios g_tty_saved;
static bool g_tty_raw;

/* Which of streams 0..2 are the terminal on stdin (the same device). */
static unsigned terminal_streams(void) {
  struct stat in, st;
  unsigned mask = 1;
  if (fstat(0, &in) < 0)
    return mask;
  for (int fd = 1; fd <= 2; fd++)
    if (isatty(fd) && fstat(fd, &st) == 0 && st.st_rdev == in.st_rdev)
      mask |= 1u << fd;
  return mask;
}

static void console_setup(struct run_options *o) {
  if (o->no_tty || !isatty(0) || tcgetattr(0, &g_tty_saved) < 0 ||
      ioctl(0, TCGETS, &o->console_tio) < 0)
    return;
  o->console = true;
  o->console_streams = terminal_streams();
}

/* Raw mode as cfmakeraw, after fork's preparations: nothing can fail
 * between this and the fork but the fork itself. */
static void console_raw(const struct run_options *o) {
  if (!o->console)
    return;
  struct termios raw = g_tty_saved;
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(0, TCSADRAIN, &raw) == 0)
    g_tty_raw = true;
}

static void console_restore(void) {
  if (!g_tty_raw)
    return;
  /* Even from a background group (the shell took the terminal back). */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGTTOU, &ign, &old);
  while (tcsetattr(0, TCSADRAIN, &g_tty_saved) < 0 && errno == EINTR)
    ;
  sigaction(SIGTTOU, &old, NULL);
  g_tty_raw = false;
}

/* Runs in the child: after lockdown only the core, the shim and plat_*. */
static _Noreturn void run_sandbox(const struct run_options *o) {
  /* Into the sandbox's cgroups before anything else: every host process
   * of the sandbox descends from this one. */
  char why[512];
  plat_linux_limits_enter(why, sizeof(why));
  plat_linux_limits_report();
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (size_t i = 0; i < sizeof(g_forwarded) / sizeof(g_forwarded[0]); i++)
    if (!(o->sig_ignored & (1ull << (g_forwarded[i] - 1))))
      sigaction(g_forwarded[i], &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  if (o->control) {
    control_child_reset(o->sig_ignored);
    plat_linux_set_control(o->control_fd);
  }
  plat_linux_set_host_ids(o->host_uid, o->host_gid);
  plat_linux_allow_no_userns(o->allow_no_userns);
  plat_linux_set_max_tasks(o->max_tasks);
  if (plat_linux_isolate(why, sizeof(why)) < 0) {
    fprintf(stderr, "moat: %s\n", why);
    exit(EXIT_MOAT_ERROR);
  }
  static struct moat_config cfg;
  if (sandbox_config(o, &cfg) < 0)
    exit(EXIT_MOAT_ERROR);
  const char *const *envp = sandbox_environment(o);
  if (!envp) {
    fprintf(stderr, "moat: out of memory\n");
    exit(EXIT_MOAT_ERROR);
  }
  plat_linux_offer_vdso();
  plat_linux_set_stats(o->stats);
  plat_linux_set_fast_path(!o->no_fast_path);
  plat_linux_set_verbose(o->verbose);
  plat_linux_set_console(o->console);
  plat_linux_limits_rlimits(o->max_tasks);
  /* --cpu-time's second layer: the host kernel kills a host process of
   * the sandbox one second past the guest's hard limit, even if the
   * guest got around moat's own count (every host process inherits it). */
  if (o->cpu_hard && plat_linux_limit_cpu(o->cpu_hard + 1) < 0) {
    fprintf(stderr, "moat: --cpu-time: cannot set the host's RLIMIT_CPU\n");
    exit(EXIT_MOAT_ERROR);
  }
  fflush(NULL);

  if (plat_linux_lockdown(why, sizeof(why)) < 0) {
    /* The filter is the last step: if we are here, libc still works. */
    fprintf(stderr, "moat: lockdown failed: %s\n", why);
    exit(EXIT_MOAT_ERROR);
  }

  /* ---- locked down: no libc from here on ---- */
  const char *boot_why = NULL;
  int err = moat_boot(&cfg, &boot_why);
  if (err < 0) {
    moat_log("moat: %s\n", boot_why ? boot_why : "cannot build the sandbox");
    plat_space_exit(EXIT_MOAT_ERROR);
  }
  execd_start(); /* an OCI container's exec server (docs/oci.md) */
  err = shim_linux_start(o->argc, (const char *const *)o->argv, envp, why,
                         sizeof(why));
  moat_log("moat: %s: %s\n", o->argv[0], why);
  plat_space_exit(err == -LINUX_ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
}

/* "512 MiB", "1.5 GiB": --memory as the user will recognise it. */
static void format_size(uint64_t n, char *buf, size_t len) {
  if (n >= (1ull << 30) && n % (1ull << 30) == 0)
    snprintf(buf, len, "%llu GiB", (unsigned long long)(n >> 30));
  else if (n >= (1ull << 20))
    snprintf(buf, len, "%llu MiB", (unsigned long long)(n >> 20));
  else
    snprintf(buf, len, "%llu KiB", (unsigned long long)(n >> 10));
}

static int supervise(pid_t child, const struct run_options *o) {
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) {
      console_restore();
      plat_linux_net_stop();
      fprintf(stderr, "moat: waiting for the sandbox: %s\n", strerror(errno));
      plat_linux_limits_finish();
      return EXIT_MOAT_ERROR;
    }
  }
  /* The sandbox's cgroups go now; their OOM counter tells whether the
   * host killed a guest process for memory (a guest that got past the
   * library OS's own count: its status is the SIGKILL, 137). */
  /* The host's terminal as it was, before moat's own last words. */
  console_restore();
  plat_linux_net_stop();
  uint64_t oom = plat_linux_limits_finish();
  if (oom) {
    char size[32];
    format_size(o->memory, size, sizeof(size));
    fprintf(stderr,
            "moat: out of memory: the host's OOM killer killed %llu guest "
            "process%s (SIGKILL) at the sandbox's limit (--memory %s)\n",
            (unsigned long long)oom, oom == 1 ? "" : "es", size);
  }
  if (g_timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    fprintf(stderr, "moat: sandbox killed: --timeout of %g s reached\n",
            o->timeout);
    return EXIT_TIMEOUT;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGSYS)
      fprintf(stderr,
              "moat: sandbox killed: forbidden host system call (seccomp)\n");
    return 128 + sig;
  }
  return EXIT_MOAT_ERROR;
}

/* A closed standard stream would let the next open() take its number, and
 * a grant's fd would then be the guest's stdin; fill holes with /dev/null. */
static void ensure_standard_streams(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int n = open("/dev/null", O_RDWR);
      if (n >= 0 && n != fd)
        close(n);
    }
  }
}

/* What the guest inherits, as a program exec'd here would: ignored
 * signals (nohup's SIGHUP) and the blocked mask. Raw calls: glibc's
 * wrappers hide signals 32 and 33 (its own), which a launcher may still
 * have ignored or blocked for its children. */
static void inherited_signals(struct run_options *opts) {
  uint64_t blocked = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, 8);
  opts->sig_blocked = blocked;
  for (int sig = 1; sig <= 64; sig++) {
    struct {
      uint64_t handler, flags, restorer, mask;
    } old = {0, 0, 0, 0};
    if (sig != SIGKILL && sig != SIGSTOP &&
        syscall(SYS_rt_sigaction, sig, NULL, &old, 8) == 0 &&
        old.handler == (uint64_t)(uintptr_t)SIG_IGN)
      opts->sig_ignored |= 1ull << (sig - 1);
  }
}

int main(int argc, char **argv) {
  static struct run_options opts;
  ensure_standard_streams();
  if (oci_command(argc, argv))
    return oci_main(argc, argv);
  switch (options_parse(argc, argv, &opts)) {
  case ACTION_HELP:
    options_usage(stdout);
    return 0;
  case ACTION_VERSION:
    printf("moat %s\n", MOAT_VERSION);
    return 0;
  case ACTION_ERROR:
    return EXIT_MOAT_ERROR;
  case ACTION_RUN:
    break;
  }
  /* The VM platform: the isolation is the virtual machine; nothing of
   * the Linux platform's setup below applies (cmd/moat/vm.c). */
  if (opts.platform == PLATFORM_VM) {
    inherited_signals(&opts);
    return vm_main(&opts);
  }
  return run_main(&opts);
}

/* Run the sandbox opts describes in this process (its supervisor) and
 * return its exit status: `moat run`, and an OCI container's process. */
int run_main(struct run_options *o) {
  struct run_options opts = *o;
  inherited_signals(&opts);
  /* Forwarders go in before fork so no signal falls between the two; the
   * child puts the defaults back. No SA_RESTART: waitpid just retries. A
   * signal the launcher ignored stays ignored (the guest ignores it too). */
  struct sigaction fwd = {.sa_handler = forward_signal};
  sigemptyset(&fwd.sa_mask);
  for (size_t i = 0; i < sizeof(g_forwarded) / sizeof(g_forwarded[0]); i++)
    if (!(opts.sig_ignored & (1ull << (g_forwarded[i] - 1))))
      sigaction(g_forwarded[i], &fwd, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* An OCI container: the control channel to the sandbox's exec server,
   * and every signal caught for the guest (cmd/moat/supervisor.c). */
  int channel[2] = {-1, -1};
  if (opts.control) {
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) < 0 ||
        control_catch(opts.sig_ignored) < 0) {
      fprintf(stderr, "moat: the control channel: %s\n", strerror(errno));
      return EXIT_MOAT_ERROR;
    }
    /* Room for 32 exec requests of 64 KiB queued for the sandbox (the
     * supervisor never blocks on it: a full channel refuses an exec);
     * the host's wmem_max binds SO_SNDBUF, root may go past it. */
    int bytes = 4 << 20;
    if (setsockopt(channel[0], SOL_SOCKET, SO_SNDBUFFORCE, &bytes,
                   sizeof(bytes)) < 0)
      setsockopt(channel[0], SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
    /* The exec server and a shepherd per exec are host tasks of the
     * sandbox that run no guest task (cmd/moat/execd.c). */
    plat_linux_helper_tasks(1 + MOAT_SPAWN_MAX);
  }
  opts.control_fd = channel[1];
  /* The host's limits (cgroups) are made by this process, which stays
   * outside them, so that it can read their counters and remove them. */
  plat_linux_limits_setup(opts.memory, opts.max_tasks, opts.verbose);
  /* --allow-connect, --publish: the network broker, forked here so that
   * it stays in the host's network namespace, outside the sandbox. */
  char why[256];
  if (plat_linux_net_start(opts.grants, opts.ngrants, opts.pubs, opts.npubs,
                           opts.host_uid, opts.host_gid, why,
                           sizeof(why)) < 0) {
    fprintf(stderr, "moat: %s\n", why);
    plat_linux_limits_finish();
    return EXIT_MOAT_ERROR;
  }
  if (opts.verbose)
    plat_linux_net_report();
  console_setup(&opts);
  fflush(NULL);

  console_raw(&opts);
  pid_t child = fork();
  if (child < 0) {
    console_restore();
    fprintf(stderr, "moat: cannot start the sandbox: %s\n", strerror(errno));
    plat_linux_net_stop();
    plat_linux_limits_finish();
    return EXIT_MOAT_ERROR;
  }
  if (child == 0) {
    plat_linux_net_forked(true);
    if (opts.control) {
      close(channel[0]);
      close(opts.control_listen);
    }
    run_sandbox(&opts);
  }
  plat_linux_net_forked(false);
  g_child = child;
  if (opts.control)
    close(channel[1]);
  if (opts.timeout > 0 && arm_timeout(opts.timeout) < 0) {
    fprintf(stderr, "moat: --timeout: %s\n", strerror(errno));
    kill(child, SIGKILL);
    supervise(child, &opts);
    return EXIT_MOAT_ERROR;
  }
  if (opts.control)
    control_supervise(child, opts.control_listen, channel[0]);
  return supervise(child, &opts);
}
