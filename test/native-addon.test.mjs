// Low-level checks of the native addon itself (native/binding.c), below the Backend interface: its
// own argument checks, errno numbering and handles, what /proc shows of its mappings, its limits and
// its loading. What every backend does (errors, windows, create, resize, advise, incore) is
// test/backend-contract.test.ts. node test/native-addon.test.mjs (after npx node-gyp rebuild).
// This file: errors; test/native-addon-mapping.test.mjs: mappings, limits and loading.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pattern } from './pattern.mjs'
import { RW, CREATE, addon, MAX, R, dir, file, fdCount, throwsWith, errno, misfit } from './native-addon-kit.mjs'

// ---- errors

test('missing file: errno -ENOENT and syscall, no code (src/native/backend.ts names it)', () => {
  throwsWith(
    () => addon.map(path.join(dir, 'missing.bin'), R, 0, -1, MAX, 0),
    (e) => {
      assert.instance(e, Error)
      assert.is(e.errno, errno('ENOENT'))
      assert.is(e.code, undefined)
      assert.is(e.syscall, 'open')
    }
  )
})

test('the maxBytes argument bounds a view: the window code and the numbers', () => {
  throwsWith(() => addon.map(file(pattern(8)), R, 0, -1, 4, 0), misfit(addon.WINDOW_TOO_BIG, 0, 8, 8, 4))
})

test("the numbers are the addon's own: modes, flags, advice and window codes", () => {
  assert.equal([addon.MODE_READ, addon.MODE_WRITE, addon.MODE_CREATE], [R, RW, CREATE])
  for (const name of [
    'MAP_AUTOCLOSE',
    'MAP_SPARSE',
    'ADVICE_NORMAL',
    'ADVICE_DONTNEED',
    'WINDOW_OFFSET',
    'WINDOW_END',
    'WINDOW_TOO_BIG'
  ]) {
    assert.type(addon[name], 'number', name)
  }
  assert.is(addon.allocationGranularity, undefined)
})

test('bad arguments reaching C: TypeError / RangeError, never a crash', () => {
  throwsWith(
    () => addon.map(1, R, 0, -1, MAX, 0),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.map('a\0b', R, 0, -1, MAX, 0),
    (e) => assert.is(e.code, 'ERR_INVALID_ARG_VALUE')
  )
  throwsWith(
    () => addon.map(file(pattern(1)), R, '0', -1, MAX, 0),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.map(file(pattern(1)), R, 0.5, -1, MAX, 0),
    (e) => assert.instance(e, RangeError)
  )
  throwsWith(
    () => addon.map(file(pattern(1)), 3, 0, -1, MAX, 0),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.sync({}, 0, 0, 1),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.close(null, new ArrayBuffer(0)),
    (e) => assert.instance(e, TypeError)
  )
  const [buffer, handle] = addon.alloc(10, MAX)
  throwsWith(
    () => addon.close(handle, new ArrayBuffer(10)),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.resize(handle, new ArrayBuffer(10), 20, MAX),
    (e) => assert.instance(e, TypeError)
  )
  assert.is(buffer.byteLength, 10)
  addon.close(handle, buffer)
  throwsWith(
    () => addon.map(file(pattern(1)), R, 0, -1),
    (e) => assert.instance(e, TypeError)
  )
})

test('a closed handle: ERR_MMAPFILE_CLOSED; a second close is a no-op', async () => {
  const [buffer, handle] = addon.alloc(10, MAX)
  addon.close(handle, buffer)
  addon.close(handle, buffer)
  for (const call of [
    () => addon.sync(handle, 0, 1, 1),
    () => addon.advise(handle, 0, 0, 1),
    () => addon.resize(handle, buffer, 5, MAX),
    () => addon.incore(handle, 0, 1)
  ]) {
    throwsWith(call, (e) => {
      assert.instance(e, TypeError)
      assert.is(e.code, 'ERR_MMAPFILE_CLOSED')
    })
  }
  throwsWith(
    () => addon.syncAsync(handle, 0, 1),
    (e) => assert.is(e.code, 'ERR_MMAPFILE_CLOSED')
  )
})

test("mapFd: bad descriptors and modes reaching C are TypeError / RangeError / EBADF, a window past the end its code; the caller's fd is left open", () => {
  const p = file(pattern(100))
  const fd = fs.openSync(p, 'r+')
  const before = fdCount()
  throwsWith(
    () => addon.mapFd(-1, R, 0, -1, MAX, 0),
    (e) => assert.instance(e, RangeError)
  )
  throwsWith(
    () => addon.mapFd(2 ** 31, R, 0, -1, MAX, 0),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(
    () => addon.mapFd(fd, CREATE, 0, 10, MAX, 0),
    (e) => assert.instance(e, TypeError)
  )
  throwsWith(() => addon.mapFd(fd, R, 0, 101, MAX, 0), misfit(addon.WINDOW_END, 0, 101, 100, MAX))
  const closed = fs.openSync(p, 'r')
  fs.closeSync(closed)
  throwsWith(
    () => addon.mapFd(closed, R, 0, -1, MAX, 0),
    (e) => {
      assert.is(e.errno, errno('EBADF'))
      assert.is(e.syscall, 'dup')
    }
  )
  assert.is(fdCount(), before, 'no descriptor left by the failures')
  const [buffer, handle] = addon.mapFd(fd, RW, 0, -1, MAX, 0)
  assert.is(fdCount(), before + 1, "an 'rw' mapping holds a descriptor of its own")
  fs.closeSync(fd)
  new Uint8Array(buffer)[0] = 0xee
  addon.sync(handle, 0, 1, 0)
  assert.is(fs.readFileSync(p)[0], 0xee, 'a sync that is not durable: visible to read()')
  addon.close(handle, buffer)
  assert.is(fdCount(), before - 1, "closed: the duplicate and the caller's are gone")
})

test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
test.run()
