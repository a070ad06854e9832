/* The Linux shim's ELF loader: our own copies of the ELF64 structures, the
 * checks that decide whether a file may be run, and the loader that maps
 * a program (and its PT_INTERP interpreter) into the guest window.
 *
 * linux_elf_parse() checks a file held in memory and touches nothing
 * else, so a fuzzer can run it under ASan on mutated files;
 * linux_elf_load() reads a file of the sandbox through the core and maps
 * it, without entering the guest. */
#ifndef MOAT_SHIM_LINUX_ELF_H
#define MOAT_SHIM_LINUX_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/linux_abi.h"

#ifndef LINUX_ELIBBAD
#define LINUX_ELIBBAD                                                          \
  80 /* a bad interpreter ("Accessing a corrupted                              \
        shared library") */
#endif

/* ---- ELF64 as the System V ABI defines it ------------------------------ */

#define ELF_EI_NIDENT 16
#define ELF_EI_CLASS 4
#define ELF_EI_DATA 5
#define ELF_EI_VERSION 6
#define ELF_CLASS64 2
#define ELF_DATA2LSB 1
#define ELF_EV_CURRENT 1
#define ELF_ET_EXEC 2
#define ELF_ET_DYN 3
#define ELF_EM_X86_64 62

#define ELF_PT_NULL 0
#define ELF_PT_LOAD 1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP 3
#define ELF_PT_PHDR 6
#define ELF_PT_TLS 7
#define ELF_PT_GNU_STACK 0x6474e551u

#define ELF_PF_X 1u
#define ELF_PF_W 2u
#define ELF_PF_R 4u

struct elf64_ehdr {
  uint8_t e_ident[ELF_EI_NIDENT];
  uint16_t e_type;
  uint16_t e_machine;
  uint32_t e_version;
  uint64_t e_entry;
  uint64_t e_phoff;
  uint64_t e_shoff;
  uint32_t e_flags;
  uint16_t e_ehsize;
  uint16_t e_phentsize;
  uint16_t e_phnum;
  uint16_t e_shentsize;
  uint16_t e_shnum;
  uint16_t e_shstrndx;
};

struct elf64_phdr {
  uint32_t p_type;
  uint32_t p_flags;
  uint64_t p_offset;
  uint64_t p_vaddr;
  uint64_t p_paddr;
  uint64_t p_filesz;
  uint64_t p_memsz;
  uint64_t p_align;
};

/* ---- where things go in the guest window ------------------------------- */

#define LINUX_WINDOW_LO 0x10000ull
#define LINUX_WINDOW_HI 0x400000000000ull
/* A position-independent program (static-PIE or PIE) and the dynamic
 * interpreter are loaded at these fixed bases; each image may span at
 * most LINUX_DYN_SPAN_MAX bytes so they can never overlap. */
#define LINUX_PROGRAM_BASE 0x10000000000ull
#define LINUX_INTERP_BASE 0x20000000000ull
#define LINUX_DYN_SPAN_MAX 0x10000000000ull
/* The initial stack, right below moat_stack_top(). */
#define LINUX_STACK_SIZE (8ull << 20)
/* Its size follows RLIMIT_STACK at exec, within these bounds. */
#define LINUX_STACK_MIN (128ull << 10)
#define LINUX_STACK_MAX (256ull << 20)
/* The first bytes of a file that decide how to run it (#! line). */
#define LINUX_BINPRM_BUF 256

/* What the parser learned from a file's headers (addresses unbiased). */
struct linux_elf_info {
  uint16_t type;  /* ELF_ET_EXEC or ELF_ET_DYN */
  uint64_t entry; /* e_entry */
  uint64_t phoff; /* e_phoff */
  uint16_t phnum;
  uint64_t lo, hi; /* page-aligned span of the PT_LOAD segments */
  uint64_t phdr;   /* where the program headers are in memory, or 0 */
  bool has_interp;
  uint64_t interp_off, interp_len; /* PT_INTERP, length without the NUL */
  bool exec_stack; /* PT_GNU_STACK asks for an executable stack */
};

/* What the loader leaves for the initial stack and the first jump. */
struct linux_image {
  uint64_t entry;       /* the first instruction: the interpreter's entry
                           for a dynamic program, the program's otherwise */
  uint64_t prog_entry;  /* AT_ENTRY */
  uint64_t phdr;        /* AT_PHDR */
  uint16_t phent;       /* AT_PHENT */
  uint16_t phnum;       /* AT_PHNUM */
  uint64_t interp_base; /* AT_BASE, 0 without an interpreter */
  uint64_t brk;         /* the first page after the program */
  bool exec_stack;
  char interp[LINUX_PATH_MAX]; /* "" without an interpreter */
};

/* Check a whole file held in memory: the ELF header, every program header
 * and the PT_INTERP string. Returns 0 and fills out, or -ENOEXEC with a
 * one-line reason in why ("wrong architecture ..." for another machine).
 * Pure: no core call, no allocation. */
int linux_elf_parse(const void *file, size_t size, struct linux_elf_info *out,
                    char *why, size_t whylen);

/* Open path in the sandbox, check it, and map it (and its interpreter)
 * into the guest window. Returns 0, or a negative errno with a one-line
 * reason: -ENOENT not found, -EACCES not a regular file or no exec
 * permission, -ENOEXEC not runnable (not ELF, malformed, wrong
 * architecture, a #! script), -ELIBBAD a bad interpreter, -ENOMEM. */
int linux_elf_load(const char *path, struct linux_image *out, char *why,
                   size_t whylen);

/* The same checks as linux_elf_load (program and interpreter) without
 * mapping anything: execve uses it to fail cleanly before it destroys
 * the old image. out receives what loading would give, minus addresses
 * that only mapping decides. */
int linux_elf_check(const char *path, struct linux_image *out, char *why,
                    size_t whylen);

/* Is this file start a "#!" script? Then fill the interpreter path and
 * its one optional argument (both NUL-terminated, inside the buffers of
 * LINUX_BINPRM_BUF bytes). Returns 1 for a script, 0 for not one,
 * -ENOEXEC for a #! line without an interpreter. */
int linux_script_parse(const char *head, size_t len, char *interp, char *arg);

#endif
