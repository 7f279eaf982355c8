// What mapping.c asks of the system; one platform file answers, posix.c or win32.c (binding.gyp
// picks it). Each function here makes its system calls and nothing more: when to call them, in which
// order, and what a failure undoes is mapping.c's (the create order, the EBUSY rule, resize).
//
// Errors as in mapping.h: 0, or a negative error number in libuv's numbering, with `m->syscall`
// set to the call that failed; `m` is only for that (and, where said, for the fields it names).

#ifndef MMAPFILE_PLATFORM_H
#define MMAPFILE_PLATFORM_H

#include "mapping.h"

/* 1 where a file mapping may reach past the end of its file and the file may be cut or grown while
 * mapped (POSIX): mapping.c then maps before it sizes, and resize keeps the old view until the new
 * one is in place. 0 on Windows, which maps a file no further than its end and cannot cut a mapped
 * file: it sizes first, and resize unmaps, sizes, maps again. */
extern const int pf_maps_past_end;

/* The errors mapping.c raises itself, in the platform's numbering. */
extern const int PF_EBUSY, PF_EINVAL, PF_EISDIR, PF_ENODEV, PF_EBADF;

/* The alignment of a mapping's file offset: the page size on POSIX, 64 KiB on Windows. */
size_t pf_granularity(void);

/* The registry's lock (registry.c). */
void pf_lock(void);
void pf_unlock(void);

/* -ENOMEM where the process is near the kernel's limit on mappings (Linux: vm.max_map_count),
 * leaving room for the JavaScript engine, which aborts the process when it cannot map; 0 otherwise.
 * mapping.c asks before every map. */
int pf_room_for_region(void);

/* Opens `path` for `mode` without truncating it: MF_READ read-only, MF_WRITE read-write, MF_CREATE
 * read-write, created if missing (then m->created = 1). A fifo must not block the open. */
int pf_open(mf_map_t *m, const char *path, int mode, intptr_t *file);
/* A descriptor of our own for the runtime's descriptor `fd` (>= 0), if its access allows `mode`
 * (mapping.h, mf_open_fd): EACCES ('mmap') otherwise, EBADF ('dup') for no open descriptor. On
 * failure nothing of ours stays open. */
int pf_dup(mf_map_t *m, int fd, int mode, intptr_t *file);
void pf_close(intptr_t file);
void pf_unlink(const char *path);

enum { PF_REGULAR, PF_DIRECTORY, PF_OTHER };
typedef struct {
  int type;          /* PF_REGULAR, PF_DIRECTORY, PF_OTHER (fifo, socket, device) */
  int64_t size;      /* PF_REGULAR: bytes */
  uint64_t dev, ino; /* the file's identity (mf_map_t) */
} pf_stat_t;
int pf_stat(mf_map_t *m, intptr_t file, pf_stat_t *st);

/* Sets the file's size (syscall 'ftruncate'). */
int pf_set_size(mf_map_t *m, intptr_t file, int64_t size);
/* Reserves the disk blocks of [offset, offset + length), keeping contents and size; 0 where the file
 * system cannot reserve, or needs no reservation (Windows allocates as a file grows). */
int pf_reserve(mf_map_t *m, intptr_t file, int64_t offset, int64_t length);
/* Makes bytes [from, to) of the file, whose size is `size`, read as zeros, the size unchanged; every
 * byte of [to, size) reads as zero already, and no view maps [from, size) unless pf_maps_past_end.
 * 0 (m->sparse: blocks may be left unreserved), 1 where it cannot (the caller zeros them through its
 * mapping), or an error. */
int pf_zero(mf_map_t *m, intptr_t file, int64_t from, int64_t to, int64_t size);

/* Maps `size` bytes of the file from `start` (a multiple of pf_granularity()), copy-on-write if
 * `copy` (MF_PRIVATE), else shared; at `at` if the platform can (Windows; where a region must come
 * back at its address), anywhere if `at` is NULL. */
int pf_map(mf_map_t *m, intptr_t file, int copy, int64_t start, size_t size, void *at, char **base);
/* Zero-filled anonymous memory of `size` bytes. */
int pf_alloc(mf_map_t *m, size_t size, char **base);
/* Moves or resizes the anonymous region `base` (of `size` bytes) to `to` bytes, keeping its contents;
 * 1 where the platform cannot (mapping.c then copies into a new region). */
int pf_remap(mf_map_t *m, char *base, size_t size, size_t to, char **moved);
/* Releases a region of `kind` (MF_ANON or a file's) at `base`, of `size` bytes. */
void pf_unmap(int kind, char *base, size_t size);

/* Durably writes back `bytes` bytes from `first` (page-aligned, inside m's region) and what the
 * file needs to read them back (m->redirty: see mapping.h, mf_sync). */
int pf_sync(mf_map_t *m, char *first, size_t bytes);
/* Makes the file durable when nothing is mapped (its size may have changed). */
int pf_fsync(mf_map_t *m);
/* Makes `bytes` bytes from `first` visible to every reader of the file, without waiting for the disk. */
int pf_flush(mf_map_t *m, char *first, size_t bytes);
/* Adds to *resident how many of `pages` pages from `first` are in memory now; mapping.c asks for at
 * most PF_INCORE_BATCH pages at a time, so that the platform's answer fits on the stack. */
#define PF_INCORE_BATCH 1024
int pf_incore(mf_map_t *m, char *first, size_t pages, uint64_t *resident);
/* `advice` (MF_NORMAL...) for `bytes` bytes from `first`; a no-op where the platform has none. */
int pf_advise(mf_map_t *m, int advice, char *first, size_t bytes);

#endif
