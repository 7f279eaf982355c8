// The conformance cases that make sense without a disk, run in a page against dist/browser/index.mjs
// (served as /mmapfile.mjs). run() reports [{ name, ok, message }]; test/browser.test.mjs turns each
// into a uvu test. Files live in the bundle's in-memory file system; `files` puts them in and takes
// them out. Every case uses its own paths.

import mmapfile, {
  create, open, close, sync, syncAsync, malloc, free, gccreate, gcmalloc, resize, advise, info, struct, files,
  PAGE_SIZE, capabilities, backend, backendError, StructArray
} from '/mmapfile.mjs'
import { pattern } from '/pattern.mjs'

// ---------------------------------------------------------------------------------------------
// A few asserts, enough to say what went wrong.

class Failure extends Error {}

function ok (value, what) {
  if (!value) throw new Failure(what)
}

function eq (actual, expected, what) {
  if (!Object.is(actual, expected)) throw new Failure(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

function show (value) {
  return typeof value === 'bigint' ? `${value}n` : typeof value === 'string' ? `'${value}'` : String(value)
}

function bytesEq (actual, expected, what) {
  eq(actual.length, expected.length, `${what}: length`)
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) throw new Failure(`${what}: byte ${i}: expected ${expected[i]}, got ${actual[i]}`)
  }
}

function check (error, type, expect) {
  if (!(error instanceof type)) throw new Failure(`expected a ${type.name}, got ${error && error.name}: ${error && error.message}`)
  for (const [key, want] of Object.entries(expect)) {
    if (want instanceof RegExp ? !want.test(error[key]) : error[key] !== want) {
      throw new Failure(`${type.name}.${key}: expected ${want}, got ${show(error[key])}`)
    }
  }
}

function throws (fn, type, expect = {}) {
  try {
    fn()
  } catch (error) {
    check(error, type, expect)
    return error
  }
  throw new Failure(`expected a ${type.name}, nothing was thrown`)
}

async function rejects (promise, type, expect = {}) {
  try {
    await promise
  } catch (error) {
    check(error, type, expect)
    return error
  }
  throw new Failure(`expected a rejected promise (${type.name}), it resolved`)
}


const bytesOf = (view) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength)

// ---------------------------------------------------------------------------------------------

const cases = []
const test = (name, fn) => cases.push({ name, fn })

test('the page has no Buffer, process or require, and the bundle did not add them', () => {
  eq(typeof globalThis.Buffer, 'undefined', 'typeof Buffer')
  eq(typeof globalThis.process, 'undefined', 'typeof process')
  eq(typeof globalThis.require, 'undefined', 'typeof require')
})

test('exports: backend wasm, no backendError, PAGE_SIZE, capabilities, default export', () => {
  eq(backend, 'wasm', 'backend')
  eq(backendError, null, 'backendError')
  ok(Number.isInteger(PAGE_SIZE) && PAGE_SIZE > 0, `PAGE_SIZE is a positive integer, got ${PAGE_SIZE}`)
  eq(capabilities.coherent, false, 'capabilities.coherent')
  ok(Number.isInteger(capabilities.writeBackGranularity) && capabilities.writeBackGranularity > 0, 'writeBackGranularity')
  ok(capabilities.maxViewBytes > 0, 'maxViewBytes')
  eq(mmapfile.open, open, 'default export holds the same functions')
  eq(mmapfile.files, files, 'default export holds files')
})

test('create, write through the view, close, files.get gives the bytes', () => {
  const view = create('/create.bin', 4, Uint32Array, new Uint32Array([1, 2]))
  eq(view.length, 4, 'view.length')
  eq(view[1], 2, 'data copied in')
  view[3] = 0xdeadbeef
  close(view)
  eq(view.length, 0, 'closed view length')
  const bytes = files.get('/create.bin')
  bytesEq(new Uint32Array(bytes.buffer), new Uint32Array([1, 2, 0, 0xdeadbeef]), 'file')
})

test('create of count 0 gives an empty view and an empty file; create truncates', () => {
  files.put('/trunc.bin', pattern(100))
  const view = create('/trunc.bin', 0)
  eq(view.length, 0, 'view.length')
  close(view)
  eq(files.get('/trunc.bin').length, 0, 'file length')
})

test('open r: the bytes of a put file; writes stay in memory', () => {
  const data = pattern(1000)
  files.put('/r.bin', data)
  const view = open('/r.bin')
  bytesEq(view, data, 'view')
  view[0] ^= 0xff
  sync(view)
  close(view)
  bytesEq(files.get('/r.bin'), data, 'file after writing an r view')
})

test('open rw: write, sync, read the bytes back before close', async () => {
  files.put('/rw.bin', new Uint8Array(300))
  const view = open('/rw.bin', Uint8Array, 'rw')
  view.set([7, 8, 9], 100)
  sync(view)
  bytesEq(files.get('/rw.bin').subarray(100, 103), [7, 8, 9], 'after sync')
  view[299] = 42
  await syncAsync(view)
  eq(files.get('/rw.bin')[299], 42, 'after syncAsync')
  view[0] = 1
  close(view)
  eq(files.get('/rw.bin')[0], 1, 'after close')
})

test('sync with offset and length; syncAsync of bad options rejects', async () => {
  files.put('/sync-range.bin', new Uint8Array(64))
  const view = open('/sync-range.bin', Uint8Array, 'rw')
  view[10] = 5
  sync(view, { offset: 8, length: 4 })
  eq(files.get('/sync-range.bin')[10], 5, 'synced byte')
  throws(() => sync(view, { offset: 65 }), RangeError)
  await rejects(syncAsync(view, { length: -1 }), RangeError)
  await rejects(syncAsync(view, 'x'), TypeError)
  close(view)
})

test('a window: offset at any alignment and length', () => {
  const data = pattern(500, 2)
  files.put('/window.bin', data)
  const view = open('/window.bin', Uint16Array, 'r', { offset: 3, length: 101 })
  eq(view.length, 50, 'floor(101 / 2) elements')
  bytesEq(bytesOf(view), data.subarray(3, 103), 'window bytes')
  eq(info(view).offset, 3, 'info.offset')
  close(view)
  const end = open('/window.bin', Uint8Array, 'r', { offset: 500 })
  eq(end.length, 0, 'offset at the end gives an empty view')
  close(end)
  throws(() => open('/window.bin', Uint8Array, 'r', { offset: 501 }), RangeError)
  throws(() => open('/window.bin', Uint8Array, 'r', { offset: 400, length: 101 }), RangeError)
})

test('an rw window writes back at its file offset', () => {
  files.put('/window-rw.bin', new Uint8Array(200))
  const view = open('/window-rw.bin', Uint8Array, 'rw', { offset: 150 })
  eq(view.length, 50, 'rest of the file')
  view[0] = 9
  close(view)
  const file = files.get('/window-rw.bin')
  eq(file[150], 9, 'byte 150')
  eq(file.length, 200, 'file length unchanged')
})

test('resize grows and shrinks the file, keeps what fits, closes the old view', () => {
  const view = create('/resize.bin', 4, Int32Array, new Int32Array([1, 2, 3, 4]))
  const grown = resize(view, 10)
  eq(view.length, 0, 'old view closed')
  eq(grown.length, 10, 'new length')
  bytesEq(grown, [1, 2, 3, 4, 0, 0, 0, 0, 0, 0], 'contents kept, growth zeroed')
  grown[9] = -1
  sync(grown)
  eq(files.get('/resize.bin').length, 40, 'file grown')
  const shrunk = resize(grown, 2)
  close(shrunk)
  bytesEq(new Int32Array(files.get('/resize.bin').buffer), [1, 2], 'file shrunk')
  const zero = resize(create('/resize0.bin', 3), 0)
  eq(zero.length, 0, 'resize to 0')
  close(zero)
  eq(files.get('/resize0.bin').length, 0, 'file emptied')
})

test('resize of an r view is a TypeError; of a closed view ERR_MMAPFILE_CLOSED', () => {
  files.put('/resize-r.bin', pattern(16))
  const view = open('/resize-r.bin')
  throws(() => resize(view, 4), TypeError)
  eq(view.length, 16, 'still open and unchanged')
  close(view)
  throws(() => resize(view, 4), TypeError, { code: 'ERR_MMAPFILE_CLOSED' })
})

test('malloc, gcmalloc, resize and free: zero-filled memory', () => {
  const m = malloc(8, Float64Array)
  bytesEq(m, new Float64Array(8), 'zeros')
  m[7] = 1.5
  const bigger = resize(m, 16)
  eq(bigger[7], 1.5, 'kept')
  eq(info(bigger).path, null, 'info.path')
  eq(info(bigger).mode, 'rw', 'info.mode')
  sync(bigger)
  advise(bigger, 'dontneed')
  eq(bigger[7], 1.5, "'dontneed' keeps what was written")
  free(bigger)
  eq(bigger.length, 0, 'freed')
  free(bigger)
  const g = gcmalloc(3)
  eq(g.length, 3, 'gcmalloc')
  free(g)
})

test('free of a file view is a TypeError; close of a malloc view frees it', () => {
  const view = create('/free.bin', 1)
  throws(() => free(view), TypeError)
  close(view)
  const m = malloc(4)
  close(m)
  eq(m.length, 0, 'closed')
})

test('struct records read and write the mapped bytes in C layout', () => {
  const Test = struct({ a: 'i32', b: 'f64' })
  eq(Test.byteLength, 16, 'byteLength')
  const Point = struct({ id: 'u64', pos: ['f32', 3], tag: Test })
  const out = create('/struct.bin', 2, Point)
  ok(out instanceof StructArray, 'a StructArray')
  out.at(0).id = 7n
  out.at(1).pos[2] = 2.5
  out.at(-1).tag.a = -3
  out.at(1).tag.b = 0.1
  eq(out.at(2), undefined, 'out of range')
  throws(() => { out.at(0).tag = {} }, TypeError)
  close(out)
  const bytes = files.get('/struct.bin')
  eq(bytes.length, 2 * Point.byteLength, 'file size')
  const dv = new DataView(bytes.buffer)
  eq(dv.getBigUint64(0, true), 7n, 'id at 0')
  eq(dv.getFloat32(Point.byteLength + 8 + 8, true), 2.5, 'pos[2] at 16')
  const view = open('/struct.bin', Point)
  eq(view.length, 2, 'records')
  eq(view.at(1).tag.a, -3, 'tag.a')
  eq(view.at(1).tag.b, 0.1, 'tag.b')
  eq([...view].length, 2, 'iteration')
  close(view)
})

test('closed views read empty; every call but close/free is ERR_MMAPFILE_CLOSED', () => {
  const view = create('/closed.bin', 10)
  const alias = new Uint8Array(view.buffer, view.byteOffset, 2)
  close(view)
  eq(view.length, 0, 'view.length')
  eq(view[0], undefined, 'reading a closed view')
  view[0] = 1
  eq(alias.length, 0, 'another view over the same buffer')
  close(view)
  for (const [name, call] of [['sync', () => sync(view)], ['info', () => info(view)], ['advise', () => advise(view, 'normal')],
    ['resize', () => resize(view, 1)]]) {
    const error = throws(call, TypeError, { code: 'ERR_MMAPFILE_CLOSED' })
    ok(error.message.startsWith(`mmapfile.${name}:`), `message names ${name}: ${error.message}`)
  }
  const st = create('/closed-struct.bin', 2, struct({ x: 'u8' }))
  close(st)
  eq(st.length, 0, 'struct view length')
  eq(st.at(0), undefined, 'struct view at(0)')
})

test('ENOENT for a missing file, with code, syscall, path and message', () => {
  const error = throws(() => open('/missing.bin'), Error, { code: 'ENOENT', syscall: 'open' })
  eq(error.message, "mmapfile.open: ENOENT: no such file or directory, open '/missing.bin'", 'message')
  ok(typeof error.path === 'string' && error.path.endsWith('missing.bin'), `path: ${error.path}`)
  throws(() => open('/no-such-dir/x.bin', Uint8Array, 'rw'), Error, { code: 'ENOENT' })
  throws(() => create('/no-such-dir/x.bin', 1), Error, { code: 'ENOENT' })
  throws(() => open(''), Error, { code: 'ENOENT' })
  eq(files.list().some((p) => p.startsWith('/no-such-dir')), false, 'a failed create leaves no file')
})

test('TypeErrors for the wrong kind of argument', () => {
  throws(() => open(42n), TypeError)
  throws(() => open(new URL('https://example.com/x')), TypeError)
  throws(() => open('/a.bin', Array), TypeError)
  throws(() => open('/a.bin', Uint8Array, 'w'), TypeError)
  throws(() => create('/a.bin', '1'), TypeError)
  throws(() => close({}), TypeError)
  throws(() => sync(new Uint8Array(4)), TypeError)
  throws(() => free(null), TypeError)
  throws(() => malloc(1, struct), TypeError)
  // A number is a descriptor, which the in-memory file system has none of.
  throws(() => open(42), Error, { code: 'ENOTSUP' })
  throws(() => advise(malloc(1), 'soon'), TypeError)
  throws(() => create('/a.bin', 1, Uint8Array, [1]), TypeError)
})

test('RangeErrors for numbers out of their domain', () => {
  throws(() => create('/range.bin', -1), RangeError)
  throws(() => create('/range.bin', 1.5), RangeError)
  throws(() => malloc(NaN), RangeError)
  throws(() => create('/range.bin', 2, Uint8Array, new Uint8Array(3)), RangeError)
  eq(files.list().includes('/range.bin'), false, 'a failed create leaves no file')
  throws(() => malloc(capabilities.maxViewBytes + 1), RangeError)
  files.put('/range-open.bin', pattern(10))
  throws(() => open('/range-open.bin', Uint8Array, 'r', { offset: -1 }), RangeError)
  throws(() => open('/range-open.bin', Uint8Array, 'r', { length: 11 }), RangeError)
})

test('paths: relative paths and file: URLs resolve against /', () => {
  const view = create('dir-less.bin', 2)
  eq(info(view).path, '/dir-less.bin', 'relative path')
  close(view)
  files.put('/sub/dir/u.bin', pattern(4))
  const byURL = open(new URL('file:///sub/dir/u.bin'))
  eq(info(byURL).path, '/sub/dir/u.bin', 'file: URL')
  close(byURL)
  const dotted = open('/sub/./dir/../dir/u.bin')
  eq(info(dotted).path, '/sub/dir/u.bin', 'normalized')
  close(dotted)
  bytesEq(files.get('sub/dir/u.bin'), pattern(4), 'files takes relative paths too')
})

test('only the changed chunks are written back; the rest of the file is left to other writers', () => {
  const G = capabilities.writeBackGranularity
  const before = pattern(3 * G, 3)
  files.put('/chunks.bin', before)
  const view = open('/chunks.bin', Uint8Array, 'rw')
  view[5] = before[5] ^ 0xff // chunk 0 changed through the view
  // Another writer replaces the file's bytes in place: chunks 1 and 2 change behind the view.
  const other = before.slice()
  other.fill(0xaa, G, 3 * G)
  files.put('/chunks.bin', other)
  sync(view)
  const after = files.get('/chunks.bin')
  eq(after[5], before[5] ^ 0xff, "the view's change")
  bytesEq(after.subarray(G), other.subarray(G), "chunks the view did not change keep the other writer's bytes")
  view[G + 1] = 1 // now chunk 1
  close(view)
  const last = files.get('/chunks.bin')
  eq(last[G + 1], 1, 'chunk 1 written at close')
  bytesEq(last.subarray(2 * G), other.subarray(2 * G), 'chunk 2 still untouched')
})

test('an unaligned rw window writes back only its own bytes of its partial chunks', () => {
  const G = capabilities.writeBackGranularity
  const before = pattern(3 * G, 6)
  files.put('/edges.bin', before)
  const offset = G / 2 + 3
  const view = open('/edges.bin', Uint8Array, 'rw', { offset, length: G })
  view[0] ^= 1
  view[G - 1] ^= 1
  // Another writer changes the bytes just outside the window, in the same chunks.
  const other = before.slice()
  other[offset - 1] ^= 0x80
  other[offset + G] ^= 0x80
  files.put('/edges.bin', other)
  close(view)
  const after = files.get('/edges.bin')
  eq(after[offset], before[offset] ^ 1, 'first byte of the window')
  eq(after[offset + G - 1], before[offset + G - 1] ^ 1, 'last byte of the window')
  eq(after[offset - 1], other[offset - 1], 'the byte before the window is the other writer\'s')
  eq(after[offset + G], other[offset + G], 'the byte after the window is the other writer\'s')
  eq(after.length, 3 * G, 'file length')
})

test('gccreate: the view is written back and closed once collected', async () => {
  ok(typeof globalThis.gc === 'function', 'the page needs gc(): chromium runs with --js-flags=--expose-gc')
  ;(() => {
    const view = gccreate('/gc.bin', 4)
    view.set([1, 2, 3, 4])
  })()
  // Collection and the finalization callback come when the engine decides: ask, then wait a turn.
  for (let i = 0; i < 100 && files.get('/gc.bin')[3] !== 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  bytesEq(files.get('/gc.bin'), [1, 2, 3, 4], 'written back at collection')
})

test('an open view does not see later changes to the file until reopened', () => {
  files.put('/snapshot.bin', new Uint8Array([1, 2, 3]))
  const view = open('/snapshot.bin')
  files.put('/snapshot.bin', new Uint8Array([9, 9, 9]))
  bytesEq(view, [1, 2, 3], 'the view keeps what it mapped')
  close(view)
  const again = open('/snapshot.bin')
  bytesEq(again, [9, 9, 9], 'a new view sees the new bytes')
  close(again)
})

// --- the files API -----------------------------------------------------------------------------

test('files.put takes ArrayBuffer, typed arrays and DataView, and copies them', () => {
  const source = pattern(32)
  files.put('/put-ab.bin', source.buffer)
  files.put('/put-u16.bin', new Uint16Array(source.buffer, 2, 4))
  files.put('/put-dv.bin', new DataView(source.buffer, 30, 2))
  source[0] ^= 1
  eq(files.get('/put-ab.bin')[0], source[0] ^ 1, 'a copy, not the caller\'s buffer')
  bytesEq(files.get('/put-u16.bin'), pattern(32).subarray(2, 10), 'typed array window')
  bytesEq(files.get('/put-dv.bin'), pattern(32).subarray(30, 32), 'DataView window')
  const got = files.get('/put-ab.bin')
  got[1] ^= 1
  eq(files.get('/put-ab.bin')[1], pattern(32)[1], 'get returns a copy')
  eq(files.put('/put-ab.bin', new Uint8Array(1)), undefined, 'bytes at hand: no Promise')
})

test('files.put of a Blob, a File and a fetch Response resolves once the file is there', async () => {
  const data = pattern(5000, 4)
  const pending = files.put('/blob.bin', new Blob([data.subarray(0, 10), data.subarray(10)]))
  ok(pending instanceof Promise, 'a Promise')
  await pending
  bytesEq(files.get('/blob.bin'), data, 'Blob')
  await files.put('/file.bin', new File([data], 'file.bin'))
  bytesEq(files.get('/file.bin'), data, 'File')
  const response = await fetch('/fixture.bin')
  await files.put('/fetched.bin', response)
  const view = open('/fetched.bin')
  bytesEq(view, pattern(4096, 7), 'fetch Response, mapped')
  close(view)
  await rejects(files.put('/404.bin', new Response('not found', { status: 404, statusText: 'Not Found' })), Error, { message: /404/ })
  throws(() => files.get('/404.bin'), Error, { code: 'ENOENT' })
  await rejects(files.put(42, new Blob([])), TypeError)
})

test('files.get, files.remove and files.list', () => {
  files.put('/list/a.bin', new Uint8Array(1))
  files.put('/list/b/c.bin', new Uint8Array(2))
  const listed = files.list()
  ok(listed.includes('/list/a.bin') && listed.includes('/list/b/c.bin'), `listed: ${listed.join(' ')}`)
  eq(JSON.stringify(listed), JSON.stringify([...listed].sort()), 'sorted')
  files.remove('/list/a.bin')
  eq(files.list().includes('/list/a.bin'), false, 'removed')
  const error = throws(() => files.get('/list/a.bin'), Error, { code: 'ENOENT', syscall: 'open' })
  eq(error.message, "mmapfile.files.get: ENOENT: no such file or directory, open '/list/a.bin'", 'message')
  throws(() => files.remove('/list/a.bin'), Error, { code: 'ENOENT', syscall: 'unlink' })
  throws(() => files.get('/list/b'), Error, { code: 'EISDIR' })
  throws(() => files.remove('/list/b'), Error, { code: 'EISDIR' })
  throws(() => files.put('/list/b', new Uint8Array(1)), Error, { code: 'EISDIR' })
  throws(() => files.put('/list/b/c.bin/d', new Uint8Array(1)), Error, { code: 'ENOTDIR' })
  throws(() => files.put('/x.bin', 'text'), TypeError)
  throws(() => files.put('/x.bin'), TypeError)
  throws(() => files.get(1), TypeError)
  throws(() => open('/list/b'), Error, { code: 'EISDIR' })
})

test('files.remove of a mapped file: the view keeps working, as on POSIX', () => {
  const view = create('/removed.bin', 4)
  files.remove('/removed.bin')
  view[0] = 1
  sync(view)
  close(view)
  eq(files.list().includes('/removed.bin'), false, 'not brought back')
})

test('round trip through OPFS: a File from the origin private file system in, bytes out', async () => {
  const dir = await navigator.storage.getDirectory()
  const handle = await dir.getFileHandle('mmapfile-opfs.bin', { create: true })
  let writable = await handle.createWritable()
  await writable.write(pattern(2048, 5))
  await writable.close()
  await files.put('/opfs.bin', await handle.getFile())
  const view = open('/opfs.bin', Uint8Array, 'rw')
  view[0] = 0
  view[2047] = 0
  close(view)
  writable = await handle.createWritable()
  await writable.write(files.get('/opfs.bin'))
  await writable.close()
  const back = new Uint8Array(await (await handle.getFile()).arrayBuffer())
  const want = pattern(2048, 5)
  want[0] = 0
  want[2047] = 0
  bytesEq(back, want, 'OPFS file after the round trip')
  await dir.removeEntry('mmapfile-opfs.bin')
})

test('in a module worker too, with a file system of its own', async () => {
  files.put('/only-in-the-page.bin', new Uint8Array(1))
  const source = `
    import { create, close, files, backend } from '${location.origin}/mmapfile.mjs'
    const view = create('/worker.bin', 3)
    view.set([1, 2, 3])
    close(view)
    postMessage({ backend, bytes: [...files.get('/worker.bin')], list: files.list() })`
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
  const worker = new Worker(url, { type: 'module' })
  try {
    const reply = await new Promise((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data)
      worker.onerror = (event) => reject(new Error(`the worker failed: ${event.message}`))
    })
    eq(reply.backend, 'wasm', 'backend')
    bytesEq(reply.bytes, [1, 2, 3], 'bytes written in the worker')
    eq(JSON.stringify(reply.list), JSON.stringify(['/worker.bin']), "the worker's files")
  } finally {
    worker.terminate()
    URL.revokeObjectURL(url)
  }
})

/** Runs every case in order; never throws. */
export async function run () {
  const results = []
  for (const { name, fn } of cases) {
    try {
      await fn()
      results.push({ name, ok: true, message: '' })
    } catch (error) {
      const message = error instanceof Failure ? error.message : String(error && error.stack || error)
      results.push({ name, ok: false, message })
    }
  }
  return results
}
