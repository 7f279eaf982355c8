// What the tests of the faults area (test/conformance/faults.ts, faults/*.ts) share. Real system
// calls that fail: each case runs in a child process with test/fault-preload.c preloaded, which fails
// the Nth call of a libc function (ftruncate, fallocate, msync, fsync, pwrite, open, mmap), whether
// the native addon makes it or Node's fs does for the wasm backend. What a failed call left behind is
// checked in the child (/proc/self/fd, /proc/self/maps) and in the file. faults/memfd.ts uses a real
// sealed memfd instead (F_SEAL_SHRINK, made by python3). To see which calls a child makes, run the
// tests with MMAPFILE_FAULTS_LOG=<file> in the environment.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import {
  childPrelude,
  childReport,
  faultPreload,
  lacking,
  runChild,
  runChildSync,
  skipTest,
  tmpFile
} from '../../helpers'
import type { ChildOptions, ChildResult } from '../../helpers'

/** An error as a child reports it. */
export interface Reported {
  type: string
  code?: string
  syscall?: string
  path?: string
  message: string
}

/** Child code after childPrelude: arming faults, trying calls, what is held. */
export const FAULT_HELPERS = `
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

/** The file size of the resize and memory cases: native mmap faults count mappings of 1 MiB and more. */
export const SIZE = 1 << 20

const ERRNO_TEXT = /^[a-z/ ]+$/

/** `e` is the Node-style error of `fn` for the injected fault: code, syscall, path, message. */
export function checkFault(
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
export function sealedMemfd(seal: string, source: string): string[] {
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

/** What every test of the faults area uses: the backend, the child's environment and the test function. */
export interface FaultKit {
  api: any
  PAGE: number
  native: boolean
  /** why fault injection cannot run here, and why mmap faults cannot (null: they can) */
  why: { all: string | null; mmap: string | null }
  /** a test of `s`, skipped with `skip` (default: why.all) unless it is null */
  test: (name: string, fn: () => Promise<void>, skip?: string | null) => void
  /** runs `source` after the prelude and FAULT_HELPERS in a child with faults preloaded; its report */
  child: (source: string, extra: ChildOptions, what: string) => Promise<any>
}

/** The FaultKit of suite `s` for `ctx`. */
export function faultKit(ctx: Ctx, s: Test): FaultKit {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  const native = ctx.backend === 'native'
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
  return { api, PAGE, native, why, test, child }
}
