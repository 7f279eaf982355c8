// close(): nothing left behind (descriptors, mappings, memory), and no crash on a closed view.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from '../ctx'
import type { Ctx } from '../ctx'
import {
  assertChildOk,
  collect,
  heldSnapshot,
  childPrelude,
  childReport,
  fds,
  fileWith,
  mapsLines,
  runChild,
  tmpDir,
  tmpFile,
  vmSizeBytes
} from '../../helpers'
import { requires } from '../../helpers'
import type { Need } from '../../helpers'

/** What close releases, over many cycles. */
export function noLeaks(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // wasm: thousands of WebAssembly memories, which an emulator may not hold (test/needs.ts)
  const manyMemories: Need[] = ctx.backend === 'wasm' ? ['wasm-memories'] : []
  requires(s, 'proc')(
    'nothing of the file stays mapped or open after close; native mappings leave /proc/self/maps at once',
    () => {
      const p = fileWith(5 * PAGE + 3)
      for (const [mode, opts] of [
        ['r', undefined],
        ['rw', undefined],
        ['r', { offset: PAGE + 1, length: 2 * PAGE }],
        ['rw', { offset: 3, length: 10 }]
      ] as Array<[string, object | undefined]>) {
        const v = api.open(p, Uint8Array, mode, opts)
        if (ctx.backend === 'native') {
          assert.ok(
            mapsLines(p).length > 0,
            `${mode} ${JSON.stringify(opts)}: the native mapping shows in /proc/self/maps while open`
          )
        }
        api.close(v)
        assert.equal(mapsLines(p), [], `${mode} ${JSON.stringify(opts)}: mappings of the file after close`)
        assert.equal(fds(p), [], `${mode} ${JSON.stringify(opts)}: descriptors of the file after close`)
      }
      const q = tmpFile()
      const c = api.create(q, 2 * PAGE)
      api.close(c)
      assert.equal(mapsLines(q), [], 'mappings after close of a created view')
      assert.equal(fds(q), [], 'descriptors after close of a created view')
    }
  )

  requires(
    s,
    'proc',
    ...manyMemories
  )('no descriptor, mapping or memory leaks over 3,000 open/close cycles', async () => {
    const held = heldSnapshot()
    const p = fileWith(2 * PAGE + 17, 'cycles.bin')
    const q = tmpFile('cycles-create.bin')
    const fdsBefore = fds().length
    await collect()
    const vmBefore = vmSizeBytes()
    for (let i = 0; i < 3000; i++) {
      let v
      switch (i % 5) {
        case 0:
          v = api.open(p)
          break
        case 1:
          v = api.open(p, Uint8Array, 'rw', { offset: i % PAGE, length: 100 })
          break
        case 2:
          v = api.create(q, 64, Int32Array)
          break
        case 3:
          v = api.open(p, Float64Array, 'r', { offset: 3 })
          break
        default:
          v = api.malloc(256)
          break
      }
      v[0] = v[0] // touch it
      api.close(v)
    }
    held('after 3,000 cycles')
    const fdsAfter = fds().length
    assert.ok(fdsAfter <= fdsBefore + 2, `descriptors: ${fdsBefore} before, ${fdsAfter} after 3,000 cycles`)
    // What close released must not stay reserved. A wasm mapping is an instance whose memory
    // reserves ~10 GiB of address space: a few not yet collected are fine, 3,000 leaked would be
    // 30 TiB. (Native leaks show above in /proc/self/maps, and in malloc's VmSize test.)
    await collect()
    const grown = vmSizeBytes() - vmBefore
    const allowed = ctx.backend === 'wasm' ? 64 * 2 ** 30 : 2 ** 30
    assert.ok(grown < allowed, `VmSize grew by ${Math.round(grown / 2 ** 20)} MiB over 3,000 cycles`)
  })
}

/** A failed call in a loop, and a closed view touched in every way. */
export function noCrashes(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  const PAGE: number = api.PAGE_SIZE
  // wasm: thousands of WebAssembly memories, which an emulator may not hold (test/needs.ts)
  const manyMemories: Need[] = ctx.backend === 'wasm' ? ['wasm-memories'] : []

  requires(
    s,
    'proc',
    ...manyMemories
  )('a failed call in a loop leaves no descriptor or mapping behind', () => {
    const held = heldSnapshot()
    const p = fileWith(100)
    for (let i = 0; i < 500; i++) {
      try {
        api.open(p, Uint8Array, 'r', { offset: 50, length: 51 })
      } catch {
        /* expected */
      }
      try {
        api.open(tmpDir)
      } catch {
        /* expected */
      }
      try {
        api.create(`${tmpDir}/missing/x`, 4)
      } catch {
        /* expected */
      }
    }
    held('after 1,500 failed calls')
  })

  s('touching a closed view, its aliases and subarrays never crashes (child process)', async () => {
    const p = fileWith(4 * PAGE)
    const r = await runChild(
      childPrelude(entry(ctx)) +
        `
const p = args[0]
const out = {}
const makers = {
  create: () => m.create(p + '.c', 4096, Int32Array),
  rw: () => m.open(p, Int32Array, 'rw'),
  r: () => m.open(p, Int32Array, 'r'),
  rwWindow: () => m.open(p, Uint8Array, 'rw', { offset: 1, length: ${2 * PAGE} }),
  rWindow: () => m.open(p, Float64Array, 'r', { offset: ${PAGE + 3} }),
  malloc: () => m.malloc(4096, Int32Array),
  resized: () => m.create(p + '.z', 1024)
}
for (const [kind, make] of Object.entries(makers)) {
  const v = make()
  const alias = new Uint8Array(v.buffer)
  const sub = v.subarray(1, 3)
  if (kind === 'resized') m.close(m.resize(v, 4096)) // resize closes v
  else m.close(v)
  const attempts = [
    () => { v[0] = 1 }, () => { v[v.length + 5] = 2 }, () => v[0], () => alias[0], () => { alias[0] = 3 },
    () => { sub[0] = 4 }, () => v.fill(7), () => alias.set([1, 2, 3]), () => v.slice(), () => Array.from(sub),
    () => new DataView(v.buffer).getUint8(0), () => v.reduce((a, b) => a + b, 0)
  ]
  for (const f of attempts) { try { f() } catch { } }
  out[kind] = { v: v.length, alias: alias.length, sub: sub.length, read: v[0] ?? null }
}
const S = m.struct({ a: 'i32', v: ['f32', 4], n: m.struct({ x: 'u8' }) })
const sv = m.create(p + '.s', 8, S)
const rec = sv.at(3)
const arr = rec.v
const nested = rec.n
m.close(sv)
for (const f of [() => rec.a, () => { rec.a = 5 }, () => rec.v, () => { arr[0] = 1 }, () => arr[0], () => nested.x,
  () => { nested.x = 1 }, () => rec.n.x, () => sv.at(0), () => [...sv]]) { try { f() } catch { } }
out.struct = { length: sv.length, byteLength: sv.byteLength, at0: sv.at(0) === undefined, spread: [...sv].length, arr: arr.length }
report(out)
`,
      { args: [p] }
    )
    assertChildOk(r, 'touching closed views')
    const out = childReport(r, 'touching closed views')
    for (const kind of ['create', 'rw', 'r', 'rwWindow', 'rWindow', 'malloc', 'resized']) {
      assert.equal(out[kind], { v: 0, alias: 0, sub: 0, read: null }, `${kind}: lengths after close`)
    }
    assert.equal(out.struct, { length: 0, byteLength: 0, at0: true, spread: 0, arr: 0 }, 'struct view after close')
    assert.ok(fs.existsSync(p))
  })
}
