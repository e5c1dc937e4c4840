// Node module hooks that run the TypeScript sources directly: each .ts file is transformed by esbuild
// (types stripped, nothing else), no bundling and no build step. Imports name their .ts files explicitly
// (tsconfig allowImportingTsExtensions), so Node's own resolver finds them; only loading needs help.
// This replaces tsx at run time: tsx compiles with keepNames, which costs the hot path a helper call per
// closure, and its loader holds some 25 MB the gateway doesn't need.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: file,
  });
  return { format: 'module', source: code, shortCircuit: true };
}
