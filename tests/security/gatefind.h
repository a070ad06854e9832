/* The syscall gate for attack tests: a guest that has "taken over" the
 * library OS calls moat's plat_gate_syscall6 directly. tests/run.py passes
 * its address (moat under setarch -R, so the PIE base is fixed, plus the
 * symbol's offset from nm) in MOAT_GATE and its first bytes in
 * MOAT_GATE_BYTES; find_gate checks the bytes before anyone jumps, so a
 * wrong address fails loudly (exit 2 or 3) instead of passing by a crash. */
#ifndef MOAT_TESTS_GATEFIND_H
#define MOAT_TESTS_GATEFIND_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* long gate(nr, a1, ..., a6): the host syscall's result, -errno on error */
typedef long (*gate_fn)(long, long, long, long, long, long, long);

static void gate_not_mapped(int sig) {
  (void)sig;
  printf("gate address not mapped\n");
  _exit(3);
}

static gate_fn find_gate(void) {
  const char *a = getenv("MOAT_GATE"), *b = getenv("MOAT_GATE_BYTES");
  if (!a || !b) {
    printf("MOAT_GATE / MOAT_GATE_BYTES not set\n");
    exit(2);
  }
  uintptr_t addr = (uintptr_t)strtoull(a, NULL, 16);
  signal(SIGSEGV, gate_not_mapped);
  const unsigned char *code = (const unsigned char *)addr;
  size_t n = strlen(b) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(b + 2 * i, "%2x", &v);
    if (code[i] != v) {
      printf("gate bytes differ at +%zu: %02x, expected %02x\n", i, code[i], v);
      exit(3);
    }
  }
  signal(SIGSEGV, SIG_DFL);
  printf("gate found\n");
  return (gate_fn)addr;
}

#endif
