// The process's live file mappings (mapping.h, "registry"), which mapping.c keeps.
//
// Why: a mapped page past the end of its file raises SIGBUS (on Windows the file cannot be cut at
// all while it is mapped). The addon is loaded once per process, however many Node environments
// (worker threads) use it, so this table, behind one mutex, sees every mapping the addon made in
// this process, and mapping.c refuses (EBUSY) a create or resize that would cut a file under
// another one. A live mapping keeps its file's inode (POSIX) or file index (Windows) alive, so
// (dev, ino) names one file for as long as it is in the table.
//
// Cost: an entry per file mapping, malloc'd by mf_open; insert and remove are O(1); the check that
// resize makes walks the mappings whose file hashes to the same bucket.

#include <stdlib.h>

#include "platform.h"

void mf_registry_lock(void) { pf_lock(); }
void mf_registry_unlock(void) { pf_unlock(); }

typedef struct entry {
  struct entry *prev, *next; // in its bucket
  uint64_t dev, ino;
  int64_t end; // offset + length of the mapped view; 0 while it maps nothing
} entry_t;

#define BUCKETS 1024
static entry_t *buckets[BUCKETS];

static entry_t **bucket_of(uint64_t dev, uint64_t ino) {
  uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
  return &buckets[(h >> 32) % BUCKETS];
}

static int64_t end_of(const mf_map_t *m) {
  return m->length > 0 ? m->offset + (int64_t) m->length : 0;
}

int64_t mf_registry_end(const mf_map_t *m) {
  int64_t end = 0;
  for (entry_t *e = *bucket_of(m->dev, m->ino); e != NULL; e = e->next) {
    if (e != m->reg && e->dev == m->dev && e->ino == m->ino && e->end > end) end = e->end;
  }
  return end;
}

int mf_registry_add(mf_map_t *m) {
  entry_t *e = malloc(sizeof(*e));
  if (e == NULL) return -1;
  entry_t **head = bucket_of(m->dev, m->ino);
  e->dev = m->dev;
  e->ino = m->ino;
  e->end = end_of(m);
  e->prev = NULL;
  e->next = *head;
  if (*head != NULL) (*head)->prev = e;
  *head = e;
  m->reg = e;
  return 0;
}

void mf_registry_update(mf_map_t *m) {
  entry_t *e = m->reg;
  if (e != NULL) e->end = end_of(m);
}

void mf_registry_remove(mf_map_t *m) {
  entry_t *e = m->reg;
  if (e == NULL) return;
  m->reg = NULL;
  mf_registry_lock();
  if (e->prev != NULL) e->prev->next = e->next;
  else *bucket_of(e->dev, e->ino) = e->next;
  if (e->next != NULL) e->next->prev = e->prev;
  mf_registry_unlock();
  free(e);
}
