/* The control channel of an OCI container (docs/oci.md, "exec and
 * signals"): records between `moat exec` and `moat kill` (clients), the
 * container's supervisor (outside the sandbox, cmd/moat/supervisor.c)
 * and the sandbox's exec server (inside, cmd/moat/execd.c).
 *
 *   client -> supervisor, on ROOT/ID/ctl.sock (SOCK_SEQPACKET, 0600):
 *     CTL_EXEC (struct ctl_exec, with the caller's fds 0, 1, 2), then
 *     CTL_SIGNAL {a: sig} for that process; or CTL_KILL {a: sig} for the
 *     container's first process.
 *   supervisor -> client: CTL_START {a: guest pid}, CTL_ERROR {a: errno,
 *     then a message}, CTL_EXIT {a: wait status}.
 *   supervisor <-> exec server, on the socketpair made at create: the
 *     same records with id, the supervisor's number of the exec (0: the
 *     first process, for CTL_SIGNAL).
 *
 * Every side checks every record it receives: the exec server trusts
 * nothing from outside, and the supervisor trusts nothing from the
 * sandbox, which may be a guest that took over the library OS. */
#ifndef MOAT_CMD_CONTROL_H
#define MOAT_CMD_CONTROL_H

#include <stdint.h>

#define CTL_MAX_RECORD 65536 /* an exec request's whole record, at most */
#define CTL_MAX_WORDS 4096   /* its arguments and environment together */
#define CTL_MAX_GROUPS 32

enum ctl_type {
  CTL_EXEC = 1,
  CTL_SIGNAL,
  CTL_KILL,
  CTL_START,
  CTL_ERROR,
  CTL_EXIT,
};

struct ctl_head {
  uint32_t type;
  uint32_t id;
  int32_t a;
  int32_t b;
};

/* Followed by the working directory, the arguments and the environment,
 * each NUL-terminated, and nothing else. */
struct ctl_exec {
  struct ctl_head h;
  uint32_t uid, gid;
  uint32_t ngroups;
  uint32_t groups[CTL_MAX_GROUPS];
  uint32_t argc, envc;
};

/* Inside the sandbox, after moat_boot and before the first program:
 * fork the exec server when the sandbox has a control channel, and close
 * the channel in the calling process (the first guest process never
 * holds it). */
void execd_start(void);

#endif
