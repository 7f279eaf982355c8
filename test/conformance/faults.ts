// Real system calls that fail: each case runs in a child process with test/fault-preload.c preloaded,
// which fails the Nth call of a libc function (ftruncate, fallocate, msync, fsync, pwrite, open, mmap),
// whether the native addon makes it or Node's fs does for the wasm backend. What a failed call left
// behind is checked in the child (/proc/self/fd, /proc/self/maps) and in the file. The last case uses
// a real sealed memfd instead (F_SEAL_SHRINK, made by python3). To see which calls a child makes, run
// the tests with MMAPFILE_FAULTS_LOG=<file> in the environment.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  childPrelude,
  childReport,
  faultPreload,
  fileBytes,
  fileWith,
  lacking,
  pattern,
  requires,
  runChild,
  runChildSync,
  sameBytes,
  skipTest,
  tmpFile
} from '../helpers'
import type { ChildOptions, ChildResult } from '../helpers'

/** An error as a child reports it. */
interface Reported {
  type: string
  code?: string
  syscall?: string
  path?: string
  message: string
}

/** Child code after childPrelude: arming faults, trying calls, what is held. */
const FAULT_HELPERS = `
let generation = 0
// Each new value restarts test/fault-preload.c's counts; the tag makes every arming a new value.
const arm = (spec) => { process.env.MMAPFILE_FAULTS = spec === '' ? '' : spec + ',#' + (++generation) }
const described = (e) => ({ type: e?.constructor?.name, code: e?.code, syscall: e?.syscall, path: e?.path, message: String(e?.message) })
const failure = (fn) => { try { fn(); return null } catch (e) { return described(e) } }
const failureAsync = (promise) => promise.then(() => null, described)
const infoOf = (v) => { try { return m.info(v).byteLength } catch (e) { return described(e) } }
// Descriptors and mappings of this process that reach the file at p.
const heldOf = (p) => [
  ...fs.readdirSync('/proc/self/fd').map((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd) } catch { return '' } }).filter((t) => t === p),
  ...maps(p)
]
// (a closed view's buffer is detached: Buffer.from would throw)
const same = (a, b) => a.byteLength === b.byteLength && (a.byteLength === 0 || Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)))
`

const ERRNO_TEXT = /^[a-z/ ]+$/

/** `e` is the Node-style error of `fn` for the injected fault: code, syscall, path, message. */
function checkFault(
  e: Reported | null | undefined,
  fn: string,
  code: string,
  syscall: string,
  path: string | undefined,
  what: string
): void {
  if (e === null || e === undefined)
    return assert.unreachable(`${what}: succeeded, expected ${code} from ${syscall}`) as never
  const desc = `${e.type} [${String(e.code)}] ${e.message}`
  assert.is(e.type, 'Error', `${what}: type (${desc})`)
  assert.is(e.code, code, `${what}: code (${desc})`)
  assert.is(e.syscall, syscall, `${what}: syscall (${desc})`)
  assert.is(e.path, path, `${what}: path (${desc})`)
  const prefix = `mmapfile.${fn}: ${code}: `
  const where = path === undefined ? syscall : `${syscall} '${path}'`
  assert.ok(e.message.startsWith(prefix), `${what}: the message starts with ${prefix}: ${e.message}`)
  const rest = e.message.slice(prefix.length)
  const text = rest.slice(0, rest.indexOf(`, ${where}`))
  assert.ok(
    rest.includes(`, ${where}`) && ERRNO_TEXT.test(text),
    `${what}: the message says what failed, then ", ${where}": ${e.message}`
  )
}

/**
 * Why fault injection cannot run here, and why mmap faults cannot (null: they can). A probe child
 * checks that an ftruncate fault armed through process.env reaches create, and an mmap fault
 * malloc(mallocBytes). Seen: Bun's process.env does not reach the C environment the library reads;
 * Deno's wasm memory, its reservations (4 GiB down to 1 GiB) refused, is made without another mmap
 * of 1 MiB or more.
 */
function faultsUnavailable(
  ctx: Ctx,
  options: (extra: ChildOptions) => ChildOptions,
  mallocBytes: number
): { all: string | null; mmap: string | null } {
  if (process.platform !== 'linux') {
    const why = `LD_PRELOAD fault injection runs on Linux, not ${process.platform}`
    return { all: why, mmap: why }
  }
  // every case's child reads /proc for what a failure left held
  const childProc = lacking('child-proc')
  if (childProc !== null) return { all: childProc, mmap: childProc }
  try {
    faultPreload()
  } catch (error) {
    const why = `no C compiler to build test/fault-preload.c (${(error as Error).message.split('\n')[0]})`
    return { all: why, mmap: why }
  }
  const p = tmpFile('probe.bin')
  fs.writeFileSync(p, 'x')
  const r = runChildSync(
    `${childPrelude(entry(ctx))}${FAULT_HELPERS}
// mmap first: a wasm instance released by the create below would be reused (pooled) without one
arm('mmap=1+:ENOMEM')
const mapped = failure(() => m.free(m.malloc(Number(args[1]))))
arm('ftruncate=1:EIO')
const truncated = failure(() => m.create(args[0], 10))
arm('')
report([truncated?.code ?? 'created', mapped?.code ?? 'mapped'])
`,
    options({ args: [p, String(mallocBytes)] })
  )
  const got = r.stdout.trim().split('\n').pop() ?? ''
  const [truncated, mapped] = /^\[.*\]$/.test(got) ? (JSON.parse(got) as string[]) : ['', '']
  const problem =
    r.status !== 0 || r.stderr.trim() !== '' ? ` (status ${String(r.status)}: ${r.stderr.trim().split('\n')[0]})` : ''
  const all =
    truncated === 'EIO'
      ? null
      : `an LD_PRELOAD fault armed through process.env does not reach the ${ctx.backend} backend's calls on this runtime: a probe's ftruncate EIO gave '${truncated}'${problem}`
  const mmap =
    all ??
    (mapped === 'ENOMEM'
      ? null
      : `an injected mmap ENOMEM does not reach the ${ctx.backend} backend's mappings on this runtime: a probe's malloc gave '${mapped}'`)
  return { all, mmap }
}

/**
 * Makes a memfd holding the bytes of `source` (a file), sealed with `seal` (F_SEAL_SHRINK,
 * F_SEAL_GROW), then execs the child with its fd as the last argument.
 */
function sealedMemfd(seal: string, source: string): string[] {
  return [
    'python3',
    '-c',
    `
import fcntl, os, sys
fd = os.memfd_create('mmapfile-sealed', os.MFD_ALLOW_SEALING)
with open(${JSON.stringify(source)}, 'rb') as f:
    data = f.read()
while data:
    data = data[os.write(fd, data):]
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.${seal})
os.set_inheritable(fd, True)
os.execv(sys.argv[1], sys.argv[1:] + [str(fd)])
`
  ]
}

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
  const s = suite(`${ctx.label} faults`)
  // mmap faults count only mappings this large: the file windows of the native cases (1 MiB and up),
  // the address space a wasm instance reserves for its memory (10 GiB on 64-bit V8). The engine maps
  // smaller pieces for itself at any time, and dies if that fails.
  const MMAP_MIN = native ? 1 << 20 : 1 << 30
  const options = (extra: ChildOptions = {}): ChildOptions => ({
    ...extra,
    env: {
      LD_PRELOAD: faultPreload(),
      MMAPFILE_FAULTS: '',
      MMAPFILE_FAULTS_MMAP_MIN: String(MMAP_MIN),
      // libuv can make the thread pool's file calls through io_uring, past libc: not here
      UV_USE_IO_URING: '0',
      ...extra.env
    }
  })
  // a native malloc maps as many bytes; any wasm one reserves 10 GiB (or less, see faultsUnavailable)
  const why = faultsUnavailable(ctx, options, native ? MMAP_MIN : 1)
  const test = (name: string, fn: () => Promise<void>, skip = why.all): void => {
    if (skip === null) s(name, fn)
    else skipTest(s, name, fn, skip)
  }
  const child = async (source: string, extra: ChildOptions, what: string): Promise<any> => {
    const r: ChildResult = await runChild(`${childPrelude(entry(ctx))}${FAULT_HELPERS}${source}`, options(extra))
    if (r.stderr.trim() !== '') assert.unreachable(`${what}: the child wrote on stderr:\n${r.stderr}`)
    return childReport(r, what)
  }

  // --- create over an existing file: as it was, or emptied and said so; a new file is removed

  interface CreateRun {
    n: number
    created?: true
    error?: Reported
    state?: string
    held?: string[]
  }
  const sizeChanges: Array<[string, string, string, number]> = [['ftruncate', 'EFBIG', 'size change', 3]]
  if (native) sizeChanges.push(['fallocate', 'ENOSPC', 'reservation', 2])
  for (const [syscall, code, step, steps] of sizeChanges) {
    test(`create over an existing file refused at each ${step} in turn (${syscall} ${code}): the file is as it was, or empty and the error says so; nothing held`, async () => {
      const variants: Array<[string, number, number]> = [
        ['grown', 1000, 3 * PAGE],
        ['shrunk', 3 * PAGE + 10, 100]
      ]
      const paths = variants.map(() => tmpFile())
      const runs: CreateRun[][] = await child(
        `
const variants = ${JSON.stringify(variants)}
const out = []
for (const [i, [, oldSize, newSize]] of variants.entries()) {
  const p = args[i]
  const old = pattern(oldSize)
  const runs = []
  for (let n = 1; n <= 10; n++) {
    fs.writeFileSync(p, old)
    let v = null
    arm('${syscall}=' + n + ':${code}')
    const error = failure(() => { v = m.create(p, newSize) })
    arm('')
    if (error === null) { m.close(v); runs.push({ n, created: true }); break }
    const now = fs.readFileSync(p)
    runs.push({ n, error, state: same(now, old) ? 'as it was' : now.length === 0 ? 'empty' : now.length + ' bytes, not the old ones', held: heldOf(p) })
  }
  out.push(runs)
}
report(out)
`,
        { args: paths },
        `create refused at its ${step}s`
      )
      variants.forEach(([label, oldSize, newSize], i) => {
        const what = `create(<existing file of ${oldSize} bytes>, ${newSize}) (${label})`
        const done = runs[i]
        assert.ok(done[done.length - 1].created, `${what}: still failing at the 10th ${syscall}`)
        const failed = done.slice(0, -1)
        // grown: growth, emptying, sizing (ftruncate) or reserving before and after emptying (fallocate)
        const expected = label === 'grown' ? steps : 2
        assert.ok(
          failed.length >= expected,
          `${what}: only ${failed.length} ${syscall} calls failed in turn, expected ${expected} (${JSON.stringify(done)})`
        )
        for (const run of failed) {
          const at = `${what}, ${syscall} #${run.n} failing`
          checkFault(run.error as Reported, 'create', code, syscall, paths[i], at)
          const says = /emptied/.test((run.error as Reported).message)
          if (run.state === 'as it was')
            assert.not.ok(says, `${at}: the file is whole, but the error says it was emptied`)
          else if (run.state === 'empty')
            assert.ok(
              says,
              `${at}: the file was emptied, and the error does not say so: ${(run.error as Reported).message}`
            )
          else assert.unreachable(`${at}: the file is neither as it was nor empty: ${String(run.state)}`)
          assert.equal(run.held, [], `${at}: descriptors or mappings of the file left`)
        }
      })
    })
  }

  test(`create of a new file refused at its size${native ? ' or its reservation' : ''}: the file is removed, nothing held`, async () => {
    const faults = [['ftruncate', 'EFBIG'], ...(native ? [['fallocate', 'ENOSPC']] : [])]
    const paths = faults.map(() => tmpFile())
    const out: Array<{ error: Reported; exists: boolean; held: string[]; again: number }> = await child(
      `
const faults = ${JSON.stringify(faults)}
report(faults.map(([syscall, code], i) => {
  const p = args[i]
  arm(syscall + '=1:' + code)
  const error = failure(() => m.create(p, 3 * m.PAGE_SIZE))
  arm('')
  const result = { error, exists: fs.existsSync(p), held: heldOf(p) }
  const v = m.create(p, 5) // the path is free again
  m.close(v)
  return { ...result, again: fs.statSync(p).size }
}))
`,
      { args: paths },
      'create of a new file refused'
    )
    faults.forEach(([syscall, code], i) => {
      const what = `create(<new file>, 3 pages), ${syscall} failing`
      checkFault(out[i].error, 'create', code, syscall, paths[i], what)
      assert.not.ok(out[i].exists, `${what}: the file it made is still there`)
      assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
      assert.is(out[i].again, 5, `${what}: a create of the same path afterwards`)
    })
  })

  // --- a write-back that fails keeps the view, and a retry writes it

  const writeBackFaults: Array<[string, string, string]> = native
    ? [['msync=1:EIO', 'EIO', 'msync']]
    : [
        ['pwrite=1:EIO', 'EIO', 'write'],
        ['pwrite=1:ENOSPC', 'ENOSPC', 'write'],
        ['pwrite=2:EIO', 'EIO', 'write'],
        ['fsync=1:EIO', 'EIO', 'fsync']
      ]
  for (const [fault, code, syscall] of writeBackFaults) {
    test(`a write-back refused (${fault}) by close, sync or syncAsync: the view stays open with its bytes, info() works, a retry writes them`, async () => {
      const ops = ['close', 'sync', 'syncAsync']
      const paths = ops.map(() => tmpFile())
      // Two changes three 64 KiB chunks apart: on wasm, two writes.
      const SIZE = 4 * 65536
      const [A, B, C] = [1, 3 * 65536 + 5, 2]
      const out: any[] = await child(
        `
const ops = ${JSON.stringify(ops)}
const [A, B, C] = [${A}, ${B}, ${C}]
const out = []
for (const [i, op] of ops.entries()) {
  const p = args[i]
  fs.writeFileSync(p, new Uint8Array(${SIZE}))
  const v = m.open(p, Uint8Array, 'rw')
  v[A] = 11; v[B] = 22
  const call = () => op === 'syncAsync' ? failureAsync(m.syncAsync(v)) : failure(() => m[op](v))
  arm('${fault}')
  const error = await call()
  arm('')
  const after = { error, length: v.length, a: v[A], b: v[B], info: infoOf(v), mapped: maps(p).length }
  v[C] = 33 // written after the failure: the retry writes it too
  const retry = await call()
  const closed = failure(() => m.close(v))
  const file = fs.readFileSync(p)
  out.push({ ...after, retry, closed, lengthAfter: v.length, file: [file.length, file[A], file[B], file[C]], held: heldOf(p) })
}
report(out)
`,
        { args: paths },
        `write-back refused (${fault})`
      )
      ops.forEach((op, i) => {
        const what = `${op}(<'rw' view>) with ${fault}`
        const r = out[i]
        checkFault(r.error, op, code, syscall, paths[i], what)
        assert.equal([r.length, r.a, r.b], [SIZE, 11, 22], `${what}: the view after the failure (length, bytes)`)
        assert.is(r.info, SIZE, `${what}: info(view).byteLength after the failure`)
        if (native) assert.ok(r.mapped > 0, `${what}: the file is no longer mapped after the failure`)
        assert.is(r.retry, null, `${what}: the retry, the fault gone, failed: ${JSON.stringify(r.retry)}`)
        assert.is(r.closed, null, `${what}: the close after the retry failed: ${JSON.stringify(r.closed)}`)
        assert.is(r.lengthAfter, 0, `${what}: the view after close`)
        assert.equal(r.file, [SIZE, 11, 22, 33], `${what}: the file (size, bytes) after the retry`)
        assert.equal(r.held, [], `${what}: descriptors or mappings of the file left after close`)
      })
    })
  }

  test('an empty view whose fsync fails at close stays open (info() works); a retried close succeeds', async () => {
    const p = tmpFile()
    const r = await child(
      `
const v = m.create(args[0], 0)
arm('fsync=1:EIO')
const error = failure(() => m.close(v))
arm('')
report({ error, info: infoOf(v), retry: failure(() => m.close(v)), closedInfo: infoOf(v)?.code, held: heldOf(args[0]) })
`,
      { args: [p] },
      'fsync refused at close of an empty view'
    )
    checkFault(r.error, 'close', 'EIO', 'fsync', p, 'close(<empty view>) with fsync=1:EIO')
    assert.is(r.info, 0, 'info(view).byteLength after the failed close')
    assert.is(r.retry, null, 'the retried close')
    assert.is(r.closedInfo, 'ERR_MMAPFILE_CLOSED', 'info(view) after the retried close')
    assert.equal(r.held, [], 'descriptors of the file left after close')
  })

  test(`a write-back refused (${writeBackFaults.map(([fault]) => fault).join(', ')}) while another view shares its chunks: both views keep their bytes, a retried close writes them all`, async () => {
    const paths = writeBackFaults.map(() => tmpFile())
    const out: any[] = await child(
      `
const faults = ${JSON.stringify(writeBackFaults.map(([fault]) => fault))}
report(faults.map((fault, i) => {
  const p = args[i]
  fs.writeFileSync(p, new Uint8Array(200000))
  // B is a window of A's first chunks: A and B change different bytes of one chunk
  const A = m.open(p, Uint8Array, 'rw')
  const B = m.open(p, Uint8Array, 'rw', { offset: 4096, length: 100000 })
  A[10] = 1; A[5000] = 2; B[20] = 3; A[150000] = 4
  arm(fault)
  const error = failure(() => m.close(A))
  arm('')
  const views = [A.length, A[10], A[5000], A[150000], B.length, B[20]]
  const retry = failure(() => m.close(A))
  const closed = failure(() => m.close(B))
  const file = fs.readFileSync(p)
  return { error, views, retry, closed, file: [file[10], file[5000], file[4116], file[150000]], held: heldOf(p) }
}))
`,
      { args: paths },
      'write-back refused with a shared chunk'
    )
    writeBackFaults.forEach(([fault, code, syscall], i) => {
      const what = `close(A) with ${fault}, B a window over A's chunks`
      const r = out[i]
      checkFault(r.error, 'close', code, syscall, paths[i], what)
      assert.equal(
        r.views,
        [200000, 1, 2, 4, 100000, 3],
        `${what}: the views after the failure (A's length and bytes, B's)`
      )
      assert.equal([r.retry, r.closed], [null, null], `${what}: the retried close of A, the close of B`)
      assert.equal(r.file, [1, 2, 3, 4], `${what}: the file holds every view's bytes`)
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })

  // --- resize that fails: the old view open and unchanged, the file as it was

  const SIZE = 1 << 20 // native mmap faults count mappings of 1 MiB and more
  interface ResizeCase {
    label: string
    fault: string
    /** the window's length (null: the whole file), from offset 0 */
    window: number | null
    length: number
    /** the view changed its last byte before the resize (wasm writes that chunk back first) */
    dirtyEnd?: boolean
  }
  const resizeFaults: Array<ResizeCase & { code: string; syscall: string }> = [
    { label: 'grow', fault: 'ftruncate=1:EFBIG', code: 'EFBIG', syscall: 'ftruncate', window: null, length: 2 * SIZE },
    { label: 'shrink', fault: 'ftruncate=1:EIO', code: 'EIO', syscall: 'ftruncate', window: null, length: SIZE / 2 },
    {
      label: 'grow a window that ends before the end of the file past that end',
      fault: 'ftruncate=1:EFBIG',
      code: 'EFBIG',
      syscall: 'ftruncate',
      window: SIZE / 2,
      length: 2 * SIZE
    }
  ]
  if (native) {
    resizeFaults.push({
      label: 'grow',
      fault: 'fallocate=1:ENOSPC',
      code: 'ENOSPC',
      syscall: 'fallocate',
      window: null,
      length: 2 * SIZE
    })
    resizeFaults.push({
      label: 'grow',
      fault: 'mmap=1:ENOMEM',
      code: 'ENOMEM',
      syscall: 'mmap',
      window: null,
      length: 2 * SIZE
    })
  } else {
    resizeFaults.push({
      label: 'grow after a change in the chunk at the end, written back first',
      fault: 'pwrite=1:EIO',
      code: 'EIO',
      syscall: 'write',
      window: SIZE - 100,
      length: 2 * SIZE,
      dirtyEnd: true
    })
  }
  /** The child's resize cases: reports what the old (or the new) view and the file hold. */
  const resizeChild = (cases: ResizeCase[]): string => `
const cases = ${JSON.stringify(cases)}
const old = pattern(${SIZE})
report(cases.map(({ fault, window, length, dirtyEnd }, i) => {
  const p = args[i]
  fs.writeFileSync(p, old)
  const v = m.open(p, Uint8Array, 'rw', window === null ? {} : { length: window })
  const before = v.length
  const expected = old.slice(0, before)
  if (dirtyEnd) v[before - 1] = expected[before - 1] ^= 0xff
  let w = null
  arm(fault)
  const error = failure(() => { w = m.resize(v, length) })
  arm('')
  if (w !== null) { // it worked after all: the new view and the file must be right
    const resized = [w.length, same(w.subarray(0, before), expected), w.subarray(before).every((b) => b === 0)]
    const closed = failure(() => m.close(w))
    const file = fs.readFileSync(p)
    return { resized, closed, file: [file.length, same(file.subarray(0, before), expected), file.subarray(before).every((b) => b === 0)], held: heldOf(p) }
  }
  const result = { error, length: v.length, same: same(v, expected), info: infoOf(v), file: same(fs.readFileSync(p), old) }
  v[0] = 99
  const closed = failure(() => m.close(v))
  return { ...result, closed, first: fs.readFileSync(p)[0], held: heldOf(p) }
}))
`
  test(`resize refused (${resizeFaults.map(({ label, fault }) => `${label}: ${fault}`).join('; ')}): the old view stays open and unchanged, the file as it was`, async () => {
    const paths = resizeFaults.map(() => tmpFile())
    const out: any[] = await child(resizeChild(resizeFaults), { args: paths }, 'resize refused')
    resizeFaults.forEach(({ label, fault, code, syscall, window }, i) => {
      const what = `resize (${label}) with ${fault}`
      const r = out[i]
      const length = window ?? SIZE
      checkFault(r.error, 'resize', code, syscall, paths[i], what)
      assert.equal([r.length, r.same], [length, true], `${what}: the old view (length, bytes unchanged)`)
      assert.is(r.info, length, `${what}: info(old view).byteLength`)
      assert.ok(r.file, `${what}: the file is not as it was`)
      assert.is(r.closed, null, `${what}: close of the old view`)
      assert.is(r.first, 99, `${what}: a write to the old view after the failure reached the file`)
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })

  // Growing a window that ends before the end of the file past that end: the file grows (ftruncate,
  // then native reserves the growth: 1st fallocate), then the bytes past the old window end are
  // zeroed in place: native punches a hole there (2nd fallocate), wasm writes the zeros (pwrite).
  // Native: refused, the growth is undone and the old view stays whole; wasm: the zeros not written
  // are written at the next write-back, so the resize works.
  const zeroFaults: Array<[string, string]> = native ? [['fallocate=2:EIO', 'fallocate']] : [['pwrite=1:EIO', 'write']]
  test(`resize growing a window that ends before the end of the file past that end, its zeroing in place refused (${zeroFaults.map(([f]) => f).join(', ')}): fails as above, or works with zeros past the old end`, async () => {
    const paths = zeroFaults.map(() => tmpFile())
    const out: any[] = await child(
      resizeChild(zeroFaults.map(([fault]) => ({ label: 'zero', fault, window: SIZE / 2, length: 2 * SIZE }))),
      { args: paths },
      'resize with its zeroing refused'
    )
    zeroFaults.forEach(([fault, syscall], i) => {
      const what = `resize(<window of the first half>, twice the file) with ${fault}`
      const r = out[i]
      if (r.resized === undefined) {
        checkFault(r.error, 'resize', 'EIO', syscall, paths[i], what)
        assert.equal(
          [r.length, r.same, r.info, r.file, r.closed, r.first],
          [SIZE / 2, true, SIZE / 2, true, null, 99],
          `${what}: the old view (length, bytes, info().byteLength), the file as it was, close, a later write`
        )
      } else {
        assert.equal(
          r.resized,
          [2 * SIZE, true, true],
          `${what}: the new view (length, bytes kept, zeros past the old end)`
        )
        assert.is(r.closed, null, `${what}: close of the new view`)
        assert.equal(
          r.file,
          [2 * SIZE, true, true],
          `${what}: the file after close (size, bytes kept, zeros past the old end)`
        )
      }
      assert.equal(r.held, [], `${what}: descriptors or mappings of the file left`)
    })
  })

  if (native) {
    test("open 'rw' refused its reservation (fallocate ENOSPC): the error, nothing held, the file as it was; { sparse: true } reserves nothing", async () => {
      const p = tmpFile()
      const old = pattern(5000)
      fs.writeFileSync(p, old)
      const r = await child(
        `
arm('fallocate=1:ENOSPC')
const error = failure(() => m.open(args[0], Uint8Array, 'rw'))
const held = heldOf(args[0])
arm('fallocate=1:ENOSPC')
let sparse = null
const sparseError = failure(() => { sparse = m.open(args[0], Uint8Array, 'rw', { sparse: true }) })
arm('')
const sparseLength = sparse?.length ?? null
if (sparse !== null) m.close(sparse)
report({ error, held, sparseError, sparseLength })
`,
        { args: [p] },
        "open 'rw' refused its reservation"
      )
      checkFault(r.error, 'open', 'ENOSPC', 'fallocate', p, "open(p, Uint8Array, 'rw') with fallocate=1:ENOSPC")
      assert.equal(r.held, [], 'descriptors or mappings of the file left')
      assert.equal(
        [r.sparseError, r.sparseLength],
        [null, 5000],
        "open(p, Uint8Array, 'rw', { sparse: true }) with the same fault armed, then closed"
      )
      sameBytes(fileBytes(p), old, 'the file')
    })
  }

  // --- running out of descriptors or memory

  test('open and create refused for want of descriptors (open EMFILE): a Node-style error, no file made, nothing held', async () => {
    const cases: Array<[string, string, string, boolean]> = [
      // call, fault, function, the file exists before
      ["open(p, Uint8Array, 'r')", 'open=1:EMFILE', 'open', true],
      ["open(p, Uint8Array, 'rw')", 'open=1:EMFILE', 'open', true],
      ["gcopen(p, Uint8Array, 'rw')", 'open=1:EMFILE', 'gcopen', true],
      ['create(p, 4096)', 'open=1:EMFILE', 'create', false],
      // the first open, exclusive, finds the file; the second opens it
      ['create(p, 4096)', 'open=2:EMFILE', 'create', true]
    ]
    const paths = cases.map(() => tmpFile())
    for (const [i, c] of cases.entries()) if (c[3]) fs.writeFileSync(paths[i], pattern(5000))
    const out: any[] = await child(
      `
const cases = ${JSON.stringify(cases)}
const calls = [${cases.map(([call]) => `(p) => m.${call}`).join(', ')}]
report(cases.map(([, fault], i) => {
  const p = args[i]
  arm(fault)
  const error = failure(() => calls[i](p))
  arm('')
  return { error, exists: fs.existsSync(p), held: heldOf(p) }
}))
`,
      { args: paths },
      'EMFILE'
    )
    cases.forEach(([call, fault, fn, existed], i) => {
      const what = `${call} with ${fault}`
      checkFault(out[i].error, fn, 'EMFILE', 'open', paths[i], what)
      assert.is(out[i].exists, existed, `${what}: the file exists afterwards`)
      if (existed) sameBytes(fileBytes(paths[i]), pattern(5000), `${what}: the existing file`)
      assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
    })
  })

  test(
    'open, create and malloc refused for want of memory (mmap ENOMEM): a Node-style error, no file made, nothing held',
    async () => {
      // wasm: V8 retries a refused reservation after collecting garbage, so every try must fail. No
      // call here makes an instance, so none is taken from the backend's pool without a new mapping.
      const fault = native ? 'mmap=1:ENOMEM' : 'mmap=1+:ENOMEM'
      const cases: Array<[string, string, boolean]> = [
        ["open(p, Uint8Array, 'r')", 'open', true],
        ["open(p, Uint8Array, 'rw')", 'open', true],
        [`create(p, ${SIZE})`, 'create', false],
        [`create(p, ${2 * SIZE})`, 'create', true],
        [`malloc(${SIZE})`, 'malloc', false]
      ]
      const paths = cases.map(() => tmpFile())
      for (const [i, c] of cases.entries()) if (c[2]) fs.writeFileSync(paths[i], pattern(SIZE))
      const out: any[] = await child(
        `
const cases = ${JSON.stringify(cases)}
const calls = [${cases.map(([call]) => `(p) => m.${call}`).join(', ')}]
report(cases.map((_, i) => {
  const p = args[i]
  arm('${fault}')
  const error = failure(() => calls[i](p))
  arm('')
  return { error, exists: fs.existsSync(p), held: heldOf(p) }
}))
`,
        { args: paths },
        'ENOMEM'
      )
      cases.forEach(([call, fn, existed], i) => {
        const what = `${call} with ${fault}`
        checkFault(out[i].error, fn, 'ENOMEM', 'mmap', fn === 'malloc' ? undefined : paths[i], what)
        assert.is(out[i].exists, existed, `${what}: the file exists afterwards`)
        if (existed) sameBytes(fileBytes(paths[i]), pattern(SIZE), `${what}: the existing file`)
        assert.equal(out[i].held, [], `${what}: descriptors or mappings of the file left`)
      })
    },
    why.mmap
  )

  // --- a real file that refuses to shrink: a memfd sealed with F_SEAL_SHRINK

  // the child maps the memfd by its /proc/self/fd path
  const memfdTest = requires(s, 'memfd', 'child-proc')
  memfdTest(
    'a memfd sealed against shrinking: resize of a window before its end fails (EPERM) and keeps the view; a whole-file view grows',
    async () => {
      // The window is one page and grows to half the file: the file must be cut at the new end, which
      // the seal refuses, and a wasm instance's memory must grow (which once detached the view).
      const r = await runChild(
        `${childPrelude(entry(ctx))}${FAULT_HELPERS}
const p = '/proc/self/fd/' + args[args.length - 1]
const PAGE = m.PAGE_SIZE
const SIZE = 256 * PAGE
const old = pattern(SIZE)
const out = {}
const v = m.open(p, Uint8Array, 'rw', { length: PAGE })
out.error = failure(() => m.resize(v, 128 * PAGE))
out.view = [v.length, same(v, old.subarray(0, PAGE)), infoOf(v)]
v[1] = 201
out.closed = failure(() => m.close(v))
const file = fs.readFileSync(p)
out.file = [file.length, file[1], same(file.subarray(2), old.subarray(2))]
// The whole file: growth is all the resize asks, and the seal allows it.
const w = m.open(p, Uint8Array, 'rw')
let grown = null
out.grow = failure(() => { grown = m.resize(w, SIZE + 2 * PAGE) })
if (grown !== null) {
  out.grown = [grown.length, grown[1], same(grown.subarray(2, SIZE), old.subarray(2)), grown.subarray(SIZE).every((b) => b === 0)]
  grown[SIZE + PAGE] = 7
  out.grownClosed = failure(() => m.close(grown))
}
const after = fs.readFileSync(p)
out.after = [after.length, after[SIZE + PAGE]]
report(out)
`,
        { launcher: sealedMemfd('F_SEAL_SHRINK', fileWith(pattern(256 * PAGE))) }
      )
      if (r.stderr.trim() !== '') assert.unreachable(`the child wrote on stderr:\n${r.stderr}`)
      const out = childReport(r, 'sealed memfd')
      const SIZE = 256 * PAGE
      const pathOf = out.error?.path as string
      assert.match(String(pathOf), /^\/proc\/self\/fd\/\d+$/, 'the error names the path')
      checkFault(
        out.error,
        'resize',
        'EPERM',
        'ftruncate',
        pathOf,
        "resize(<'rw' window of the first page>, 128 pages)"
      )
      assert.equal(
        out.view,
        [PAGE, true, PAGE],
        'the view after the refused resize (length, bytes unchanged, info().byteLength)'
      )
      assert.is(out.closed, null, 'close of the view after the refused resize')
      assert.equal(out.file, [SIZE, 201, true], 'the memfd (size, the byte written after the failure, the rest)')
      assert.is(out.grow, null, 'resize of a whole-file view by 2 pages')
      assert.equal(out.grown, [SIZE + 2 * PAGE, 201, true, true], 'the grown view (length, bytes kept, growth zero)')
      assert.is(out.grownClosed, null, 'close of the grown view')
      assert.equal(
        out.after,
        [SIZE + 2 * PAGE, 7],
        'the memfd after the grown view was closed (size, a byte written in the growth)'
      )
    }
  )

  // Growing a window that ends before the end of the file, to a length still inside it: the bytes
  // past the old window end must read as zeros. Cutting the file there and growing it back (as
  // 1e821f3 did) needs the file to grow, and a file that may not grow lost its bytes to the cut.
  // Nothing here needs more than the size change itself: the file is cut at the new end, and the
  // bytes are zeroed in place (native: a punched hole; wasm: written).
  memfdTest(
    'a memfd sealed against growth: growing a window before its end to a length inside the file works, or fails leaving the file as it was',
    async () => {
      const r = await runChild(
        `${childPrelude(entry(ctx))}${FAULT_HELPERS}
const p = '/proc/self/fd/' + args[args.length - 1]
const PAGE = m.PAGE_SIZE
const old = pattern(256 * PAGE)
const v = m.open(p, Uint8Array, 'rw', { length: PAGE })
let w = null
const error = failure(() => { w = m.resize(v, 128 * PAGE) })
if (w === null) {
  const view = [v.length, same(v, old.subarray(0, PAGE))]
  const closed = failure(() => m.close(v))
  const file = fs.readFileSync(p)
  report({ error, view, closed, file: [file.length, same(file, old)] })
} else {
  const resized = [w.length, same(w.subarray(0, PAGE), old.subarray(0, PAGE)), w.subarray(PAGE).every((b) => b === 0)]
  const closed = failure(() => m.close(w))
  const file = fs.readFileSync(p)
  report({ resized, closed, file: [file.length, same(file.subarray(0, PAGE), old.subarray(0, PAGE)), file.subarray(PAGE).every((b) => b === 0)] })
}
`,
        { launcher: sealedMemfd('F_SEAL_GROW', fileWith(pattern(256 * PAGE))) }
      )
      const out = childReport(r, 'memfd sealed against growth')
      const what = "resize(<'rw' window of the first page>, 128 pages) of a memfd of 256 pages sealed against growth"
      if (out.resized === undefined) {
        assert.equal(
          out.view,
          [PAGE, true],
          `${what}: failed (${JSON.stringify(out.error)}); the old view (length, bytes)`
        )
        assert.is(out.closed, null, `${what}: failed; close of the old view`)
        assert.equal(
          out.file,
          [256 * PAGE, true],
          `${what}: failed (${JSON.stringify(out.error)}); the file (size, bytes as they were)`
        )
      } else {
        assert.equal(
          out.resized,
          [128 * PAGE, true, true],
          `${what}: the new view (length, bytes kept, zeros past the old end)`
        )
        assert.is(out.closed, null, `${what}: close of the new view`)
        assert.equal(
          out.file,
          [128 * PAGE, true, true],
          `${what}: the file after close (size, bytes kept, zeros past the old end)`
        )
      }
      if (r.stderr.trim() !== '') assert.unreachable(`the child wrote on stderr:\n${r.stderr}`)
    }
  )

  s.run()
}
