/* An OCI container's supervisor loop (cmd/moat/supervisor.c). */
#ifndef MOAT_CMD_SUPERVISOR_H
#define MOAT_CMD_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.h"

/* sendmsg of buf with up to three fds (SCM_RIGHTS), MSG_NOSIGNAL added
 * to flags: sendmsg's result. */
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds,
                      int nfds, int flags);
/* Listen on sock_path (a new socket, 0600): its fd, or -1 with why. */
int control_listen(const char *sock_path, char *why, size_t len);
/* Before the sandbox is forked: catch every signal the supervisor passes
 * on (not those in ignored, bit sig-1). 0, or -1 (errno). */
int control_catch(uint64_t ignored);
/* In the sandbox's process, right after the fork: the signals back to
 * their defaults, the supervisor's pipe closed. */
void control_child_reset(uint64_t ignored);
/* Serve clients and the channel ctl (the supervisor's end) until child
 * ends (not reaped: the caller waits for it). Closes lsock and ctl. */
void control_supervise(pid_t child, int lsock, int ctl);

#endif
