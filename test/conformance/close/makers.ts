// Every kind of view, for the close tests (test/conformance/close.ts, close/*.ts).
import { fileWith, tmpFile } from '../../helpers'

/** Every kind of view, made fresh. */
export function makers(api: any): Array<[string, () => any]> {
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
