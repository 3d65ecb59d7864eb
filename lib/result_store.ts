/**
 * The result store as huey uses it: task results by task id, and the app's
 * own key/values (`huey.put()` / `huey.get()`), decoded through the Huey's
 * serializer.
 *
 * @module
 */
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

  /** The decoded value under `key`, removed unless `peek`; undefined when there is none. */
  async get<T = unknown>(key: string, options: { peek?: boolean } = {}): Promise<T | undefined> {
    const { storage, serializer } = this.#host;
    const data = options.peek ? await storage.peekData(key) : await storage.popData(key);
    return data === undefined ? undefined : serializer.decode(data) as T;
  }

  /** The stored result of task `id`, removed unless `preserve`. */
  readResult(id: string, preserve: boolean): Promise<StoredResult | undefined> {
    return this.get<StoredResult>(id, { peek: preserve });
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

  /** Store `value` under `key`, replacing what was there. */
  async put(key: string, value: unknown): Promise<void> {
    await this.#host.storage.putData(key, this.#host.serializer.encode(value));
  }

  /** Store `value` only if `key` is empty; true if stored. */
  putIfEmpty(key: string, value: unknown): Promise<boolean> {
    return this.#host.storage.putIfEmpty(key, this.#host.serializer.encode(value));
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
