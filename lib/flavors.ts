/**
 * One `Huey` subclass per storage, so the common case is one line.
 *
 * @module
 */
import { Huey } from "./huey.ts";
import type { HueyOptions } from "./huey.ts";
import { MemoryStorage } from "./storage/memory.ts";

/** Options of the storage-specific Huey classes: everything but `storage`. */
export type FlavorOptions = Omit<HueyOptions, "storage">;

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
  constructor(options: FlavorOptions = {}) {
    super({ ...options, storage: new MemoryStorage({ name: options.name ?? "huey" }) });
  }
}
