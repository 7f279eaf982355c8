// struct(): StructArray views, files shared with a C program, struct types where code generation is off.
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import * as fs from 'node:fs'
import type { Ctx } from '../ctx'
import { entry } from '../ctx'
import { SCALARS, byName, leafValue, leaves } from '../../cstruct'
import type { CProgram, Scalar } from '../../cstruct'
import {
  allZero,
  assertChildOk,
  bytesOf,
  childPrelude,
  childReport,
  fileBytes,
  requires,
  runChild,
  sameBytes,
  tmpDir,
  tmpFile
} from '../../helpers'
import { RECORDS, buildTypes, getLeaf, setLeaf, step, structProgram } from './program'

const c = (): CProgram => structProgram(tmpDir)

/** StructArray itself, and files of structs a C program wrote. */
export function structArrays(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  s('StructArray: length, at(i) with negative and out-of-range i, iteration, buffer/byteOffset/byteLength', () => {
    const T = api.struct({ a: 'i32', b: 'f64' })
    const v = api.create(tmpFile(), 5, T)
    try {
      assert.is(v.length, 5)
      assert.is(v.byteLength, 80)
      assert.ok(
        v.buffer instanceof ArrayBuffer ||
          (typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer),
        'buffer is an ArrayBuffer'
      )
      assert.type(v.byteOffset, 'number')
      assert.ok(v.byteOffset + v.byteLength <= v.buffer.byteLength, 'the bytes lie inside buffer')
      for (let i = 0; i < 5; i++) v.at(i).a = i * 10
      assert.is(v.at(-1).a, 40, 'at(-1) is the last')
      assert.is(v.at(-5).a, 0, 'at(-5) is the first')
      assert.is(v.at(5), undefined, 'at(length)')
      assert.is(v.at(-6), undefined, 'at(-length - 1)')
      assert.is(v.at(1000), undefined, 'at(1000)')
      const seen: number[] = []
      for (const rec of v) seen.push(rec.a)
      assert.equal(seen, [0, 10, 20, 30, 40], 'for..of yields the records in order')
      assert.equal(
        [...v].map((r: any) => r.a),
        [0, 10, 20, 30, 40],
        'spread'
      )
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
      assert.is(dv.getInt32(3 * 16, true), 30, 'record 3 starts at 3 * byteLength')
      dv.setFloat64(2 * 16 + 8, 6.5, true)
      assert.is(v.at(2).b, 6.5, 'writes through buffer show in records')
    } finally {
      api.close(v)
    }
    const e = api.create(tmpFile(), 0, T)
    assert.is(e.length, 0)
    assert.is(e.byteLength, 0)
    assert.is(e.at(0), undefined)
    assert.is(e.at(-1), undefined)
    assert.equal([...e], [])
    api.close(e)
  })

  requires(s, 'posix-tools')('reads a binary file of structs written by a C program', () => {
    const T = buildTypes(api)
    for (const name of ['Deep', 'Mixed', 'Seed']) {
      const p = tmpFile(`${name}.c.bin`)
      c().write(p, name)
      const v = api.open(p, T[name])
      try {
        assert.is(v.length, RECORDS, `${name}: records in the C file`)
        const ls = leaves(byName(name))
        for (let k = 0; k < RECORDS; k++) {
          ls.forEach((l, j) => {
            assert.is(getLeaf(v.at(k), l), leafValue(l.type, k, j), `${name}[${k}].${l.c}`)
          })
        }
      } finally {
        api.close(v)
      }
    }
  })

  requires(s, 'posix-tools')('writes the same bytes as the C program, and the C program reads them back', () => {
    const T = buildTypes(api)
    for (const name of ['Deep', 'Mixed']) {
      const cfile = tmpFile(`${name}.c.bin`)
      c().write(cfile, name)
      const p = tmpFile(`${name}.js.bin`)
      const v = api.create(p, RECORDS, T[name])
      const ls = leaves(byName(name))
      for (let k = 0; k < RECORDS; k++) ls.forEach((l, j) => setLeaf(v.at(k), l, leafValue(l.type, k, j)))
      api.close(v)
      sameBytes(fileBytes(p), fileBytes(cfile), `${name}: file written through mmapfile vs by C`)
      const printed = c().read(p, name)
      let i = 0
      for (let k = 0; k < RECORDS; k++) {
        ls.forEach((l, j) => {
          const want = leafValue(l.type, k, j)
          const got = typeof want === 'bigint' ? BigInt(printed[i]) : Number(printed[i])
          assert.is(got, want, `C reads ${name}[${k}].${l.c}`)
          i++
        })
      }
    }
  })
}

/** Files shared with a C program, struct types without code generation, and the self-check. */
export function cFilesAndCsp(s: Test, ctx: Ctx): void {
  const api: any = ctx.api
  requires(s, 'posix-tools')(
    'a struct view at an unaligned offset reads every field (C file behind one odd byte)',
    () => {
      const T = buildTypes(api)
      const cfile = tmpFile('Deep.c.bin')
      c().write(cfile, 'Deep')
      const body = fileBytes(cfile)
      for (const skip of [1, 3, api.PAGE_SIZE + 5]) {
        const p = tmpFile()
        const all = new Uint8Array(skip + body.length + 7)
        all.fill(0xee)
        all.set(body, skip)
        fs.writeFileSync(p, all)
        const v = api.open(p, T.Deep, 'r', { offset: skip })
        try {
          assert.is(v.length, RECORDS, `offset ${skip}: floor((size - offset) / byteLength)`)
          const ls = leaves(byName('Deep'))
          for (let k = 0; k < RECORDS; k++) {
            ls.forEach((l, j) =>
              assert.is(getLeaf(v.at(k), l), leafValue(l.type, k, j), `offset ${skip}: Deep[${k}].${l.c}`)
            )
          }
          assert.is(step(v.at(0).arr, 1).w.length, 2)
        } finally {
          api.close(v)
        }
      }
    }
  )

  requires(s, 'posix-tools')('create(path, n, Struct, data) copies data; malloc(n, Struct) is zeroed', () => {
    const T = buildTypes(api)
    const cfile = tmpFile('Mixed.c.bin')
    c().write(cfile, 'Mixed')
    const data = fileBytes(cfile)
    const p = tmpFile()
    const v = api.create(p, RECORDS, T.Mixed, data)
    const ls = leaves(byName('Mixed'))
    ls.forEach((l, j) => assert.is(getLeaf(v.at(2), l), leafValue(l.type, 2, j), `Mixed[2].${l.c}`))
    api.close(v)
    sameBytes(fileBytes(p), data, 'file after create with data')
    const m = api.malloc(4, T.Mixed)
    try {
      assert.is(m.length, 4)
      assert.is(m.byteLength, 4 * 64)
      allZero(bytesOf(m), 'malloc of structs')
      m.at(3).h = 2n ** 64n - 1n
      assert.is(m.at(3).h, 2n ** 64n - 1n)
    } finally {
      api.free(m)
    }
  })

  // node --disallow-code-generation-from-strings (through NODE_OPTIONS) stands for the CSP: Bun and
  // Deno have no such switch.
  const onNode = !('Bun' in globalThis) && !('Deno' in globalThis)
  const nodeOnly = onNode
    ? s
    : (name: string, fn: () => Promise<void>): void => {
        console.log(
          `# skip: "${name}": needs node's --disallow-code-generation-from-strings, which this runtime does not have`
        )
        s.skip(name, fn)
      }
  nodeOnly(
    'where code from strings is refused (a CSP without unsafe-eval), records behave the same (child process)',
    async () => {
      const r = await runChild(
        childPrelude(entry(ctx)) +
          `
let refused = null
try { new Function('return 1') } catch (e) { refused = e.name }
const Vec = m.struct({ x: 'f32', y: 'f32' })
const T = m.struct({ a: 'i32', big: 'i64', pos: Vec, pts: [Vec, 2] })
const v = m.malloc(3, T)
v.at(1).a = 7
v.at(-1).big = -3n
v.at(2).pts.at(1).y = 1.5
let sum = 0
for (let k = 0; k < 20000; k++) for (const rec of v) sum += rec.a + rec.pts.at(1).y
const out = { refused, a: [...v].map((rec) => rec.a), y: v.at(2).pts.at(-1).y, sum, json: JSON.stringify(v.at(2)), array: v.at(0).pts instanceof m.StructArray }
try { v.at(0).nope = 1; out.guard = 'accepted' } catch (e) { out.guard = e.name }
const kept = v.at(1)
m.free(v)
try { kept.a; out.closed = 'read' } catch (e) { out.closed = e.code }
report(out)
`,
        { env: { NODE_OPTIONS: '--disallow-code-generation-from-strings' } }
      )
      assertChildOk(r, 'records without code from strings')
      assert.equal(childReport(r, 'records without code from strings'), {
        refused: 'EvalError',
        a: [0, 7, 0],
        y: 1.5,
        sum: 20000 * (7 + 1.5),
        array: true,
        guard: 'TypeError',
        closed: 'ERR_MMAPFILE_CLOSED',
        json: '{"a":0,"big":"-3","pos":{"x":0,"y":0},"pts":[{"x":0,"y":0},{"x":0,"y":1.5}]}'
      })
    }
  )

  s('the scalar table agrees with typed arrays (self-check of the test)', () => {
    for (const [k, v] of Object.entries(SCALARS) as Array<[Scalar, { size: number; array: string }]>) {
      assert.is((globalThis as any)[v.array].BYTES_PER_ELEMENT, v.size, k)
    }
  })
}
