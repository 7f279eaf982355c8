// node:buffer for a page, and the Node globals the conformance files name, as esbuild injects them
// into the files that use one (not onto globalThis: test/browser/page.ts checks the page has none).
/** A Uint8Array subclass, which is what Node's Buffer is to mmapfile. */
export class Buffer extends Uint8Array {}
// The largest typed array a page makes is the engine's, not Node's; the tests read it to size things.
export const constants = { MAX_LENGTH: 2 ** 32 }
/** Relative paths resolve against '/' in the browser build. */
export const process = { cwd: (): string => '/' }
export const setImmediate = (fn: () => void): void => {
  setTimeout(fn, 0)
}
