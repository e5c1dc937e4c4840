#!/usr/bin/env node
// Launcher for the `campus-twin` CLI: runs the TypeScript sources directly (see ts-loader.mjs).
import './register.mjs';

await import('./main.ts');
