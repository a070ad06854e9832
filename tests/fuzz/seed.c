/* The fuzz harness's seed program: a small static executable whose ELF
 * file tests/fuzz/fuzz.c mutates. It only needs to be a valid image. */
#include <unistd.h>

int main(void) {
  static const char msg[] = "seed\n";
  return write(1, msg, sizeof msg - 1) == sizeof msg - 1 ? 0 : 1;
}
