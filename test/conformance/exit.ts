// A 'rw'/create view still open when its process ends normally keeps its writes (API.md,
// "Semantics"): the main thread ends or calls process.exit, or a worker thread ends by itself or
// calls process.exit. Native: the page cache has them. Wasm: written back by an exit hook (not
// durably), a failure reported on stderr without changing the exit code. Each case is a child process.
import { suite } from 'uvu'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  childPrelude,
  childReport,
  describeChild,
  fileBytes,
  fileWith,
  pattern,
  requires,
  runChild,
  tmpFile
} from '../helpers'

/** The child writes one byte through each kind of writable view and keeps them all open. */
const writeThroughEveryKind = `
const [p, q, r, s] = args
const keep = globalThis.keep = []
const v = m.open(p, Uint8Array, 'rw'); v[1] = 0x11; keep.push(v)
const c = m.create(q, 100); c[2] = 0x22; keep.push(c)
const g = m.gcopen(r, Uint8Array, 'rw', { offset: 3 }); g[0] = 0x33; keep.push(g)
const h = m.gccreate(s, 100); h[4] = 0x44; keep.push(h)
`

/** Four files for writeThroughEveryKind, and the check of what they hold afterwards. */
function fourFiles(): { args: string[]; check: (what: string) => void } {
  const data = pattern(100, 51)
  const args = [fileWith(data), tmpFile(), fileWith(data), tmpFile()]
  return {
    args,
    check: (what) => {
      assert.is(fileBytes(args[0])[1], 0x11, `${what}: open 'rw'`)
      assert.is(fileBytes(args[1])[2], 0x22, `${what}: create`)
      assert.is(fileBytes(args[2])[3], 0x33, `${what}: gcopen 'rw'`)
      assert.is(fileBytes(args[3])[4], 0x44, `${what}: gccreate`)
    }
  }
}

export default function register(ctx: Ctx): void {
  const s = suite(`${ctx.label} views open at exit`)
  mainThreadAndWorkers(s, ctx)
  limitsAndEntries(s, ctx)
  s.run()
}

/** The main thread and worker threads ending with views open. */
function mainThreadAndWorkers(s: Test, ctx: Ctx): void {
  s('the main thread ends with views open: their writes are in the files', async () => {
    const { args, check } = fourFiles()
    const r = await runChild(childPrelude(entry(ctx)) + writeThroughEveryKind, { args })
    assertChildOk(r, 'the main thread ends')
    check('after the child ended')
  })

  s(
    'process.exit with views open and a timer pending: their writes are in the files, the exit code is kept',
    async () => {
      const { args, check } = fourFiles()
      const r = await runChild(
        childPrelude(entry(ctx)) +
          writeThroughEveryKind +
          `
setTimeout(() => {}, 60_000)
process.exit(7)
`,
        { args }
      )
      assert.is(r.status, 7, describeChild(r))
      assert.is(r.stderr.trim(), '', 'nothing on stderr')
      check('after process.exit(7)')
    }
  )

  for (const how of ['ends by itself', 'calls process.exit']) {
    requires(s, 'child-worker')(
      `a worker thread that ${how} with views open: their writes are in the files`,
      async () => {
        const { args, check } = fourFiles()
        const r = await runChild(
          childPrelude(entry(ctx)) +
            `
import { Worker, isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url), { argv: args })
  const code = await new Promise((resolve, reject) => { worker.once('exit', resolve); worker.once('error', reject) })
  report({ code })
} else {
${writeThroughEveryKind}
${how === 'calls process.exit' ? 'process.exit(0)' : ''}
}
`,
          { args }
        )
        assertChildOk(r, `a worker that ${how}`)
        assert.equal(childReport(r, 'worker'), { code: 0 })
        check(`after the worker ${how === 'calls process.exit' ? 'called process.exit' : 'ended'}`)
      }
    )
  }
}

/** A write-back past the file size limit (wasm), and the native entry in a worker (native). */
function limitsAndEntries(s: Test, ctx: Ctx): void {
  if (ctx.backend === 'wasm') {
    // posix-tools: the child's file size limit is set by sh (ulimit -f)
    requires(s, 'posix-tools')(
      'wasm: a write-back that fails at exit is a warning on stderr naming the file; the others are written and the exit code kept',
      async () => {
        const big = fileWith(pattern(100_000, 52))
        const small = fileWith(pattern(100, 53))
        // ulimit -f 20: 10 or 20 KiB, as the shell counts blocks; a write at 90,000 is past it (EFBIG).
        const r = await runChild(
          childPrelude(entry(ctx)) +
            `
const [big, small] = args
const a = m.open(big, Uint8Array, 'rw'); a[90_000] ^= 0xff
const b = m.open(small, Uint8Array, 'rw'); b[5] = 0x55
globalThis.keep = [a, b]
`,
          { args: [big, small], fileSizeLimit: 20 }
        )
        assert.is(r.status, 0, `the exit code: ${describeChild(r)}`)
        assert.ok(
          r.stderr.includes(`mmapfile: warning: the changes to '${big}' could not be written back at exit (EFBIG`),
          `the warning: ${r.stderr}`
        )
        assert.is(fileBytes(big)[90_000], pattern(100_000, 52)[90_000], 'the failed file is as it was')
        assert.is(fileBytes(small)[5], 0x55, 'the other view was written back')
      }
    )
  }

  if (ctx.backend === 'native') {
    requires(s, 'child-worker')(
      'a worker made from a string (eval: true) loads the native backend: no global __dirname misleads it',
      async () => {
        const p = fileWith(pattern(10, 54))
        const r = await runChild(
          childPrelude(entry(ctx)) +
            `
import { Worker } from 'node:worker_threads'
const source = \`
const { parentPort } = require('node:worker_threads')
Promise.all([import('mmapfile'), import('mmapfile/native')]).then(([unified, native]) => {
  const v = native.open(\${JSON.stringify(args[0])}, Uint8Array, 'rw')
  v[0] = 0x77
  native.close(v)
  parentPort.postMessage({ dirname: typeof __dirname, unified: unified.backend, error: unified.backendError && unified.backendError.message })
}, (e) => parentPort.postMessage({ failed: e.message }))
\`
const worker = new Worker(source, { eval: true })
report(await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) }))
await worker.terminate()
`,
          { args: [p] }
        )
        assertChildOk(r, 'an eval worker')
        assert.equal(childReport(r, 'an eval worker'), { dirname: 'string', unified: 'native', error: null })
        assert.is(fileBytes(p)[0], 0x77, 'mmapfile/native mapped a file in the worker')
      }
    )
  }
}
