// Many mappings open at once, through the public API of each backend: each view reads and writes
// its own bytes, none changes another, and closing them all writes every change back. On wasm each
// mapping is an instance with its own memory (V8 reserves ~10 GiB of address space for each), the
// case that costs most where address space is bookkept page by page (Wine). Plain .mjs, no
// esbuild: it runs as it is under Wine and qemu-user too (scripts/test-windows.mjs, test-arm64.mjs).
// Run: node --expose-gc test/many-mappings.test.mjs
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// Under qemu-user (scripts/test-arm64.mjs sets MMAPFILE_TEST_EMULATOR), each WebAssembly memory
// costs the emulator ~60 MB of page bookkeeping (100 memories: 6.3 GB resident, measured), so
// 2,000 do not fit in this machine's memory: there, wasm opens 20. Under Wine 2,000 fit (5.3 GB).
const EMULATOR = process.env.MMAPFILE_TEST_EMULATOR
const COUNTS = { native: 2000, wasm: EMULATOR === undefined ? 2000 : 20 }
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mmapfile-many-'))
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))

// Both loaded before any suite is declared: uvu starts running on the first turn of the event loop.
const loaded = {}
for (const backend of ['native', 'wasm']) {
  loaded[backend] = await import(`mmapfile/${backend}`).then(
    (api) => ({ api }),
    (error) => ({ api: null, error })
  )
}

for (const backend of ['native', 'wasm']) {
  const s = suite(`${backend} many mappings`)
  const { api, error: loadError } = loaded[backend]

  const COUNT = COUNTS[backend]
  s(
    `${COUNT.toLocaleString('en')} 'rw' mappings open at once, each read and written right, all written back at close${COUNT < 2000 ? ` (not 2,000: under ${EMULATOR})` : ''}`,
    () => {
      if (api === null) assert.unreachable(`mmapfile/${backend} did not load: ${loadError}`)
      const paths = []
      for (let i = 0; i < COUNT; i++) {
        const p = path.join(dir, `${backend}-${i}.bin`)
        fs.writeFileSync(p, new Uint8Array(4096).fill(i & 255))
        paths.push(p)
      }
      const started = Date.now()
      const views = paths.map((p) => api.open(p, Uint8Array, 'rw'))
      const opened = Date.now()
      views.forEach((v, i) => {
        assert.is(v[100], i & 255)
        v[0] = (i + 1) & 255
      })
      views.forEach((v, i) => assert.is(v[0], (i + 1) & 255, 'no view changed another'))
      for (const v of views) api.close(v)
      assert.ok(
        views.every((v) => v.length === 0),
        'every view is closed'
      )
      paths.forEach((p, i) => assert.is(fs.readFileSync(p)[0], (i + 1) & 255, `file ${i} after close`))
      // what it cost here, for the record (not asserted: the suite asserts behaviour, not speed)
      console.log(
        `\n    ${backend}: ${COUNT} opens in ${opened - started} ms, all closed ${Date.now() - opened} ms later`
      )
    }
  )

  s.run()
}
