// open(fd): the errors, first; the descriptor is left as it was.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'
import type { Ctx } from '../ctx'
import { expectThrow, fileSize, fileWith, heldSnapshot, requires, tmpDir } from '../../helpers'
import { allFds, assertNoNewFds, isOpen, reopenNeeds } from './descriptors'

/** What is not a descriptor, a closed one, and a descriptor of the wrong access. */
export function argumentErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const { reopen } = reopenNeeds(ctx)
  const mapsFds = requires(s, ...reopen)
  // --- errors first
  s('a number that is not a descriptor (negative, fractional, NaN, past 2^31 - 1) is a RangeError', () => {
    const before = allFds()
    for (const fd of [-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53]) {
      for (const fn of ['open', 'gcopen']) {
        expectThrow(() => api[fn](fd), { type: RangeError }, `${fn}(${fd})`)
      }
    }
    expectThrow(() => api.open({ fd: 1.5, close() {} }), { type: RangeError }, 'open({ fd: 1.5, close })')
    expectThrow(() => api.open(3n), { type: TypeError }, 'open(3n)')
    assertNoNewFds(before, 'after the bad numbers')
  })

  s('a closed descriptor is EBADF, and the message names it', () => {
    const fd = fs.openSync(fileWith(10), 'r')
    fs.closeSync(fd)
    for (const mode of ['r', 'rw']) {
      const e = expectThrow(
        () => api.open(fd, Uint8Array, mode),
        { type: Error, code: 'EBADF' },
        `open(<closed fd>, Uint8Array, '${mode}')`
      )
      assert.ok(e.message.startsWith('mmapfile.open: EBADF') && e.message.endsWith(`fd ${fd}`), e.message)
      assert.is((e as { path?: unknown }).path, undefined, 'no path')
    }
  })

  s('a FileHandle closed before is EBADF', async () => {
    const handle = await fsp.open(fileWith(10), 'r')
    await handle.close()
    expectThrow(() => api.open(handle), { type: Error, code: 'EBADF' }, 'open(<closed FileHandle>)')
    expectThrow(
      () => api.gcopen(handle, Uint8Array, 'rw'),
      { type: Error, code: 'EBADF' },
      'gcopen(<closed FileHandle>)'
    )
  })

  mapsFds(
    "the descriptor's access decides: 'rw' of a read-only or append-only one, anything of a write-only one, is EACCES",
    () => {
      for (const size of [100, 0]) {
        const p = fileWith(size)
        const held = heldSnapshot()
        const cases: Array<[string, string | number, string[]]> = [
          ["'r'", 'r', ['rw']],
          ["'a+' (O_APPEND)", 'a+', ['rw']],
          ['O_WRONLY', fs.constants.O_WRONLY, ['r', 'rw']],
          ["'a' (O_WRONLY | O_APPEND)", 'a', ['r', 'rw']]
        ]
        for (const [name, flags, refused] of cases) {
          const fd = fs.openSync(p, flags)
          try {
            for (const mode of refused) {
              const e = expectThrow(
                () => api.open(fd, Uint8Array, mode),
                { type: Error, code: 'EACCES' },
                `open(<${name} fd of ${size} bytes>, Uint8Array, '${mode}')`
              )
              assert.ok(e.message.startsWith('mmapfile.open: EACCES'), e.message)
            }
            if (!refused.includes('r')) api.close(api.open(fd, Uint8Array, 'r'))
            assert.ok(isOpen(fd, p), `the ${name} descriptor is still open`)
          } finally {
            fs.closeSync(fd)
          }
        }
        held(`after the refused opens of a ${size}-byte file`)
        assert.is(fileSize(p), size, 'the file is as it was')
      }
    }
  )
}

/** Descriptors of what cannot be mapped, windows past the end, and create, which takes none. */
export function fileErrors(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const { reopen } = reopenNeeds(ctx)
  const mapsFds = requires(s, ...reopen)

  requires(
    s,
    ...reopen,
    'posix-tools',
    'dev-null'
  )("a directory is EISDIR ('r'; 'rw' is EACCES: its descriptor is read-only); a FIFO and /dev/null are ENODEV", () => {
    const fifo = path.join(tmpDir, `fifo-${process.pid}-${ctx.backend}`)
    execFileSync('mkfifo', [fifo]) // first: Bun's child_process keeps a socket open after it
    const before = allFds()
    const dir = fs.openSync(tmpDir, 'r')
    try {
      expectThrow(() => api.open(dir), { type: Error, code: 'EISDIR' }, 'open(<directory fd>)')
      expectThrow(
        () => api.open(dir, Uint8Array, 'rw'),
        { type: Error, code: 'EACCES' },
        "open(<directory fd>, Uint8Array, 'rw')"
      )
    } finally {
      fs.closeSync(dir)
    }
    const f = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK)
    const nul = fs.openSync('/dev/null', 'r+')
    try {
      for (const mode of ['r', 'rw']) {
        expectThrow(
          () => api.open(f, Uint8Array, mode),
          { type: Error, code: 'ENODEV' },
          `open(<fifo fd>, Uint8Array, '${mode}')`
        )
        expectThrow(
          () => api.open(nul, Uint8Array, mode),
          { type: Error, code: 'ENODEV' },
          `open(</dev/null fd>, Uint8Array, '${mode}')`
        )
      }
    } finally {
      fs.closeSync(f)
      fs.closeSync(nul)
      fs.rmSync(fifo)
    }
    assertNoNewFds(before, 'after the refused opens')
  })

  requires(s, 'proc')(
    'every descriptor this process holds (pipes, sockets, eventfd, epoll, stdio): a view or an error with a code, never a crash or a leak',
    () => {
      const before = allFds()
      for (const entry of before) {
        const fd = Number(entry.split(' ')[0])
        for (const mode of ['r', 'rw']) {
          let view: unknown = null
          try {
            view = api.open(fd, Uint8Array, mode, { length: 0 })
          } catch (e) {
            const error = e as { code?: unknown }
            assert.instance(e, Error, `open(${entry}, '${mode}')`)
            assert.type(error.code, 'string', `open(${entry}, '${mode}'): a code`)
            assert.not.instance(e, TypeError, `open(${entry}, '${mode}'): not a TypeError`)
          }
          if (view !== null) api.close(view)
        }
      }
      // Whether each stays open is not asked here: the runtime may close its own meanwhile (Deno does).
      assertNoNewFds(before, 'after mapping every descriptor')
    }
  )

  mapsFds('a window past the end of the file is a RangeError; the descriptor stays open, nothing is held', () => {
    const p = fileWith(100)
    const fd = fs.openSync(p, 'r+')
    const held = heldSnapshot()
    try {
      expectThrow(
        () => api.open(fd, Uint8Array, 'rw', { offset: 101 }),
        { type: RangeError },
        'open(fd, rw, { offset: 101 })'
      )
      expectThrow(
        () => api.open(fd, Uint8Array, 'r', { offset: 50, length: 51 }),
        { type: RangeError },
        'open(fd, r, { offset: 50, length: 51 })'
      )
      held('after the refused windows')
      assert.ok(isOpen(fd, p))
    } finally {
      fs.closeSync(fd)
    }
  })

  s('create takes no descriptor: a TypeError', () => {
    const fd = fs.openSync(fileWith(10), 'r+')
    try {
      expectThrow(() => api.create(fd, 10), { type: TypeError }, 'create(fd, 10)')
      expectThrow(() => api.gccreate(fd, 10), { type: TypeError }, 'gccreate(fd, 10)')
    } finally {
      fs.closeSync(fd)
    }
  })
}
