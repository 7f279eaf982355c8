// Builds everything `npm install` promises but the addon: the WebAssembly module, dist/ (ESM,
// CommonJS and type declarations). "prepare" then builds the addon: in a checkout, the test build
// (npm run build:addon, node-gyp with the test hook, so that npm test runs the hook's tests); what ships
// is the prebuilds, built without it (npm run build:addon:release, scripts/prebuild.mjs).
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
process.chdir(root)

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.status !== 0) {
    console.error(`build: ${command} ${args.join(' ')} failed`)
    process.exit(result.status ?? 1)
  }
}

run(process.execPath, ['scripts/build-wasm.mjs'])

rmSync('dist', { recursive: true, force: true })
const entryPoints = [
  'src/index.ts',
  'src/native-entry.ts',
  'src/wasm-entry.ts',
  'src/mmap-io-entry.ts',
  'src/esbuild-plugin.ts'
]
const common = {
  entryPoints,
  bundle: true,
  platform: 'node',
  // Without a target, esbuild decodes embedded binaries with Uint8Array.fromBase64, which Node 20 to 24 lack.
  target: 'node20',
  loader: { '.wasm': 'binary' },
  external: ['node-gyp-build'],
  logLevel: 'warning'
}
const version = JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version)
const defines = () => ({ __MMAPFILE_VERSION__: version })
await build({
  ...common,
  format: 'esm',
  define: defines(),
  outdir: 'dist/esm',
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: '[name]-[hash]'
})
// src/node/host.ts reads __dirname where import.meta is empty, so esbuild's warning is moot there.
await build({
  ...common,
  format: 'cjs',
  define: defines(),
  outdir: 'dist/cjs',
  outExtension: { '.js': '.cjs' },
  logOverride: { 'empty-import-meta': 'silent' }
})
// Browsers (the `browser` export condition): one self-contained ES module, the wasm backend over an
// in-memory file system; nothing from Node (test/browser.test.mjs checks).
await build({
  entryPoints: ['src/browser-entry.ts'],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  loader: { '.wasm': 'binary' },
  define: defines(),
  outfile: 'dist/browser/index.mjs',
  logLevel: 'warning'
})

run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'])
if (!existsSync('dist/types/index.d.ts')) {
  console.error('build: tsc wrote no declarations')
  process.exit(1)
}
