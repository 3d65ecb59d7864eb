/**
 * One `Huey` subclass per storage, so the common case is one line.
 *
 * @module
 */
import { Huey } from "./huey.ts";
import type { HueyOptions } from "./huey.ts";
import { BlackHoleStorage } from "./storage/blackhole.ts";
import { FileStorage } from "./storage/file.ts";
import type { FileStorageOptions } from "./storage/file.ts";
import { MemoryStorage } from "./storage/memory.ts";
import { PostgresStorage } from "./storage/postgres/storage.ts";
import type { PostgresStorageOptions } from "./storage/postgres/storage.ts";
import {
  PriorityRedisExpireStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  RedisStorage,
} from "./storage/redis/storage.ts";
import type { RedisExpireStorageOptions, RedisStorageOptions } from "./storage/redis/storage.ts";
import { SqliteStorage } from "./storage/sqlite.ts";
import type { SqliteStorageOptions } from "./storage/sqlite.ts";

/** Options of the storage-specific Huey classes: everything but `storage`. */
export type FlavorOptions = Omit<HueyOptions, "storage">;

/** Options of {@link SqliteHuey}: Huey options plus the SQLite file settings. */
export type SqliteHueyOptions = FlavorOptions & Omit<SqliteStorageOptions, "name">;

/** Options of {@link FileHuey}: Huey options plus the directory. */
export type FileHueyOptions = FlavorOptions & Omit<FileStorageOptions, "name">;

/** Options of {@link RedisHuey} and {@link PriorityRedisHuey}: Huey options plus the connection. */
export type RedisHueyOptions = FlavorOptions & Omit<RedisStorageOptions, "name">;

/** Options of {@link RedisExpireHuey} and {@link PriorityRedisExpireHuey}. */
export type RedisExpireHueyOptions = FlavorOptions & Omit<RedisExpireStorageOptions, "name">;

/** Options of {@link PostgresHuey}: Huey options plus the connection and the tables. */
export type PostgresHueyOptions = FlavorOptions & Omit<PostgresStorageOptions, "name">;

const POSTGRES_KEYS = [
  "url",
  "host",
  "port",
  "database",
  "user",
  "password",
  "ssl",
  "poolSize",
  "connectTimeout",
  "prepare",
  "client",
  "tablePrefix",
  "schema",
  "createTables",
  "blocking",
] as const;

const REDIS_KEYS = [
  "url",
  "host",
  "port",
  "db",
  "password",
  "client",
  "blocking",
  "readTimeout",
  "connectTimeout",
  "expireTime",
  "cluster",
] as const;

/** Split storage settings (`keys`) from Huey settings. */
function split<T extends object>(options: T, keys: readonly string[]) {
  const storage: Record<string, unknown> = {};
  const huey: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    (keys.includes(key) ? storage : huey)[key] = value;
  }
  return { storage, huey: huey as FlavorOptions };
}

/**
 * A Huey on in-process memory storage: for tests, scripts and immediate mode.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ name: "tests", immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * console.log(await (await add(1, 2)).get()); // 3
 * ```
 */
export class MemoryHuey extends Huey {
  /** A Huey on its own MemoryStorage named `options.name`. */
  constructor(options: FlavorOptions = {}) {
    super({ ...options, storage: new MemoryStorage({ name: options.name ?? "huey" }) });
  }
}

/**
 * A Huey on a SQLite file (`node:sqlite`): the embedded default. No server;
 * several producer and consumer processes may share the file.
 *
 * @example
 * ```ts
 * import { SqliteHuey } from "../mod.ts";
 * export const huey = new SqliteHuey({ name: "app", filename: "app.db" });
 * export const add = huey.task("add", (a: number, b: number) => a + b);
 * ```
 */
export class SqliteHuey extends Huey {
  readonly #sqlite: SqliteStorage;

  /** A Huey on its own SqliteStorage named `options.name`. */
  constructor(options: SqliteHueyOptions = {}) {
    const { storage, huey } = split(options, ["filename", "busyTimeout", "createTables", "watch"]);
    const sqlite = new SqliteStorage({ ...storage, name: options.name ?? "huey" });
    super({ ...huey, storage: sqlite });
    this.#sqlite = sqlite;
  }

  /**
   * Create the tables, or bring them to this version's (a no-op when they
   * are current): a deployment step for `createTables: false`.
   */
  initializeSchema(): Promise<void> {
    return this.#sqlite.initializeSchema();
  }
}

/**
 * A Huey on files in a directory (huey's FileHuey): for development.
 *
 * @example
 * ```ts
 * import { FileHuey } from "../mod.ts";
 * const huey = new FileHuey({ name: "dev", path: "./.huey" });
 * ```
 */
export class FileHuey extends Huey {
  /** A Huey on its own FileStorage named `options.name`. */
  constructor(options: FileHueyOptions) {
    const { storage, huey } = split(options, ["path"]);
    super({
      ...huey,
      storage: new FileStorage({ ...(storage as { path: string }), name: options.name ?? "huey" }),
    });
  }
}

/**
 * A Huey whose storage drops every write (huey's BlackHoleHuey): calls
 * enqueue nothing and results never arrive.
 *
 * @example
 * ```ts
 * import { BlackHoleHuey } from "../mod.ts";
 * const huey = new BlackHoleHuey();
 * ```
 */
export class BlackHoleHuey extends Huey {
  /** A Huey on its own BlackHoleStorage named `options.name`. */
  constructor(options: FlavorOptions = {}) {
    super({ ...options, storage: new BlackHoleStorage({ name: options.name ?? "huey" }) });
  }
}

/**
 * A Huey on Redis: queue in a list (no priorities), schedule in a sorted
 * set, results in a hash. Blocking pops, results pushed to blocked `get()`s.
 * On a Redis Cluster with `cluster: { rootNodes }` (every key of one name in
 * one hash slot).
 *
 * @example
 * ```ts
 * import { RedisHuey } from "../mod.ts";
 * export const huey = new RedisHuey({ name: "app", url: "redis://127.0.0.1:6379" });
 * // or on a Redis Cluster:
 * export const clustered = new RedisHuey({
 *   name: "app",
 *   cluster: { rootNodes: ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"] },
 * });
 * ```
 */
export class RedisHuey extends Huey {
  /** A Huey on its own RedisStorage named `options.name`. */
  constructor(options: RedisHueyOptions = {}) {
    const { storage, huey } = split(options, REDIS_KEYS);
    super({ ...huey, storage: new RedisStorage({ ...storage, name: options.name ?? "huey" }) });
  }
}

/**
 * {@link RedisHuey} with task priorities (the queue is a sorted set).
 *
 * @example
 * ```ts
 * import { PriorityRedisHuey } from "../mod.ts";
 * export const huey = new PriorityRedisHuey({ name: "app" });
 * ```
 */
export class PriorityRedisHuey extends Huey {
  /** A Huey on its own PriorityRedisStorage named `options.name`. */
  constructor(options: RedisHueyOptions = {}) {
    const { storage, huey } = split(options, REDIS_KEYS);
    super({
      ...huey,
      storage: new PriorityRedisStorage({ ...storage, name: options.name ?? "huey" }),
    });
  }
}

/**
 * {@link RedisHuey} keeping task results in top-level keys that expire
 * `expireTime` seconds (default 86400) after they are stored, so unread
 * results do not pile up; reading a result does not remove it (any number
 * of readers may read it until it expires), and `huey.get(key)` keeps the
 * key too. Locks, revocations and `put()` keys do not expire.
 *
 * @example
 * ```ts
 * import { RedisExpireHuey } from "../mod.ts";
 * export const huey = new RedisExpireHuey({ name: "app", expireTime: 3600 });
 * ```
 */
export class RedisExpireHuey extends Huey {
  /** A Huey on its own RedisExpireStorage named `options.name`. */
  constructor(options: RedisExpireHueyOptions = {}) {
    const { storage, huey } = split(options, REDIS_KEYS);
    super({
      ...huey,
      storage: new RedisExpireStorage({ ...storage, name: options.name ?? "huey" }),
    });
  }
}

/**
 * Priorities and expiring results together.
 *
 * @example
 * ```ts
 * import { PriorityRedisExpireHuey } from "../mod.ts";
 * export const huey = new PriorityRedisExpireHuey({ name: "app", expireTime: 3600 });
 * ```
 */
export class PriorityRedisExpireHuey extends Huey {
  /** A Huey on its own PriorityRedisExpireStorage named `options.name`. */
  constructor(options: RedisExpireHueyOptions = {}) {
    const { storage, huey } = split(options, REDIS_KEYS);
    super({
      ...huey,
      storage: new PriorityRedisExpireStorage({ ...storage, name: options.name ?? "huey" }),
    });
  }
}

/**
 * A Huey on PostgreSQL (npm `postgres`): messages leased with `FOR UPDATE
 * SKIP LOCKED`, priorities, blocking waits and results pushed to blocked
 * `get()`s through LISTEN/NOTIFY, and enqueues inside the application's
 * own transaction (`schedule(args, { transaction: tx })`). Tables are
 * created on first use unless `createTables: false`.
 *
 * @example
 * ```ts
 * import { PostgresHuey } from "../mod.ts";
 * export const huey = new PostgresHuey({ name: "app", url: "postgres://app@127.0.0.1:5432/app" });
 * export const add = huey.task("add", (a: number, b: number) => a + b);
 * ```
 */
export class PostgresHuey extends Huey {
  readonly #postgres: PostgresStorage;

  /** A Huey on its own PostgresStorage named `options.name`. */
  constructor(options: PostgresHueyOptions = {}) {
    const { storage, huey } = split(options, POSTGRES_KEYS);
    const postgres = new PostgresStorage({ ...storage, name: options.name ?? "huey" });
    super({ ...huey, storage: postgres });
    this.#postgres = postgres;
  }

  /**
   * Create the tables, or migrate them to this version's schema (a no-op
   * when they are current): a deployment step for `createTables: false`.
   */
  initializeSchema(): Promise<void> {
    return this.#postgres.initializeSchema();
  }
}
