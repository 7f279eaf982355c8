// What the fuzzer's models (model.ts) say of a call and hold of a view: the outcome a call must have,
// the model's options, and a view as the model follows it. Re-exported by model.ts.

import type { Known } from './known'
import type { ElemType } from './types'

export type BackendName = 'native' | 'wasm'

/**
 * What a call must do. `code: '*'` leaves the code unchecked (API.md names the class only).
 * `note` is what a call returns that matters: whether `at(i)` gave a record.
 */
export type Outcome =
  | { kind: 'ok'; note?: string }
  /** the call is made and may return or throw, as the engine likes: API.md only says it never crashes */
  | { kind: 'any'; why: string }
  | { kind: 'error'; name: 'TypeError' | 'RangeError' | 'Error'; code: string | undefined }
  | { kind: 'skip'; why: string }

export interface Applied {
  outcome: Outcome
  /** for syncAsync: how its Promise must settle */
  settles?: Outcome
}

export interface ModelOptions {
  backend: BackendName
  page: number
  /** at most one live 'rw'/create view per file: calls that would make a second one are skipped */
  oneWriter: boolean
  /** deviations from API.md to accept (known.ts) */
  allow: ReadonlySet<Known>
}

export interface MView {
  readonly id: number
  readonly file: number
  readonly mode: 'r' | 'rw'
  readonly offset: number
  /** the window's bytes (the view shows floor(length / size) elements of them) */
  readonly length: number
  readonly type: ElemType
  closed: boolean
  /** native 'r': the private pages, by file page index */
  readonly cow: Map<number, Uint8Array>
  /** wasm: the window as the view holds it ('rw': changed since base; 'r': the snapshot) */
  content: Uint8Array
  /** wasm 'rw': the window as last written back or read */
  base: Uint8Array
}
