#!/usr/bin/env -S node --max-semi-space-size=4
// Launcher for the `campus-twin` CLI. The shebang caps V8's young generation at 3 × 4 MiB (the default
// grows to 3 × 16 MiB under bursts): it keeps a gateway with 10,000 sensors under its 200 MB budget
// (bench/README.md, memory). deploy/ and `npm start` pass the same flag.
// Runs the TypeScript sources as one esbuild bundle (bundle.mjs); where
// the bundle cannot be written (a read-only install), falls back to the module loader hook (ts-loader.mjs).
process.setSourceMapsEnabled(true);
const main = new URL('./main.ts', import.meta.url);
let url;
try {
  const { bundle } = await import('./bundle.mjs');
  url = await bundle(main, new URL('../../node_modules/.cache/campus-twin/', import.meta.url));
} catch (err) {
  if (process.env.CT_DEBUG_LAUNCHER)
    process.stderr.write(`campus-twin: bundling failed, using the loader hook: ${err}\n`);
  await import('./register.mjs');
  url = main.href;
}
await import(url);
