/* File I/O syscalls and their error cases: open/openat flags, read, write,
 * pread64, pwrite64, readv, writev, lseek, truncate, ftruncate, fsync,
 * close. Prints what it observed; run natively and inside moat, the output
 * must be identical. */
#include <sys/uio.h>

#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("fileio");
  char buf[128];

  R("open creat", open("f", O_RDWR | O_CREAT | O_EXCL, 0644));
  R("open creat excl again", open("f", O_RDWR | O_CREAT | O_EXCL, 0644));
  R("write", write(3, "hello world", 11));
  R("lseek cur", lseek(3, 0, SEEK_CUR));
  R("lseek set", lseek(3, 0, SEEK_SET));
  memset(buf, 0, sizeof buf);
  R("read 5", read(3, buf, 5));
  printf("data: %s\n", buf);
  R("lseek end-5", lseek(3, -5, SEEK_END));
  R("read rest", read(3, buf, sizeof buf));
  R("read at eof", read(3, buf, sizeof buf));
  R("lseek negative", lseek(3, -100, SEEK_SET));
  R("lseek bad whence", lseek(3, 0, 42));
  R("pwrite", pwrite(3, "W", 1, 6));
  memset(buf, 0, sizeof buf);
  R("pread", pread(3, buf, 5, 6));
  printf("data: %s\n", buf);
  R("offset unchanged", lseek(3, 0, SEEK_CUR));
  R("pread negative", pread(3, buf, 1, -1));
  R("pwrite past end", pwrite(3, "Z", 1, 100));
  struct stat st;
  R("fstat", fstat(3, &st));
  printf("size: %ld\n", (long)st.st_size);
  R("pread hole", pread(3, buf, 4, 50));
  printf("hole zero: %d\n", buf[0] == 0 && buf[1] == 0 && buf[3] == 0);

  char a[3], b[4];
  struct iovec iov[2] = {{a, 3}, {b, 4}};
  R("lseek 0", lseek(3, 0, SEEK_SET));
  R("readv", readv(3, iov, 2));
  printf("readv: %.3s|%.4s\n", a, b);
  struct iovec out[3] = {{"AB", 2}, {"", 0}, {"CDE", 3}};
  R("lseek 0", lseek(3, 0, SEEK_SET));
  R("writev", writev(3, out, 3));
  R("pread back", pread(3, buf, 6, 0));
  printf("data: %.6s\n", buf);
  volatile int negative = -1;
  R("writev bad count", writev(3, out, negative));
  R("readv bad fd", readv(42, iov, 2));

  R("ftruncate 3", ftruncate(3, 3));
  R("fstat", fstat(3, &st));
  printf("size: %ld\n", (long)st.st_size);
  R("ftruncate grow", ftruncate(3, 8192));
  R("pread grown", pread(3, buf, 10, 8190));
  R("ftruncate negative", ftruncate(3, -1));
  R("truncate path", truncate("f", 1));
  R("truncate missing", truncate("nope", 1));
  R("truncate dir", truncate(".", 1));
  R("fsync", fsync(3));
  R("fdatasync", fdatasync(3));
  R("close", close(3));
  R("close again", close(3));
  R("read closed", read(3, buf, 1));

  /* access modes */
  R("open rdonly", open("f", O_RDONLY));
  R("write on rdonly", write(3, "x", 1));
  R("ftruncate on rdonly", ftruncate(3, 0));
  R("close", close(3));
  R("open wronly", open("f", O_WRONLY));
  R("read on wronly", read(3, buf, 1));
  R("close", close(3));

  /* O_APPEND */
  write_file("app", "0123");
  R("open append", open("app", O_WRONLY | O_APPEND));
  R("lseek 0", lseek(3, 0, SEEK_SET));
  R("append write", write(3, "ab", 2));
  R("offset after append", lseek(3, 0, SEEK_CUR));
  R("close", close(3));
  printf("app: %s\n", read_file("app"));
  /* O_TRUNC */
  R("open trunc", open("app", O_WRONLY | O_TRUNC));
  R("close", close(3));
  R("stat", stat("app", &st));
  printf("size: %ld\n", (long)st.st_size);

  /* errors of open */
  R("open missing", open("missing", O_RDONLY));
  R("open missing dir comp", open("missing/x", O_RDONLY | O_CREAT, 0644));
  R("open dir wronly", open(".", O_WRONLY));
  R("open dir rdwr", open(".", O_RDWR));
  R("open file O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY));
  R("open file/ trailing", open("f/", O_RDONLY));
  R("open creat trailing slash", open("newf/", O_WRONLY | O_CREAT, 0644));
  R("open empty", open("", O_RDONLY));
  R("symlink", symlink("f", "lnk"));
  R("open nofollow", open("lnk", O_RDONLY | O_NOFOLLOW));
  R("open dir", open(".", O_RDONLY | O_DIRECTORY));
  R("read dir", read(3, buf, 1));
  R("openat rel", openat(3, "f", O_RDONLY));
  R("openat file-as-dir", openat(4, "x", O_RDONLY));
  R("openat bad dirfd", openat(99, "f", O_RDONLY));
  R("openat abs ignores dirfd", openat(99, "/", O_RDONLY));
  R("close", close(5));
  R("close", close(4));
  R("close", close(3));
  /* O_CLOEXEC and O_PATH */
  R("open cloexec", open("f", O_RDONLY | O_CLOEXEC));
  R("getfd", fcntl(3, F_GETFD));
  R("close", close(3));
  R("open path", open("f", O_PATH));
  R("read on O_PATH", read(3, buf, 1));
  R("fstat on O_PATH", fstat(3, &st));
  R("close", close(3));
  /* large write and read back */
  static char big[200000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char)(i * 7);
  R("open big", open("big", O_RDWR | O_CREAT | O_TRUNC, 0600));
  R("write big", write(3, big, sizeof big));
  R("lseek 0", lseek(3, 0, SEEK_SET));
  static char back[200000];
  size_t got = 0;
  ssize_t n;
  while ((n = read(3, back + got, sizeof back - got)) > 0)
    got += n;
  printf("big read back: %zu equal %d\n", got, !memcmp(big, back, got));
  R("close", close(3));
  R("write stdout", write(1, "direct\n", 7));
  return 0;
}
