/* The line discipline of the sandbox's pseudo-terminals, after Linux's
 * n_tty: input editing (ICANON with ERASE, WERASE, KILL, EOF, EOL,
 * LNEXT, REPRINT), echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHOCTL, ECHONL),
 * input mapping (ICRNL, INLCR, IGNCR, ISTRIP, IXON), the signal
 * characters (ISIG) and output processing (OPOST with ONLCR, OCRNL,
 * ONOCR, ONLRET, XTABS). Every function runs with pty->lock held. */
#include "pty.h"

#include "task.h"

static const struct linux_termios *tio(struct pty *p) {
  return &p->tio;
}

static bool lflag(struct pty *p, uint32_t f) {
  return (p->tio.c_lflag & f) != 0;
}

static bool iflag(struct pty *p, uint32_t f) {
  return (p->tio.c_iflag & f) != 0;
}

/* Is c the (enabled) special character cc? A cc of 0 is disabled. */
static bool is_cc(struct pty *p, uint8_t c, int cc) {
  return p->tio.c_cc[cc] && c == p->tio.c_cc[cc];
}

/* The kernel's iscntrl (its Latin-1 table marks 128-159 too). */
static bool is_cntrl(uint8_t c) {
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0);
}

static bool is_continuation(struct pty *p, uint8_t c) {
  return iflag(p, LINUX_IUTF8) && (c & 0xc0) == 0x80;
}

static void set_bit(uint8_t *map, uint32_t i, bool on) {
  i %= PTY_IN_SIZE;
  if (on)
    map[i >> 3] |= (uint8_t)(1u << (i & 7));
  else
    map[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

void ldisc_default_termios(struct linux_termios *t) {
  static const uint8_t cc[19] = {3,  28, 127, 21, 4,  0,  1, 0, 17, 19,
                                 26, 0,  18,  15, 23, 22, 0, 0, 0};
  memset(t, 0, sizeof(*t));
  t->c_iflag = LINUX_ICRNL | LINUX_IXON;
  t->c_oflag = LINUX_OPOST | LINUX_ONLCR;
  t->c_cflag = LINUX_B38400 | LINUX_CS8 | LINUX_CREAD;
  t->c_lflag = LINUX_ISIG | LINUX_ICANON | LINUX_ECHO | LINUX_ECHOE |
               LINUX_ECHOK | LINUX_ECHOCTL | LINUX_ECHOKE | LINUX_IEXTEN;
  memcpy(t->c_cc, cc, sizeof(cc));
}

/* ---- output ---- */

static void out_raw(struct pty *p, const uint8_t *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    p->out[(p->out_head + p->out_count) % PTY_OUT_SIZE] = s[i];
    p->out_count++;
  }
}

bool ldisc_output(struct pty *p, uint8_t c) {
  const struct linux_termios *t = tio(p);
  uint8_t buf[8];
  uint32_t n = 0, col = p->column, canon_col = p->canon_column;
  if (!(t->c_oflag & LINUX_OPOST)) {
    buf[n++] = c;
  } else if (c == '\n') {
    if (t->c_oflag & LINUX_ONLRET)
      col = 0;
    if (t->c_oflag & LINUX_ONLCR) {
      buf[n++] = '\r';
      col = 0;
    }
    buf[n++] = '\n';
    canon_col = col;
  } else if (c == '\r') {
    if ((t->c_oflag & LINUX_ONOCR) && col == 0)
      return true;
    if (t->c_oflag & LINUX_OCRNL) {
      buf[n++] = '\n';
      if (t->c_oflag & LINUX_ONLRET)
        canon_col = col = 0;
    } else {
      buf[n++] = '\r';
      canon_col = col = 0;
    }
  } else if (c == '\t') {
    uint32_t spaces = 8 - (col & 7);
    if ((t->c_oflag & LINUX_TABDLY) == LINUX_XTABS)
      while (n < spaces)
        buf[n++] = ' ';
    else
      buf[n++] = '\t';
    col += spaces;
  } else if (c == '\b') {
    if (col > 0)
      col--;
    buf[n++] = c;
  } else {
    if (!is_cntrl(c)) {
      if ((t->c_oflag & LINUX_OLCUC) && c >= 'a' && c <= 'z')
        c = (uint8_t)(c - 'a' + 'A');
      if (!is_continuation(p, c))
        col++;
    }
    buf[n++] = c;
  }
  if (n > PTY_OUT_SIZE - p->out_count)
    return false;
  out_raw(p, buf, n);
  p->column = col;
  p->canon_column = canon_col;
  return true;
}

/* Echoes are dropped when the output is full, as Linux drops them. */
static void echo_raw(struct pty *p, uint8_t c) {
  ldisc_output(p, c);
}

/* A control character echoes as ^X under ECHOCTL (tab excepted). */
static void echo_char(struct pty *p, uint8_t c) {
  if (lflag(p, LINUX_ECHOCTL) && is_cntrl(c) && c != '\t') {
    uint8_t two[2] = {'^', (uint8_t)(c ^ 0100)};
    if (PTY_OUT_SIZE - p->out_count >= 2) {
      out_raw(p, two, 2);
      p->column += 2;
    }
    return;
  }
  echo_raw(p, c);
}

/* ---- input ---- */

uint32_t ldisc_readable(struct pty *p) {
  if (lflag(p, LINUX_ICANON))
    return p->canon_head - p->in_tail;
  return p->in_head - p->in_tail;
}

bool ldisc_input_full(struct pty *p) {
  uint32_t used = p->in_head - p->in_tail;
  if (used < PTY_IN_SIZE - 1)
    return false;
  /* A canonical line that fills the buffer: bytes are dropped (a line
   * end still fits), the writer never waits for a reader who cannot
   * read an incomplete line. */
  if (lflag(p, LINUX_ICANON) && p->canon_head == p->in_tail)
    return false;
  return true;
}

void ldisc_flush_input(struct pty *p) {
  p->in_head = p->in_tail = p->canon_head = 0;
  memset(p->eol, 0, sizeof(p->eol));
  memset(p->eof, 0, sizeof(p->eof));
  p->lnext = false;
}

static void put(struct pty *p, uint8_t c, bool eol, bool eof) {
  uint32_t used = p->in_head - p->in_tail;
  if (used >= PTY_IN_SIZE)
    return;
  if (used >= PTY_IN_SIZE - 1 && lflag(p, LINUX_ICANON) && !eol)
    return; /* keep room for the end of the line */
  p->in[p->in_head % PTY_IN_SIZE] = c;
  set_bit(p->eol, p->in_head, eol);
  set_bit(p->eof, p->in_head, eof);
  p->in_head++;
  if (eol)
    p->canon_head = p->in_head;
}

static uint8_t in_at(struct pty *p, uint32_t i) {
  return p->in[i % PTY_IN_SIZE];
}

/* Erase echo of a tab: back to the column the tab started at, counted
 * from where the line's echo began. */
static void erase_tab(struct pty *p) {
  uint32_t col = p->canon_column;
  for (uint32_t i = p->canon_head; i != p->in_head; i++) {
    uint8_t c = in_at(p, i);
    if (c == '\t')
      col = (col | 7) + 1;
    else if (is_cntrl(c))
      col += lflag(p, LINUX_ECHOCTL) ? 2 : 0;
    else if (!is_continuation(p, c))
      col++;
  }
  while (p->column > col && PTY_OUT_SIZE - p->out_count >= 1) {
    uint8_t b = '\b';
    out_raw(p, &b, 1);
    p->column--;
  }
}

enum { ERASE, WERASE, KILL };

static void erase(struct pty *p, uint8_t c, int kind) {
  if (p->in_head == p->canon_head)
    return;
  if (kind == KILL) {
    if (!lflag(p, LINUX_ECHO)) {
      p->in_head = p->canon_head;
      return;
    }
    if (!lflag(p, LINUX_ECHOK) || !lflag(p, LINUX_ECHOKE) ||
        !lflag(p, LINUX_ECHOE)) {
      p->in_head = p->canon_head;
      echo_char(p, c);
      if (lflag(p, LINUX_ECHOK))
        echo_raw(p, '\n');
      return;
    }
  }
  int seen_alnums = 0;
  while (p->in_head != p->canon_head) {
    uint32_t head = p->in_head - 1;
    uint8_t ch = in_at(p, head);
    /* a UTF-8 character goes whole */
    while (is_continuation(p, ch) && head != p->canon_head)
      ch = in_at(p, --head);
    if (kind == WERASE) {
      bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_';
      if (alnum)
        seen_alnums++;
      else if (seen_alnums)
        break;
    }
    p->in_head = head;
    if (lflag(p, LINUX_ECHO)) {
      if (kind == ERASE && !lflag(p, LINUX_ECHOE)) {
        echo_char(p, c);
      } else if (ch == '\t') {
        erase_tab(p);
      } else {
        int times = !is_cntrl(ch) ? 1 : lflag(p, LINUX_ECHOCTL) ? 2 : 0;
        for (int i = 0; i < times; i++) {
          echo_raw(p, '\b');
          echo_raw(p, ' ');
          echo_raw(p, '\b');
        }
      }
    }
    if (kind == ERASE)
      break;
  }
}

static void reprint(struct pty *p, uint8_t c) {
  echo_char(p, c);
  echo_raw(p, '\n');
  for (uint32_t i = p->canon_head; i != p->in_head; i++)
    echo_char(p, in_at(p, i));
}

static void echo_input(struct pty *p, uint8_t c) {
  if (!lflag(p, LINUX_ECHO))
    return;
  if (c == '\n') {
    echo_raw(p, '\n');
    return;
  }
  if (p->canon_head == p->in_head)
    p->canon_column = p->column;
  echo_char(p, c);
}

void ldisc_receive(struct pty *p, uint8_t c, int *sig) {
  *sig = 0;
  if (iflag(p, LINUX_ISTRIP))
    c &= 0x7f;
  if (p->lnext) {
    p->lnext = false;
    echo_input(p, c);
    put(p, c, false, false);
    return;
  }
  if (iflag(p, LINUX_IUCLC) && lflag(p, LINUX_IEXTEN) && c >= 'A' && c <= 'Z')
    c = (uint8_t)(c - 'A' + 'a');
  if (iflag(p, LINUX_IXON)) {
    if (is_cc(p, c, LINUX_VSTOP)) {
      pty_flow(p, true, true);
      return;
    }
    if (is_cc(p, c, LINUX_VSTART)) {
      pty_flow(p, false, true);
      return;
    }
    if (iflag(p, LINUX_IXANY))
      pty_flow(p, false, true);
  }
  if (c == '\r') {
    if (iflag(p, LINUX_IGNCR))
      return;
    if (iflag(p, LINUX_ICRNL))
      c = '\n';
  } else if (c == '\n' && iflag(p, LINUX_INLCR)) {
    c = '\r';
  }
  if (lflag(p, LINUX_ISIG)) {
    int s = is_cc(p, c, LINUX_VINTR)   ? LINUX_SIGINT
            : is_cc(p, c, LINUX_VQUIT) ? LINUX_SIGQUIT
            : is_cc(p, c, LINUX_VSUSP) ? LINUX_SIGTSTP
                                       : 0;
    if (s) {
      /* Linux also drops output the master's side has not taken in
       * yet (microseconds' worth, behind a work queue): no equivalent */
      if (!lflag(p, LINUX_NOFLSH)) {
        ldisc_flush_input(p);
        /* Linux also flushes the driver's output (see above): both */
        pty_pkt(p, LINUX_TIOCPKT_FLUSHREAD | LINUX_TIOCPKT_FLUSHWRITE, 0);
      }
      if (iflag(p, LINUX_IXON))
        pty_flow(p, false, true);
      if (lflag(p, LINUX_ECHO))
        echo_char(p, c);
      *sig = s;
      return;
    }
  }
  if (lflag(p, LINUX_ICANON)) {
    if (is_cc(p, c, LINUX_VERASE)) {
      erase(p, c, ERASE);
      return;
    }
    if (is_cc(p, c, LINUX_VKILL)) {
      erase(p, c, KILL);
      return;
    }
    if (is_cc(p, c, LINUX_VWERASE) && lflag(p, LINUX_IEXTEN)) {
      erase(p, c, WERASE);
      return;
    }
    if (is_cc(p, c, LINUX_VLNEXT) && lflag(p, LINUX_IEXTEN)) {
      p->lnext = true;
      if (lflag(p, LINUX_ECHO) && lflag(p, LINUX_ECHOCTL) &&
          PTY_OUT_SIZE - p->out_count >= 2) {
        out_raw(p, (const uint8_t *)"^\b", 2);
      }
      return;
    }
    if (is_cc(p, c, LINUX_VREPRINT) && lflag(p, LINUX_ECHO) &&
        lflag(p, LINUX_IEXTEN)) {
      reprint(p, c);
      return;
    }
    if (c == '\n') {
      if (lflag(p, LINUX_ECHO) || lflag(p, LINUX_ECHONL))
        echo_raw(p, '\n');
      put(p, c, true, false);
      return;
    }
    if (is_cc(p, c, LINUX_VEOF)) {
      put(p, c, true, true); /* ends the line, never echoed or read */
      return;
    }
    if (is_cc(p, c, LINUX_VEOL) ||
        (is_cc(p, c, LINUX_VEOL2) && lflag(p, LINUX_IEXTEN))) {
      echo_input(p, c);
      put(p, c, true, false);
      return;
    }
  }
  echo_input(p, c);
  put(p, c, false, false);
}

void ldisc_termios_changed(struct pty *p, const struct linux_termios *old) {
  if (((old->c_lflag ^ p->tio.c_lflag) & LINUX_ICANON) == 0)
    return;
  memset(p->eol, 0, sizeof(p->eol));
  memset(p->eof, 0, sizeof(p->eof));
  if (!lflag(p, LINUX_ICANON) || p->in_head == p->in_tail) {
    p->canon_head = p->in_tail;
  } else {
    /* what was typed raw becomes one line */
    set_bit(p->eol, p->in_head - 1, true);
    p->canon_head = p->in_head;
  }
  p->lnext = false;
}
