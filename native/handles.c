// A mapping's lifetime in JavaScript (glue.h).
//
// A mapping_t is shared by its handle (an external), each external ArrayBuffer made over it, and
// each syncAsync in flight; it is freed when the last one lets go. Its region is released by
// close(), or by the finalizer of its current buffer (nothing refers to the bytes any more: every
// view over them, and every Buffer a user made of them, is gone), which first writes an autoClose
// (gc*) mapping back: `gen` tells a buffer that was resized away or closed, whose finalizer then
// releases nothing. Finalizers run on the JavaScript thread, on a later turn of the event loop. While
// a syncAsync runs on a worker, nothing it uses is unmapped: close() detaches at once and defers the
// unmap, and resize keeps the old region (a "zombie") until the last work completes.

#include <stdio.h>
#include <stdlib.h>

#include "glue.h"

typedef struct {
  mapping_t *m;
  uint32_t gen;
  int creating; // napi_create_external_arraybuffer has not returned yet
} buffer_ref_t;

static int no_external_buffers = 0;

void set_no_external_buffers(int refuse) {
  no_external_buffers = refuse;
}

void release_deferred(mapping_t *m) {
  for (size_t i = 0; i < m->nzombies; i++) mf_unmap(&m->zombies[i]);
  free(m->zombies);
  m->zombies = NULL;
  m->nzombies = 0;
  if (m->closed) mf_close(&m->map);
}

void release(mapping_t *m) {
  m->closed = 1;
  m->gen++;
  // Closed, it no longer counts for EBUSY even while a syncAsync keeps its pages mapped: nothing
  // touches them but msync, which does not fault on pages that a cut of the file has dropped.
  mf_registry_remove(&m->map);
  if (m->pending == 0) release_deferred(m);
}

void unref(mapping_t *m) {
  if (--m->refs > 0) return;
  m->closed = 1;
  release_deferred(m);
  free(m->path);
  free(m);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void) env;
  (void) hint;
  unref(data);
}

static void finalize_buffer(napi_env env, void *data, void *hint) {
  buffer_ref_t *b = hint;
  (void) env;
  (void) data;
  if (b->creating) return; // the runtime refused to make the buffer: new_buffer cleans up
  if (!b->m->closed && b->gen == b->m->gen) {
    // Nobody can be told of a failure here but the user's terminal.
    if (b->m->autoclose && mf_sync(&b->m->map, 0, b->m->map.length) != 0) {
      fprintf(stderr, "mmapfile: warning: the changes to '%s' could not be written back when its view was garbage-collected (%s failed)\n",
              b->m->path != NULL ? b->m->path : "?", b->m->map.syscall != NULL ? b->m->map.syscall : "msync");
    }
    release(b->m);
  }
  unref(b->m);
  free(b);
}

// No napi_adjust_external_memory: V8 already counts an external ArrayBuffer's bytes as external
// memory and collects by them (2,000 dropped gcopen views of a 64 MiB file, the event loop turning
// every 50: at most 19 alive at once, process.memoryUsage().external 1,666 MiB); telling it again
// would count every mapping twice.
napi_status new_buffer(napi_env env, mapping_t *m, napi_value *result) {
  if (m->map.length == 0) return napi_create_arraybuffer(env, 0, NULL, result);
  if (no_external_buffers) return napi_no_external_buffers_allowed;
  buffer_ref_t *b = malloc(sizeof(*b));
  if (b == NULL) return napi_generic_failure;
  b->m = m;
  b->gen = m->gen;
  // A runtime that refuses the buffer (larger than it allows) may call the finalizer before it
  // returns, as Node 20 does, or never, as Bun does: either way nothing was made, and b is ours.
  b->creating = 1;
  napi_status status = napi_create_external_arraybuffer(env, m->map.base + m->map.delta, m->map.length, finalize_buffer, b, result);
  if (status != napi_ok) {
    free(b);
    return status;
  }
  b->creating = 0;
  m->refs++;
  return napi_ok;
}

napi_value wrap(napi_env env, mapping_t *m, const char *path) {
  napi_value handle, buffer, result;
  if (napi_create_external(env, m, finalize_handle, NULL, &handle) != napi_ok) {
    mf_abort(&m->map, path);
    free(m->path);
    free(m);
    return fail(env);
  }
  m->refs = 1; // from here the handle's finalizer frees m
  tag_mapping(env, handle);
  napi_status status = new_buffer(env, m, &buffer);
  if (status != napi_ok) {
    mf_abort(&m->map, path);
    m->closed = 1;
    return status == napi_no_external_buffers_allowed ? throw_no_external_buffers(env) : fail(env);
  }
  CALL(napi_create_array_with_length(env, 2, &result));
  CALL(napi_set_element(env, result, 0, buffer));
  CALL(napi_set_element(env, result, 1, handle));
  return result;
}

mapping_t *new_mapping(napi_env env) {
  mapping_t *m = calloc(1, sizeof(*m));
  if (m == NULL) {
    throw_sys(env, MF_ENOMEM, "malloc");
    return NULL;
  }
  mf_init(&m->map);
  m->zombies = NULL;
  return m;
}
