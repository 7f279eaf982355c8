// The contract between the Node-API glue (binding.c) and the mappings (mapping.c, over one platform
// file: posix.c or win32.c, which binding.gyp picks at build time; platform.h). The glue never
// includes a system header of its own.
//
// Errors: every fallible function returns 0, or a negative error number in libuv's numbering
// (on POSIX that is -errno, on Windows the translation of GetLastError()) and sets `m->syscall`
// to the call that failed. Nobody here calls libuv on POSIX: Bun and Deno do not provide it. The
// glue throws the number as `errno`; src/native/backend.ts names it ('ENOENT', 'no such file or
// directory') from the runtime's own table. mf_open also returns one of the positive MF_E* codes
// below for a window that does not fit, so that the glue can report it with the file's size.
//
// A region is what one map/alloc gave: the OS mapping at `base` (aligned), of which the view is
// `[base + delta, base + delta + length)`. A region whose length is 0 maps nothing (base NULL).
// mf_init() sets every field to an invalid marker, so mf_close() is safe on any state and twice.

#ifndef MMAPFILE_MAPPING_H
#define MMAPFILE_MAPPING_H

#include <stddef.h>
#include <stdint.h>

enum { MF_READ = 0, MF_WRITE = 1, MF_CREATE = 2 };                  /* mf_open modes */
enum { MF_SPARSE = 1 };                                               /* mf_open flags */
enum { MF_NONE = 0, MF_ANON = 1, MF_PRIVATE = 2, MF_SHARED = 3 };   /* mf_map_t.kind */
enum { MF_NORMAL = 0, MF_SEQUENTIAL, MF_RANDOM, MF_WILLNEED, MF_DONTNEED }; /* mf_advise */

#define MF_EOFFSET 1 /* offset > file size */
#define MF_EWINDOW 2 /* offset + length > file size */
#define MF_ETOOBIG 3 /* window > max bytes */

#define MF_NO_FILE ((intptr_t) -1)

/* The errors the glue raises itself, in the platform's numbering (posix.c: -ENOMEM, -ECANCELED). */
extern const int MF_ENOMEM;
extern const int MF_ECANCELED;

typedef struct {
  int kind;            /* MF_ANON (alloc), MF_PRIVATE ('r'), MF_SHARED ('rw', create) */
  int created;         /* mf_open created the file (so a failure after it removes the file) */
  int emptied;         /* set with a failure of MF_CREATE after it emptied an existing file */
  int sparse;          /* MF_SPARSE: reserve no disk blocks for the window (see mf_open) */
  int redirty;         /* an msync failed: mark the resident pages dirty again before the next one */
  char *base;          /* start of the OS mapping; NULL when nothing is mapped */
  size_t delta;        /* the view starts at base + delta (file offset minus the aligned offset) */
  size_t length;       /* the view's bytes */
  int64_t offset;      /* the view's file offset (0 for MF_ANON) */
  intptr_t file;       /* descriptor / HANDLE, kept open for MF_SHARED only; MF_NO_FILE otherwise */
  const char *syscall; /* set with a failure: 'open', 'mmap', ... */
  uint64_t dev, ino;   /* the file's identity (st_dev, st_ino; on Windows volume serial, file index) */
  void *reg;           /* its entry in the registry (below); NULL in copies that own nothing */
} mf_map_t;

void mf_init(mf_map_t *m);

/* From the platform file. A bound on the largest region this process can map: the user address
 * space (2^47 on 64-bit POSIX, the span of user addresses on Windows), or what RLIMIT_AS leaves.
 * Costs next to nothing: probing the free address space took minutes under qemu-user and Wine.
 * A larger map fails (ENOMEM). */
size_t mf_max_map(void);
size_t mf_page_size(void);

/* Opens `path`, checks that the window fits (length -1: to the end of the file; for MF_CREATE,
 * `length` is the new size), maps it and keeps the file only for MF_WRITE and MF_CREATE. On
 * MF_E*, *file_size is the file's size. On failure nothing is left behind: no descriptor, no
 * mapping, and no file that this call created; an existing file is as it was, or, if MF_CREATE had
 * to empty it first, empty (m->emptied says so).
 * Disk space: a write to a page of a shared mapping whose block the file system cannot allocate
 * kills the process (SIGBUS), so MF_WRITE and MF_CREATE reserve the window's blocks (ENOSPC here
 * instead), and resize reserves what it adds, unless `flags` has MF_SPARSE. Reserving keeps the
 * contents; a file system that cannot reserve (no fallocate) is left as it is. On copy-on-write file
 * systems (btrfs, ZFS) a reservation does not cover overwrites. */
int mf_open(mf_map_t *m, const char *path, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size);
/* As mf_open, for the caller's open descriptor `fd` (MF_READ or MF_WRITE): the mapping works on a
 * duplicate of it (POSIX: F_DUPFD_CLOEXEC; Windows: the HANDLE of the runtime's C descriptor, through
 * libuv, duplicated), never on `fd` itself, so that closing `fd` leaves the mapping whole and a file
 * that later takes its number never receives our write-back. The descriptor's access decides, as
 * mmap(2) would but also for an empty window: MF_READ needs read access, MF_WRITE read and write
 * access and no append-only mode (a mapping writes in place); EACCES otherwise; EBADF for what is not
 * an open descriptor. On failure the duplicate is closed and `fd` is as it was. */
int mf_open_fd(mf_map_t *m, int fd, int mode, int flags, int64_t offset, int64_t length, int64_t max, int64_t *file_size);
/* Zero-filled anonymous memory. */
int mf_alloc(mf_map_t *m, size_t length);
/* Writes back [offset, offset + length) of the view (clamped to it) and makes it durable.
 * Touches no field but `syscall` and `redirty`, so a worker thread may call it on a copy of the
 * struct (the glue carries a failure's `redirty` back). After a failed write-back Linux may have
 * marked the pages clean without writing them, so that a second msync succeeds without them: the
 * next mf_sync after a failure first writes every resident page's first byte back to itself. */
int mf_sync(mf_map_t *m, size_t offset, size_t length);
/* Makes [offset, offset + length) of the view (clamped to it) visible to every other reader of the
 * file (other processes, read(2)) without waiting for the disk: POSIX msync(MS_ASYNC), Windows
 * FlushViewOfFile without FlushFileBuffers. Touches no field but `syscall`. */
int mf_flush(mf_map_t *m, size_t offset, size_t length);
/* Of the pages holding view bytes [offset, offset + length) (clamped to the view): how many are in
 * memory now (*resident) and how many there are (*pages). POSIX mincore, Windows QueryWorkingSetEx. */
int mf_incore(mf_map_t *m, size_t offset, size_t length, uint64_t *resident, uint64_t *pages);
/* A hint for the pages holding view bytes [offset, offset + length) (clamped to the view). */
int mf_advise(mf_map_t *m, int advice, size_t offset, size_t length);
/* Resizes an MF_SHARED or MF_ANON region to `length` bytes of view (a file to offset + length),
 * keeping what fits and zero-filling growth. If `old` is not NULL, the previous region must stay
 * mapped (a sync runs on it): it is moved to *old, to be released later with mf_unmap(). On failure
 * *m is unchanged, except when the platform could not restore the old view at its address: then
 * m->base is NULL and m->length 0 (only possible on Windows; the glue treats the mapping as closed). */
int mf_resize(mf_map_t *m, size_t length, mf_map_t *old);
/* Releases the mapped region only (not the file). Idempotent. */
void mf_unmap(mf_map_t *m);
/* Releases the region and the file. Idempotent. Writes nothing back (the caller syncs first). */
void mf_close(mf_map_t *m);
/* Undoes a successful mf_open whose result cannot be used: mf_close, and removes the file if
 * mf_open created it. */
void mf_abort(mf_map_t *m, const char *path);

/* The registry (native/registry.c): the live file mappings of this process, by file identity, with
 * each one's window end (offset + length; 0 while it maps nothing). Touching a mapped page past the
 * end of its file kills the process (SIGBUS), so no call here cuts a file under another live mapping:
 * mf_open(MF_CREATE) of a file with another non-empty mapping, and mf_resize below another mapping's
 * window end, fail with EBUSY and change nothing. mf_open registers every file mapping it makes,
 * mf_resize updates the end, mf_unmap removes it; each checks and changes the file's size under the
 * lock, and mf_open reads the size and maps under it, so worker threads cannot slip in between.
 * Only what this addon mapped in this process counts: not other processes, nor fs.truncate. */
void mf_registry_lock(void);
void mf_registry_unlock(void);
/* Under the lock: the largest window end among the other mappings of m's file (m->dev, m->ino); 0 if none. */
int64_t mf_registry_end(const mf_map_t *m);
/* Under the lock: registers m with its current end; -1 if out of memory. */
int mf_registry_add(mf_map_t *m);
/* Under the lock: sets m's entry to m's current end. */
void mf_registry_update(mf_map_t *m);
/* Takes the lock itself: drops m's entry, if it has one. */
void mf_registry_remove(mf_map_t *m);

#endif
