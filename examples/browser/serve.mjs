// Serves the repository on http://127.0.0.1:8080/ so that the example can import dist/browser/index.mjs:
//   npm run build && node examples/browser/serve.mjs   then open http://127.0.0.1:8080/examples/browser/
import { createServer } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript' }
const port = Number(process.env.PORT) || 8080

createServer(async (request, response) => {
  let path = normalize(decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname))
  if (path.endsWith('/')) path += 'index.html'
  try {
    const body = await readFile(join(root, path))
    response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body)
  } catch {
    response.writeHead(404).end('not found')
  }
}).listen(port, '127.0.0.1', () => console.log(`http://127.0.0.1:${port}/examples/browser/`))
