/** The cloud store: the repository interface and its SQLite and PostgreSQL implementations. */
import { PostgresCloudStore } from './postgres.ts';
import { SqliteCloudStore } from './sqlite.ts';
import type { CloudStore } from './types.ts';

export { PostgresCloudStore, type PostgresStoreOptions } from './postgres.ts';
export { SqliteCloudStore, type SqliteStoreOptions } from './sqlite.ts';
export * from './types.ts';

export interface StoreConfig {
  store: {
    url: string;
    schema: string;
    poolSize: number;
    file: string;
    synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
    busyTimeoutMs: number;
  };
}

/** The store a cloud config names: PostgreSQL when `store.url` is set (connected and migrated), else SQLite. */
export async function openConfiguredStore(config: StoreConfig): Promise<CloudStore> {
  const s = config.store;
  if (s.url)
    return PostgresCloudStore.open({
      url: s.url,
      poolSize: s.poolSize,
      ...(s.schema ? { schema: s.schema } : {}),
    });
  return sqliteOf(config);
}

function sqliteOf({ store: s }: StoreConfig): SqliteCloudStore {
  return new SqliteCloudStore({ file: s.file, synchronous: s.synchronous, busyTimeoutMs: s.busyTimeoutMs });
}

/**
 * A CloudStore whose every call waits for `opening` first: a store that opens asynchronously (PostgreSQL
 * connects and migrates) handed to code that wires things up synchronously. A failed open fails every call.
 */
export function deferredStore(opening: Promise<CloudStore>): CloudStore {
  // Nobody may be listening yet: the failure is reported by the calls that await it.
  opening.catch(() => {});
  return new Proxy({} as CloudStore, {
    get(_, name) {
      if (name === 'then') return undefined;
      return async (...args: unknown[]) => {
        const store = await opening;
        const method = store[name as keyof CloudStore] as unknown as (...a: unknown[]) => unknown;
        return method.apply(store, args);
      };
    },
  });
}

/** The config's store, usable at once (SQLite opens synchronously; PostgreSQL is deferred, see above). */
export function configuredStore(config: StoreConfig): CloudStore {
  return config.store.url ? deferredStore(openConfiguredStore(config)) : sqliteOf(config);
}
