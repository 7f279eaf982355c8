// The descriptors of this process, for the open(fd) tests (test/conformance/fd.ts, fd/*.ts).
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from '../ctx'
import type { Need } from '../../helpers'
import { fds, lacking } from '../../helpers'

// Where /proc/self/fd does not show this process's descriptors (Windows: Wine shows node.exe the Unix
// side's; a permission model that does not allow reading it), the checks below that use it check
// nothing: each is one assertion among others (as assertNothingHeld in ../helpers).
export const seesFds = lacking('proc') === null

/** The descriptors of this process (numbers and what they are), to find one left open by a failure. */
export function allFds(): Set<string> {
  return new Set(seesFds ? fds() : [])
}

export function assertNoNewFds(before: Set<string>, what: string): void {
  if (!seesFds) return
  assert.equal(
    fds().filter((fd) => !before.has(fd)),
    [],
    `${what}: descriptors left open`
  )
}

/** Whether the descriptor is open (and on the same file as when it was opened, if `p` is given and /proc shows it). */
export function isOpen(fd: number, p?: string): boolean {
  try {
    fs.fstatSync(fd)
  } catch {
    return false
  }
  return p === undefined || !seesFds || fs.readlinkSync(`/proc/self/fd/${fd}`) === p
}

/**
 * What mapping a descriptor needs here and in a child: the wasm host maps a descriptor by opening
 * /proc/self/fd/N again (src/wasm/node-host.ts); where it cannot, the cases that map one are
 * skipped, and the last case checks the error instead.
 */
export function reopenNeeds(ctx: Ctx): { reopen: Need[]; reopenInChild: Need[] } {
  const native = ctx.backend === 'native'
  return { reopen: native ? [] : ['fd-reopen'], reopenInChild: native ? [] : ['child-fd-reopen'] }
}
