/* inotify (core/inotify.c): watches on inodes of the sandbox, kept in the
 * arena so that a change made by any guest process queues its events. The
 * vfs and the file calls report changes here; each call is a single load
 * and a branch while no watch exists. */
#ifndef MOAT_CORE_INOTIFY_H
#define MOAT_CORE_INOTIFY_H

#include "rt.h"

struct inode;
struct file;

#define IN_ACCESS 0x00000001u
#define IN_MODIFY 0x00000002u
#define IN_ATTRIB 0x00000004u
#define IN_CLOSE_WRITE 0x00000008u
#define IN_CLOSE_NOWRITE 0x00000010u
#define IN_OPEN 0x00000020u
#define IN_MOVED_FROM 0x00000040u
#define IN_MOVED_TO 0x00000080u
#define IN_CREATE 0x00000100u
#define IN_DELETE 0x00000200u
#define IN_DELETE_SELF 0x00000400u
#define IN_MOVE_SELF 0x00000800u
#define IN_ALL_EVENTS 0x00000fffu
#define IN_UNMOUNT 0x00002000u
#define IN_Q_OVERFLOW 0x00004000u
#define IN_IGNORED 0x00008000u
#define IN_ONLYDIR 0x01000000u
#define IN_DONT_FOLLOW 0x02000000u
#define IN_EXCL_UNLINK 0x04000000u
#define IN_MASK_CREATE 0x10000000u
#define IN_MASK_ADD 0x20000000u
#define IN_ISDIR 0x40000000u
#define IN_ONESHOT 0x80000000u

#define INOTIFY_MAX_QUEUED 16384u
#define INOTIFY_MAX_INSTANCES 128u
#define INOTIFY_MAX_WATCHES 65536u

/* Is any watch set anywhere in the sandbox (a hint, read without lock)? */
bool inotify_active(void);
/* Has inotify been used since boot (files opened from then on remember
 * their directory and name for their parent's watches)? */
bool inotify_used(void);
/* An event on inode itself (its own watches; IN_ISDIR added for a
 * directory). */
void inotify_inode_event(struct inode *inode, uint32_t mask);
/* An event on child, named name in dir: dir's watches get it with the
 * name, child's own watches without (child may be NULL). */
void inotify_child_event(struct inode *dir, struct inode *child, uint32_t mask,
                         const char *name);
/* A rename: MOVED_FROM in olddir and MOVED_TO in newdir with one cookie,
 * MOVE_SELF on the object. */
void inotify_move(struct inode *olddir, const char *oldname,
                  struct inode *newdir, const char *newname,
                  struct inode *child);
/* The last link of inode is gone: DELETE_SELF, then its watches go
 * (IN_IGNORED). */
void inotify_inode_deleted(struct inode *inode);
/* An event through an open file: its inode and the directory it was
 * opened in (when it was opened while inotify was in use). */
void inotify_file_event(struct file *f, uint32_t mask);

int moat_inotify_init1(int flags);
int moat_inotify_add_watch(int fd, const char *path, uint32_t mask);
int moat_inotify_rm_watch(int fd, int wd);

#endif
