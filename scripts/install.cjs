'use strict'
// Runs where a package manager runs install scripts. It must never fail the install:
// without a prebuilt binary or a compiler, mmapfile still works on its WebAssembly backend.
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: root,
  stdio: 'inherit',
  env: process.env
})
if (result.status !== 0) {
  console.warn('mmapfile: the native addon could not be built; the WebAssembly backend will be used.')
}
