/**
 * Immediate mode's storage switch: a Huey uses its own storage, or, while in
 * immediate mode (unless `immediateUseMemory: false`), a private memory
 * storage, so tasks run when called without touching the real one.
 *
 * @module
 */
import { MemoryStorage } from "./storage/memory.ts";
import type { Storage } from "./storage/types.ts";

/**
 * Which storage a Huey uses now.
 *
 * @example
 * ```ts
 * import { StorageSwitch } from "./immediate.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * const own = new MemoryStorage({ name: "app" });
 * const storages = new StorageSwitch("app", own, true);
 * storages.immediate = true;
 * console.log(storages.storage === own); // false
 * ```
 */
export class StorageSwitch {
  readonly #name: string;
  readonly #storage: Storage;
  readonly #useMemory: boolean;
  #memory?: MemoryStorage;
  #immediate = false;

  /** The Huey `name`'s own `storage`; `useMemory`: immediate mode runs on a private memory storage. */
  constructor(name: string, storage: Storage, useMemory: boolean) {
    this.#name = name;
    this.#storage = storage;
    this.#useMemory = useMemory;
  }

  /** The storage in use: the private memory storage while in immediate mode. */
  get storage(): Storage {
    return this.#memory ?? this.#storage;
  }

  /** Whether tasks run when called. */
  get immediate(): boolean {
    return this.#immediate;
  }

  set immediate(value: boolean) {
    this.#immediate = value;
    if (value && this.#useMemory) this.#memory ??= new MemoryStorage({ name: this.#name });
    else this.#memory = undefined;
  }

  /** Close the memory storage (if any) and the Huey's own. */
  async close(): Promise<void> {
    await this.#memory?.close();
    await this.#storage.close();
  }
}
