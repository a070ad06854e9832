/* The runner's command line: what `moat run` was asked to do, parsed and
 * checked before anything touches the host (cmd/moat/options.c). */
#ifndef MOAT_CMD_OPTIONS_H
#define MOAT_CMD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "linux_platform.h"
#include "moat/linux_abi.h"

#define MOAT_VERSION "0.1.0"
#define EXIT_MOAT_ERROR 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

#define MAX_USER_MOUNTS 32
#define MAX_USER_ENV 256
#define MAX_NET_GRANTS 64
#define MAX_PUBLISH 32
#define MAX_TMPFS 16
#define MAX_FILES 16
#define MAX_FILE_SIZE (1u << 20)

struct user_mount {
  const char *host;
  const char *guest;
  bool writable;
};

/* --platform: where the sandbox runs (docs/vm.md for vm). */
enum run_platform { PLATFORM_LINUX, PLATFORM_VM };
/* --vm-accel: how QEMU runs the VM (cmd/moat/vm.c). */
enum vm_accel { VM_ACCEL_AUTO, VM_ACCEL_KVM, VM_ACCEL_TCG };

struct run_options {
  enum run_platform platform; /* --platform, PLATFORM_LINUX by default */
  enum vm_accel vm_accel;     /* --vm-accel */
  bool vm_accel_given;
  /* The launcher's ignored signals and blocked mask (bit sig-1), which
   * the first guest process inherits as across execve(2). */
  uint64_t sig_ignored, sig_blocked;
  const char *root;             /* NULL: the host's system directories */
  bool read_only;               /* --read-only: no writable layer over --root */
  const char *tmpfs[MAX_TMPFS]; /* --tmpfs DIR[:MODE]: empty in-memory */
  uint32_t tmpfs_mode[MAX_TMPFS]; /* directories, MODE octal (0: 01777) */
  int ntmpfs;
  uint32_t groups[32]; /* --groups G,...: supplementary groups, sorted */
  uint32_t ngroups;
  /* --file HOST:GUEST: a copy of the host file HOST at GUEST */
  struct user_mount files_in[MAX_FILES];
  int nfiles_in;
  bool clear_env; /* --clear-env: only the --env variables */
  /* --rlimit NAME=SOFT[:HARD]: bit r of rlimits_set for LINUX_RLIMIT_r */
  struct linux_rlimit rlimits[LINUX_RLIMIT_NLIMITS];
  uint32_t rlimits_set;
  struct user_mount mounts[MAX_USER_MOUNTS];
  int nmounts;
  const char *env[MAX_USER_ENV]; /* NAME=VALUE, later ones win */
  int nenv;
  const char *cwd;
  uint32_t uid, gid;
  const char *hostname;
  uint32_t max_tasks;          /* --pids, 0 = default */
  uint64_t memory;             /* --memory in bytes, 0 = none given */
  uint32_t host_uid, host_gid; /* --host-uid: the sandbox's host ids as root */
  bool host_uid_given;
  bool allow_no_userns; /* --allow-no-userns */
  /* --cpu-time SOFT[:HARD] in seconds (RLIMIT_CPU of every guest
   * process), 0 = none given */
  uint32_t cpu_soft, cpu_hard;
  double timeout;    /* --timeout in seconds (wall clock), 0 = none */
  uint64_t tmp_size; /* --tmp-size in bytes, 0 = none given */
  uint32_t files;    /* --files (RLIMIT_NOFILE), 0 = none given */
  /* --allow-connect HOST:PORT[/tcp|/udp], --publish
   * [HOSTADDR:]HOSTPORT:GUESTPORT[/tcp] (platform/linux/broker.c) */
  struct plat_linux_net_grant grants[MAX_NET_GRANTS];
  int ngrants;
  struct plat_linux_publish pubs[MAX_PUBLISH];
  int npubs;
  bool strace, stats, verbose;
  bool no_fast_path; /* --no-fast-path */
  bool no_tty;       /* --no-tty: the host's terminal stays as it is */
  /* Set by main: stdin is a terminal that the supervisor put in raw mode
   * and the sandbox's console (docs/ptys.md); console_streams has bit s
   * for each of streams 0..2 on that terminal, console_tio its termios
   * (struct linux_termios, the kernel's) before raw mode. */
  bool console;
  unsigned console_streams;
  struct linux_termios console_tio;
  /* An OCI container's (cmd/moat/oci.c): control is set with
   * control_listen, the supervisor's listening socket (ROOT/ID/ctl.sock);
   * run_main makes the channel and gives the sandbox control_fd. */
  bool control;
  int control_listen, control_fd;
  int argc; /* PROGRAM and its arguments */
  char **argv;
};

/* What main should do after parsing. */
enum run_action { ACTION_RUN, ACTION_HELP, ACTION_VERSION, ACTION_ERROR };

/* Parse argv (argv[0] is "moat"). On ACTION_ERROR a one-line "moat: ..."
 * message was already printed. */
enum run_action options_parse(int argc, char **argv, struct run_options *o);

void options_usage(FILE *out);

/* LINUX_RLIMIT_* of a resource name ("NOFILE" or "RLIMIT_NOFILE"), or -1. */
int options_rlimit_index(const char *name);

/* "moat: " and the formatted message on stderr, one line. */
void complain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
