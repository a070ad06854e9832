/* The initial process state as Linux builds it: argv (passed through
 * untouched, empty and spaced words included), the environment, and the
 * auxiliary vector's values that do not depend on the host (page size,
 * clock ticks, ids, AT_SECURE, AT_RANDOM, AT_PHDR/PHENT/PHNUM matching the
 * program's own headers, AT_EXECFN). The runner passes arguments. */
#include <elf.h>
#include <stdint.h>
#include <sys/auxv.h>

#include "guest.h"

extern char **environ;

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *base = strrchr(argv[0], '/');
  printf("argc %d argv0 base %s\n", argc, base ? base + 1 : argv[0]);
  for (int i = 1; i < argc; i++)
    printf("argv[%d] = [%s]\n", i, argv[i]);
  FACT("argv[argc] is NULL", argv[argc] == NULL);
  int n = 0;
  while (environ[n])
    n++;
  char **env = malloc((n + 1) * sizeof *env);
  memcpy(env, environ, n * sizeof *env);
  qsort(env, n, sizeof *env, cmp);
  for (int i = 0; i < n; i++)
    printf("env %s\n", env[i]);
  printf("AT_PAGESZ %lu\n", getauxval(AT_PAGESZ));
  printf("AT_CLKTCK %lu\n", getauxval(AT_CLKTCK));
  printf("AT_UID==getuid %d AT_EUID==geteuid %d\n",
         getauxval(AT_UID) == getuid(), getauxval(AT_EUID) == geteuid());
  printf("AT_GID==getgid %d AT_EGID==getegid %d\n",
         getauxval(AT_GID) == getgid(), getauxval(AT_EGID) == getegid());
  printf("AT_SECURE %lu\n", getauxval(AT_SECURE));
  const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
  int nonzero = 0;
  for (int i = 0; rnd && i < 16; i++)
    nonzero |= rnd[i];
  FACT("AT_RANDOM 16 bytes, not all zero", rnd && nonzero);
  const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
  unsigned long phnum = getauxval(AT_PHNUM);
  printf("AT_PHENT %lu AT_PHNUM > 0 %d\n", getauxval(AT_PHENT), phnum > 0);
  int has_load = 0;
  for (unsigned long i = 0; ph && i < phnum; i++)
    has_load |= ph[i].p_type == PT_LOAD;
  FACT("AT_PHDR points at the program headers", has_load);
  FACT("AT_ENTRY nonzero", getauxval(AT_ENTRY) != 0);
  const char *execfn = (const char *)getauxval(AT_EXECFN);
  const char *eb = execfn ? strrchr(execfn, '/') : NULL;
  printf("AT_EXECFN base %s\n", eb ? eb + 1 : "(none)");
  const char *plat = (const char *)getauxval(AT_PLATFORM);
  printf("AT_PLATFORM %s\n", plat ? plat : "(none)");
  char local;
  FACT("stack below argv", (uintptr_t)&local < (uintptr_t)argv);
  return 0;
}
