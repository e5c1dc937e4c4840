/** The cloud store: the repository interface and its SQLite implementation. */
export { SqliteCloudStore, type SqliteStoreOptions } from './sqlite.ts';
export * from './types.ts';
