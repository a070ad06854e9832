/* PR_SET_DUMPABLE is the process's: a fork inherits it, a thread shares
 * it, an execve (of a file without set-id bits) sets it back to 1.
 * Prints the same lines natively and in the sandbox. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_view(void *arg) {
  *(int *)arg = prctl(PR_GET_DUMPABLE);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "after-exec")) {
    printf("after execve: %d\n", prctl(PR_GET_DUMPABLE));
    return 0;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("at start: %d\n", prctl(PR_GET_DUMPABLE));
  printf("set 2: %d\n", prctl(PR_SET_DUMPABLE, 2));
  printf("set 0: %d\n", prctl(PR_SET_DUMPABLE, 0));
  printf("now: %d\n", prctl(PR_GET_DUMPABLE));
  int in_thread = -1;
  pthread_t t;
  pthread_create(&t, NULL, thread_view, &in_thread);
  pthread_join(t, NULL);
  printf("a thread sees: %d\n", in_thread);
  pid_t pid = fork();
  if (pid == 0) {
    printf("a forked child: %d\n", prctl(PR_GET_DUMPABLE));
    execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
    perror("execl");
    _exit(1);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("the parent still: %d\n", prctl(PR_GET_DUMPABLE));
  prctl(PR_SET_DUMPABLE, 1);
  printf("set 1: %d\n", prctl(PR_GET_DUMPABLE));
  return 0;
}
