/* MAP_PRIVATE file mappings are copy-on-write views of the file (issue
 * 9, item 1): until a page is written, the mapping sees later changes of
 * the file (write(2), a shared mapping's stores); after, it keeps its own
 * copy, which the file and other mappings never see. mprotect keeps both
 * kinds of pages; MADV_DONTNEED gives the written pages the file's content
 * back; msync(MS_INVALIDATE) changes nothing; fork shares the untouched
 * pages and copies the written ones (handshakes over pipes); truncation
 * makes written and unwritten pages past the end SIGBUS; mremap keeps the
 * content; a read-only descriptor may be mapped private and writable;
 * several forked children write private pages at once. */
#include "guest.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096

static sigjmp_buf g_jump;

static void on_signal(int sig) {
  siglongjmp(g_jump, sig);
}

/* The signal a read (or write) of *p raises (0: none). */
static int probe(volatile char *p, int write) {
  int sig = sigsetjmp(g_jump, 1);
  if (sig)
    return sig;
  if (write)
    *p = 'w';
  else
    (void)*p;
  return 0;
}

static const char *signame(int sig) {
  return sig == 0         ? "none"
         : sig == SIGBUS  ? "SIGBUS"
         : sig == SIGSEGV ? "SIGSEGV"
                          : "other";
}

static void xpwrite(int fd, char c, off_t off) {
  if (pwrite(fd, &c, 1, off) != 1) {
    printf("pwrite: %s\n", errname(errno));
    exit(1);
  }
}

static char xpread(int fd, off_t off) {
  char c = 0;
  if (pread(fd, &c, 1, off) != 1)
    printf("pread: %s\n", errname(errno));
  return c;
}

/* A file of pages pages, page i filled with 'a' + i. */
static int make_file(const char *name, int pages) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  char buf[PAGE];
  for (int i = 0; i < pages; i++) {
    memset(buf, 'a' + i % 26, PAGE);
    if (write(fd, buf, PAGE) != PAGE)
      printf("write: %s\n", errname(errno));
  }
  return fd;
}

static void visibility(void) {
  printf("-- visibility\n");
  int fd = make_file("vis", 3);
  char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED || m == MAP_FAILED) {
    printf("mmap: %s\n", errname(errno));
    return;
  }
  printf("first bytes: %c %c %c\n", p[0], p[PAGE], p[2 * PAGE]);
  xpwrite(fd, 'X', 0);
  printf("unwritten page sees write(2): %c\n", p[0]);
  m[1] = 'S';
  printf("unwritten page sees the shared mapping: %c\n", p[1]);
  p[0] = 'P';
  printf("after the private write: private %c, shared %c, file %c\n", p[0],
         m[0], xpread(fd, 0));
  xpwrite(fd, 'Y', 0);
  m[2] = 'T';
  printf("written page keeps its copy: %c%c (file %c%c)\n", p[0], p[2],
         xpread(fd, 0), xpread(fd, 2));
  xpwrite(fd, 'Z', PAGE);
  printf("the next page still sees the file: %c\n", p[PAGE]);
  /* msync(MS_INVALIDATE) of a private mapping changes nothing. */
  printf("msync invalidate: %d, then %c\n", msync(p, PAGE, MS_INVALIDATE),
         p[0]);
  /* MADV_DONTNEED: the file's content again, and the file's later
   * changes too. */
  p[PAGE + 5] = 'Q';
  printf("madvise dontneed: %d\n", madvise(p, 2 * PAGE, MADV_DONTNEED));
  printf("after dontneed: %c%c %c%c\n", p[0], p[2], p[PAGE], p[PAGE + 5]);
  xpwrite(fd, 'R', 0);
  printf("sees the file again: %c\n", p[0]);
  munmap(p, 3 * PAGE);
  munmap(m, 3 * PAGE);
  close(fd);
}

static void protections(void) {
  printf("-- mprotect\n");
  int fd = make_file("prot", 2);
  char *p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("write to a read-only private mapping: %s\n", signame(probe(p, 1)));
  printf("mprotect rw: %d\n", mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE));
  p[0] = 'W';
  printf("written %c, file %c\n", p[0], xpread(fd, 0));
  printf("mprotect none: %d\n", mprotect(p, 2 * PAGE, PROT_NONE));
  printf("read under PROT_NONE: %s\n", signame(probe(p + PAGE, 0)));
  printf("mprotect r: %d\n", mprotect(p, 2 * PAGE, PROT_READ));
  printf("kept: %c %c\n", p[0], p[PAGE]);
  xpwrite(fd, 'U', PAGE);
  printf("unwritten page after mprotect sees the file: %c\n", p[PAGE]);
  printf("write after mprotect r: %s\n", signame(probe(p, 1)));
  munmap(p, 2 * PAGE);
  /* A read-only descriptor: private and writable is fine. */
  int ro = open("prot", O_RDONLY);
  char *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  if (q == MAP_FAILED) {
    printf("mmap ro fd private rw: %s\n", errname(errno));
  } else {
    q[0] = 'V';
    printf("private rw of a read-only fd: %c, file %c\n", q[0], xpread(fd, 0));
    munmap(q, PAGE);
  }
  close(ro);
  /* mremap keeps written and unwritten pages. */
  char *r = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  r[0] = 'M';
  char *mv = mremap(r, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
  if (mv == MAP_FAILED)
    printf("mremap: %s\n", errname(errno));
  else
    printf("after mremap: %c %c\n", mv[0], mv[PAGE]);
  munmap(mv == MAP_FAILED ? r : mv, mv == MAP_FAILED ? 2 * PAGE : 8 * PAGE);
  close(fd);
}

static void with_fork(void) {
  printf("-- fork\n");
  int fd = make_file("fork", 3);
  char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  p[0] = 'P'; /* the parent's own page before the fork */
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent))
    return;
  char tok;
  pid_t pid = fork();
  if (pid == 0) {
    printf("child sees: %c %c %c\n", p[0], p[PAGE], p[2 * PAGE]);
    p[0] = 'C';
    p[PAGE] = 'D';
    write(to_parent[1], "1", 1);
    read(to_child[0], &tok, 1); /* the parent wrote the file */
    printf("child after the file changed: %c %c %c%c\n", p[0], p[PAGE],
           p[2 * PAGE], p[2 * PAGE + 1]);
    _exit(0);
  }
  read(to_parent[0], &tok, 1);
  printf("parent after the child wrote: %c %c\n", p[0], p[PAGE]);
  xpwrite(fd, 'F', PAGE);
  xpwrite(fd, 'G', 2 * PAGE + 1);
  printf("parent sees the file: %c %c%c\n", p[PAGE], p[2 * PAGE],
         p[2 * PAGE + 1]);
  write(to_child[1], "1", 1);
  int status;
  waitpid(pid, &status, 0);
  printf("child status %d\n", WEXITSTATUS(status));
  printf("file: %c %c\n", xpread(fd, 0), xpread(fd, PAGE));
  munmap(p, 3 * PAGE);
  close(fd);
  close(to_child[0]);
  close(to_child[1]);
  close(to_parent[0]);
  close(to_parent[1]);
}

static void truncation(void) {
  printf("-- truncation\n");
  int fd = make_file("trunc", 3);
  char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  printf("past the end at mmap: %s\n", signame(probe(p + 3 * PAGE, 0)));
  p[PAGE] = 'W'; /* a written page that the truncation takes */
  printf("ftruncate: %d\n", ftruncate(fd, PAGE + 10));
  printf("page holding the new end: %c, past it in the page: %d\n", p[PAGE],
         p[PAGE + 20]);
  printf("unwritten page past the end: %s\n", signame(probe(p + 2 * PAGE, 0)));
  printf("ftruncate to one page: %d\n", ftruncate(fd, PAGE));
  printf("written page past the end: %s\n", signame(probe(p + PAGE, 0)));
  printf("first page: %c\n", p[0]);
  printf("ftruncate to four pages: %d\n", ftruncate(fd, 4 * PAGE));
  printf("pages again (zeros): %d %d %d\n", p[PAGE], p[2 * PAGE], p[3 * PAGE]);
  xpwrite(fd, 'N', 3 * PAGE);
  printf("grown page sees the file: %c\n", p[3 * PAGE]);
  munmap(p, 4 * PAGE);
  close(fd);
}

/* Forked children write their own pages of one private mapping at once;
 * each must see only its own writes, the parent only its own. */
static void many_children(void) {
  printf("-- children\n");
  enum { KIDS = 6, PAGES = 32 };
  int fd = make_file("kids", PAGES);
  char *p =
      mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  pid_t pids[KIDS];
  for (int k = 0; k < KIDS; k++) {
    pids[k] = fork();
    if (pids[k] == 0) {
      int bad = 0;
      for (int round = 0; round < 20; round++)
        for (int i = 0; i < PAGES; i++) {
          if (p[i * PAGE + 1] != 'a' + i % 26)
            bad++;
          p[i * PAGE] = (char)('0' + k);
          if (p[i * PAGE] != '0' + k)
            bad++;
        }
      _exit(bad ? 1 : 0);
    }
  }
  int ok = 0;
  for (int k = 0; k < KIDS; k++) {
    int status;
    waitpid(pids[k], &status, 0);
    ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  int same = 0;
  for (int i = 0; i < PAGES; i++)
    same += p[i * PAGE] == 'a' + i % 26;
  printf("children right: %d of %d; parent's pages untouched: %d of %d\n", ok,
         KIDS, same, PAGES);
  munmap(p, PAGES * PAGE);
  close(fd);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGBUS, on_signal);
  signal(SIGSEGV, on_signal);
  enter_workdir("mmap_private");
  visibility();
  protections();
  with_fork();
  truncation();
  many_children();
  return 0;
}
