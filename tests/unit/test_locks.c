/* The core's lock debugging (MOAT_LOCK_DEBUG, core/rt.h), on in these
 * builds: a lock knows its holder, so a function that needs a lock held
 * can say so (rt_assert_held), and misuse ends the process with status
 * 125 and a message instead of corrupting state or hanging. The first
 * test is the positive control: correct use passes every check. */
#include <pthread.h>

#include "rt.h"
#include "unit.h"

#ifndef MOAT_LOCK_DEBUG
#error "the unit tests are built with MOAT_LOCK_DEBUG (tests/tests.mk)"
#endif

static struct rt_lock g_lock;

START_TEST(held_by_the_locker) {
  rt_lock(&g_lock);
  rt_assert_held(&g_lock);
  rt_unlock(&g_lock);
  ck_assert(rt_trylock(&g_lock));
  rt_assert_held(&g_lock);
  rt_unlock(&g_lock);
  ck_assert_int_eq(g_lock.word, 0);
}
END_TEST

START_TEST(assert_on_a_free_lock) {
  rt_assert_held(&g_lock); /* ends the process: 125 */
}
END_TEST

static void *holder(void *arg) {
  rt_lock(arg);
  return NULL;
}

START_TEST(assert_on_another_threads_lock) {
  pthread_t t;
  pthread_create(&t, NULL, holder, &g_lock);
  pthread_join(t, NULL);
  rt_assert_held(&g_lock); /* held, but not by this thread: 125 */
}
END_TEST

static void *unlocker(void *arg) {
  rt_unlock(arg);
  return NULL;
}

START_TEST(unlock_by_another_thread) {
  rt_lock(&g_lock);
  pthread_t t;
  pthread_create(&t, NULL, unlocker, &g_lock);
  pthread_join(t, NULL); /* the process ends in the thread: 125 */
}
END_TEST

START_TEST(locked_twice_by_one_thread) {
  rt_lock(&g_lock);
  rt_lock(&g_lock); /* would hang for ever: 125 instead */
}
END_TEST

Suite *suite_locks(void) {
  Suite *s = suite_create("locks");
  TCase *tc = tcase_create("owner");
  tcase_add_test(tc, held_by_the_locker);
  tcase_add_exit_test(tc, assert_on_a_free_lock, 125);
  tcase_add_exit_test(tc, assert_on_another_threads_lock, 125);
  tcase_add_exit_test(tc, unlock_by_another_thread, 125);
  tcase_add_exit_test(tc, locked_twice_by_one_thread, 125);
  suite_add_tcase(s, tc);
  return s;
}
