// test/helpers.ts for a page (test/browser/run.ts swaps it in): the same names, over the browser
// build's in-memory file system (`files`). What a page does not have (child processes, /proc, file
// modes, descriptors of the runtime) is a need that lacks, so requires() registers the test as a
// skip; a helper that reaches for it throws Skip, which reports the test skipped, with the reason.
import type { Test } from 'uvu'
import type { Need } from '../helpers'
import { files } from '/mmapfile.mjs'
import { Skip, skipReason } from './uvu'
import { pattern } from '../checks'

export * from '../checks'

export const repoRoot = '/'
export const childDir = '/children'
export const tmpDir = '/tmp'
files.put('/tmp/.made', new Uint8Array(0))
files.remove('/tmp/.made')

let tmpCount = 0
export function tmpFile(name = 'f.bin'): string {
  return `${tmpDir}/${++tmpCount}-${name}`
}

export function fileWith(bytes: Uint8Array | number, name = 'f.bin'): string {
  const p = tmpFile(name)
  files.put(p, typeof bytes === 'number' ? pattern(bytes) : bytes)
  return p
}

export function fileBytes(p: string): Uint8Array {
  return files.get(p)
}

export function fileSize(p: string): number {
  return files.get(p).length
}

export function readAt(p: string, position: number, length: number): Uint8Array {
  return files.get(p).slice(position, position + length)
}

export function writeAt(p: string, position: number, bytes: Uint8Array): void {
  const now = files.get(p)
  const next = new Uint8Array(Math.max(now.length, position + bytes.length))
  next.set(now)
  next.set(bytes, position)
  files.put(p, next)
}

export type { Need }

const PAGE_LACKS: Record<Need, string | null> = {
  proc: 'reads /proc, which a page does not have',
  'child-proc': 'runs a child process, which a page cannot',
  'child-worker': 'runs a child process, which a page cannot',
  'posix-tools': 'runs POSIX tools (gcc, sh, mkfifo), which a page does not have',
  'posix-modes': "a page's in-memory file system has no file modes",
  'ld-preload': 'runs a child process with a library preloaded, which a page cannot',
  'not-root': null,
  'posix-cut': null,
  'wasm-memories': null,
  'fd-reopen': 'opens a descriptor of the runtime, which a page has none of',
  'child-fd-reopen': 'runs a child process, which a page cannot',
  tmpfs: 'mounts a tmpfs, which a page cannot',
  memfd: 'makes a memfd, which a page cannot',
  'dev-null': 'opens /dev/null, which a page does not have'
}

export function lacking(need: Need): string | null {
  return PAGE_LACKS[need]
}

export function requires(s: Test, ...needs: Need[]): (name: string, fn: () => unknown) => void {
  const reasons = needs.map(lacking).filter((r): r is string => r !== null)
  if (reasons.length === 0) return (name, fn) => s(name, fn as () => void)
  return (name, fn) => skipTest(s, name, fn, reasons.join('; '))
}

export function skipTest(s: Test, name: string, fn: () => unknown, reason: string): void {
  skipReason(reason)
  s.skip(name, fn as () => void)
}

const noProc = (): never => {
  throw new Skip('reads /proc, which a page does not have')
}
const noChild = (): never => {
  throw new Skip('runs a child process, which a page cannot')
}

export const mapsLines: (needle?: string) => string[] = noProc
export const fds: (prefix?: string) => string[] = noProc
export const vmSizeBytes: () => number = noProc
export const vmGrowthOnceCollected: (before: number, bound: number, rounds?: number) => Promise<number> = noProc

export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void }
  if (typeof g.gc !== 'function') throw new Error('the page needs gc(): Chromium runs with --js-flags=--expose-gc')
  g.gc()
}

export async function collect(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    collectGarbage()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// What is mapped and held open is /proc's to show: as test/helpers.ts where /proc cannot be read,
// these check nothing (one assertion among others).
export function assertNothingHeld(_what: string, _prefix: string): void {}
export function heldSnapshot(_prefix?: string): (what: string) => void {
  return () => {}
}

export interface ChildResult {
  status: number | null
  signal: string | null
  stdout: string
  stderr: string
}
export interface ChildOptions {
  env?: Record<string, string | undefined>
  args?: string[]
  timeoutMs?: number
  fileSizeLimit?: number
  launcher?: string[]
}

export const runChild: (source: string, opts?: ChildOptions) => Promise<ChildResult> = noChild
export const runChildSync: (source: string, opts?: ChildOptions) => ChildResult = noChild
// a child's source is built before the test runs it: runChild is where the test is skipped
export const childPrelude = (_entry: string): string => ''
export const describeChild: (r: ChildResult) => string = noChild
export const assertChildOk: (r: ChildResult, what: string) => void = noChild
export const childReport: <T = any>(r: ChildResult, what: string) => T = noChild
export const syncWitness: () => string = noChild
export const faultPreload: () => string = noChild
