// For the tests that load the wasm backend from src/: rebuilds build/mmapfile.wasm when
// assembly/ or asconfig.json is newer (node-gyp rebuild wipes build/, and the module may be stale).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

export function buildModuleIfStale(root) {
  const wasm = path.join(root, 'build/mmapfile.wasm')
  const sources = [
    path.join(root, 'asconfig.json'),
    ...fs.readdirSync(path.join(root, 'assembly')).map((name) => path.join(root, 'assembly', name))
  ]
  const built = fs.existsSync(wasm) ? fs.statSync(wasm).mtimeMs : 0
  if (sources.some((source) => fs.statSync(source).mtimeMs > built)) {
    execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { cwd: root, stdio: 'inherit' })
  }
}
