// One description of a set of C structs, from which the tests build both the C program (so that
// gcc computes the layout and writes/reads binary files) and the mmapfile struct types. The same
// description also yields a deterministic value for every scalar leaf of every record.
import * as fs from 'node:fs'
import * as path from 'node:path'
import { execFileSync } from 'node:child_process'

export type Scalar = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64'
export type Elem = Scalar | { ref: string }
export type Field = Elem | [Elem, number]
export interface Desc {
  name: string
  fields: Array<[string, Field]>
}

export const SCALARS: Record<Scalar, { c: string; size: number; array: string }> = {
  i8: { c: 'int8_t', size: 1, array: 'Int8Array' },
  u8: { c: 'uint8_t', size: 1, array: 'Uint8Array' },
  i16: { c: 'int16_t', size: 2, array: 'Int16Array' },
  u16: { c: 'uint16_t', size: 2, array: 'Uint16Array' },
  i32: { c: 'int32_t', size: 4, array: 'Int32Array' },
  u32: { c: 'uint32_t', size: 4, array: 'Uint32Array' },
  i64: { c: 'int64_t', size: 8, array: 'BigInt64Array' },
  u64: { c: 'uint64_t', size: 8, array: 'BigUint64Array' },
  f32: { c: 'float', size: 4, array: 'Float32Array' },
  f64: { c: 'double', size: 8, array: 'Float64Array' }
}

// In dependency order. Each one exercises something: natural alignment of every size, padding
// between fields, trailing padding, nesting, arrays of scalars and of structs, arrays of nested
// arrays, and a struct whose alignment is smaller than its size.
export const DESCS: Desc[] = [
  {
    name: 'Seed',
    fields: [
      ['a', 'i32'],
      ['b', 'f64']
    ]
  },
  {
    name: 'Small',
    fields: [
      ['a', 'i8'],
      ['b', 'i8'],
      ['c', 'u8']
    ]
  },
  {
    name: 'Tail',
    fields: [
      ['a', 'i64'],
      ['b', 'i8']
    ]
  },
  {
    name: 'Shorty',
    fields: [
      ['a', 'u16'],
      ['b', 'u8']
    ]
  },
  {
    name: 'Pair',
    fields: [
      ['a', 'i8'],
      ['b', 'i32']
    ]
  },
  {
    name: 'Mixed',
    fields: [
      ['a', 'i8'],
      ['b', 'i16'],
      ['c', 'i32'],
      ['d', 'i64'],
      ['e', 'f32'],
      ['f', 'f64'],
      ['g', 'u8'],
      ['h', 'u64'],
      ['i', 'u16'],
      ['j', 'u32'],
      ['k', 'f32']
    ]
  },
  {
    name: 'Bytes',
    fields: [
      ['a', ['u8', 3]],
      ['b', 'u16']
    ]
  },
  {
    name: 'Nested',
    fields: [
      ['x', 'i8'],
      ['m', { ref: 'Mixed' }],
      ['y', 'i16'],
      ['s', { ref: 'Small' }],
      ['z', 'u8']
    ]
  },
  {
    name: 'Arrays',
    fields: [
      ['tag', 'u8'],
      ['v', ['f32', 3]],
      ['t2', 'i8'],
      ['w', ['f64', 2]],
      ['u', ['u16', 5]],
      ['e', ['i64', 1]],
      ['s', ['i8', 3]]
    ]
  },
  {
    name: 'OfStructs',
    fields: [
      ['n', 'i16'],
      ['pts', [{ ref: 'Pair' }, 3]],
      ['z', 'i8'],
      ['sm', [{ ref: 'Small' }, 2]],
      ['q', 'u32']
    ]
  },
  {
    name: 'Deep',
    fields: [
      ['a', 'u8'],
      ['o', { ref: 'OfStructs' }],
      ['arr', [{ ref: 'Arrays' }, 2]],
      ['t', { ref: 'Tail' }],
      ['sh', [{ ref: 'Shorty' }, 3]],
      ['last', 'i64']
    ]
  }
]

export const byName = (name: string): Desc => {
  const d = DESCS.find((x) => x.name === name)
  if (d === undefined) throw new Error(`no struct ${name}`)
  return d
}

export interface Leaf {
  /** property path from a record: names, and indexes into array fields */
  js: Array<string | number>
  /** C member designator, e.g. `o.pts[1].b` */
  c: string
  type: Scalar
}

export function leaves(desc: Desc, js: Array<string | number> = [], c = ''): Leaf[] {
  const out: Leaf[] = []
  const elem = (e: Elem, jsPath: Array<string | number>, cPath: string): void => {
    if (typeof e === 'string') out.push({ js: jsPath, c: cPath, type: e })
    else out.push(...leaves(byName(e.ref), jsPath, `${cPath}.`))
  }
  for (const [name, f] of desc.fields) {
    if (Array.isArray(f)) {
      for (let i = 0; i < f[1]; i++) elem(f[0], [...js, name, i], `${c}${name}[${i}]`)
    } else {
      elem(f, [...js, name], `${c}${name}`)
    }
  }
  return out
}

/** The value of leaf j of record k: in range for its type, exact in binary floating point. */
export function leafValue(type: Scalar, k: number, j: number): number | bigint {
  switch (type) {
    case 'i8':
      return ((k * 37 + j * 11) % 200) - 100
    case 'u8':
      return (k * 37 + j * 11 + 3) % 256
    case 'i16':
      return -((k * 4099 + j * 131) % 30000) - 1
    case 'u16':
      return 33000 + ((k * 977 + j * 37) % 30000)
    case 'i32':
      return -1_000_000_000 - k * 100_003 - j * 7
    case 'u32':
      return 3_000_000_000 + k * 100_003 + j * 7
    case 'i64':
      return -(2n ** 62n) - BigInt(k * 1_000_003 + j)
    case 'u64':
      return 2n ** 63n + BigInt(k * 1_000_003 + j) * 3n
    case 'f32':
      return k * 64 + j + 0.25
    case 'f64':
      return -(k * 100_000 + j) - 0.125
  }
}

function cLiteral(type: Scalar, v: number | bigint): string {
  switch (type) {
    case 'i64':
      return `(${String(v)}LL)`
    case 'u64':
      return `${String(v)}ULL`
    case 'u32':
      return `${String(v)}U`
    case 'f32':
      return `${String(v)}f`
    default:
      return `(${String(v)})`
  }
}

/** Bytes of `value` as `type`, little-endian, written into `dv` at `offset`. */
export function encode(dv: DataView, offset: number, type: Scalar, value: number | bigint): void {
  switch (type) {
    case 'i8':
      dv.setInt8(offset, value as number)
      break
    case 'u8':
      dv.setUint8(offset, value as number)
      break
    case 'i16':
      dv.setInt16(offset, value as number, true)
      break
    case 'u16':
      dv.setUint16(offset, value as number, true)
      break
    case 'i32':
      dv.setInt32(offset, value as number, true)
      break
    case 'u32':
      dv.setUint32(offset, value as number, true)
      break
    case 'i64':
      dv.setBigInt64(offset, value as bigint, true)
      break
    case 'u64':
      dv.setBigUint64(offset, value as bigint, true)
      break
    case 'f32':
      dv.setFloat32(offset, value as number, true)
      break
    case 'f64':
      dv.setFloat64(offset, value as number, true)
      break
  }
}

function cType(e: Elem): string {
  return typeof e === 'string' ? SCALARS[e].c : `struct ${e.ref}`
}

/** The C program: `layout` prints JSON; `write <path> <Name> <n>` writes n records; `read <path> <Name> <n>` prints leaves. */
export function cSource(recordsOf: string[], n: number): string {
  const defs = DESCS.map((d) => {
    const members = d.fields.map(([name, f]) =>
      Array.isArray(f) ? `  ${cType(f[0])} ${name}[${f[1]}];` : `  ${cType(f)} ${name};`
    )
    return `struct ${d.name} {\n${members.join('\n')}\n};`
  })
  const layout = DESCS.map((d, i) => {
    const offs = leaves(d).map((l, j) => `  printf("${j === 0 ? '' : ','}%zu", offsetof(struct ${d.name}, ${l.c}));`)
    return [
      `  printf("${i === 0 ? '' : ','}\\"${d.name}\\":{\\"size\\":%zu,\\"align\\":%zu,\\"offsets\\":[", sizeof(struct ${d.name}), _Alignof(struct ${d.name}));`,
      ...offs,
      '  printf("]}");'
    ].join('\n')
  })
  const fmt = (t: Scalar): [string, string] => {
    if (t === 'i64') return ['%lld', '(long long)']
    if (t === 'u64') return ['%llu', '(unsigned long long)']
    if (t === 'f32' || t === 'f64') return ['%.17g', '(double)']
    if (t === 'u32') return ['%lu', '(unsigned long)']
    return ['%ld', '(long)']
  }
  const writers = recordsOf.map((name) => {
    const ls = leaves(byName(name))
    const sets: string[] = []
    for (let k = 0; k < n; k++) {
      ls.forEach((l, j) => sets.push(`    r[${k}].${l.c} = ${cLiteral(l.type, leafValue(l.type, k, j))};`))
    }
    const prints: string[] = []
    for (let k = 0; k < n; k++) {
      ls.forEach((l) => {
        const [f, cast] = fmt(l.type)
        prints.push(`    printf("${f}\\n", ${cast} r[${k}].${l.c});`)
      })
    }
    return `  if (strcmp(argv[3], "${name}") == 0) {
    static struct ${name} r[${n}];
    memset(r, 0, sizeof r);
    if (strcmp(argv[1], "write") == 0) {
${sets.join('\n')}
      FILE *f = fopen(argv[2], "wb");
      if (!f || fwrite(r, sizeof r, 1, f) != 1 || fclose(f) != 0) return 2;
      return 0;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(r, sizeof r, 1, f) != 1) return 3;
    fclose(f);
${prints.join('\n')}
    return 0;
  }`
  })
  return `#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

${defs.join('\n\n')}

int main(int argc, char **argv) {
  if (argc < 2) return 1;
  if (strcmp(argv[1], "layout") == 0) {
    printf("{");
${layout.join('\n')}
    printf("}\\n");
    return 0;
  }
  if (argc < 4) return 1;
${writers.join('\n')}
  return 4;
}
`
}

export interface CLayout {
  size: number
  align: number
  offsets: number[]
}

export interface CProgram {
  exe: string
  layout: Record<string, CLayout>
  write: (file: string, name: string) => void
  read: (file: string, name: string) => string[]
}

/** Compiles the program into `dir` with gcc (x86-64 or aarch64: the layouts the contract names). */
export function compileC(dir: string, recordsOf: string[], n: number): CProgram {
  const src = path.join(dir, 'structs.c')
  const exe = path.join(dir, 'structs')
  fs.writeFileSync(src, cSource(recordsOf, n))
  execFileSync('gcc', ['-std=c11', '-O0', '-Wall', '-Werror', '-o', exe, src], { stdio: ['ignore', 'pipe', 'pipe'] })
  const layout = JSON.parse(execFileSync(exe, ['layout'], { encoding: 'utf8' })) as Record<string, CLayout>
  return {
    exe,
    layout,
    write: (file, name) => {
      execFileSync(exe, ['write', file, name], { stdio: 'ignore' })
    },
    read: (file, name) => execFileSync(exe, ['read', file, name], { encoding: 'utf8' }).trim().split('\n')
  }
}
