/* Shared helpers of the core unit tests: booting the core with a given
 * file system layout, host temporary trees, and small wrappers around the
 * moat_* calls. Every test runs in its own forked process (Check's
 * CK_FORK), so each one boots a fresh sandbox. */
#ifndef MOAT_TESTS_UNIT_H
#define MOAT_TESTS_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/moat.h"
#include "tarbuild.h"
#include "testplat.h"

/* Boot with the default in-memory root (no "/" mount). */
void boot_memfs(void);
/* Boot with cfg (asserts success). */
void boot_cfg(struct moat_config *cfg);
/* Boot with a tar image as "/" (access RO or COW). */
void boot_tar(const struct tarbuf *t, enum moat_mount_access access);
/* Boot with the host directory dir mounted at guest_path (access RO, RW or
 * COW); guest_path "/" replaces the root. */
void boot_host(const char *dir, const char *guest_path,
               enum moat_mount_access access);

/* A fresh host temporary directory, removed when the test process exits. */
const char *host_tmpdir(void);
/* Create a host file (parents must exist) with content. */
void host_write(const char *dir, const char *rel, const char *content);
/* Read a host file into a static buffer ("" and false if missing). */
bool host_read(const char *dir, const char *rel, char *buf, size_t len);
bool host_exists(const char *dir, const char *rel);

/* moat helpers: assert success and return the value. */
int xopen(const char *path, int flags, uint32_t mode);
void put_file(const char *path, const char *content);
/* Whole content of a sandbox file into buf (terminated); returns length or
 * a negative errno. */
long get_file(const char *path, char *buf, size_t len);
/* The names in directory path (without . and ..), sorted, joined by ' '. */
void list_dir(const char *path, char *out, size_t len);
/* File type bits of path (lstat), or a negative errno. */
long ftype(const char *path);

#define S_TYPE(m) ((m)&LINUX_S_IFMT)

Suite *suite_paths(void);
Suite *suite_memfs(void);
Suite *suite_overlay(void);
Suite *suite_tarfs(void);
Suite *suite_hostfs(void);
Suite *suite_devfs(void);
Suite *suite_pipe(void);
Suite *suite_fd(void);
Suite *suite_mm(void);
Suite *suite_proc(void);
Suite *suite_model(void);
Suite *suite_hostdeath(void);
Suite *suite_concurrent(void);
Suite *suite_hostsock(void);
Suite *suite_locks(void);

/* A test case with a timeout that suits ASan. */
static inline TCase *unit_tcase(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 30);
  suite_add_tcase(s, tc);
  return tc;
}

#define AT LINUX_AT_FDCWD
#define E(x) (-LINUX_##x)
#endif
