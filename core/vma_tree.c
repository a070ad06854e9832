/* The set of one address space's VMAs: an AVL tree ordered by start
 * address, augmented with the largest free gap of each subtree (as
 * Linux's rb-tree of VMAs was before the maple tree), so that the
 * top-down search for a free range skips every subtree too crowded to
 * hold it. A doubly linked list in address order rides along for the
 * neighbour walks core/mm.c does. A VMA's gap is computed from its
 * predecessor's end, so every change of a predecessor (insert, erase, a
 * moved end) refreshes the successor's path to the root. */
#include "vma.h"

#include <stdbool.h>
#include <stddef.h>

static int height(const struct vma *x) {
  return x ? x->height : 0;
}

static uint64_t gap_from(const struct vma_tree *t, const struct vma *v) {
  return v->prev ? v->prev->end : t->base;
}

static uint64_t gap_of(const struct vma_tree *t, const struct vma *v) {
  uint64_t from = gap_from(t, v);
  return v->start > from ? v->start - from : 0;
}

/* Recompute x's height and max_gap from its children. */
static void update(const struct vma_tree *t, struct vma *x) {
  int hl = height(x->left), hr = height(x->right);
  x->height = 1 + (hl > hr ? hl : hr);
  uint64_t g = gap_of(t, x);
  if (x->left && x->left->max_gap > g)
    g = x->left->max_gap;
  if (x->right && x->right->max_gap > g)
    g = x->right->max_gap;
  x->max_gap = g;
}

static void replace_child(struct vma_tree *t, struct vma *parent,
                          struct vma *old, struct vma *new) {
  if (!parent)
    t->root = new;
  else if (parent->left == old)
    parent->left = new;
  else
    parent->right = new;
  if (new)
    new->parent = parent;
}

static struct vma *rotate_left(struct vma_tree *t, struct vma *x) {
  struct vma *y = x->right;
  replace_child(t, x->parent, x, y);
  x->right = y->left;
  if (y->left)
    y->left->parent = x;
  y->left = x;
  x->parent = y;
  update(t, x);
  update(t, y);
  return y;
}

static struct vma *rotate_right(struct vma_tree *t, struct vma *x) {
  struct vma *y = x->left;
  replace_child(t, x->parent, x, y);
  x->left = y->right;
  if (y->right)
    y->right->parent = x;
  y->right = x;
  x->parent = y;
  update(t, x);
  update(t, y);
  return y;
}

/* Restore the balance and the augmented fields from x up to the root. */
static void fix_up(struct vma_tree *t, struct vma *x) {
  while (x) {
    update(t, x);
    int bf = height(x->left) - height(x->right);
    if (bf > 1) {
      if (height(x->left->left) < height(x->left->right))
        rotate_left(t, x->left);
      x = rotate_right(t, x);
    } else if (bf < -1) {
      if (height(x->right->right) < height(x->right->left))
        rotate_right(t, x->right);
      x = rotate_left(t, x);
    }
    x = x->parent;
  }
}

void vma_tree_init(struct vma_tree *t, uint64_t base, uint64_t top) {
  *t = (struct vma_tree){.base = base, .top = top};
}

struct vma *vma_tree_find(const struct vma_tree *t, uint64_t addr) {
  struct vma *x = t->root, *best = NULL;
  while (x) {
    if (x->end > addr) {
      best = x;
      x = x->left;
    } else {
      x = x->right;
    }
  }
  return best;
}

void vma_tree_insert(struct vma_tree *t, struct vma *n) {
  struct vma *p = NULL, **link = &t->root;
  while (*link) {
    p = *link;
    link = n->start < p->start ? &p->left : &p->right;
  }
  n->left = n->right = NULL;
  n->parent = p;
  n->height = 1;
  *link = n;
  /* A new leaf sits between its parent and the parent's neighbour. */
  if (!p) {
    n->prev = n->next = NULL;
  } else if (link == &p->left) {
    n->next = p;
    n->prev = p->prev;
  } else {
    n->prev = p;
    n->next = p->next;
  }
  if (n->prev)
    n->prev->next = n;
  else
    t->first = n;
  if (n->next)
    n->next->prev = n;
  else
    t->last = n;
  t->count++;
  fix_up(t, n);
  if (n->next)
    fix_up(t, n->next); /* its gap now starts at n's end */
}

void vma_tree_erase(struct vma_tree *t, struct vma *v) {
  struct vma *succ = v->next;
  if (v->prev)
    v->prev->next = v->next;
  else
    t->first = v->next;
  if (v->next)
    v->next->prev = v->prev;
  else
    t->last = v->prev;
  t->count--;
  struct vma *fix;
  if (v->left && v->right) {
    /* The successor (leftmost of the right subtree, no left child) takes
     * v's place. */
    struct vma *s = v->right;
    while (s->left)
      s = s->left;
    if (s->parent != v) {
      fix = s->parent;
      replace_child(t, s->parent, s, s->right);
      s->right = v->right;
      v->right->parent = s;
    } else {
      fix = s;
    }
    s->left = v->left;
    v->left->parent = s;
    replace_child(t, v->parent, v, s);
  } else {
    fix = v->parent;
    replace_child(t, v->parent, v, v->left ? v->left : v->right);
  }
  fix_up(t, fix);
  if (succ)
    fix_up(t, succ); /* its gap now starts at v's predecessor */
  v->prev = v->next = v->left = v->right = v->parent = NULL;
}

void vma_tree_end_changed(struct vma_tree *t, struct vma *v) {
  if (v->next)
    fix_up(t, v->next);
}

/* The highest fit in x's subtree (see vma_tree_gap_top_down); limit >=
 * base + len. Every gap of x's right subtree starts at or above x's end,
 * every gap of its left subtree ends at or below x's gap's start. */
static uint64_t gap_search(const struct vma_tree *t, const struct vma *x,
                           uint64_t len, uint64_t limit) {
  while (x && x->max_gap >= len) {
    if (x->right && x->end <= limit - len) {
      uint64_t r = gap_search(t, x->right, len, limit);
      if (r)
        return r;
    }
    uint64_t from = gap_from(t, x), to = x->start < limit ? x->start : limit;
    if (to > from && to - from >= len)
      return to - len;
    x = x->left;
  }
  return 0;
}

uint64_t vma_tree_gap_top_down(const struct vma_tree *t, uint64_t len,
                               uint64_t limit) {
  if (limit > t->top)
    limit = t->top;
  if (!len || limit < t->base || limit - t->base < len)
    return 0;
  uint64_t from = t->last ? t->last->end : t->base;
  if (limit > from && limit - from >= len)
    return limit - len;
  return gap_search(t, t->root, len, limit);
}

/* In-order walk of x checking every node; *prev is the last node seen. */
static int check_node(const struct vma_tree *t, const struct vma *x,
                      const struct vma **prev, uint64_t *n) {
  if (!x)
    return 0;
  if (x->left && (x->left->parent != x || check_node(t, x->left, prev, n)))
    return -1;
  if (x->prev != *prev || (*prev && (*prev)->next != x))
    return -2;
  if (x->start >= x->end || (*prev && (*prev)->end > x->start) ||
      x->start < t->base || x->end > t->top)
    return -3;
  *prev = x;
  (*n)++;
  if (x->right && (x->right->parent != x || check_node(t, x->right, prev, n)))
    return -1;
  int hl = height(x->left), hr = height(x->right);
  if (x->height != 1 + (hl > hr ? hl : hr) || hl - hr > 1 || hr - hl > 1)
    return -4;
  uint64_t g = gap_of(t, x);
  if (x->left && x->left->max_gap > g)
    g = x->left->max_gap;
  if (x->right && x->right->max_gap > g)
    g = x->right->max_gap;
  return x->max_gap == g ? 0 : -5;
}

int vma_tree_check(const struct vma_tree *t) {
  const struct vma *prev = NULL;
  uint64_t n = 0;
  if (t->root && t->root->parent)
    return -1;
  int err = check_node(t, t->root, &prev, &n);
  if (err)
    return err;
  if (prev != t->last || n != t->count || (t->first && t->first->prev))
    return -6;
  return 0;
}
