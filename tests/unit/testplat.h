/* The test platform's extra controls: what the unit tests and the fuzz
 * harness use to set up host grants, feed standard input and read what the
 * core wrote, on top of the plat_* functions that test_platform.c
 * implements with libc. */
#ifndef MOAT_TESTS_TESTPLAT_H
#define MOAT_TESTS_TESTPLAT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Grant the host directory path to the sandbox; returns its handle (>= 0)
 * or a negative errno. A read-only grant refuses every write with EROFS. */
int testplat_grant_dir(const char *path, bool read_only);

/* Standard input the core reads from stream 0 (copied). */
void testplat_set_stdin(const void *data, size_t len);

/* What the core wrote to stream 1 or 2 since the last reset, terminated. */
const char *testplat_output(int stream, size_t *len);
void testplat_reset_output(void);

/* plat_space_exit and plat_enter jump here when armed (the status, or
 * TESTPLAT_ENTERED for plat_enter); unarmed, plat_space_exit _exits with the
 * status and plat_enter _exits with TESTPLAT_ENTERED. */
#define TESTPLAT_ENTERED 200
extern jmp_buf *testplat_exit_jump;
extern int testplat_exit_status;

/* Fixed mappings the core asked for outside the guest window, or over
 * memory the platform did not map for it: each one is a core bug. */
extern int testplat_bad_fixed_maps;

/* The last interval given to plat_timer_set (0: disarmed). */
extern int64_t testplat_timer_ns;

/* plat_net_connect succeeds (a real host connection) only for what was
 * granted here: family (AF_INET, AF_INET6), address, port. */
void testplat_net_grant(int family, const uint8_t *addr, uint16_t port);
void testplat_net_reset(void);

#endif
