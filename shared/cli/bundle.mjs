// Bundles a TypeScript entry point with esbuild (types stripped) into a content-addressed directory under
// node_modules/.cache, and returns the URL of its entry file. Running one bundle instead of a module loader
// hook saves the hook thread (~11 MB) and a transform per module at start, and keeps hot code free of any
// loader helpers. Each of our modules keeps its own `import.meta.url`, so files beside the sources (the
// status page) are found as they are when the sources run directly (tests, tsx).
//
// The dependencies are bundled too, without their comments: V8 keeps the source text of every module it
// loads, and the ~1,700 files of the dependencies a gateway loads kept ~14 MB of heap as they ship; bundled,
// a gateway idles with ~6 MB less heap in use and 10 MB less old space (bench/README.md, memory). Code
// splitting at the CLI's dynamic imports keeps each command to the code it runs (the gateway does not load
// the cloud's). Left as imports: native addons, and packages that find their own files at run time
// (__dirname, import.meta.url).
//
// Building takes ~0.6 s, so a launch first looks for the bundle its entry last got (`last-<entry hash>.json`)
// and uses it while every file esbuild read for it still has the size and mtime it had then.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Packages that stay imports from node_modules: native code, or files of their own found at run time. */
const EXTERNAL_PACKAGES = [
  'better-sqlite3', // native addon
  'serialport', // native addon (modbus-serial's RTU)
  '@serialport/*',
  'pino', // transports start worker threads from its own files
  'thread-stream',
  'sonic-boom',
  'qlobber', // reads its own files (aedes's topic matcher)
  '@fastify/swagger', // reads its own package.json
  '@fastify/swagger-ui', // serves its own static files
  'node-cron', // background tasks run its own daemon.js
];

const keepImportMetaUrl = {
  name: 'keep-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

// CommonJS dependencies call require() (node: built-ins, the external packages): an ES module has none.
const BANNER =
  "import { createRequire as __ctCreateRequire } from 'node:module';\n" +
  'const require = __ctCreateRequire(import.meta.url);';

/** The size and mtime of each file, as the manifest keeps them. */
function stamps(files) {
  return files.map((f) => {
    const st = statSync(f, { throwIfNoEntry: false });
    return st ? [f, st.size, st.mtimeMs] : [f, -1, -1];
  });
}

/** The bundle directory `pointer` names, if it is there and none of its inputs changed since it was built. */
function unchanged(cache, pointer) {
  try {
    const { dir, inputs } = JSON.parse(readFileSync(pointer, 'utf8'));
    const now = stamps(inputs.map(([f]) => f));
    const same = now.every(([, size, mtime], i) => size === inputs[i][1] && mtime === inputs[i][2]);
    return same && existsSync(join(cache, dir, 'cli.mjs')) ? dir : undefined;
  } catch {
    return undefined; // no pointer yet, or one from an older launcher
  }
}

export async function bundle(entryUrl, cacheDirUrl) {
  const entry = fileURLToPath(entryUrl);
  const cache = fileURLToPath(cacheDirUrl);
  const pointer = join(cache, `last-${createHash('sha256').update(entry).digest('hex').slice(0, 16)}.json`);
  const last = unchanged(cache, pointer);
  if (last) return pathToFileURL(join(cache, last, 'cli.mjs')).href;

  const { build, stop } = await import('esbuild');
  const started = Date.now();
  const out = '/campus-twin-bundle';
  const result = await build({
    entryPoints: { cli: entry },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL_PACKAGES,
    banner: { js: BANNER },
    legalComments: 'none',
    sourcemap: 'linked',
    outdir: out,
    outExtension: { '.js': '.mjs' },
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [keepImportMetaUrl],
  });
  await stop();
  const files = result.outputFiles
    .map((f) => ({ name: relative(out, f.path), contents: f.contents }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const h = createHash('sha256').update(entry);
  for (const f of files) h.update(f.name).update(f.contents);
  const hash = h.digest('hex').slice(0, 16);
  const dir = join(cache, `cli-${hash}`);
  if (!existsSync(dir)) {
    // Write-then-rename: concurrent launches of the same sources produce the same directory, atomically.
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(tmp, f.name)), { recursive: true });
      writeFileSync(join(tmp, f.name), f.contents);
    }
    try {
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(dir)) throw err; // another launch renamed the same bundle first: use it
    }
    // Bundles of earlier sources. A process started from one may still load a chunk of it (a dynamic
    // import, e.g. the uplink's Event Hubs client on its first connection): keep the three newest and
    // any of the last hour.
    const others = readdirSync(cache)
      .filter((name) => name.startsWith('cli-'))
      .map((name) => join(cache, name))
      .filter((p) => p !== dir)
      .map((p) => ({ p, mtimeMs: statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? Date.now() }))
      .sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { p, mtimeMs } of others.slice(3)) {
      if (Date.now() - mtimeMs > 3600_000) rmSync(p, { recursive: true, force: true });
    }
  }
  // Stamped after the build: an input saved while it ran (mtime from its start on) may not be in this
  // bundle, so no pointer then, and the next launch builds again.
  const inputs = stamps(Object.keys(result.metafile.inputs).map((f) => resolve(f)));
  if (inputs.every(([, , mtime]) => mtime < started)) {
    const tmpPointer = `${pointer}.${process.pid}.tmp`;
    writeFileSync(tmpPointer, JSON.stringify({ dir: `cli-${hash}`, inputs }));
    renameSync(tmpPointer, pointer);
  }
  return pathToFileURL(join(dir, 'cli.mjs')).href;
}
