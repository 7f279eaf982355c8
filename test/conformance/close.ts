// close(view): write-back, unmapping, emptied views, ERR_MMAPFILE_CLOSED, no leaks, no crashes.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import { entry } from './ctx'
import type { Ctx } from './ctx'
import {
  assertChildOk,
  collect,
  heldSnapshot,
  childPrelude,
  childReport,
  closedError,
  expectReject,
  expectThrow,
  fds,
  fileBytes,
  fileWith,
  mapsLines,
  pattern,
  runChild,
  sameBytes,
  tmpDir,
  tmpFile,
  vmSizeBytes
} from '../helpers'
import { requires } from '../helpers'
import type { Need } from '../helpers'

/** Every kind of view, made fresh. */
function makers(api: any): Array<[string, () => any]> {
  const T = api.struct({ a: 'i32', v: ['f64', 2] })
  return [
    ['create', () => api.create(tmpFile(), 64, Int32Array)],
    ["open 'r'", () => api.open(fileWith(300), Uint16Array, 'r', { offset: 1 })],
    ["open 'rw'", () => api.open(fileWith(300), Float64Array, 'rw', { offset: 5, length: 200 })],
    ['malloc', () => api.malloc(50, BigInt64Array)],
    ['create (struct)', () => api.create(tmpFile(), 3, T)],
    ['malloc (struct)', () => api.malloc(3, T)],
    ['create, count 0', () => api.create(tmpFile(), 0)],
    ['open, empty window', () => api.open(fileWith(10), Uint8Array, 'rw', { offset: 10 })],
    ['gccreate', () => api.gccreate(tmpFile(), 8)],
    ['gcopen', () => api.gcopen(fileWith(8), Uint8Array, 'rw')],
    ['gcmalloc', () => api.gcmalloc(8)]
  ]
}

export default function register(ctx: Ctx): void {
  const api: any = ctx.api
  // wasm: thousands of WebAssembly memories, which an emulator may not hold (test/helpers.ts)
  const manyMemories: Need[] = ctx.backend === 'wasm' ? ['wasm-memories'] : []
  const PAGE: number = api.PAGE_SIZE
  const s = suite(`${ctx.label} close`)

  s('is a function', () => {
    assert.type(api.close, 'function')
  })

  // --- errors first
  s('close of something that is not a view is a TypeError', () => {
    const cases: Array<[string, unknown]> = [
      ['undefined', undefined],
      ['null', null],
      ['a number', 3],
      ['an object', {}],
      ['a plain Uint8Array', new Uint8Array(4)],
      ['an ArrayBuffer', new ArrayBuffer(8)],
      ['a DataView', new DataView(new ArrayBuffer(8))],
      ['a string', '/tmp/x']
    ]
    for (const [name, value] of cases) {
      expectThrow(() => api.close(value), { type: TypeError }, `close(${name})`)
    }
  })

  for (const fn of ['sync', 'resize', 'advise', 'info'] as const) {
    s(`${fn} of a closed view of every kind is a TypeError with code ERR_MMAPFILE_CLOSED`, () => {
      for (const [kind, make] of makers(api)) {
        const v = make()
        api.close(v)
        const args: unknown[] = fn === 'resize' ? [v, 4] : fn === 'advise' ? [v, 'normal'] : [v]
        expectThrow(() => (api[fn] as Function)(...args), closedError, `${fn}(<closed ${kind} view>)`)
      }
    })
  }

  s('syncAsync of a closed view rejects (never throws) with ERR_MMAPFILE_CLOSED', async () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      api.close(v)
      await expectReject(() => api.syncAsync(v), closedError, `syncAsync(<closed ${kind} view>)`)
    }
  })

  s('the calls on a closed view are TypeErrors even with bad extra arguments', () => {
    const v = api.create(tmpFile(), 8)
    api.close(v)
    expectThrow(() => api.sync(v, { offset: 100 }), closedError, 'sync(<closed>, { offset: 100 })')
    expectThrow(() => api.advise(v, 'bogus'), closedError, "advise(<closed>, 'bogus')")
    expectThrow(() => api.resize(v, -1), closedError, 'resize(<closed>, -1)')
  })

  // --- happy path
  s("close writes 'rw' and created views back to the file", () => {
    const p = tmpFile()
    const v = api.create(p, 3 * PAGE)
    const data = pattern(3 * PAGE, 2)
    v.set(data)
    api.close(v)
    sameBytes(fileBytes(p), data, 'file after close of a created view')
    const q = fileWith(PAGE * 2 + 1)
    const w = api.open(q, Uint8Array, 'rw', { offset: PAGE - 1, length: 3 })
    w.set([7, 8, 9])
    api.close(w)
    const expected = pattern(PAGE * 2 + 1)
    expected.set([7, 8, 9], PAGE - 1)
    sameBytes(fileBytes(q), expected, 'file after close of an rw window')
  })

  s('writing through new Uint8Array(view.buffer, view.byteOffset, view.byteLength) is writing to the view', () => {
    const data = pattern(5 * PAGE + 11)
    const p = fileWith(data)
    const offset = 3
    const v = api.open(p, Int32Array, 'rw', { offset, length: 4000 + 3 })
    const alias = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    assert.is(alias.length, 4000)
    const bytes = pattern(4000, 5)
    alias.set(bytes)
    assert.is(v[1], new DataView(bytes.buffer).getInt32(4, true), 'the view reads what the alias wrote')
    api.close(v)
    const expected = data.slice()
    expected.set(bytes, offset)
    sameBytes(fileBytes(p), expected, 'the file after close')
  })

  s('writing over all of view.buffer never loses a change: the file holds the window as it is now', () => {
    // On native, view.buffer is the window; on wasm it is more (the instance's memory).
    for (const fill of ['zeros', 'bytes'] as const) {
      for (const [offset, length, size] of [
        [0, 3 * 65536, 4 * 65536],
        [1000, 3 * 65536 + 5, 5 * 65536 + 7],
        [0, 100, 100]
      ]) {
        const what = `${fill}, window [${offset}, ${offset + length}) of ${size} bytes`
        const data = pattern(size, 3)
        const p = fileWith(data)
        const v = api.open(p, Uint8Array, 'rw', { offset, length })
        const all = new Uint8Array(v.buffer)
        if (fill === 'zeros') all.fill(0)
        else all.set(pattern(all.length, 77))
        const expected = data.slice()
        expected.set(v, offset)
        api.sync(v)
        sameBytes(fileBytes(p), expected, `${what}: after sync`)
        v[length - 1] ^= 0xff
        expected[offset + length - 1] ^= 0xff
        api.close(v)
        sameBytes(fileBytes(p), expected, `${what}: after a change and close`)
      }
    }
  })

  s('afterwards the view and every other view over its buffer have length 0', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      const isStruct = typeof v.at === 'function' && !ArrayBuffer.isView(v)
      const alias = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      const field = isStruct && v.length > 0 ? v.at(0).v : undefined
      api.close(v)
      assert.is(v.length, 0, `${kind}: view.length`)
      assert.is(v.byteLength, 0, `${kind}: view.byteLength`)
      assert.is(alias.length, 0, `${kind}: another Uint8Array over the buffer`)
      assert.is(v.buffer.byteLength, 0, `${kind}: buffer.byteLength`)
      if (field !== undefined) assert.is(field.length, 0, `${kind}: a fixed-array field taken before close`)
      if (isStruct) assert.is(v.at(0), undefined, `${kind}: at(0)`)
    }
  })

  s('a second close is a no-op, for every kind of view; close after free too', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      api.close(v)
      api.close(v)
      api.close(v)
      assert.is(v.length, 0, kind)
    }
    const m = api.malloc(4)
    api.free(m)
    api.close(m)
    api.free(m)
  })

  s('close releases a malloc view like free', () => {
    const m = api.malloc(100)
    m[0] = 1
    api.close(m)
    assert.is(m.length, 0)
  })

  // Explicit Resource Management: `using c = closing(view)` calls c[Symbol.dispose]() at the end of the
  // scope (Node 20 has Symbol.dispose; esbuild lowers `using` for it here). Struct views are disposable
  // themselves (StructArray.prototype); typed-array views are plain typed arrays.
  s('closing(view)[Symbol.dispose]() closes every kind of view; disposing twice, or after close, is harmless', () => {
    for (const [kind, make] of makers(api)) {
      const v = make()
      const c = api.closing(v)
      assert.is(c.view, v, `${kind}: closing(v).view`)
      c[Symbol.dispose]()
      assert.is(v.length, 0, `${kind}: length after dispose`)
      expectThrow(() => api.info(v), closedError, `${kind}: info after dispose`)
      c[Symbol.dispose]()
      api.close(v)
    }
    const m = api.malloc(4)
    const cm = api.closing(m)
    api.free(m)
    cm[Symbol.dispose]()
    expectThrow(
      () => api.closing(new Uint8Array(4)),
      { type: TypeError, message: /mmapfile\.closing: expected a view made by mmapfile/ },
      'closing of a plain array'
    )
  })

  s('a struct view is disposable itself; a typed-array view is a plain typed array', () => {
    const T = api.struct({ a: 'i32' })
    const r = api.malloc(2, T)
    assert.type(r[Symbol.dispose], 'function', 'StructArray views have [Symbol.dispose]')
    r[Symbol.dispose]()
    assert.is(r.length, 0)
    r[Symbol.dispose]()
    const v = api.malloc(3, Int32Array)
    try {
      assert.is(v[Symbol.dispose], undefined, 'no [Symbol.dispose] on a typed-array view')
      assert.is(Object.getPrototypeOf(v), Int32Array.prototype)
      assert.equal(Reflect.ownKeys(v), ['0', '1', '2'], 'no own properties but its elements')
    } finally {
      api.free(v)
    }
  })

  s('using c = closing(create/open/malloc(...)) closes the view at the end of its scope, writing it back', () => {
    const p = tmpFile()
    let kept: any
    {
      using c = api.closing(api.create(p, 4, Int32Array))
      c.view[2] = 7
      kept = c.view
    }
    assert.is(kept.length, 0, 'closed at the end of the block')
    expectThrow(() => api.info(kept), closedError, 'info of the disposed view')
    assert.is(new DataView(fileBytes(p).buffer).getInt32(8, true), 7, 'written back to the file')

    const T = api.struct({ a: 'i32', b: 'f64' })
    const failing = (): never => {
      using w = api.open(p, T, 'rw')
      w.at(0).b = 2.5
      kept = w
      throw new Error('leaving the scope by an exception')
    }
    expectThrow(failing, { type: Error, message: /leaving the scope/ }, 'the exception goes through')
    assert.is(kept.length, 0, 'closed when the scope is left by an exception')
    assert.is(new DataView(fileBytes(p).buffer).getFloat64(8, true), 2.5, 'and written back')

    {
      using m = api.closing(api.malloc(3))
      api.free(m.view) // freed early: the disposal at the end of the scope is harmless
    }
    let grown: any
    {
      using small = api.closing(api.create(p, 2, Int32Array))
      grown = api.resize(small.view, 8) // the view resize returns is the open one; disposing the old is harmless
      kept = small.view
    }
    assert.is(kept.length, 0)
    assert.is(grown.length, 8, 'the view resize returned stays open')
    api.close(grown)
  })

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

  s.run()
}
