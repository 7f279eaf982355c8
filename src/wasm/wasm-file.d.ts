// The .wasm files src/ imports are bundled by esbuild's `binary` loader as the file's bytes.
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>
  export default bytes
}
