/* Clocks, sleeping, CPU-time timers and randomness: clock_gettime/getres
 * over the South clocks, clock_nanosleep on a futex word that a signal
 * wakes, ITIMER_VIRTUAL, ITIMER_PROF and RLIMIT_CPU over the platform's
 * CPU-time timers, getrandom over the host's random source. */
#include "moat/moat.h"
#include "moat/platform.h"
#include "rt.h"
#include "task.h"
#include "timer.h"

#define NSEC_PER_SEC 1000000000ll
#define COARSE_RES_NS 4000000 /* a 250 Hz tick, as a common Linux build */
#define GRND_INSECURE 4
#define MAX_RW_COUNT LINUX_MAX_RW_COUNT

static void ns_to_ts(int64_t ns, struct linux_timespec *ts) {
  if (ns < 0)
    ns = 0;
  ts->tv_sec = ns / NSEC_PER_SEC;
  ts->tv_nsec = ns % NSEC_PER_SEC;
}

/* The CPU clocks of clock_getcpuclockid and pthread_getcpuclockid:
 * Linux encodes a pid or tid (0: the caller) as ~id << 3, bit 2 for a
 * thread's clock and the low two bits for what it counts: 0 user and
 * system time (PROF), 1 user time (VIRT), 2 all of it, precisely
 * (SCHED). A process clock names any live process of the sandbox; a
 * thread clock a thread of the caller's process. The host's clock of
 * another thread is not readable: such a thread's clock reads its
 * process's time (docs/syscalls.md). */
#define CPUCLOCK_WHICH(c) ((c)&3)
#define CPUCLOCK_PERTHREAD(c) ((c)&4)
#define CPUCLOCK_ID(c) (~((c) >> 3))
#define CPUCLOCK_VIRT 1

static int read_cpu_clock(int clock, int64_t *ns) {
  if (CPUCLOCK_WHICH(clock) == 3)
    return -LINUX_EINVAL;
  int id = CPUCLOCK_ID(clock);
  struct task *self = task_current();
  if (!self)
    return -LINUX_EINVAL;
  struct proc *p = self->proc;
  int64_t total, sys = 0;
  if (CPUCLOCK_PERTHREAD(clock)) {
    if (id != 0 && id != self->tid) {
      rt_lock(&p->lock);
      bool mine = task_find_thread_locked(p, id) != NULL;
      rt_unlock(&p->lock);
      if (!mine)
        return -LINUX_EINVAL;
      total = moat_cpu_ns(MOAT_CPU_SELF, &sys);
    } else
      total = moat_cpu_ns(MOAT_CPU_THREAD, &sys);
  } else {
    if (id != 0 && id != p->pid) {
      p = task_find_proc(id);
      if (!p)
        return -LINUX_EINVAL;
    }
    total = task_proc_cpu_ns(p, &sys);
  }
  *ns = CPUCLOCK_WHICH(clock) == CPUCLOCK_VIRT ? total - sys : total;
  return 0;
}

static int read_clock(int clock, int64_t *ns) {
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_REALTIME_COARSE:
  case LINUX_CLOCK_TAI: /* the host's TAI offset is not known: 0 */
    *ns = rt_realtime_ns();
    return 0;
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_MONOTONIC_COARSE:
    *ns = rt_now_ns();
    return 0;
  case LINUX_CLOCK_BOOTTIME: {
    /* As the guest's vDSO answers it: monotonic plus the host's sleep. */
    int64_t v = 0;
    if (plat_clock(PLAT_CLOCK_BOOTTIME, &v) < 0 || v < 0)
      v = rt_now_ns();
    *ns = v;
    return 0;
  }
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
  case LINUX_CLOCK_THREAD_CPUTIME_ID: {
    int64_t v = 0;
    int err = plat_clock(clock == LINUX_CLOCK_THREAD_CPUTIME_ID
                             ? PLAT_CLOCK_THREAD_CPU
                             : PLAT_CLOCK_CPU,
                         &v);
    if (err)
      return err;
    *ns = v < 0 ? 0 : v; /* the host is untrusted */
    return 0;
  }
  default:
    return clock < 0 ? read_cpu_clock(clock, ns) : -LINUX_EINVAL;
  }
}

int time_read_clock(int clock, int64_t *ns) {
  return read_clock(clock, ns);
}

int moat_clock_gettime(int clock, struct linux_timespec *ts) {
  int64_t ns;
  int err = read_clock(clock, &ns);
  if (err)
    return err;
  ns_to_ts(ns, ts);
  return 0;
}

int moat_clock_getres(int clock, struct linux_timespec *ts) {
  int64_t res;
  switch (clock) {
  case LINUX_CLOCK_REALTIME_COARSE:
  case LINUX_CLOCK_MONOTONIC_COARSE:
    res = COARSE_RES_NS;
    break;
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_BOOTTIME:
  case LINUX_CLOCK_TAI:
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
  case LINUX_CLOCK_THREAD_CPUTIME_ID:
    res = 1;
    break;
  default: {
    int64_t ignored;
    if (clock >= 0)
      return -LINUX_EINVAL;
    /* A CPU clock of a process or thread that exists (its check). */
    int err = read_cpu_clock(clock, &ignored);
    if (err)
      return err;
    res = 1;
  }
  }
  if (ts)
    ns_to_ts(res, ts);
  return 0;
}

/* Which clocks sleep, as Linux's clock_nanosleep: a clock without a
 * sleep is EOPNOTSUPP (the thread CPU clock by its constant, the raw and
 * coarse ones, the alarm clocks: no wake-up alarms here), one that does
 * not exist EINVAL, as is the caller's own thread's CPU clock by its
 * encoded id. *cpu: a CPU clock. */
static int sleep_clock(int clock, bool *cpu) {
  switch (clock) {
  case LINUX_CLOCK_REALTIME:
  case LINUX_CLOCK_MONOTONIC:
  case LINUX_CLOCK_BOOTTIME:
  case LINUX_CLOCK_TAI:
    return 0;
  case LINUX_CLOCK_PROCESS_CPUTIME_ID:
    *cpu = true;
    return 0;
  case LINUX_CLOCK_THREAD_CPUTIME_ID:
  case LINUX_CLOCK_MONOTONIC_RAW:
  case LINUX_CLOCK_REALTIME_COARSE:
  case LINUX_CLOCK_MONOTONIC_COARSE:
  case LINUX_CLOCK_REALTIME_ALARM:
  case LINUX_CLOCK_BOOTTIME_ALARM:
    return -LINUX_EOPNOTSUPP;
  default: {
    if (clock >= 0 || CPUCLOCK_WHICH(clock) == 3)
      return -LINUX_EINVAL;
    struct task *self = task_current();
    if (CPUCLOCK_PERTHREAD(clock) &&
        (CPUCLOCK_ID(clock) == 0 || (self && CPUCLOCK_ID(clock) == self->tid)))
      return -LINUX_EINVAL;
    int64_t ignored; /* a process (or another thread) that exists */
    int err = read_cpu_clock(clock, &ignored);
    if (err)
      return err;
    *cpu = true;
    return 0;
  }
  }
}

int moat_clock_sleep_check(int clock) {
  bool cpu = false;
  return sleep_clock(clock, &cpu);
}

int moat_clock_nanosleep(int clock, int flags, const struct linux_timespec *req,
                         struct linux_timespec *rem) {
  bool cpu = false;
  int err = sleep_clock(clock, &cpu);
  if (err)
    return err;
  if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= NSEC_PER_SEC)
    return -LINUX_EINVAL;
  bool absolute = flags & LINUX_TIMER_ABSTIME;
  /* Far-future requests sleep "forever" (clamped, no overflow). */
  const int64_t max_sec = INT64_MAX / NSEC_PER_SEC - 1;
  int64_t req_ns = req->tv_sec >= max_sec
                       ? INT64_MAX / 2
                       : req->tv_sec * NSEC_PER_SEC + req->tv_nsec;
  int64_t now;
  err = read_clock(clock, &now);
  if (err)
    return err;
  int64_t deadline;
  if (absolute)
    deadline = req_ns;
  else
    deadline = now > INT64_MAX - req_ns ? INT64_MAX : now + req_ns;

  struct task *t = task_current();
  for (;;) {
    if (now >= deadline)
      return 0;
    uint32_t seen = __atomic_load_n(&t->wake_word, __ATOMIC_ACQUIRE);
    if (signal_pending(t)) {
      if (rem && !absolute)
        ns_to_ts(deadline - now, rem);
      return -LINUX_EINTR;
    }
    /* A CPU clock may run faster than the wall clock (threads on
     * several CPUs): look again well before the time could be up. */
    int64_t wait = deadline - now;
    if (cpu)
      wait = wait / 4 > 1000000 ? wait / 4 : 1000000;
    task_sleep_wait(&t->wake_word, seen, wait);
    err = read_clock(clock, &now);
    if (err)
      return err;
  }
}

/* ---- ITIMER_VIRTUAL and ITIMER_PROF ----
 * The core keeps each deadline on the CPU clock that the platform's timer
 * of the same kind counts (plat_timer_set reads it before arming), and
 * uses that timer one-shot, only to be woken: when the expiry arrives the
 * clock has passed the deadline, and the way back to the guest queues the
 * signal and reloads the period here, as signal_timer_poll does for
 * ITIMER_REAL. The clocks count the host process, so moat's own work for
 * the guest counts too (docs/processes.md). */

static const int g_cpu_timer_signal[2] = {LINUX_SIGVTALRM, LINUX_SIGPROF};

static int64_t add_sat(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---- RLIMIT_CPU ----
 * As Linux's check_process_timers: once the process's CPU time (the PROF
 * clock: user and system time of all its threads, from the start of the
 * process, kept across exec) reaches the hard limit the process gets
 * SIGKILL; once it reaches the soft limit it gets SIGXCPU, and the soft
 * limit moves one second on, so that a process that catches SIGXCPU gets
 * it again every second (getrlimit shows the moved limit, as on Linux).
 * p->cpu_limit_due is the PROF clock reading at which to look next (0:
 * both limits are infinite). The platform's PROF timer is one for the
 * process: it is armed for the earlier of this and ITIMER_PROF's
 * deadline. */

static int64_t limit_ns(uint64_t seconds) {
  if (seconds >= (uint64_t)(INT64_MAX / NSEC_PER_SEC))
    return 0; /* RLIM_INFINITY, or as good as */
  return seconds ? (int64_t)seconds * NSEC_PER_SEC : 1;
}

/* Caller holds p->lock. */
static int64_t cpu_limit_next(const struct proc *p) {
  int64_t soft = limit_ns(p->rlimit[LINUX_RLIMIT_CPU].rlim_cur);
  int64_t hard = limit_ns(p->rlimit[LINUX_RLIMIT_CPU].rlim_max);
  if (!soft || !hard)
    return soft ? soft : hard;
  return MIN(soft, hard);
}

/* Arm the platform's PROF timer for the earlier of ITIMER_PROF and the
 * RLIMIT_CPU check (or disarm it); now is the PROF clock, read before.
 * Caller holds p->lock and runs in p's host process. */
static void prof_timer_arm(struct proc *p, int64_t now) {
  int64_t a = p->itimer_cpu_deadline[1], b = p->cpu_limit_due;
  int64_t due = !a ? b : !b ? a : MIN(a, b);
  p->cpu_limit_armed = b;
  plat_timer_set(PLAT_TIMER_PROF, due ? MAX(due - now, 1) : 0, NULL);
}

void time_cpu_limit_changed(struct proc *p) {
  p->cpu_limit_due = cpu_limit_next(p);
  if (task_current() && proc_current() == p) {
    int64_t now;
    if (plat_timer_set(PLAT_TIMER_PROF, PLAT_TIMER_KEEP, &now) == 0)
      prof_timer_arm(p, now);
  }
  /* Another process (prlimit) arms its own timer when it next looks at
   * its signals (time_itimer_poll): its threads are kicked by the caller. */
}

void time_cpu_limit_start(struct proc *p) {
  rt_lock(&p->lock);
  /* A forked child's host timers are off and its CPU timers are not
   * inherited: without RLIMIT_CPU there is nothing to arm (no host call
   * in every fork). */
  if (p->itimer_cpu_deadline[1] || cpu_limit_next(p))
    time_cpu_limit_changed(p);
  else
    p->cpu_limit_due = p->cpu_limit_armed = 0;
  rt_unlock(&p->lock);
}

static void cpu_limit_poll(struct proc *p) {
  int64_t due = __atomic_load_n(&p->cpu_limit_due, __ATOMIC_ACQUIRE);
  if (!due && !__atomic_load_n(&p->cpu_limit_armed, __ATOMIC_ACQUIRE))
    return;
  int64_t now;
  if (plat_timer_set(PLAT_TIMER_PROF, PLAT_TIMER_KEEP, &now))
    return;
  int sig = 0;
  rt_lock(&p->lock);
  due = p->cpu_limit_due;
  if (due && now >= due) {
    struct linux_rlimit *rl = &p->rlimit[LINUX_RLIMIT_CPU];
    int64_t hard = limit_ns(rl->rlim_max);
    if (hard && now >= hard) {
      sig = LINUX_SIGKILL;
    } else {
      sig = LINUX_SIGXCPU;
      rl->rlim_cur++;
    }
    p->cpu_limit_due = sig == LINUX_SIGKILL ? 0 : cpu_limit_next(p);
    prof_timer_arm(p, now);
  } else if (due != p->cpu_limit_armed) {
    prof_timer_arm(p, now); /* changed by prlimit from another process */
  }
  rt_unlock(&p->lock);
  if (sig) {
    struct linux_siginfo info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = LINUX_SI_KERNEL;
    signal_send(p, NULL, &info);
  }
}

/* Caller holds p->lock; now is timer k's clock. Did it expire? Then move
 * it to its next period (re-arming the platform's timer when rearm) or
 * disarm it. Expiries missed meanwhile make one signal, as on Linux. */
static bool cpu_timer_expire(struct proc *p, int k, int64_t now, bool rearm) {
  int64_t due = p->itimer_cpu_deadline[k];
  if (!due || now < due)
    return false;
  int64_t period = p->itimer_cpu_interval[k];
  if (period > 0) {
    int64_t next = add_sat(due, period);
    if (next <= now)
      next = add_sat(now, period - (now - due) % period);
    p->itimer_cpu_deadline[k] = next;
    if (rearm && k == 0)
      plat_timer_set(PLAT_TIMER_VIRTUAL, next - now, NULL);
  } else {
    p->itimer_cpu_deadline[k] = 0;
  }
  if (rearm && k == 1)
    prof_timer_arm(p, now); /* also for RLIMIT_CPU */
  return true;
}

static void cpu_timer_signal(struct proc *p, int k) {
  struct linux_siginfo info;
  memset(&info, 0, sizeof(info));
  info.si_signo = g_cpu_timer_signal[k];
  info.si_code = LINUX_SI_KERNEL;
  signal_send(p, NULL, &info);
}

void time_itimer_poll(struct proc *p) {
  cpu_limit_poll(p);
  for (int k = 0; k < 2; k++) {
    if (!__atomic_load_n(&p->itimer_cpu_deadline[k], __ATOMIC_ACQUIRE))
      continue;
    int64_t now;
    if (plat_timer_set(k + 1, PLAT_TIMER_KEEP, &now))
      continue;
    rt_lock(&p->lock);
    bool fire = cpu_timer_expire(p, k, now, true);
    rt_unlock(&p->lock);
    if (fire)
      cpu_timer_signal(p, k);
  }
}

bool time_itimer_due(struct task *t) {
  struct proc *p = t->proc;
  for (int k = 0; k < 2; k++) {
    int64_t due = __atomic_load_n(&p->itimer_cpu_deadline[k], __ATOMIC_ACQUIRE);
    int64_t now;
    if (due && !(t->sigblocked & LINUX_SIGBIT(g_cpu_timer_signal[k])) &&
        plat_timer_set(k + 1, PLAT_TIMER_KEEP, &now) == 0 && now >= due)
      return true;
  }
  return false;
}

int moat_itimer(int which, const int64_t *value, const int64_t *interval,
                int64_t *old_value, int64_t *old_interval) {
  if (which == MOAT_ITIMER_REAL)
    return moat_itimer_real(value, interval, old_value, old_interval);
  if (which != MOAT_ITIMER_VIRTUAL && which != MOAT_ITIMER_PROF)
    return -LINUX_EINVAL;
  int64_t v = value ? *value : 0, i = value && interval ? *interval : 0;
  if (v < 0 || i < 0)
    return -LINUX_EINVAL;
  struct proc *p = proc_current();
  int k = which - 1;
  int64_t now = 0;
  bool fire = false;
  rt_lock(&p->lock);
  /* One call reads the clock and arms: the new deadline and the old
   * setting's remaining time both come from that reading. */
  int err = plat_timer_set(which, value ? v : PLAT_TIMER_KEEP, &now);
  if (err)
    goto out;
  /* An expiry nobody has looked at yet happened before this call. */
  fire = cpu_timer_expire(p, k, now, !value);
  int64_t due = p->itimer_cpu_deadline[k];
  if (old_value)
    *old_value = due ? MAX(due - now, 1) : 0;
  if (old_interval)
    *old_interval = p->itimer_cpu_interval[k];
  if (value) {
    p->itimer_cpu_deadline[k] = v ? add_sat(now, v) : 0;
    p->itimer_cpu_interval[k] = i;
    /* The PROF timer also serves RLIMIT_CPU: arm it for the earlier. */
    if (which == MOAT_ITIMER_PROF && (p->cpu_limit_due || p->cpu_limit_armed))
      prof_timer_arm(p, now);
  }
out:
  rt_unlock(&p->lock);
  if (fire)
    cpu_timer_signal(p, k);
  return err;
}

long moat_getrandom(void *buf, size_t len, unsigned flags) {
  if (flags &
      ~(unsigned)(LINUX_GRND_NONBLOCK | LINUX_GRND_RANDOM | GRND_INSECURE))
    return -LINUX_EINVAL;
  if ((flags & GRND_INSECURE) && (flags & LINUX_GRND_RANDOM))
    return -LINUX_EINVAL;
  if (len > MAX_RW_COUNT)
    len = MAX_RW_COUNT;
  size_t done = 0;
  while (done < len) {
    size_t chunk = MIN(len - done, (size_t)1 << 20);
    long err = rt_urandom((char *)buf + done, chunk);
    if (err < 0)
      return done ? (long)done : err;
    done += chunk;
    /* As Linux: a pending signal ends a long request with what it got. */
    struct task *t = task_current();
    if (done < len && t && signal_pending(t))
      break;
  }
  return (long)done;
}
