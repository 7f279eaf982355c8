// The Backend contract (src/front/backend.ts) on both backends: what a backend does with the checked
// values the front hands it. One suite per Backend function, registered once per backend; what only
// one backend has (the addon's own argument checks and /proc bookkeeping, the wasm write-back's chunk
// accounting and its WASI host) stays in test/native-addon.test.mjs and test/wasm-backend.test.mjs.
// The public API on top is test/conformance/, run per backend by test/native.test.ts and test/wasm.test.ts.
// The suites are in contract/: open.ts, create.ts (create, alloc, close), sync.ts (sync, advise,
// incore), resize.ts; contract/kit.ts is what they share.
import type { Backend } from '../src/front/backend'
import { loadNativeBackend } from '../src/native/backend'
import { loadWasmBackend } from '../src/wasm/node'
import { repoRoot } from './helpers'
import { contractKit } from './contract/kit'
import { openSuite } from './contract/open'
import { allocSuite, closeSuite, createSuite } from './contract/create'
import { hintsSuite, syncSuite } from './contract/sync'
import { resizeSuite } from './contract/resize'

/** The contract's suites on one backend, one per Backend function. */
function register(name: 'native' | 'wasm', load: () => Backend): void {
  const k = contractKit(name, load)
  openSuite(k)
  createSuite(k)
  allocSuite(k)
  closeSuite(k)
  syncSuite(k)
  resizeSuite(k)
  hintsSuite(k)
}

register('native', () => loadNativeBackend(repoRoot))
register('wasm', () => loadWasmBackend())
