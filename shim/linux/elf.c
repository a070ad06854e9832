/* The ELF loader of the Linux shim: validates an executable (every header
 * field the loader relies on, every offset and size against the file and
 * the guest window) and maps it into the guest through the core's
 * moat_mmap, as private file mappings of the file's pages (shared with
 * every process running it until written) and zero-filling the bss. A dynamic
 * program's PT_INTERP interpreter is loaded the same way at its own base.
 * The file is untrusted input: nothing is used before it is checked. */
#include "elf.h"
#include "shim.h"

#define PAGE LINUX_PAGE_SIZE
#define ELF_PHDRS_MAX_BYTES 65536

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t whylen, int err, const char *fmt, ...) {
  va_list ap;
  if (why && whylen) {
    va_start(ap, fmt);
    rt_vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return err;
}

#define NOEXEC(...) fail(why, whylen, -LINUX_ENOEXEC, __VA_ARGS__)

/* ---- checks ------------------------------------------------------------- */

static int check_ehdr(const struct elf64_ehdr *eh, uint64_t fsize,
                      struct linux_elf_info *info, char *why, size_t whylen) {
  uint64_t phbytes;

  if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' ||
      eh->e_ident[2] != 'L' || eh->e_ident[3] != 'F')
    return NOEXEC("not an ELF executable");
  if (eh->e_ident[ELF_EI_CLASS] != ELF_CLASS64)
    return NOEXEC("wrong architecture (not a 64-bit ELF file)");
  if (eh->e_ident[ELF_EI_DATA] != ELF_DATA2LSB)
    return NOEXEC("wrong architecture (not a little-endian ELF file)");
  if (eh->e_machine != ELF_EM_X86_64)
    return NOEXEC("wrong architecture (ELF machine %u, not x86-64)",
                  eh->e_machine);
  if (eh->e_ident[ELF_EI_VERSION] != ELF_EV_CURRENT ||
      eh->e_version != ELF_EV_CURRENT)
    return NOEXEC("malformed ELF file: unknown ELF version");
  if (eh->e_type != ELF_ET_EXEC && eh->e_type != ELF_ET_DYN)
    return NOEXEC("not an executable ELF file (type %u)", eh->e_type);
  if (eh->e_phentsize != sizeof(struct elf64_phdr))
    return NOEXEC("malformed ELF file: program header size %u",
                  eh->e_phentsize);
  phbytes = (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr);
  if (eh->e_phnum == 0 || phbytes > ELF_PHDRS_MAX_BYTES)
    return NOEXEC("malformed ELF file: %u program headers", eh->e_phnum);
  if (eh->e_phoff > fsize || phbytes > fsize - eh->e_phoff)
    return NOEXEC("truncated ELF file: program headers past the end");
  if (eh->e_phoff % 8)
    return NOEXEC("malformed ELF file: misaligned program headers");
  memset(info, 0, sizeof(*info));
  info->type = eh->e_type;
  info->entry = eh->e_entry;
  info->phoff = eh->e_phoff;
  info->phnum = eh->e_phnum;
  return 0;
}

static int check_phdrs(const struct elf64_phdr *ph, uint64_t fsize,
                       struct linux_elf_info *info, char *why, size_t whylen) {
  uint64_t lo = UINT64_MAX, hi = 0;
  uint64_t phbytes = (uint64_t)info->phnum * sizeof(*ph);
  bool entry_ok = false;
  int nload = 0;

  for (unsigned i = 0; i < info->phnum; i++) {
    const struct elf64_phdr *p = &ph[i];
    switch (p->p_type) {
    case ELF_PT_LOAD: {
      uint64_t start, end;
      if (p->p_filesz > p->p_memsz)
        return NOEXEC("malformed ELF file: segment %u has more file bytes "
                      "than memory",
                      i);
      if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
        return NOEXEC("truncated ELF file: segment %u past the end", i);
      if (p->p_align > 1 && (p->p_align & (p->p_align - 1)))
        return NOEXEC("malformed ELF file: segment %u alignment", i);
      if ((p->p_vaddr - p->p_offset) % PAGE)
        return NOEXEC("malformed ELF file: segment %u is misaligned", i);
      if (p->p_memsz == 0)
        break;
      if (p->p_vaddr + p->p_memsz < p->p_vaddr ||
          p->p_vaddr + p->p_memsz > UINT64_MAX - PAGE)
        return NOEXEC("malformed ELF file: segment %u wraps around", i);
      start = ALIGN_DOWN(p->p_vaddr, PAGE);
      end = ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE);
      lo = MIN(lo, start);
      hi = MAX(hi, end);
      if ((p->p_flags & ELF_PF_X) && info->entry >= p->p_vaddr &&
          info->entry - p->p_vaddr < p->p_memsz)
        entry_ok = true;
      /* The program headers in memory, when no PT_PHDR says where. */
      if (!info->phdr && p->p_offset <= info->phoff &&
          info->phoff - p->p_offset <= p->p_filesz &&
          phbytes <= p->p_filesz - (info->phoff - p->p_offset))
        info->phdr = p->p_vaddr + (info->phoff - p->p_offset);
      nload++;
      break;
    }
    case ELF_PT_INTERP:
      if (info->has_interp)
        return NOEXEC("malformed ELF file: two interpreters");
      if (p->p_filesz < 2 || p->p_filesz > LINUX_PATH_MAX)
        return NOEXEC("malformed ELF file: interpreter path length");
      if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset)
        return NOEXEC("truncated ELF file: interpreter path past the end");
      info->has_interp = true;
      info->interp_off = p->p_offset;
      info->interp_len = p->p_filesz - 1;
      break;
    case ELF_PT_PHDR:
      info->phdr = p->p_vaddr;
      break;
    case ELF_PT_GNU_STACK:
      info->exec_stack = (p->p_flags & ELF_PF_X) != 0;
      break;
    default:
      break;
    }
  }
  if (!nload)
    return NOEXEC("malformed ELF file: nothing to load");
  if (!entry_ok)
    return NOEXEC("malformed ELF file: entry point 0x%llx outside the code",
                  (unsigned long long)info->entry);
  if (info->type == ELF_ET_EXEC) {
    if (lo < LINUX_WINDOW_LO || hi > LINUX_WINDOW_HI)
      return NOEXEC("ELF file wants addresses outside the sandbox "
                    "(0x%llx-0x%llx)",
                    (unsigned long long)lo, (unsigned long long)hi);
  } else if (hi - lo > LINUX_DYN_SPAN_MAX) {
    return NOEXEC("ELF file too large (%llu bytes of address space)",
                  (unsigned long long)(hi - lo));
  }
  info->lo = lo;
  info->hi = hi;
  return 0;
}

/* The interpreter path must be one NUL-terminated string. */
static int check_interp(const char *s, uint64_t len, char *why, size_t whylen) {
  if (s[len] != 0 || rt_strnlen(s, len) != len)
    return NOEXEC("malformed ELF file: interpreter path is not a string");
  return 0;
}

int linux_elf_parse(const void *file, size_t size, struct linux_elf_info *out,
                    char *why, size_t whylen) {
  struct elf64_ehdr eh;
  const struct elf64_phdr *ph;
  int err;

  if (size >= 2 && ((const char *)file)[0] == '#' &&
      ((const char *)file)[1] == '!')
    return NOEXEC("scripts need an interpreter, not supported yet");
  if (size < 4 || memcmp(file,
                         "\x7f"
                         "ELF",
                         4) != 0)
    return NOEXEC("not an ELF executable");
  if (size < sizeof(eh))
    return NOEXEC("truncated ELF file: %zu bytes", size);
  memcpy(&eh, file, sizeof(eh));
  err = check_ehdr(&eh, size, out, why, whylen);
  if (err < 0)
    return err;
  /* e_phoff is 8-aligned and within the file: the headers can be read in
   * place as long as the buffer itself is aligned; copy when it is not. */
  if (((uintptr_t)file + eh.e_phoff) % 8) {
    struct elf64_phdr tmp[ELF_PHDRS_MAX_BYTES / sizeof(struct elf64_phdr)];
    memcpy(tmp, (const char *)file + eh.e_phoff,
           (size_t)eh.e_phnum * sizeof(*tmp));
    err = check_phdrs(tmp, size, out, why, whylen);
  } else {
    ph = (const struct elf64_phdr *)((const char *)file + eh.e_phoff);
    err = check_phdrs(ph, size, out, why, whylen);
  }
  if (err < 0)
    return err;
  if (out->has_interp)
    return check_interp((const char *)file + out->interp_off, out->interp_len,
                        why, whylen);
  return 0;
}

/* ---- scripts --------------------------------------------------------------
 */

static bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

int linux_script_parse(const char *head, size_t len, char *interp, char *arg) {
  size_t i = 2, n;

  if (len < 2 || head[0] != '#' || head[1] != '!')
    return 0;
  len = MIN(len, (size_t)LINUX_BINPRM_BUF);
  /* Like Linux: the line ends at a newline or at the end of the buffer,
   * the interpreter is the first word and everything after it (trimmed)
   * is one argument. */
  while (i < len && is_blank(head[i]))
    i++;
  n = 0;
  while (i < len && head[i] && head[i] != '\n' && !is_blank(head[i]) &&
         n < LINUX_BINPRM_BUF - 1)
    interp[n++] = head[i++];
  interp[n] = 0;
  if (!n)
    return -LINUX_ENOEXEC;
  while (i < len && is_blank(head[i]))
    i++;
  n = 0;
  while (i < len && head[i] && head[i] != '\n' && n < LINUX_BINPRM_BUF - 1)
    arg[n++] = head[i++];
  while (n && is_blank(arg[n - 1]))
    n--;
  arg[n] = 0;
  return 1;
}

/* ---- loading --------------------------------------------------------------
 */

static long read_exact(int fd, void *buf, size_t len, uint64_t off) {
  size_t done = 0;
  while (done < len) {
    long n =
        moat_pread(fd, (char *)buf + done, len - done, (int64_t)(off + done));
    if (n < 0)
      return n;
    if (n == 0 || (size_t)n > len - done)
      return -LINUX_EIO;
    done += (size_t)n;
  }
  return 0;
}

static int prot_of(uint32_t flags) {
  int prot = 0;
  if (flags & ELF_PF_R)
    prot |= LINUX_PROT_READ;
  if (flags & ELF_PF_W)
    prot |= LINUX_PROT_WRITE;
  if (flags & ELF_PF_X)
    prot |= LINUX_PROT_EXEC;
  return prot;
}

/* Does any other PT_LOAD segment cover [start, end)? Then the head of a
 * segment's first page belongs to it and must not be overwritten. */
static bool covered_by_other(const struct elf64_phdr *ph, unsigned n,
                             unsigned self, uint64_t start, uint64_t end) {
  for (unsigned i = 0; i < n; i++) {
    if (i == self || ph[i].p_type != ELF_PT_LOAD || !ph[i].p_memsz)
      continue;
    if (ph[i].p_vaddr < end && ph[i].p_vaddr + ph[i].p_memsz > start)
      return true;
  }
  return false;
}

/* The protection of one page: the union over the segments touching it. */
static int page_prot(const struct elf64_phdr *ph, unsigned n, uint64_t page) {
  int prot = 0;
  for (unsigned i = 0; i < n; i++) {
    if (ph[i].p_type != ELF_PT_LOAD || !ph[i].p_memsz)
      continue;
    if (ALIGN_DOWN(ph[i].p_vaddr, PAGE) <= page &&
        ALIGN_UP(ph[i].p_vaddr + ph[i].p_memsz, PAGE) > page)
      prot |= prot_of(ph[i].p_flags);
  }
  return prot;
}

/* May segment i be a mapping of its file pages (as Linux maps it)? Its
 * address and offset must agree within a page, and no other segment may
 * touch its pages (such a shared page is a copy, filled from both). */
static bool file_mappable(const struct elf64_phdr *ph, unsigned n,
                          unsigned self) {
  const struct elf64_phdr *p = &ph[self];
  if (p->p_vaddr % PAGE != p->p_offset % PAGE)
    return false;
  uint64_t start = ALIGN_DOWN(p->p_vaddr, PAGE);
  uint64_t end = ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE);
  for (unsigned i = 0; i < n; i++) {
    if (i == self || ph[i].p_type != ELF_PT_LOAD || !ph[i].p_memsz)
      continue;
    if (ALIGN_DOWN(ph[i].p_vaddr, PAGE) < end &&
        ALIGN_UP(ph[i].p_vaddr + ph[i].p_memsz, PAGE) > start)
      return false;
  }
  return true;
}

/* Map the checked segments at bias: one anonymous read-write mapping over
 * the whole span (bss and gaps stay zero), then each segment's file pages
 * as a private file mapping over it (copy-on-write views of the page
 * cache, so every process running the program shares its text), the
 * bytes of its last file page past p_filesz zeroed when bss follows, as
 * Linux's padzero; a segment that shares a page with another gets its
 * bytes copied in instead. Then each segment's own protection; gaps
 * become PROT_NONE. */
static int map_segments(int fd, const struct elf64_phdr *ph,
                        const struct linux_elf_info *info, uint64_t bias,
                        char *why, size_t whylen) {
  long r;
  int err;

  r = moat_mmap(info->lo + bias, (size_t)(info->hi - info->lo),
                LINUX_PROT_READ | LINUX_PROT_WRITE,
                LINUX_MAP_FIXED | LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS, -1,
                0);
  if (r < 0)
    return fail(why, whylen, (int)r, "cannot map the program (%s)",
                shim_errno_text((int)-r));
  for (unsigned i = 0; i < info->phnum; i++) {
    const struct elf64_phdr *p = &ph[i];
    uint64_t vaddr, off, len, head;
    if (p->p_type != ELF_PT_LOAD || !p->p_memsz || !p->p_filesz)
      continue;
    if (file_mappable(ph, info->phnum, i)) {
      uint64_t start = ALIGN_DOWN(p->p_vaddr, PAGE);
      uint64_t fend = p->p_vaddr + p->p_filesz;
      r = moat_mmap(start + bias, (size_t)(ALIGN_UP(fend, PAGE) - start),
                    LINUX_PROT_READ | LINUX_PROT_WRITE,
                    LINUX_MAP_FIXED | LINUX_MAP_PRIVATE, fd,
                    (int64_t)(p->p_offset - (p->p_vaddr - start)));
      if (r >= 0) {
        /* guest memory: through the user-copy routine (SMAP) */
        if (p->p_memsz > p->p_filesz && fend % PAGE &&
            rt_ufill((void *)(uintptr_t)(fend + bias), 0,
                     (size_t)(ALIGN_UP(fend, PAGE) - fend)))
          return fail(why, whylen, -LINUX_EFAULT,
                      "cannot clear the end of segment %u", i);
        continue;
      }
      /* Not mappable after all (a file system without mappings): copy. */
      r = moat_mmap(start + bias, (size_t)(ALIGN_UP(fend, PAGE) - start),
                    LINUX_PROT_READ | LINUX_PROT_WRITE,
                    LINUX_MAP_FIXED | LINUX_MAP_PRIVATE | LINUX_MAP_ANONYMOUS,
                    -1, 0);
      if (r < 0)
        return fail(why, whylen, (int)r, "cannot map the program (%s)",
                    shim_errno_text((int)-r));
    }
    /* Linux maps whole file pages, so the bytes before p_vaddr in its
     * first page are file bytes too (the ELF header, typically). */
    head = p->p_vaddr % PAGE;
    if (head > p->p_offset ||
        covered_by_other(ph, info->phnum, i, p->p_vaddr - head, p->p_vaddr))
      head = 0;
    vaddr = p->p_vaddr - head + bias;
    off = p->p_offset - head;
    len = p->p_filesz + head;
    err = (int)read_exact(fd, (void *)(uintptr_t)vaddr, (size_t)len, off);
    if (err < 0)
      return fail(why, whylen, -LINUX_ENOEXEC,
                  "cannot read the program's segment %u (%s)", i,
                  shim_errno_text(-err));
  }
  err = moat_mprotect(info->lo + bias, (size_t)(info->hi - info->lo),
                      LINUX_PROT_NONE);
  for (unsigned i = 0; !err && i < info->phnum; i++) {
    const struct elf64_phdr *p = &ph[i];
    uint64_t start, end;
    if (p->p_type != ELF_PT_LOAD || !p->p_memsz)
      continue;
    start = ALIGN_DOWN(p->p_vaddr, PAGE);
    end = ALIGN_UP(p->p_vaddr + p->p_memsz, PAGE);
    err =
        moat_mprotect(start + bias, (size_t)(end - start), prot_of(p->p_flags));
    /* Pages shared with another segment get both protections. */
    if (!err)
      err =
          moat_mprotect(start + bias, PAGE, page_prot(ph, info->phnum, start));
    if (!err)
      err = moat_mprotect(end - PAGE + bias, PAGE,
                          page_prot(ph, info->phnum, end - PAGE));
  }
  if (err < 0)
    return fail(why, whylen, err, "cannot protect the program (%s)",
                shim_errno_text(-err));
  return 0;
}

/* Open, check and map one ELF file. interp_out (NULL for an interpreter,
 * which may not have one itself) receives the PT_INTERP path. who, when
 * not NULL, goes in front of the reason ("interpreter /lib/ld.so"); the
 * runner already names the program itself. */
static int load_one(const char *path, const char *who, bool map,
                    uint64_t dyn_base, const uint64_t avoid[2],
                    struct linux_elf_info *info, uint64_t *bias_out,
                    char *interp_out, char *why, size_t whylen) {
  struct elf64_ehdr eh;
  struct elf64_phdr *ph = NULL;
  struct linux_stat st;
  char head[LINUX_BINPRM_BUF];
  uint64_t bias = 0;
  size_t headlen;
  int fd, err;

  fd = moat_open_exec(path, true);
  if (fd < 0) {
    err = fd;
    if (err == -LINUX_ENOENT)
      fail(why, whylen, err, "not found");
    else if (err == -LINUX_EACCES)
      fail(why, whylen, err, "permission denied");
    else
      fail(why, whylen, err, "%s", shim_errno_text(-err));
    goto prefix_only;
  }
  err = moat_fstat(fd, &st);
  if (err < 0) {
    fail(why, whylen, err, "%s", shim_errno_text(-err));
    goto out;
  }
  if (!LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFREG)) {
    err =
        fail(why, whylen, -LINUX_EACCES, "%s",
             LINUX_S_ISTYPE(st.st_mode, LINUX_S_IFDIR) ? "is a directory"
                                                       : "not a regular file");
    goto out;
  }
  if (st.st_size < 0) {
    err = NOEXEC("bad file size");
    goto out;
  }
  headlen = (size_t)MIN((uint64_t)st.st_size, sizeof(head));
  err = (int)read_exact(fd, head, headlen, 0);
  if (err < 0) {
    fail(why, whylen, err, "%s", shim_errno_text(-err));
    goto out;
  }
  if (headlen >= 2 && head[0] == '#' && head[1] == '!') {
    err = NOEXEC("scripts need an interpreter, not supported yet");
    goto out;
  }
  if (headlen < 4 || memcmp(head,
                            "\x7f"
                            "ELF",
                            4) != 0) {
    err = NOEXEC("not an ELF executable");
    goto out;
  }
  if (headlen < sizeof(eh)) {
    err = NOEXEC("truncated ELF file");
    goto out;
  }
  memcpy(&eh, head, sizeof(eh));
  err = check_ehdr(&eh, (uint64_t)st.st_size, info, why, whylen);
  if (err < 0)
    goto out;
  ph = kmalloc((size_t)eh.e_phnum * sizeof(*ph));
  if (!ph) {
    err = fail(why, whylen, -LINUX_ENOMEM, "out of memory");
    goto out;
  }
  err = (int)read_exact(fd, ph, (size_t)eh.e_phnum * sizeof(*ph), eh.e_phoff);
  if (err < 0) {
    err = NOEXEC("cannot read the program headers");
    goto out;
  }
  err = check_phdrs(ph, (uint64_t)st.st_size, info, why, whylen);
  if (err < 0)
    goto out;
  if (info->has_interp) {
    if (!interp_out) {
      err = NOEXEC("an interpreter cannot have an interpreter");
      goto out;
    }
    err = (int)read_exact(fd, interp_out, (size_t)info->interp_len + 1,
                          info->interp_off);
    if (err < 0) {
      err = NOEXEC("cannot read the interpreter path");
      goto out;
    }
    err = check_interp(interp_out, info->interp_len, why, whylen);
    if (err < 0)
      goto out;
  }
  if (info->type == ELF_ET_DYN)
    bias = dyn_base - info->lo;
  if (info->hi + bias > moat_stack_top() - LINUX_STACK_MAX) {
    err = NOEXEC("the program overlaps the stack");
    goto out;
  }
  /* A fixed-address interpreter must not land on the program. */
  if (avoid && info->lo + bias < avoid[1] && info->hi + bias > avoid[0]) {
    err = NOEXEC("it overlaps the program");
    goto out;
  }
  if (map) {
    err = map_segments(fd, ph, info, bias, why, whylen);
    if (err < 0)
      goto out;
  }
  *bias_out = bias;
out:
  kfree(ph);
  moat_close(fd);
prefix_only:
  /* Say which file the reason is about when it is not the program. */
  if (err < 0 && who && why && whylen) {
    char reason[160];
    rt_strlcpy(reason, why, sizeof(reason));
    rt_snprintf(why, whylen, "%s: %s", who, reason);
  }
  return err;
}

/* Load (map) or only check a program and its interpreter. */
static int load_program(const char *path, bool map, struct linux_image *out,
                        char *why, size_t whylen) {
  struct linux_elf_info prog, interp;
  uint64_t bias = 0, ibias = 0;
  int err;

  memset(out, 0, sizeof(*out));
  err = load_one(path, NULL, map, LINUX_PROGRAM_BASE, NULL, &prog, &bias,
                 out->interp, why, whylen);
  if (err < 0)
    return err;
  out->prog_entry = prog.entry + bias;
  out->entry = out->prog_entry;
  out->phdr = prog.phdr ? prog.phdr + bias : 0;
  out->phent = sizeof(struct elf64_phdr);
  out->phnum = prog.phnum;
  out->brk = prog.hi + bias;
  out->exec_stack = prog.exec_stack;
  if (!prog.has_interp) {
    out->interp[0] = 0;
    return 0;
  }
  {
    static char who[LINUX_PATH_MAX + 16];
    rt_snprintf(who, sizeof(who), "interpreter %s", out->interp);
    const uint64_t avoid[2] = {prog.lo + bias, prog.hi + bias};
    err = load_one(out->interp, who, map, LINUX_INTERP_BASE, avoid, &interp,
                   &ibias, NULL, why, whylen);
  }
  if (err < 0) {
    /* A missing interpreter reads as "not found", as on Linux; anything
     * else wrong with it is a bad interpreter. */
    return err == -LINUX_ENOENT || err == -LINUX_ENOMEM ? err : -LINUX_ELIBBAD;
  }
  out->interp_base = interp.type == ELF_ET_DYN ? ibias + interp.lo : 0;
  out->entry = interp.entry + ibias;
  return 0;
}

int linux_elf_load(const char *path, struct linux_image *out, char *why,
                   size_t whylen) {
  return load_program(path, true, out, why, whylen);
}

int linux_elf_check(const char *path, struct linux_image *out, char *why,
                    size_t whylen) {
  return load_program(path, false, out, why, whylen);
}
