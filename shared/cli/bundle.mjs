// Bundles a TypeScript entry point with esbuild (types stripped, dependencies left as imports) into a
// content-addressed file under node_modules/.cache (so that the dependencies resolve as from the sources),
// and returns its URL. Running one bundle instead of a module
// loader hook saves the hook thread (~11 MB) and a transform per module at start, and keeps hot code free of
// any loader helpers. Each module keeps its own `import.meta.url`, so files beside the sources (the status
// page) are found as they are when the sources run directly (tests, tsx).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, stop } from 'esbuild';

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

export async function bundle(entryUrl, cacheDirUrl) {
  const entry = fileURLToPath(entryUrl);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    outfile: 'cli.mjs',
    write: false,
    logLevel: 'silent',
    plugins: [keepImportMetaUrl],
  });
  await stop();
  const js = result.outputFiles.find((f) => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
  const hash = createHash('sha256').update(entry).update(js.contents).digest('hex').slice(0, 16);
  const dir = fileURLToPath(cacheDirUrl);
  const file = join(dir, `cli-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const text = js.text.replace(
      /\/\/# sourceMappingURL=cli\.mjs\.map\s*$/,
      `//# sourceMappingURL=cli-${hash}.mjs.map\n`,
    );
    // Write-then-rename: concurrent launches of the same sources produce the same file, atomically.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(`${file}.map`, map.text);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    // Bundles of earlier sources: a process started from one has long loaded it; keep the last hour's.
    for (const name of readdirSync(dir)) {
      const old = join(dir, name);
      if (!old.startsWith(file) && Date.now() - statSync(old).mtimeMs > 3600_000)
        rmSync(old, { force: true });
    }
  }
  return pathToFileURL(file).href;
}
