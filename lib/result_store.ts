/**
 * The result store as huey uses it: task results by task id, and the app's
 * own key/values (`huey.put()` / `huey.get()`), decoded through the Huey's
 * serializer. Huey's own keys (keys.ts) are out of the app's reach here.
 *
 * @module
 */
import { checkAppKey } from "./keys.ts";
import type { StoredResult } from "./result.ts";
import type { Serializer } from "./serializer.ts";
import type { Storage } from "./storage/types.ts";

/** What a {@link ResultStore} needs from its Huey. */
export interface ResultStoreHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Encodes values and decodes them back. */
  readonly serializer: Serializer;
}

/**
 * Reads and writes decoded values in the result store.
 *
 * @example
 * ```ts
 * import { ResultStore } from "./result_store.ts";
 * import { Serializer } from "./serializer.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * const store = new ResultStore({ storage: new MemoryStorage(), serializer: new Serializer() });
 * await store.put("calc", { total: 10 });
 * console.log(await store.get("calc", { peek: true })); // { total: 10 }
 * ```
 */
export class ResultStore {
  readonly #host: ResultStoreHost;

  constructor(host: ResultStoreHost) {
    this.#host = host;
  }

  /**
   * The decoded value under `key`, removed unless `peek`; undefined when
   * there is none. Rejects with a TypeError for one of huey's own keys.
   */
  async get<T = unknown>(key: string, options: { peek?: boolean } = {}): Promise<T | undefined> {
    checkAppKey(key, "read");
    return await this.#read<T>(key, options.peek ?? false);
  }

  async #read<T>(key: string, peek: boolean): Promise<T | undefined> {
    const { storage, serializer } = this.#host;
    const data = peek ? await storage.peekData(key) : await storage.popData(key);
    return data === undefined ? undefined : serializer.decode(data) as T;
  }

  /** Remove `key`; true if it was there. Rejects with a TypeError for one of huey's own keys. */
  async delete(key: string): Promise<boolean> {
    checkAppKey(key, "delete");
    return await this.#host.storage.deleteData(key);
  }

  /** The stored result of task `id`, removed unless `preserve`. */
  readResult(id: string, preserve: boolean): Promise<StoredResult | undefined> {
    // Task ids were checked where they were made: they are never huey's own keys.
    return this.#read<StoredResult>(id, preserve);
  }

  /**
   * Wait up to `timeout` seconds for a value under `key`; true if one is
   * there. Storages that cannot be told of writes are simply waited on.
   */
  async waitFor(key: string, timeout: number): Promise<boolean> {
    const storage = this.#host.storage;
    if (storage.waitForData) return await storage.waitForData(key, timeout);
    await new Promise((resolve) => setTimeout(resolve, timeout * 1000));
    return false;
  }

  /** Store `value` under `key`, replacing what was there (not one of huey's own keys). */
  async put(key: string, value: unknown): Promise<void> {
    checkAppKey(key, "write");
    await this.#host.storage.putData(key, this.#host.serializer.encode(value));
  }

  /** Store `value` only if `key` is empty; true if stored (not one of huey's own keys). */
  async putIfEmpty(key: string, value: unknown): Promise<boolean> {
    checkAppKey(key, "write");
    return await this.#host.storage.putIfEmpty(key, this.#host.serializer.encode(value));
  }

  /** Every key with its decoded value (the raw text where it does not decode). */
  async all(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const [key, data] of await this.#host.storage.resultItems()) {
      try {
        out.set(key, this.#host.serializer.decode(data));
      } catch {
        out.set(key, data);
      }
    }
    return out;
  }
}
