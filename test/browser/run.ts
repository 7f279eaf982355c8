// The conformance files (test/conformance/*.ts) in a page, on the browser build (served as
// /mmapfile.mjs), and the cases only a page has (test/browser/page.ts). test/browser.test.mjs
// bundles this with test/browser/uvu.ts for uvu, test/browser/helpers.ts for ../helpers and
// test/browser/node/ for the node: modules the files import; page.html runs it and hands
// window.mmapfileResults back, one result per test: passed, failed or skipped with its reason.
//
// An area runs in the page unless it is declared below with the reason it cannot; each of its tests
// that reaches for what a page does not have (a child process, /proc, a descriptor) is skipped by
// the helper it called, with the reason.
import * as api from '/mmapfile.mjs'
import type { Ctx } from '../conformance/ctx'
import { runSuites } from './uvu'
import type { Result } from './uvu'
import info from '../conformance/info'
import struct from '../conformance/struct'
import create from '../conformance/create'
import open from '../conformance/open'
import close from '../conformance/close'
import sync from '../conformance/sync'
import visible from '../conformance/visible'
import malloc from '../conformance/malloc'
import resize from '../conformance/resize'
import coherence from '../conformance/coherence'
import advise from '../conformance/advise'
import gc from '../conformance/gc'
import messages from '../conformance/messages'
import page from './page'

/** The areas of test/conformance/index.ts, in its order: a register function, or why the area cannot run in a page. */
const AREAS: Array<[string, ((ctx: Ctx) => void) | string]> = [
  ['info', info],
  ['struct', struct],
  ['create', create],
  ['open', open],
  [
    'fd',
    'open(fd) maps a descriptor of the runtime, and a page has none (numbers are ENOTSUP there: test/browser/page.ts)'
  ],
  ['large', 'sparse files of 6 GiB: the in-memory file system holds every byte of a file'],
  ['close', close],
  ['sync', sync],
  ['visible', visible],
  ['malloc', malloc],
  ['resize', resize],
  [
    'shared-file',
    "one file shared by several processes and worker threads, each opening it by path: a page's files are its own"
  ],
  ['coherence', coherence],
  ['advise', advise],
  ['gc', gc],
  [
    'exit',
    'what a process leaves written at exit, signals and uncaught errors: child processes, which a page cannot run'
  ],
  ['space', 'a full disk and the limit on mappings: tmpfs mounts and child processes, which a page cannot make'],
  ['faults', 'system calls failed on demand by a preloaded library in child processes, which a page cannot run'],
  ['mmap-io', 'mmapfile/mmap-io is an entry for Node (its calls take descriptors and Buffers)'],
  ['messages', messages]
]

/** The names of AREAS, which test/browser.test.mjs compares with the files of test/conformance/. */
export const areas: string[] = AREAS.map(([name]) => name)

export async function run(): Promise<Result[]> {
  const ctx: Ctx = { api: api as unknown as Ctx['api'], label: 'browser', backend: 'wasm' }
  const others: Result[] = []
  for (const [name, area] of AREAS) {
    if (typeof area === 'string')
      others.push({ suite: `browser ${name}`, name: '(the whole area)', status: 'skipped', message: area })
    else {
      try {
        area(ctx)
      } catch (error) {
        others.push({
          suite: `browser ${name}`,
          name: '(registering its tests)',
          status: 'failed',
          message: String((error as Error)?.stack ?? error)
        })
      }
    }
  }
  page()
  return [...(await runSuites()), ...others]
}
