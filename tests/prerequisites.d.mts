// Types for tests/prerequisites.mjs (plain JavaScript so that it runs before anything is installed).
export interface Prerequisite {
  what: string;
  packages: string[];
  usedBy: string;
  command?: string;
  file?: string;
  python?: string[];
  postgres?: boolean;
}
export const PYTHON: string;
export function chromiumPath(env?: NodeJS.ProcessEnv): string;
export const PREREQUISITES: Prerequisite[];
export function debianPackages(): string[];
export function installLine(): string;
export function postgresBinDir(env?: NodeJS.ProcessEnv): string | undefined;
export function findOnPath(name: string, env?: NodeJS.ProcessEnv): string | undefined;
export function missingPrerequisites(env?: NodeJS.ProcessEnv): (Prerequisite & { why: string })[];
export function missingReport(missing: (Prerequisite & { why: string })[]): string;
