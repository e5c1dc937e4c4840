// `node --import ./shared/cli/register.mjs file.ts`: run a TypeScript entry point with the project's loader.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-loader.mjs', import.meta.url);
