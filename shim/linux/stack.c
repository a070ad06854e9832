/* The initial stack of a Linux program, laid out as Linux's
 * create_elf_tables() does: from the top, a null word, the exec file name,
 * the environment and argument strings, the platform string and the 16
 * AT_RANDOM bytes, then (16-byte aligned) argc, argv[], NULL, envp[],
 * NULL and the auxiliary vector. C runtimes and ld.so read this layout
 * directly, so its order and alignment matter. */
#include "elf.h"
#include "moat/platform.h"
#include "shim.h"
#include "stack.h"

#define PLATFORM_STRING "x86_64"
#define AUXV_MAX 32

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3])
                   : "a"(leaf), "c"(sub));
}

/* The signal frame size Linux reports in AT_MINSIGSTKSZ: the rt_sigframe,
 * the XSAVE area of every user feature with its trailing magic, and the
 * alignment padding of both, rounded to 16. */
static uint64_t min_sigstack_size(void) {
  uint32_t r[4];
  uint64_t xsave = 512;
  cpuid(0, 0, r);
  if (r[0] >= 0xd) {
    cpuid(1, 0, r);
    if (r[2] & (1u << 26)) { /* XSAVE */
      cpuid(0xd, 0, r);
      if (r[2] >= 512 && r[2] < (1u << 20))
        xsave = r[2] + 4;
    }
  }
  return ALIGN_UP(440 + 15 + xsave + 63, 16);
}

static uint64_t hwcap(void) {
  uint32_t r[4];
  cpuid(1, 0, r);
  return r[3];
}

/* The stack is guest memory: written only through the user-copy
 * routines (on a platform whose kernel runs with SMAP, nothing else may
 * touch it). Each returns true on a fault. */
static bool put_user(uint64_t at, const void *src, size_t n) {
  return rt_ucopy((void *)(uintptr_t)at, src, n) != 0;
}

static bool put_word(uint64_t *at, uint64_t v) {
  bool fault = put_user(*at, &v, sizeof(v));
  *at += sizeof(v);
  return fault;
}

int linux_stack_build(const struct linux_image *img, int argc,
                      const char *const *argv, const char *const *envp,
                      const char *execfn, uint64_t *sp_out, char *why,
                      size_t whylen) {
  uint64_t top = moat_stack_top();
  uint64_t p, sp, strings = 0, strings_at, execfn_at, platform_at, random_at;
  uint64_t auxv[AUXV_MAX * 2];
  uint64_t w;
  uint8_t random[16];
  int envc = 0, nauxv = 0;
  int prot = LINUX_PROT_READ | LINUX_PROT_WRITE;
  long r;

  if (img->exec_stack)
    prot |= LINUX_PROT_EXEC;
  while (envp && envp[envc])
    envc++;
  for (int i = 0; i < argc; i++)
    strings += rt_strlen(argv[i]) + 1;
  for (int i = 0; i < envc; i++)
    strings += rt_strlen(envp[i]) + 1;
  strings += rt_strlen(execfn) + 1;
  /* Linux refuses argument strings beyond a quarter of the stack limit. */
  uint64_t args = strings + (uint64_t)(argc + envc + 2) * 8;
  if (args > LINUX_STACK_SIZE / 4) {
    rt_snprintf(why, whylen, "argument list too long");
    return -LINUX_E2BIG;
  }
  /* The stack is as big as RLIMIT_STACK says, as Linux lets it grow that
   * far (here it is mapped at once, so infinity is LINUX_STACK_MAX), and
   * always big enough for the arguments. */
  struct linux_rlimit rl = {.rlim_cur = LINUX_STACK_SIZE};
  moat_prlimit(0, LINUX_RLIMIT_STACK, NULL, &rl);
  uint64_t size = MIN(MAX(rl.rlim_cur, LINUX_STACK_MIN), LINUX_STACK_MAX);
  size = ALIGN_UP(MAX(size, ALIGN_UP(args, 4096) + LINUX_STACK_MIN), 4096);
  uint64_t bottom = top - size;
  r = moat_mmap_stack(bottom, size, prot);
  if (r < 0) {
    rt_snprintf(why, whylen, "cannot map the stack (%s)",
                shim_errno_text((int)-r));
    return (int)r;
  }

  /* Strings, highest first: the file name, then env and argv so that
   * argv[0] ends up lowest and all strings are contiguous. */
  p = top - 8;
  bool fault = rt_ufill((void *)(uintptr_t)p, 0, 8) != 0;
  p -= rt_strlen(execfn) + 1;
  execfn_at = p;
  fault |= put_user(p, execfn, rt_strlen(execfn) + 1);
  p -= strings - (rt_strlen(execfn) + 1);
  strings_at = p;
  {
    uint64_t q = p;
    for (int i = 0; i < argc; i++) {
      size_t n = rt_strlen(argv[i]) + 1;
      fault |= put_user(q, argv[i], n);
      q += n;
    }
    for (int i = 0; i < envc; i++) {
      size_t n = rt_strlen(envp[i]) + 1;
      fault |= put_user(q, envp[i], n);
      q += n;
    }
  }
  p = ALIGN_DOWN(p, 16);
  p -= sizeof(PLATFORM_STRING);
  platform_at = p;
  fault |= put_user(p, PLATFORM_STRING, sizeof(PLATFORM_STRING));
  p -= sizeof(random);
  random_at = p;
  if (moat_getrandom(random, sizeof(random), 0) != (long)sizeof(random)) {
    rt_snprintf(why, whylen, "no random bytes for AT_RANDOM");
    return -LINUX_EIO;
  }
  fault |= put_user(p, random, sizeof(random));

  /* The auxiliary vector, in Linux's order; AT_SYSINFO_EHDR only when the
   * platform offers a vDSO. */
#define AUX(type, value)                                                       \
  do {                                                                         \
    auxv[nauxv * 2] = (type);                                                  \
    auxv[nauxv * 2 + 1] = (value);                                             \
    nauxv++;                                                                   \
  } while (0)
  struct plat_info pi;
  plat_info(&pi);
  if (pi.vdso)
    AUX(LINUX_AT_SYSINFO_EHDR, pi.vdso);
  AUX(LINUX_AT_MINSIGSTKSZ, min_sigstack_size());
  AUX(LINUX_AT_HWCAP, hwcap());
  AUX(LINUX_AT_PAGESZ, LINUX_PAGE_SIZE);
  AUX(LINUX_AT_CLKTCK, 100);
  AUX(LINUX_AT_PHDR, img->phdr);
  AUX(LINUX_AT_PHENT, img->phent);
  AUX(LINUX_AT_PHNUM, img->phnum);
  AUX(LINUX_AT_BASE, img->interp_base);
  AUX(LINUX_AT_FLAGS, 0);
  AUX(LINUX_AT_ENTRY, img->prog_entry);
  AUX(LINUX_AT_UID, moat_getuid());
  AUX(LINUX_AT_EUID, moat_geteuid());
  AUX(LINUX_AT_GID, moat_getgid());
  AUX(LINUX_AT_EGID, moat_getegid());
  AUX(LINUX_AT_SECURE, 0);
  AUX(LINUX_AT_RANDOM, random_at);
  AUX(LINUX_AT_HWCAP2, 0);
  AUX(LINUX_AT_EXECFN, execfn_at);
  AUX(LINUX_AT_PLATFORM, platform_at);
  AUX(LINUX_AT_NULL, 0);
#undef AUX

  sp = p - (uint64_t)nauxv * 16 - (uint64_t)(1 + argc + 1 + envc + 1) * 8;
  sp = ALIGN_DOWN(sp, 16);
  if (sp < bottom + LINUX_PAGE_SIZE) {
    rt_snprintf(why, whylen, "argument list too long");
    return -LINUX_E2BIG;
  }
  w = sp;
  fault |= put_word(&w, (uint64_t)argc);
  {
    uint64_t q = strings_at;
    for (int i = 0; i < argc; i++) {
      fault |= put_word(&w, q);
      q += rt_strlen(argv[i]) + 1;
    }
    fault |= put_word(&w, 0);
    for (int i = 0; i < envc; i++) {
      fault |= put_word(&w, q);
      q += rt_strlen(envp[i]) + 1;
    }
    fault |= put_word(&w, 0);
  }
  fault |= put_user(w, auxv, (size_t)nauxv * 16);
  if (fault) { /* the stack was mapped just now: not expected */
    rt_snprintf(why, whylen, "cannot write the stack");
    return -LINUX_EFAULT;
  }
  *sp_out = sp;
  return 0;
}
