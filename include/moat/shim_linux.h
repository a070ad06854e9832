/* The Linux North shim's entry point for the runner: load a program into
 * the sandbox booted by moat_boot() and start it. */
#ifndef MOAT_SHIM_LINUX_H
#define MOAT_SHIM_LINUX_H

#include <stddef.h>

/* Find argv[0] on the sandbox's PATH (from envp, default
 * /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), load it and
 * run it. Returns only on failure, with a negative errno and a one-line
 * reason in why:
 *   -ENOENT                      program not found          (exit 127)
 *   -ENOEXEC, -EACCES, -ELIBBAD… cannot be executed         (exit 126)
 */
int shim_linux_start(int argc, const char *const *argv, const char *const *envp,
                     char *why, size_t whylen);

/* strerror's text for the positive errno err ("Unknown error" else). */
const char *shim_errno_text(int err);

#endif
