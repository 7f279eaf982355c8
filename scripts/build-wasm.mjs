// Builds the WebAssembly backend's module: assembly/index.ts -> build/mmapfile.wasm (and a .wat
// next to it for reading), with the options in asconfig.json. Then checks what the module imports:
// WASI preview1 functions only, so that any WASI host runs it.
import asc from 'assemblyscript/asc'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

const { error, stderr } = await asc.main(['assembly/index.ts', '--config', 'asconfig.json', '--target', 'release'])
if (error) {
  console.error(stderr.toString())
  console.error(`build-wasm: ${error.message}`)
  process.exit(1)
}

const module = new WebAssembly.Module(readFileSync('build/mmapfile.wasm'))
const foreign = WebAssembly.Module.imports(module).filter((entry) => entry.module !== 'wasi_snapshot_preview1')
if (foreign.length > 0) {
  console.error(
    `build-wasm: the module imports more than WASI: ${foreign.map((entry) => `${entry.module}.${entry.name}`).join(', ')}`
  )
  process.exit(1)
}
