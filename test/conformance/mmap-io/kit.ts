// What the mmap-io suites (test/conformance/mmap-io.ts) share: mmap-io over the backend under test
// (createMmapIo), its values, and a file to map in the place of mmap-io's own script.
import * as fs from 'node:fs'
import { createMmapIo } from 'mmapfile/mmap-io'
import type { MmapIo } from 'mmapfile/mmap-io'
import type { Ctx } from '../ctx'
import { fileWith, pattern } from '../../helpers'
import type { Need } from '../../helpers'

/** What the mmap-io suites share: mmap-io over the backend under test, its values, a script to map. */
export interface MmapIoKit {
  api: any
  mmap: MmapIo
  coherent: boolean
  PAGESIZE: number
  PROT_READ: number
  PROT_WRITE: number
  MAP_SHARED: number
  MAP_PRIVATE: number
  script: Uint8Array
  scriptPath: string
  reopen: Need[]
  reopenInChild: Need[]
  /** Runs `use` with the script open 'r', as mmap-io's test opens it, and its size. */
  withScript: (use: (fd: number, size: number) => void) => void
}

export function mmapIoKit(ctx: Ctx): MmapIoKit {
  const api: any = ctx.api
  const mmap: MmapIo = createMmapIo(api)
  const coherent: boolean = api.capabilities.coherent
  const { PAGESIZE, PROT_READ, PROT_WRITE, MAP_SHARED, MAP_PRIVATE } = mmap
  // mmap-io's test maps its own script (some 5 KB): here a file of the same kind, two pages and a bit.
  const script = pattern(2 * PAGESIZE + 123, 81)
  const scriptPath = fileWith(script, 'test.ls')
  // mmap-io maps descriptors only, which the wasm host opens again through /proc/self/fd: where it
  // cannot, the cases that map are skipped (the open(fd) suite checks the error there).
  const reopen: Need[] = ctx.backend === 'wasm' ? ['fd-reopen'] : []
  const reopenInChild: Need[] = ctx.backend === 'wasm' ? ['child-fd-reopen'] : []
  /** Runs `use` with the script open 'r', as mmap-io's test opens it, and its size. */
  function withScript(use: (fd: number, size: number) => void): void {
    const fd = fs.openSync(scriptPath, 'r')
    try {
      use(fd, fs.fstatSync(fd).size)
    } finally {
      fs.closeSync(fd)
    }
  }
  return {
    api,
    mmap,
    coherent,
    PAGESIZE,
    PROT_READ,
    PROT_WRITE,
    MAP_SHARED,
    MAP_PRIVATE,
    script,
    scriptPath,
    reopen,
    reopenInChild,
    withScript
  }
}
