// mmapfile's Node-API glue. Every export has the same shape: fetch the arguments, check them, make
// one call of the mappings (mapping.h), throw or return. src/native/backend.ts checks arguments first; the checks
// here only keep C safe. Numbers are integers in [min, 2^53 - 1] read as int64.
//
//   map(path, mode, offset, length, maxBytes, flags) -> [ArrayBuffer, handle]
//       mode 0 'r' (private copy-on-write), 1 'rw' (shared), 2 create (shared; the file is created or
//       emptied to `length` zero bytes; offset must be 0). length -1: to the end of the file.
//       flags: 1 autoClose (gc*: when the buffer is collected, write back durably first), 2 sparse
//       (reserve no disk blocks: mapping.h, mf_open). A create that failed after emptying an existing
//       file throws an error with `emptied: true`.
//   mapFd(fd, mode, offset, length, maxBytes, flags) -> [ArrayBuffer, handle]
//       as map, over the runtime's open descriptor fd (mode 0 or 1, no create): the mapping works on a
//       duplicate (mapping.h, mf_open_fd), so fd stays the caller's; the access fd was opened with
//       must allow the mode (EACCES otherwise)
//   alloc(length, maxBytes) -> [ArrayBuffer, handle]     zero-filled anonymous memory
//   close(handle, buffer)             writes back ('rw'/create), detaches `buffer`, unmaps at once.
//                                     If writing back fails, it throws and changes nothing, so
//                                     that close can be retried. A second close is a no-op.
//   sync(handle, offset, length, durable)   writes back [offset, offset + length) of the view, durably
//                                     (durable 1), or (0) only visibly to every other reader of the
//                                     file, without waiting for the disk (msync MS_ASYNC)
//   syncAsync(handle, offset, length) -> Promise<void>     the durable sync on the libuv thread pool
//   incore(handle, offset, length) -> [resident, pages]    pages of that range in memory, of all
//   advise(handle, advice, offset, length)   0 normal, 1 sequential, 2 random, 3 willneed, 4 dontneed
//   resize(handle, buffer, length, maxBytes) -> ArrayBuffer    the handle stays; `buffer` is detached.
//                                     'rw'/create (the file becomes offset + length) and alloc only;
//                                     'r' is a TypeError. On failure nothing changed.
//                                     create (map mode 2) and resize fail with EBUSY where they would
//                                     cut the file under another live mapping of this process
//                                     (mapping.h, registry; native/registry.c).
//   pageSize, allocationGranularity   numbers
//   maxMapBytes                       a bound on the largest region the process can map
//                                     (mapping.h: mf_max_map)
//
// `buffer` is the mapping's current buffer (anything else is a TypeError: detaching is for good).
// A view of 0 bytes maps nothing: its buffer is a plain empty ArrayBuffer.
//
// Errors: file-system failures throw an Error with `errno` (negative, libuv's numbering: -2 for
// ENOENT on Linux) and `syscall` ('open'), and no `code`: the glue calls no libuv (Bun and Deno do
// not export it), so src/native/backend.ts sets `code` ('ENOENT') and `message` ('no such file or
// directory') from util.getSystemErrorMap(). A window past the end of
// the file or larger than maxBytes throws a RangeError with the final message. A closed handle
// throws a TypeError with code 'ERR_MMAPFILE_CLOSED'. Where external ArrayBuffers are refused (V8
// memory cage, e.g. Electron; or MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS=1 when the addon loads), map,
// alloc and resize throw an Error with code 'ERR_MMAPFILE_NO_EXTERNAL_BUFFERS'.
//
// Lifetime: a mapping_t is shared by its handle (an external), each external ArrayBuffer made over
// it, and each syncAsync in flight; it is freed when the last one lets go. Its region is released
// by close(), or by the finalizer of its current buffer (nothing refers to the bytes any more: every
// view over them, and every Buffer a user made of them, is gone), which first writes an autoClose
// (gc*) mapping back: `gen` tells a buffer that was resized away or closed, whose finalizer then
// releases nothing. Finalizers run on the JavaScript thread, on a later turn of the event loop. While a
// syncAsync runs on a worker, nothing it uses is unmapped: close() detaches at once and defers the
// unmap, and resize keeps the old region (a "zombie") until the last work completes.

#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"

#define MAX_SAFE_INTEGER 9007199254740991LL

typedef struct {
  mf_map_t map;
  uint32_t refs;      // the handle + each live external buffer + each syncAsync in flight
  uint32_t gen;       // bumped when the current buffer stops being current
  uint32_t pending;   // syncAsync works in flight
  int closed;         // close() or the current buffer's finalizer ran
  int autoclose;      // gc*: the finalizer writes back durably before it releases
  char *path;         // for the warning of a write-back that fails in the finalizer ('rw' only)
  mf_map_t *zombies;  // regions replaced by resize while a work used them
  size_t nzombies;
} mapping_t;

enum { MAP_AUTOCLOSE = 1, MAP_SPARSE = 2 }; // map()'s flags

typedef struct {
  mapping_t *m;
  uint32_t gen;
  int creating; // napi_create_external_arraybuffer has not returned yet
} buffer_ref_t;

typedef struct {
  mapping_t *m;
  mf_map_t snap; // the region as it was when queued: it stays mapped until the work completes
  size_t offset;
  size_t length;
  int err;
  napi_deferred deferred;
  napi_async_work work;
} sync_work_t;

static const napi_type_tag mapping_tag = {0x6d6d617066696c65ULL, 0x6e61746976650001ULL};
static int no_external_buffers = 0;

// ---- errors

static napi_value fail(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_get_last_error_info(env, &info);
  const char *msg = info != NULL && info->error_message != NULL ? info->error_message : "Node-API call failed";
  if (napi_is_exception_pending(env, &pending) == napi_ok && !pending) napi_throw_error(env, NULL, msg);
  return NULL;
}

#define CALL(call) \
  do { \
    if ((call) != napi_ok) return fail(env); \
  } while (0)

// A system error: `errno` and `syscall`; src/native/backend.ts gives it its `code` and libuv's message.
static napi_value sys_error(napi_env env, int err, const char *syscall) {
  napi_value msg, error, name, number;
  char text[96];
  snprintf(text, sizeof(text), "%s failed: system error %d", syscall != NULL ? syscall : "unknown", err);
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, NULL, msg, &error) != napi_ok ||
      napi_create_string_utf8(env, syscall != NULL ? syscall : "unknown", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_set_named_property(env, error, "syscall", name) != napi_ok ||
      napi_create_int32(env, err, &number) != napi_ok ||
      napi_set_named_property(env, error, "errno", number) != napi_ok) {
    return NULL;
  }
  return error;
}

static napi_value throw_sys(napi_env env, int err, const char *syscall) {
  napi_value error = sys_error(env, err, syscall);
  if (error == NULL) return fail(env);
  napi_throw(env, error);
  return NULL;
}

// mf_open's system error, with `emptied: true` where create had emptied an existing file first.
static napi_value throw_open_error(napi_env env, int err, const mf_map_t *map) {
  napi_value error = sys_error(env, err, map->syscall), yes;
  if (error == NULL) return fail(env);
  if (map->emptied && (napi_get_boolean(env, true, &yes) != napi_ok || napi_set_named_property(env, error, "emptied", yes) != napi_ok)) {
    return fail(env);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_no_external_buffers(napi_env env) {
  napi_throw_error(env, "ERR_MMAPFILE_NO_EXTERNAL_BUFFERS",
                   "this runtime does not allow external ArrayBuffers (V8 memory cage, e.g. Electron): "
                   "memory cannot be mapped into JavaScript");
  return NULL;
}

static napi_value throw_range(napi_env env, const char *fmt, long long a, long long b, long long c) {
  char msg[256];
  snprintf(msg, sizeof(msg), fmt, a, b, c);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static const char too_big[] = "%lld bytes is larger than the largest view (%lld bytes)";

// What mf_open or mf_open_fd returned, thrown: a RangeError for a window that does not fit (the
// file has `size` bytes), else the system error.
static void throw_map_error(napi_env env, int err, const mf_map_t *map, int64_t mode, int64_t offset, int64_t length,
                            int64_t size, int64_t maxBytes) {
  if (err == MF_EOFFSET) throw_range(env, "offset %lld is beyond the end of the file (%lld bytes)", offset, size, 0);
  else if (err == MF_EWINDOW) throw_range(env, "window [%lld, %lld) is beyond the end of the file (%lld bytes)", offset, offset + length, size);
  else if (err == MF_ETOOBIG && mode == MF_CREATE) throw_range(env, too_big, length, maxBytes, 0);
  else if (err == MF_ETOOBIG) throw_range(env, "the window of %lld bytes is larger than the largest view (%lld bytes); map a window with options.offset and options.length", length < 0 ? size - offset : length, maxBytes, 0);
  else throw_open_error(env, err, map);
}

// ---- arguments

#define ARGS(name, n) \
  size_t argc = n; \
  napi_value argv[n]; \
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) { \
    napi_throw_type_error(env, NULL, name " requires " #n " argument(s)"); \
    return NULL; \
  }

static int get_int64(napi_env env, napi_value v, const char *name, int64_t min, int64_t *out) {
  napi_valuetype type;
  double d;
  char msg[128];
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(msg, sizeof(msg), "%s must be a number", name);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  if (!(d >= (double) min && d <= (double) MAX_SAFE_INTEGER) || d != (double) (int64_t) d) {
    snprintf(msg, sizeof(msg), "%s must be an integer >= %lld", name, (long long) min);
    napi_throw_range_error(env, NULL, msg);
    return -1;
  }
  *out = (int64_t) d;
  return 0;
}

#define ARG_INT64(var, i, min) \
  int64_t var; \
  if (get_int64(env, argv[i], #var, min, &var) != 0) return NULL;

static int get_mapping(napi_env env, napi_value v, int open, mapping_t **out) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &mapping_tag, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, (void **) out) != napi_ok) {
    napi_throw_type_error(env, NULL, "not a mmapfile handle");
    return -1;
  }
  if (open && (*out)->closed) {
    napi_throw_type_error(env, "ERR_MMAPFILE_CLOSED", "the mapping is closed");
    return -1;
  }
  return 0;
}

// `open`: 1 throws for a closed mapping, 0 lets the function decide (close is a no-op then).
#define ARG_MAPPING(var, i, open) \
  mapping_t *var; \
  if (get_mapping(env, argv[i], open, &var) != 0) return NULL;

// The mapping's current buffer (an empty view's is any empty ArrayBuffer): never detach another.
static int check_buffer(napi_env env, napi_value v, const mapping_t *m) {
  bool is_ab = false;
  void *data = NULL;
  size_t length = 0;
  if (napi_is_arraybuffer(env, v, &is_ab) != napi_ok || !is_ab || napi_get_arraybuffer_info(env, v, &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "buffer must be an ArrayBuffer");
    return -1;
  }
  if (!m->closed && m->map.length > 0 && (data != m->map.base + m->map.delta || length != m->map.length)) {
    napi_throw_type_error(env, NULL, "buffer is not the mapping's current buffer");
    return -1;
  }
  return 0;
}

#define ARG_BUFFER_OF(m, i) \
  if (check_buffer(env, argv[i], m) != 0) return NULL;

// A path as a malloc'd UTF-8 string (free it), refusing NUL bytes as Node's fs does.
static char *get_path(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "path must be a string");
    return NULL;
  }
  char *path = malloc(len + 1);
  if (path == NULL) return (char *) throw_sys(env, MF_ENOMEM, "malloc");
  napi_get_value_string_utf8(env, v, path, len + 1, &len);
  if (strlen(path) != len) {
    free(path);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "path must be a string without null bytes");
    return NULL;
  }
  return path;
}

// ---- mapping lifetime

static void release_deferred(mapping_t *m) {
  for (size_t i = 0; i < m->nzombies; i++) mf_unmap(&m->zombies[i]);
  free(m->zombies);
  m->zombies = NULL;
  m->nzombies = 0;
  if (m->closed) mf_close(&m->map);
}

// close(), or the current buffer was collected: release now, or when the last work completes.
static void release(mapping_t *m) {
  m->closed = 1;
  m->gen++;
  // Closed, it no longer counts for EBUSY even while a syncAsync keeps its pages mapped: nothing
  // touches them but msync, which does not fault on pages that a cut of the file has dropped.
  mf_registry_remove(&m->map);
  if (m->pending == 0) release_deferred(m);
}

static void unref(mapping_t *m) {
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

// An ArrayBuffer over the current view; a plain empty one for an empty view. No
// napi_adjust_external_memory: V8 already counts an external ArrayBuffer's bytes as external memory
// and collects by them (2,000 dropped gcopen views of a 64 MiB file, the event loop turning every 50:
// at most 19 alive at once, process.memoryUsage().external 1,666 MiB); telling it again would count
// every mapping twice.
static napi_status new_buffer(napi_env env, mapping_t *m, napi_value *result) {
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

// [buffer, handle] for a mapping just made; on failure releases it and removes a file it created.
static napi_value wrap(napi_env env, mapping_t *m, const char *path) {
  napi_value handle, buffer, result;
  if (napi_create_external(env, m, finalize_handle, NULL, &handle) != napi_ok) {
    mf_abort(&m->map, path);
    free(m->path);
    free(m);
    return fail(env);
  }
  m->refs = 1; // from here the handle's finalizer frees m
  napi_type_tag_object(env, handle, &mapping_tag);
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

static mapping_t *new_mapping(napi_env env) {
  mapping_t *m = calloc(1, sizeof(*m));
  if (m == NULL) {
    throw_sys(env, MF_ENOMEM, "malloc");
    return NULL;
  }
  mf_init(&m->map);
  m->zombies = NULL;
  return m;
}

// ---- exports

static napi_value js_map(napi_env env, napi_callback_info info) {
  ARGS("map", 6)
  ARG_INT64(mode, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, -1)
  ARG_INT64(maxBytes, 4, 0)
  ARG_INT64(flags, 5, 0)
  if (mode > MF_CREATE || (mode == MF_CREATE && (offset != 0 || length < 0)) || flags > (MAP_AUTOCLOSE | MAP_SPARSE)) {
    napi_throw_type_error(env, NULL, "bad mode or flags, or create with an offset or without a length");
    return NULL;
  }
  char *path = get_path(env, argv[0]);
  if (path == NULL) return NULL;
  mapping_t *m = new_mapping(env);
  if (m == NULL) {
    free(path);
    return NULL;
  }

  int64_t size = 0;
  int err = mf_open(&m->map, path, (int) mode, (flags & MAP_SPARSE) ? MF_SPARSE : 0, offset, length, maxBytes, &size);
  if (err != 0) {
    throw_map_error(env, err, &m->map, mode, offset, length, size, maxBytes);
    free(m);
    free(path);
    return NULL;
  }
  m->autoclose = (flags & MAP_AUTOCLOSE) != 0;
  if (mode != MF_READ) m->path = path; // kept for the finalizer's warning; freed with m
  else free(path);
  return wrap(env, m, m->path);
}

static napi_value js_mapFd(napi_env env, napi_callback_info info) {
  ARGS("mapFd", 6)
  ARG_INT64(fd, 0, 0)
  ARG_INT64(mode, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, -1)
  ARG_INT64(maxBytes, 4, 0)
  ARG_INT64(flags, 5, 0)
  if (fd > INT32_MAX || mode > MF_WRITE || flags > (MAP_AUTOCLOSE | MAP_SPARSE)) {
    napi_throw_type_error(env, NULL, "bad descriptor, mode or flags");
    return NULL;
  }
  mapping_t *m = new_mapping(env);
  if (m == NULL) return NULL;
  int64_t size = 0;
  int err = mf_open_fd(&m->map, (int) fd, (int) mode, (flags & MAP_SPARSE) ? MF_SPARSE : 0, offset, length, maxBytes, &size);
  if (err != 0) {
    throw_map_error(env, err, &m->map, mode, offset, length, size, maxBytes);
    free(m);
    return NULL;
  }
  m->autoclose = (flags & MAP_AUTOCLOSE) != 0;
  if (mode == MF_WRITE && (m->path = malloc(32)) != NULL) snprintf(m->path, 32, "fd %d", (int) fd); // for the finalizer's warning
  return wrap(env, m, NULL);
}

static napi_value js_alloc(napi_env env, napi_callback_info info) {
  ARGS("alloc", 2)
  ARG_INT64(length, 0, 0)
  ARG_INT64(maxBytes, 1, 0)
  if (length > maxBytes) return throw_range(env, too_big, length, maxBytes, 0);
  mapping_t *m = new_mapping(env);
  if (m == NULL) return NULL;
  int err = mf_alloc(&m->map, (size_t) length);
  if (err != 0) {
    throw_sys(env, err, m->map.syscall);
    free(m);
    return NULL;
  }
  return wrap(env, m, NULL);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS("close", 2)
  ARG_MAPPING(m, 0, 0)
  ARG_BUFFER_OF(m, 1)
  if (m->closed) return NULL;
  int err = mf_sync(&m->map, 0, m->map.length);
  if (err != 0) return throw_sys(env, err, m->map.syscall); // still mapped: close can be retried
  napi_detach_arraybuffer(env, argv[1]);
  release(m);
  return NULL;
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
  ARGS("sync", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  ARG_INT64(durable, 3, 0)
  int err = durable ? mf_sync(&m->map, (size_t) offset, (size_t) length) : mf_flush(&m->map, (size_t) offset, (size_t) length);
  return err != 0 ? throw_sys(env, err, m->map.syscall) : NULL;
}

static napi_value js_incore(napi_env env, napi_callback_info info) {
  ARGS("incore", 3)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  uint64_t resident = 0, pages = 0;
  int err = mf_incore(&m->map, (size_t) offset, (size_t) length, &resident, &pages);
  if (err != 0) return throw_sys(env, err, m->map.syscall);
  napi_value result, value;
  CALL(napi_create_array_with_length(env, 2, &result));
  CALL(napi_create_double(env, (double) resident, &value));
  CALL(napi_set_element(env, result, 0, value));
  CALL(napi_create_double(env, (double) pages, &value));
  CALL(napi_set_element(env, result, 1, value));
  return result;
}

static void sync_execute(napi_env env, void *data) {
  sync_work_t *w = data;
  (void) env;
  w->err = mf_sync(&w->snap, w->offset, w->length);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_work_t *w = data;
  mapping_t *m = w->m;
  napi_value value = NULL;
  if (w->snap.redirty) m->map.redirty = 1; // the worker's msync failed (mapping.h, mf_sync)
  if (status == napi_ok && w->err == 0) {
    napi_get_undefined(env, &value);
    napi_resolve_deferred(env, w->deferred, value);
  } else {
    value = sys_error(env, w->err != 0 ? w->err : MF_ECANCELED, w->snap.syscall != NULL ? w->snap.syscall : "msync");
    if (value == NULL) napi_get_undefined(env, &value);
    napi_reject_deferred(env, w->deferred, value);
  }
  napi_delete_async_work(env, w->work);
  if (--m->pending == 0) release_deferred(m);
  unref(m);
  free(w);
}

static napi_value js_syncAsync(napi_env env, napi_callback_info info) {
  ARGS("syncAsync", 3)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(offset, 1, 0)
  ARG_INT64(length, 2, 0)
  napi_value promise, name, undefined;
  sync_work_t *w = calloc(1, sizeof(*w));
  if (w == NULL) return throw_sys(env, MF_ENOMEM, "malloc");
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok) {
    free(w);
    return fail(env);
  }
  if (m->map.kind != MF_SHARED) { // nothing to write back
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, w->deferred, undefined);
    free(w);
    return promise;
  }
  w->m = m;
  w->snap = m->map;
  w->offset = (size_t) offset;
  w->length = (size_t) length;
  if (napi_create_string_utf8(env, "mmapfile.syncAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, sync_execute, sync_complete, w, &w->work) != napi_ok) {
    napi_value error = sys_error(env, MF_ENOMEM, "uv_queue_work");
    napi_reject_deferred(env, w->deferred, error);
    free(w);
    return promise;
  }
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_reject_deferred(env, w->deferred, sys_error(env, MF_ENOMEM, "uv_queue_work"));
    napi_delete_async_work(env, w->work);
    free(w);
    return promise;
  }
  m->refs++;
  m->pending++;
  return promise;
}

static napi_value js_advise(napi_env env, napi_callback_info info) {
  ARGS("advise", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_INT64(advice, 1, 0)
  ARG_INT64(offset, 2, 0)
  ARG_INT64(length, 3, 0)
  if (advice > MF_DONTNEED) return throw_range(env, "advice %lld is not 0..4", advice, 0, 0);
  int err = mf_advise(&m->map, (int) advice, (size_t) offset, (size_t) length);
  return err != 0 ? throw_sys(env, err, m->map.syscall) : NULL;
}

static napi_value js_resize(napi_env env, napi_callback_info info) {
  ARGS("resize", 4)
  ARG_MAPPING(m, 0, 1)
  ARG_BUFFER_OF(m, 1)
  ARG_INT64(length, 2, 0)
  ARG_INT64(maxBytes, 3, 0)
  if (m->map.kind != MF_SHARED && m->map.kind != MF_ANON) {
    napi_throw_type_error(env, NULL, "a read-only ('r') mapping cannot be resized");
    return NULL;
  }
  if (length > maxBytes) return throw_range(env, too_big, length, maxBytes, 0);

  mf_map_t *old = NULL; // while a syncAsync runs, the old region must stay mapped
  if (m->pending > 0) {
    mf_map_t *zombies = realloc(m->zombies, (m->nzombies + 1) * sizeof(*zombies));
    if (zombies == NULL) return throw_sys(env, MF_ENOMEM, "malloc");
    m->zombies = zombies;
    old = &zombies[m->nzombies];
    mf_init(old);
  }
  size_t before = m->map.length;
  int err = mf_resize(&m->map, (size_t) length, old);
  if (err != 0) {
    if (before != 0 && m->map.base == NULL) { // the old view could not be restored (Windows)
      napi_detach_arraybuffer(env, argv[1]);
      release(m);
    }
    return throw_sys(env, err, m->map.syscall);
  }
  if (old != NULL) m->nzombies++;

  napi_value buffer;
  m->gen++; // the old buffer's finalizer must not release the new region
  napi_status status = new_buffer(env, m, &buffer);
  if (status != napi_ok) { // only where external buffers are refused, so the old view was empty
    if (before == 0) {
      mf_resize(&m->map, 0, NULL);
    } else {
      napi_detach_arraybuffer(env, argv[1]);
      release(m);
    }
    return status == napi_no_external_buffers_allowed ? throw_no_external_buffers(env) : fail(env);
  }
  napi_detach_arraybuffer(env, argv[1]);
  return buffer;
}

NAPI_MODULE_INIT() {
  const char *inject = getenv("MMAPFILE_INJECT_NO_EXTERNAL_BUFFERS");
  no_external_buffers = inject != NULL && strcmp(inject, "1") == 0;

  napi_value page_size, granularity, max_map;
  CALL(napi_create_double(env, (double) mf_page_size(), &page_size));
  CALL(napi_create_double(env, (double) mf_granularity(), &granularity));
  CALL(napi_create_double(env, (double) mf_max_map(), &max_map));

  napi_property_descriptor props[] = {
    {"map", NULL, js_map, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mapFd", NULL, js_mapFd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"alloc", NULL, js_alloc, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sync", NULL, js_sync, NULL, NULL, NULL, napi_enumerable, NULL},
    {"syncAsync", NULL, js_syncAsync, NULL, NULL, NULL, napi_enumerable, NULL},
    {"incore", NULL, js_incore, NULL, NULL, NULL, napi_enumerable, NULL},
    {"advise", NULL, js_advise, NULL, NULL, NULL, napi_enumerable, NULL},
    {"resize", NULL, js_resize, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pageSize", NULL, NULL, NULL, NULL, page_size, napi_enumerable, NULL},
    {"allocationGranularity", NULL, NULL, NULL, NULL, granularity, napi_enumerable, NULL},
    {"maxMapBytes", NULL, NULL, NULL, NULL, max_map, napi_enumerable, NULL},
  };
  CALL(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
