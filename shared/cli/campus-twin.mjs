#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=4
// Launcher for the `campus-twin` CLI. Memory (bench/README.md, memory: a gateway with 10,000 sensors
// within its 200 MB budget); deploy/ and `npm start` give the same settings:
//  - the shebang caps V8's young generation at 3 × 4 MiB (the default grows to 3 × 16 MiB under bursts);
//  - MALLOC_ARENA_MAX=2: glibc otherwise gives each of Node's threads its own malloc arena, and 2,500
//    sockets' buffers spread over them (about 14 MB more RSS at the end of the bench);
//  - V8 lets the old space grow to 1.25 × what was live after each full collection (--heap-growing-percent,
//    set below, as NODE_OPTIONS refuses it; CT_HEAP_GROWING_PERCENT changes the 25, 0 leaves V8's own).
//    Its own factor (1.1 to 4, from how fast it collects against how fast the program allocates) left
//    29 MB of the heap committed and unused at the end of the bench's steady load, 16 MB with 1.25: RSS at
//    the end 154.6 -> 142.6 MB, peak 168.3 -> 142.6 MB; ~6 % more CPU per publish at full speed
//    (bench/README.md, memory);
//  - source maps are off: parsing and keeping the maps of the bundle and the dependencies costs ~12 MB.
//    Stack traces name the bundle (unminified, names kept); NODE_OPTIONS=--enable-source-maps maps them
//    to the TypeScript sources.
// Runs the TypeScript sources as one esbuild bundle (bundle.mjs); where
// the bundle cannot be written (a read-only install), falls back to the module loader hook (ts-loader.mjs).
import { setFlagsFromString } from 'node:v8';

const heapGrowingPercent = process.env.CT_HEAP_GROWING_PERCENT ?? '25';
if (/^[1-9]\d{0,2}$/.test(heapGrowingPercent))
  setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
else if (heapGrowingPercent !== '0')
  process.stderr.write(
    `campus-twin: CT_HEAP_GROWING_PERCENT=${JSON.stringify(heapGrowingPercent)} ignored: 1 to 999, or 0 for V8's own growth\n`,
  );
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
