// mmapfile/mmap-io's TypeScript types, in the shape of mmap-io's own (ozra/mmap-io src/mmap-io.ts, which
// it ships as mmap-io.d.ts): its type test (src/test.types.ts) compiles against them unchanged but for
// the import, ESM and CommonJS, and runs. The behaviour is tested in test/conformance/mmap-io.ts.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'
import { repoRoot, tmpFile } from './helpers'

const s = suite('mmapfile/mmap-io types')

// mmap-io's src/test.types.ts, with its import made ours and __filename the file to map.
const THEIRS = `
const fd = fs.openSync(file, "r+")

/**
 * Writing, for instance \`4\` instead of ie \`2\` (MADV_SEQUENTIAL), here, will
 * give an error already while typing (provided language-server is setup)
 * because of the specific types
 *
 * A problem arise with the traditional dirty technique of binary-or, widening
 * the type from literal to number-field
 */

mmap.map(
    100,
    (mmap.PROT_EXEC | mmap.PROT_READ) as 5,
    mmap.MAP_SHARED,
    fd,
    0,
    mmap.MADV_SEQUENTIAL
)
`

const OURS = `
const buffer: Buffer = mmap.map(10, (mmap.PROT_READ | mmap.PROT_WRITE) as 3, mmap.MAP_SHARED, fd)
mmap.advise(buffer, mmap.MADV_RANDOM)
mmap.advise(buffer, 0, 4, mmap.MADV_WILLNEED)
const [unmapped, mapped]: [number, number] = mmap.incore(buffer)
mmap.sync(buffer)
mmap.sync(buffer, true)
mmap.sync(buffer, 0, 10, true, false)
mmap.unmap(buffer)
const page: number = mmap.PAGESIZE
/** Never called: what the types refuse. */
function refused (): void {
  // @ts-expect-error an advice mmap-io does not have
  mmap.advise(buffer, 7)
  // @ts-expect-error PAGESIZE is read-only
  mmap.PAGESIZE = 47
}
`

s("mmap-io's type test compiles (ESM and CommonJS) and runs", () => {
  const dir = path.join(repoRoot, 'build', 'test', 'mmap-io-types')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        types: ['node'],
        skipLibCheck: false,
        lib: ['ES2022'],
        outDir: 'out',
        rootDir: '.'
      },
      files: ['check.mts', 'check.cts']
    })
  )
  fs.writeFileSync(
    path.join(dir, 'check.mts'),
    `import mmap from 'mmapfile/mmap-io'
import { map, PROT_READ, MAP_SHARED, createMmapIo } from 'mmapfile/mmap-io'
import type { MmapIo } from 'mmapfile/mmap-io'
import * as wasm from 'mmapfile/wasm'
import fs from 'node:fs'
const file = process.argv[2]
${THEIRS}${OURS}
const other: MmapIo = createMmapIo(wasm)
const b: Buffer = map(1, PROT_READ, MAP_SHARED, fd)
export { unmapped, mapped, page, other, b, refused }
`
  )
  fs.writeFileSync(
    path.join(dir, 'check.cts'),
    `import mmap = require('mmapfile/mmap-io')
import fs = require('node:fs')
const file = process.argv[2]
${THEIRS}${OURS}
export = { unmapped, mapped, page, refused }
`
  )
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe'
    })
  } catch (e: any) {
    assert.unreachable(`tsc failed:\n${String(e.stdout ?? '')}${String(e.stderr ?? '')}`)
  }
  for (const out of ['check.mjs', 'check.cjs']) {
    const p = tmpFile()
    fs.writeFileSync(p, new Uint8Array(100))
    // Compiled into build/test/, inside the package: 'mmapfile/mmap-io' resolves through its exports.
    const r = spawnSync(process.execPath, [path.join(dir, 'out', out), p], { encoding: 'utf8' })
    assert.is(r.status, 0, `${out}: ${r.stderr}`)
  }
})

s.run()
