// The Node-API glue's shared parts: binding.c (the exports) over args.c (arguments and errors) and
// handles.c (a mapping's lifetime in JavaScript). The glue includes no system header of its own:
// everything below it is mapping.h.

#ifndef MMAPFILE_GLUE_H
#define MMAPFILE_GLUE_H

#include <node_api.h>

#include "mapping.h"

#define MAX_SAFE_INTEGER 9007199254740991LL

enum { MAP_AUTOCLOSE = 1, MAP_SPARSE = 2 }; // map()'s flags

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

// ---- args.c: errors

/* Throws the last Node-API failure (unless an exception is pending already); returns NULL. */
napi_value fail(napi_env env);

#define CALL(call) \
  do { \
    if ((call) != napi_ok) return fail(env); \
  } while (0)

/* A system error: `errno` (mapping.h's numbering) and `syscall`; src/native/backend.ts names it. */
napi_value sys_error(napi_env env, int err, const char *syscall);
napi_value throw_sys(napi_env env, int err, const char *syscall);
/* What mf_open or mf_open_fd returned, thrown: for a window that does not fit (MF_E*), an error with
 * the numbers (`window`: the MF_E* code, `offset`, `length`, `size`, `maxBytes`), which
 * src/native/backend.ts words; else the system error, with `emptied: true` where create had
 * emptied an existing file first. */
napi_value throw_open_error(napi_env env, int err, const mf_map_t *map, int64_t offset, int64_t length, int64_t size, int64_t maxBytes);
napi_value throw_no_external_buffers(napi_env env);

// ---- args.c: arguments. Each throws (TypeError, RangeError) and returns -1 / NULL when it fails.

#define ARGS(name, n) \
  size_t argc = n; \
  napi_value argv[n]; \
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) { \
    napi_throw_type_error(env, NULL, name " requires " #n " argument(s)"); \
    return NULL; \
  }

/* An integer in [min, 2^53 - 1]. */
int get_int64(napi_env env, napi_value v, const char *name, int64_t min, int64_t *out);
#define ARG_INT64(var, i, min) \
  int64_t var; \
  if (get_int64(env, argv[i], #var, min, &var) != 0) return NULL;

/* A handle made by wrap(); `open` 1 refuses a closed one (code ERR_MMAPFILE_CLOSED). */
int get_mapping(napi_env env, napi_value v, int open, mapping_t **out);
/* Marks `handle` (an external over a mapping_t) as one that get_mapping takes. */
napi_status tag_mapping(napi_env env, napi_value handle);
#define ARG_MAPPING(var, i, open) \
  mapping_t *var; \
  if (get_mapping(env, argv[i], open, &var) != 0) return NULL;

/* The mapping's current buffer (an empty view's is any empty ArrayBuffer): never detach another. */
int check_buffer(napi_env env, napi_value v, const mapping_t *m);
#define ARG_BUFFER_OF(m, i) \
  if (check_buffer(env, argv[i], m) != 0) return NULL;

/* A path as a malloc'd UTF-8 string (free it), refusing NUL bytes as Node's fs does. */
char *get_path(napi_env env, napi_value v);

// ---- handles.c: lifetime

/* A new mapping_t (mf_init'ed), or NULL with ENOMEM thrown. */
mapping_t *new_mapping(napi_env env);
/* [buffer, handle] for a mapping just made; on failure releases it and removes a file it created. */
napi_value wrap(napi_env env, mapping_t *m, const char *path);
/* An ArrayBuffer over the current view; a plain empty one for an empty view. */
napi_status new_buffer(napi_env env, mapping_t *m, napi_value *result);
/* close(), or the current buffer was collected: release now, or when the last work completes. */
void release(mapping_t *m);
/* Releases what resize kept for works in flight, and the region once closed. */
void release_deferred(mapping_t *m);
/* Drops one reference; the last frees m. */
void unref(mapping_t *m);
/* The test hook (test builds only: see binding.gyp): 1 makes new_buffer refuse external buffers. */
void set_no_external_buffers(int refuse);

#endif
