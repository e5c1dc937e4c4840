/** The cloud store: the repository interface and its SQLite implementation. */
import { SqliteCloudStore } from './sqlite.ts';

export { SqliteCloudStore, type SqliteStoreOptions } from './sqlite.ts';
export * from './types.ts';

/** The SQLite store a cloud config names, opened with its settings. */
export function openConfiguredStore(config: {
  store: { file: string; synchronous: 'FULL' | 'NORMAL' | 'EXTRA'; busyTimeoutMs: number };
}): SqliteCloudStore {
  return new SqliteCloudStore({
    file: config.store.file,
    synchronous: config.store.synchronous,
    busyTimeoutMs: config.store.busyTimeoutMs,
  });
}
