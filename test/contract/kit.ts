// What the suites of the Backend contract (test/backend-contract.test.ts, contract/*.ts) share: the
// backend loaded (or why it does not load), the contract's test function, and its checks.
import type { Test } from 'uvu'
import type { Backend } from '../../src/front/backend'
import { fds, lacking, skipTest, tmpDir } from '../helpers'
import type { Expected, Need } from '../helpers'

/** What the front passes a backend for a plain (not gc*) mapping. */
export const OPTS = { autoClose: false, sparse: false }

/** A file-system error as a backend throws it: `code`, `syscall`, and the bare description. */
export const system = (code: string, syscall: string, message?: string): Expected => ({
  type: Error,
  code,
  syscall,
  ...(message === undefined ? {} : { message })
})

/** Descriptors of this process on files under the temp dir (none where /proc cannot be read). */
export const heldFds = (): string[] => (lacking('proc') === null ? fds(tmpDir) : [])

/** A test of the contract on one backend. */
export type ContractTest = (title: string, fn: () => unknown) => void

/** One backend under the contract: its name, the backend, why it does not load (or null), its test function. */
export interface ContractKit {
  name: 'native' | 'wasm'
  backend: Backend
  unavailable: string | null
  /** A test of the contract on this backend: skipped, with the reason, where it lacks a need or does not load. */
  contract: (s: Test, ...needs: Need[]) => ContractTest
}

/** Loads the backend named `name` with `load`, or says why it does not load. */
export function contractKit(name: 'native' | 'wasm', load: () => Backend): ContractKit {
  let backend: Backend
  let unavailable: string | null = null
  try {
    backend = load()
  } catch (error) {
    unavailable = `the ${name} backend does not load here: ${(error as Error).message}`
    backend = null as unknown as Backend
  }
  /** A test of the contract on this backend: skipped, with the reason, where it lacks a need or does not load. */
  const contract = (s: Test, ...needs: Need[]): ContractTest => {
    const reasons = [unavailable, ...needs.map(lacking)].filter((r): r is string => r !== null)
    return reasons.length === 0
      ? (title, fn) => s(title, fn as () => void)
      : (title, fn) => skipTest(s, `${name}: ${title}`, fn, reasons.join('; '))
  }
  return { name, backend, unavailable, contract }
}
