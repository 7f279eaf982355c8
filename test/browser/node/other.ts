// The rest of Node the conformance files import, for a page: what a page has no equivalent of throws
// Skip, so the test that reaches for it is reported skipped, with the reason.
import { Skip } from '../uvu'

const none = (what: string) => (): never => {
  throw new Skip(`${what}, which a page does not have`)
}

// node:url
export const pathToFileURL = (p: string): URL => new URL(`file://${p}`)
export const fileURLToPath = (u: string | URL): string => decodeURIComponent(new URL(u).pathname)
// node:child_process
export const execFileSync = none('runs a program')
export const spawnSync = none('runs a program')
export const spawn = none('runs a program')
// node:util
export const inspect = none("util.inspect is Node's")
// node:os
export const tmpdir = (): string => '/tmp'
export default {}
