// What the children of the `mmapfile` entry tests (test/unified*.test.ts) begin with: a line of JSON
// on stdout is their report.
export const report = "const report = (o) => process.stdout.write(JSON.stringify(o) + '\\n')\n"
