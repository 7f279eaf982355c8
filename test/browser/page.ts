// What only a page has, beside the conformance files (test/browser/run.ts): no Node globals, the
// browser entry's exports, its paths, the in-memory file system (`files`) and how views meet other
// writers of it, OPFS, module workers. One suite per concern, as the conformance files.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import mmapfile, {
  create,
  open,
  close,
  sync,
  malloc,
  free,
  gcmalloc,
  gccreate,
  advise,
  info,
  files,
  PAGE_SIZE,
  capabilities,
  backend,
  backendError
} from '/mmapfile.mjs'
import { expectReject, expectThrow, pattern, sameBytes } from '../checks'

const bytesEq = (actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void =>
  sameBytes(actual, expected, what)

export default function register(): void {
  // ---------------------------------------------------------------------------------------------
  const entry = suite('browser: the entry')
  entryTests(entry)
  entry.run()

  // ---------------------------------------------------------------------------------------------
  const writers = suite('browser: views and other writers of the in-memory files')
  writersTests(writers)
  writers.run()

  // ---------------------------------------------------------------------------------------------
  const api = suite('browser: files')
  filesTests(api)
  api.run()

  // ---------------------------------------------------------------------------------------------
  const platform = suite('browser: the platform')
  platformTests(platform)
  platform.run()
}

/** The entry in a page: no Node globals, its exports, paths, descriptors. */
function entryTests(entry: Test): void {
  entry('the page has no Buffer, process or require, and the bundle did not add them', () => {
    const g = globalThis as Record<string, unknown>
    assert.is(typeof g.Buffer, 'undefined', 'typeof Buffer')
    assert.is(typeof g.process, 'undefined', 'typeof process')
    assert.is(typeof g.require, 'undefined', 'typeof require')
  })

  entry('exports: backend wasm, no backendError, PAGE_SIZE, capabilities, default export with files', () => {
    assert.is(backend, 'wasm')
    assert.is(backendError, null)
    assert.ok(Number.isInteger(PAGE_SIZE) && PAGE_SIZE > 0, `PAGE_SIZE is a positive integer, got ${PAGE_SIZE}`)
    assert.is(capabilities.coherent, false)
    assert.is(mmapfile.open, open, 'default export holds the same functions')
    assert.is(mmapfile.files, files, 'default export holds files')
  })

  entry('paths: relative paths and file: URLs resolve against /', () => {
    const view = create('dir-less.bin', 2)
    assert.is(info(view).path, '/dir-less.bin', 'relative path')
    close(view)
    files.put('/sub/dir/u.bin', pattern(4))
    const byURL = open(new URL('file:///sub/dir/u.bin'))
    assert.is(info(byURL).path, '/sub/dir/u.bin', 'file: URL')
    close(byURL)
    const dotted = open('/sub/./dir/../dir/u.bin')
    assert.is(info(dotted).path, '/sub/dir/u.bin', 'normalized')
    close(dotted)
    bytesEq(files.get('sub/dir/u.bin'), pattern(4), 'files takes relative paths too')
  })

  entry('a number is a descriptor, which a page has none of: ENOTSUP', () => {
    expectThrow(() => open(42), { type: Error, code: 'ENOTSUP' }, 'open(42)')
  })
}

/** Views and other writers of the in-memory files. */
function writersTests(writers: Test): void {
  writers('an unaligned rw window writes back only its own bytes of its partial chunks', () => {
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
    assert.is(after[offset], before[offset] ^ 1, 'first byte of the window')
    assert.is(after[offset + G - 1], before[offset + G - 1] ^ 1, 'last byte of the window')
    assert.is(after[offset - 1], other[offset - 1], "the byte before the window is the other writer's")
    assert.is(after[offset + G], other[offset + G], "the byte after the window is the other writer's")
    assert.is(after.length, 3 * G, 'file length')
  })

  // test/conformance/open/sharing.ts checks this in a child process, which a page cannot run
  writers("open 'r': the bytes of the file; writes stay in memory, through sync and close", () => {
    const data = pattern(1000)
    files.put('/r.bin', data)
    const view = open('/r.bin')
    bytesEq(view, data, 'view')
    view[0] ^= 0xff
    sync(view)
    close(view)
    bytesEq(files.get('/r.bin'), data, "file after writing an 'r' view")
  })

  // test/conformance/advise.ts and gc.ts check these in child processes, which a page cannot run
  writers("malloc and gcmalloc: 'dontneed' keeps what was written; free", () => {
    const m = malloc(8, Float64Array)
    m[7] = 1.5
    advise(m, 'dontneed')
    assert.is(m[7], 1.5, "'dontneed' keeps what was written")
    free(m)
    assert.is(m.length, 0, 'freed')
    const g = gcmalloc(3)
    assert.is(g.length, 3, 'gcmalloc')
    free(g)
  })

  writers('an open view does not see later changes to the file until reopened', () => {
    files.put('/snapshot.bin', new Uint8Array([1, 2, 3]))
    const view = open('/snapshot.bin')
    files.put('/snapshot.bin', new Uint8Array([9, 9, 9]))
    bytesEq(view, [1, 2, 3], 'the view keeps what it mapped')
    close(view)
    const again = open('/snapshot.bin')
    bytesEq(again, [9, 9, 9], 'a new view sees the new bytes')
    close(again)
  })

  writers('gccreate: the view is written back and closed once collected, in the page', async () => {
    const g = globalThis as { gc?: () => void }
    assert.type(g.gc, 'function', 'the page needs gc(): Chromium runs with --js-flags=--expose-gc')
    ;(() => {
      const view = gccreate('/gc.bin', 4)
      view.set([1, 2, 3, 4])
    })()
    // Collection and the finalization callback come when the engine decides: ask, then wait a turn.
    for (let i = 0; i < 100 && files.get('/gc.bin')[3] !== 4; i++) {
      g.gc!()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    bytesEq(files.get('/gc.bin'), [1, 2, 3, 4], 'written back at collection')
  })

  writers('files.remove of a mapped file: the view keeps working, as on POSIX', () => {
    const view = create('/removed.bin', 4)
    files.remove('/removed.bin')
    view[0] = 1
    sync(view)
    close(view)
    assert.is(files.list().includes('/removed.bin'), false, 'not brought back')
  })
}

/** files: put, get, remove, list. */
function filesTests(api: Test): void {
  api('files.put takes ArrayBuffer, typed arrays and DataView, and copies them', () => {
    const source = pattern(32)
    files.put('/put-ab.bin', source.buffer)
    files.put('/put-u16.bin', new Uint16Array(source.buffer, 2, 4))
    files.put('/put-dv.bin', new DataView(source.buffer, 30, 2))
    source[0] ^= 1
    assert.is(files.get('/put-ab.bin')[0], source[0] ^ 1, "a copy, not the caller's buffer")
    bytesEq(files.get('/put-u16.bin'), pattern(32).subarray(2, 10), 'typed array window')
    bytesEq(files.get('/put-dv.bin'), pattern(32).subarray(30, 32), 'DataView window')
    const got = files.get('/put-ab.bin')
    got[1] ^= 1
    assert.is(files.get('/put-ab.bin')[1], pattern(32)[1], 'get returns a copy')
    assert.is(files.put('/put-ab.bin', new Uint8Array(1)), undefined, 'bytes at hand: no Promise')
  })

  api('files.put of a Blob, a File and a fetch Response resolves once the file is there', async () => {
    const data = pattern(5000, 4)
    const pending = files.put('/blob.bin', new Blob([data.subarray(0, 10), data.subarray(10)]))
    assert.instance(pending, Promise)
    await pending
    bytesEq(files.get('/blob.bin'), data, 'Blob')
    await files.put('/file.bin', new File([data], 'file.bin'))
    bytesEq(files.get('/file.bin'), data, 'File')
    const response = await fetch('/fixture.bin')
    await files.put('/fetched.bin', response)
    const view = open('/fetched.bin')
    bytesEq(view, pattern(4096, 7), 'fetch Response, mapped')
    close(view)
    await expectReject(
      () => files.put('/404.bin', new Response('not found', { status: 404, statusText: 'Not Found' })),
      { type: Error, message: /404/ },
      'a 404 Response'
    )
    expectThrow(() => files.get('/404.bin'), { type: Error, code: 'ENOENT' }, 'files.get after a 404')
    await expectReject(() => files.put(42 as never, new Blob([])), { type: TypeError }, 'files.put(42, Blob)')
  })

  api('files.get, files.remove and files.list', () => {
    files.put('/list/a.bin', new Uint8Array(1))
    files.put('/list/b/c.bin', new Uint8Array(2))
    const listed = files.list()
    assert.ok(listed.includes('/list/a.bin') && listed.includes('/list/b/c.bin'), `listed: ${listed.join(' ')}`)
    assert.equal(listed, [...listed].sort(), 'sorted')
    files.remove('/list/a.bin')
    assert.is(files.list().includes('/list/a.bin'), false, 'removed')
    const error = expectThrow(
      () => files.get('/list/a.bin'),
      { type: Error, code: 'ENOENT', syscall: 'open' },
      'files.get(<removed>)'
    )
    assert.is(error.message, "mmapfile.files.get: ENOENT: no such file or directory, open '/list/a.bin'")
    expectThrow(
      () => files.remove('/list/a.bin'),
      { type: Error, code: 'ENOENT', syscall: 'unlink' },
      'files.remove(<removed>)'
    )
    expectThrow(() => files.get('/list/b'), { type: Error, code: 'EISDIR' }, 'files.get(<dir>)')
    expectThrow(() => files.remove('/list/b'), { type: Error, code: 'EISDIR' }, 'files.remove(<dir>)')
    expectThrow(() => files.put('/list/b', new Uint8Array(1)), { type: Error, code: 'EISDIR' }, 'files.put(<dir>)')
    expectThrow(
      () => files.put('/list/b/c.bin/d', new Uint8Array(1)),
      { type: Error, code: 'ENOTDIR' },
      'files.put(<file>/d)'
    )
    expectThrow(() => files.put('/x.bin', 'text' as never), { type: TypeError }, "files.put(p, 'text')")
    expectThrow(() => (files.put as (p: string) => void)('/x.bin'), { type: TypeError }, 'files.put(p)')
    expectThrow(() => files.get(1 as never), { type: TypeError }, 'files.get(1)')
    expectThrow(() => open('/list/b'), { type: Error, code: 'EISDIR' }, 'open(<dir>)')
  })
}

/** OPFS, and a module worker. */
function platformTests(platform: Test): void {
  platform('round trip through OPFS: a File from the origin private file system in, bytes out', async () => {
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

  platform('in a module worker too, with a file system of its own', async () => {
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
      const reply = await new Promise<{ backend: string; bytes: number[]; list: string[] }>((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data)
        worker.onerror = (event) => reject(new Error(`the worker failed: ${event.message}`))
      })
      assert.is(reply.backend, 'wasm', 'backend')
      bytesEq(reply.bytes, [1, 2, 3], 'bytes written in the worker')
      assert.equal(reply.list, ['/worker.bin'], "the worker's files")
    } finally {
      worker.terminate()
      URL.revokeObjectURL(url)
    }
  })
}
