#!/usr/bin/env node
// Launcher for the `campus-twin` CLI: runs the TypeScript sources directly through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
