/* The Linux platform's setup API for the runner (cmd/moat): grant host
 * directories, map a root image, choose diagnostics, and lock the process
 * down. Everything here except plat_linux_lockdown's return path runs
 * before lockdown, where libc is still allowed; after plat_linux_lockdown
 * returns 0 the caller may use only the core, the shim and plat_*. */
#ifndef MOAT_LINUX_PLATFORM_H
#define MOAT_LINUX_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sandbox's host identity when moat runs as root (default 65534:65534,
 * `--host-uid`): its host processes then run as that unprivileged uid in
 * a user namespace, so that the host kernel, not only moat, refuses what
 * host root could reach. uid 0 keeps root's identity (weaker: see
 * docs/security.md). Call before plat_linux_isolate. */
void plat_linux_set_host_ids(uint32_t uid, uint32_t gid);
/* Without user namespaces moat refuses to start unless this was called
 * (`--allow-no-userns`): the sandbox then relies on Landlock, seccomp and
 * whatever namespaces the host grants (docs/security.md, degraded mode). */
void plat_linux_allow_no_userns(bool on);
/* --pids, for RLIMIT_NPROC of the sandbox's host uid where no pids cgroup
 * holds the sandbox (0: the default 1024). */
void plat_linux_set_max_tasks(uint32_t n);

/* Enter fresh user, net, ipc, uts and mount namespaces (what took effect
 * is reported by --verbose); as root, only prepare the user namespace of
 * the sandbox's host uid, which lockdown enters after the grants were
 * opened (as root) and idmapped. Call it first, before granting anything:
 * grants opened inside the new mount namespace can then become private
 * read-only mounts at lockdown. plat_linux_lockdown calls it itself when
 * the caller did not. Returns 0, or a negative errno with a reason in why
 * (the host refuses user namespaces and plat_linux_allow_no_userns was
 * not called, or the host uid could not be set up). */
int plat_linux_isolate(char *why, size_t len);

/* Grant the host directory path (symlinks in path itself are followed:
 * it is the user's choice) read-only or read-write. public_only narrows a
 * read-only grant to what any unprivileged host user could read (objects
 * need the "others" read bit, directories the "others" search bit to be
 * entered): the default root uses it so host secrets such as /etc/shadow
 * stay out. Returns 0 and a South handle for struct moat_mount, or a
 * negative errno. */
int plat_linux_grant_dir(const char *path, bool writable, bool public_only,
                         int *out_handle);

/* Map the regular file path read-only above the guest window for
 * MOAT_MOUNT_TAR. An empty file gives a valid base and size 0. Returns 0 or
 * a negative errno. */
int plat_linux_map_image(const char *path, const void **out_base,
                         size_t *out_size);

/* Offer the host's vDSO to the guest (plat_info's vdso) when it lies outside
 * the guest window, and note how far the host's CLOCK_BOOTTIME is ahead of
 * CLOCK_MONOTONIC (the time the host slept so far), so that the guest's
 * BOOTTIME agrees whether the vDSO or moat answers it. */
void plat_linux_offer_vdso(void);

/* The host's RLIMIT_CPU (soft and hard) of the calling process, which
 * every host process it forks inherits: the host kernel sends SIGKILL to
 * a host process once it has used that much CPU time (soft == hard: no
 * SIGXCPU first). Call before lockdown. Returns 0 or a negative errno. */
int plat_linux_limit_cpu(uint64_t seconds);

/* Print the host-call table at plat_space_exit. */
void plat_linux_set_stats(bool on);
/* Rewrite guest system call sites into jumps into moat (on by default;
 * `moat run --no-fast-path` turns it off). */
void plat_linux_set_fast_path(bool on);
/* The host's stream 0 is a terminal the runner put in raw mode and the
 * sandbox's console (struct moat_config's console): the sandbox may only
 * read its attributes and size (the filter allows TCGETS and TIOCGWINSZ
 * only), and a change of its size ends a plat_stdio_poll (the host's
 * SIGWINCH gets a handler that does nothing else). Call before lockdown. */
void plat_linux_set_console(bool on);
/* Report on stderr what lockdown achieved (namespaces, Landlock ABI, the
 * gate's address range, filter size). */
void plat_linux_set_verbose(bool on);

/* Lock the calling process down (see docs/security.md for the order):
 * namespaces (best effort), resource limits, signal stack and handlers,
 * close every fd but 0, 1, 2 and the grants, no_new_privs, Landlock (if
 * the kernel has it), parent-death signal, the guest-window check, then
 * the irrevocable seccomp filter. Returns 0, or a negative errno with a
 * one-line reason in why (the process is then unusable: exit 125). */
int plat_linux_lockdown(char *why, size_t whylen);

/* ---- host limits of the whole sandbox (platform/linux/cgroup.c) ----
 * The supervisor calls plat_linux_limits_setup before it forks: it makes
 * a memory cgroup (when memory, the --memory bytes, is not 0) and a pids
 * cgroup below the cgroups moat runs in (cgroup v1 or v2), and prints
 * what it made with verbose. The child joins them first thing
 * (plat_linux_limits_enter; on failure the limits fall back as if none
 * could be made) and, right before lockdown, plat_linux_limits_rlimits
 * sets RLIMIT_AS/RLIMIT_DATA per host process where no memory cgroup
 * holds the sandbox. After the sandbox ended the supervisor calls
 * plat_linux_limits_finish: it returns the number of the memory cgroup's
 * OOM kills, kills what is left inside and removes the cgroups. */
void plat_linux_limits_setup(uint64_t memory, uint32_t max_tasks, bool verbose);
int plat_linux_limits_enter(char *why, size_t whylen);
void plat_linux_limits_report(void);
void plat_linux_limits_rlimits(uint32_t max_tasks);
uint64_t plat_linux_limits_finish(void);
/* The host's memory limit for a sandbox of memory bytes (the library OS
 * counts up to memory; the rest is the host's slack for what it does not
 * count), and the host tasks for --pids max_tasks (0 = the default): what
 * the cgroups get, and what an RLIMIT_NPROC fallback should use. */
uint64_t plat_linux_host_memory(uint64_t memory);
uint32_t plat_linux_host_tasks(uint32_t max_tasks);
/* Before plat_linux_limits_setup: n more host tasks for the runner's
 * helpers inside the sandbox (the pids cgroup and RLIMIT_NPROC). */
void plat_linux_helper_tasks(uint32_t n);
/* Does a pids cgroup hold the sandbox (valid in the supervisor and, after
 * plat_linux_limits_enter, in the child)? */
bool plat_linux_pids_cgroup(void);

/* The page cache's pool (platform/linux/mem.c): before lockdown, a host
 * memfd of size bytes that the core's PLAT_MAP_VIEWS region becomes, so
 * that plat_mem_view can map private views of it. Returns its descriptor
 * (kept open by lockdown, pinned by the filter) or -1 (none: private file
 * mappings stay copies). */
int plat_linux_pool_setup(uint64_t size);
int plat_linux_pool_fd(void);
/* The pipe that fills the pool from host files (mem.c, pool_fill): its
 * read and write ends, at numbers lockdown keeps open and the filter
 * pins (each host process makes its own pipe there at its first fill);
 * -1 when there is none. */
void plat_linux_pool_pipe(int *rd, int *wr);
/* Read len bytes of host file fd at off into buf when buf lies in the
 * pool, without a copy through mapped memory: the bytes read (0 at the
 * end of the file), or -ENOSYS when the caller must pread instead (buf
 * outside the pool, a small read, another thread of this process
 * filling, a file the host cannot splice, any failure before the first
 * byte). */
long plat_linux_pool_fill(int fd, void *buf, size_t len, uint64_t off);
/* The size the page cache's pool needs (cgroup.c: the --memory given to
 * plat_linux_limits_setup). */
uint64_t plat_linux_pcache_pool_bytes(void);

/* The syscall gate's code range [start, end). */
void plat_linux_gate_range(uintptr_t *start, uintptr_t *end);

/* ---- the host network, by grant (platform/linux/broker.c) ----
 * --allow-connect and --publish become a broker: a small process the
 * supervisor forks before the sandbox, outside its namespaces, that
 * alone may make host sockets (docs/security.md, "The network broker").
 * A grant: destinations family/addr/prefix (a CIDR; prefix 32 or 128 is
 * one address), ports port_lo..port_hi, protocols protos
 * (PLAT_NET_TCP | PLAT_NET_UDP). A published port: the host listens on
 * addr:host_port (proto PLAT_NET_TCP) and the sandbox takes connections
 * with plat_net_accept(index), index its place in the list. */
struct plat_linux_net_grant {
  uint16_t family;
  uint8_t addr[16];
  int prefix;
  uint16_t port_lo, port_hi;
  unsigned protos;
};
struct plat_linux_publish {
  uint16_t family;
  uint8_t addr[16];
  uint16_t host_port, guest_port;
  unsigned proto;
};
/* In the supervisor, before the sandbox's fork: bind the published ports
 * (as the invoking user, so root may publish a port below 1024), then
 * fork the broker, which drops to the host ids uid:gid when run as root,
 * applies Landlock and its own seccomp filter and serves the sandbox.
 * Nothing happens without grants. Returns 0, or a negative errno with a
 * one-line reason in why. */
int plat_linux_net_start(const struct plat_linux_net_grant *grants, int ngrants,
                         const struct plat_linux_publish *pubs, int npubs,
                         uint32_t uid, uint32_t gid, char *why, size_t len);
/* After the fork: the supervisor (in_sandbox false) drops its end of the
 * sandbox's channel and the listeners; the sandbox keeps its end. */
void plat_linux_net_forked(bool in_sandbox);
/* --verbose: one line about the broker (nothing without one). */
void plat_linux_net_report(void);
/* The supervisor, once the sandbox ended: end the broker and collect it. */
void plat_linux_net_stop(void);
/* The sandbox's end of the channel (-1: no network grants); lockdown
 * keeps it open and the filter pins sendmsg/recvmsg to it. */
int plat_linux_net_channel(void);

/* ---- the control channel of an OCI container (platform/linux/control.c)
 * The sandbox's end of the supervisor's socketpair (before lockdown;
 * -1: none). Lockdown keeps it open; the filter then allows sendmsg and
 * recvmsg on it and dup3 of a host descriptor onto 0, 1 or 2. */
void plat_linux_set_control(int fd);
int plat_linux_control_fd(void);
/* After lockdown. One record into buf (its length, 0 when the other end
 * is gone, -errno; -EMSGSIZE for a cut one), with up to three host
 * descriptors passed with it (fds, *nfds; any more are closed). */
long plat_linux_control_recv(void *buf, size_t len, int fds[3], int *nfds);
long plat_linux_control_send(const void *buf, size_t len);
/* 1 when a record waits, 0 after timeout_ns, -errno. */
int plat_linux_control_wait(int64_t timeout_ns);
/* Close a host descriptor of this process (3 and above). */
void plat_linux_host_close(int fd);
/* fds[0..2] become this process's host standard streams (and are
 * closed where they were). */
int plat_linux_stdio_take(const int fds[3]);

#endif
