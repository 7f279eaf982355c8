// Shared by every test file: a temp dir per run, child processes, /proc probes and error assertions.
// The parts: temp files (temp-files.ts), what a test needs of the machine (needs.ts), child processes
// (children.ts), error and byte checks (checks.ts); /proc and garbage collection are here.
import * as fs from 'node:fs'
import * as assert from 'uvu/assert'
import { tmpDir } from './temp-files'
import { lacking } from './needs'

export * from './checks'
export * from './temp-files'
export * from './needs'
export * from './children'

// ---------------------------------------------------------------------------------------------
// /proc probes (Linux).

/** Lines of /proc/self/maps that mention `needle` (a path), or all lines. */
export function mapsLines(needle?: string): string[] {
  const lines = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter(Boolean)
  return needle === undefined ? lines : lines.filter((l) => l.includes(needle))
}

/** Open descriptors of this process whose target starts with `prefix` (or all of them). */
export function fds(prefix?: string): string[] {
  const out: string[] = []
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (prefix === undefined || target.startsWith(prefix)) out.push(`${fd} -> ${target}`)
  }
  return out
}

export function vmSizeBytes(): number {
  const m = /VmSize:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
  return m === null ? NaN : Number(m[1]) * 1024
}

// ---------------------------------------------------------------------------------------------
// Garbage collection. The runners give every runtime a way: node --expose-gc, bun --expose-gc
// (or Bun.gc), deno --v8-flags=--expose-gc.

/** One full, synchronous collection. */
export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc: (force: boolean) => void } }
  if (typeof g.gc === 'function') g.gc()
  else if (g.Bun !== undefined) g.Bun.gc(true)
  else throw new Error('the tests need to collect garbage: run them with --expose-gc')
}

/**
 * Collections with turns of the event loop between them, where finalizers run (later than the
 * collection in JavaScriptCore) and engines free what was swept (V8 on a background thread).
 */
export async function collect(rounds = 4): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    collectGarbage()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * How much VmSize has grown since `before` once garbage is collected: collects until the growth is
 * under `bound`, for at most `rounds` rounds. Memory that is only waiting for the collector comes
 * back; memory that leaked does not.
 */
export async function vmGrowthOnceCollected(before: number, bound: number, rounds = 40): Promise<number> {
  let grown = vmSizeBytes() - before
  for (let i = 0; i < rounds && grown >= bound; i++) {
    await collect(1)
    grown = vmSizeBytes() - before
  }
  return grown
}

// Where /proc cannot be read (Windows; a permission model that does not allow it), the two checks
// below check nothing: they are one assertion among others in the tests that use them. Tests that
// are about what /proc shows require 'proc' instead, and are skipped there.

/** Asserts that nothing under `prefix` is mapped or held open by this process. */
export function assertNothingHeld(what: string, prefix: string): void {
  if (lacking('proc') !== null) return
  assert.equal(mapsLines(prefix), [], `${what}: mappings left in /proc/self/maps`)
  assert.equal(fds(prefix), [], `${what}: descriptors left in /proc/self/fd`)
}

/**
 * Remembers what of the temp dir is mapped and open now; the returned function asserts that
 * nothing was added since (so that a view another failed test left open does not count here).
 */
export function heldSnapshot(prefix: string = tmpDir): (what: string) => void {
  if (lacking('proc') !== null) return () => {}
  const maps = new Set(mapsLines(prefix))
  const open = new Set(fds(prefix))
  return (what) => {
    assert.equal(
      mapsLines(prefix).filter((l) => !maps.has(l)),
      [],
      `${what}: mappings left in /proc/self/maps`
    )
    assert.equal(
      fds(prefix).filter((l) => !open.has(l)),
      [],
      `${what}: descriptors left in /proc/self/fd`
    )
  }
}
