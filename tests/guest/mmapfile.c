/* File-backed mmap: MAP_PRIVATE reads see the file, private writes stay
 * private, offsets must be page aligned, a mapping outlives close(), and
 * MAP_SHARED writes reach the file. Kept apart from memory.c because the
 * issue requires anonymous mmap only: a failure here is a missing feature,
 * not a broken one. */
#include <stdint.h>
#include <sys/mman.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("mmapfile");
  int fd = open("f", O_RDWR | O_CREAT, 0644);
  static char data[3 * 4096];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = 'a' + i % 26;
  R("write", write(fd, data, sizeof data));
  char *p = mmap(NULL, sizeof data, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  FACT("private map", p != MAP_FAILED);
  if (p == MAP_FAILED)
    printf("errno %s\n", errname(errno));
  else {
    FACT("content equal", memcmp(p, data, sizeof data) == 0);
    p[0] = 'X';
    char c;
    pread(fd, &c, 1, 0);
    printf("file after private write: %c\n", c);
  }
  char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
  FACT("map at offset", q != MAP_FAILED && q[0] == data[4096]);
  void *bad = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100);
  printf("unaligned offset: %s\n",
         bad == MAP_FAILED ? errname(errno) : "mapped");
  char *past = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 2 * 4096);
  FACT("map past end ok", past != MAP_FAILED);
  if (past != MAP_FAILED)
    FACT("last page readable", past[4095] == data[3 * 4096 - 1]);
  int ro = open("f", O_RDONLY);
  void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
  printf("shared writable on O_RDONLY: %s\n",
         w == MAP_FAILED ? errname(errno) : "mapped");
  char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  FACT("shared map", s != MAP_FAILED);
  if (s == MAP_FAILED)
    printf("errno %s\n", errname(errno));
  if (s != MAP_FAILED) {
    s[1] = 'S';
    R("msync", msync(s, 4096, MS_SYNC));
    char c = 0;
    pread(fd, &c, 1, 1);
    printf("file after shared write: %c\n", c);
  }
  R("close", close(fd));
  FACT("mapping outlives close", q[1] == data[4097]);
  int dir = open(".", O_RDONLY);
  void *d = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dir, 0);
  printf("map a directory: %s\n", d == MAP_FAILED ? errname(errno) : "mapped");
  return 0;
}
