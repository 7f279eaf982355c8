// The conformance suite on the WebAssembly backend.
import * as api from 'mmapfile/wasm'
import { runConformance } from './conformance/index'

runConformance({ api: api as any, label: 'wasm', backend: 'wasm' })
