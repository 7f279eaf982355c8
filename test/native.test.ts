// The conformance suite on the native backend.
import * as api from 'mmapfile/native'
import { runConformance } from './conformance/index'

runConformance({ api: api as any, label: 'native', backend: 'native' })
