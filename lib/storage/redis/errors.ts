/**
 * The error store (dead letters) of the Redis storages: the list
 * `huey.{app}.errors` of JSON items `{ id, data, reason, time, info }`.
 * Requeuing one is one script ({@link REQUEUE_ERROR}): removed from the
 * list and enqueued together, or not at all.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ErrorItem } from "../types.ts";
import { replyStrings } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";
import type { RedisLink } from "./link.ts";
import { REQUEUE_ERROR } from "./scripts.ts";

/**
 * A stored item of the error list as an {@link ErrorItem}. Items kept
 * before they had ids get the SHA-1 of their text as one: stable, so they
 * can be requeued and deleted too.
 */
function keptItem(stored: string): ErrorItem {
  const parsed = JSON.parse(stored) as Partial<ErrorItem>;
  const id = typeof parsed.id === "string"
    ? parsed.id
    : "sha1-" + createHash("sha1").update(stored).digest("hex");
  const item: ErrorItem = {
    id,
    data: parsed.data as string,
    reason: parsed.reason as string,
    time: parsed.time as number,
  };
  if (typeof parsed.info === "string") item.info = parsed.info;
  return item;
}

/**
 * The kept messages of one Redis storage.
 *
 * @example
 * ```ts
 * import { RedisErrors } from "./errors.ts";
 * import { RedisKeys } from "./keys.ts";
 * import { RedisLink } from "./link.ts";
 * const link = new RedisLink({ url: "redis://127.0.0.1:6379", owner: "storage \"app\"" }, "app");
 * const errors = new RedisErrors(link, new RedisKeys("app"), false);
 * console.log((await errors.items(undefined)).length); // 0 on an empty server
 * ```
 */
export class RedisErrors {
  readonly #link: RedisLink;
  readonly #keys: RedisKeys;
  readonly #priority: boolean;

  /** The error list of `keys`, sent through `link`; `priority`: the queue is the sorted set. */
  constructor(link: RedisLink, keys: RedisKeys, priority: boolean) {
    this.#link = link;
    this.#keys = keys;
    this.#priority = priority;
  }

  /** {@link Storage.putError}: `RPUSH`, with a new id. */
  async put(data: string, reason: string, now: number, info?: string): Promise<void> {
    const item = JSON.stringify({ id: crypto.randomUUID(), data, reason, time: now, info });
    await this.#link.send(["RPUSH", this.#keys.errors, item]);
  }

  /** {@link Storage.errorItems}: `LRANGE`. */
  async items(limit: number | undefined): Promise<ErrorItem[]> {
    this.#link.assertOpen();
    if (limit !== undefined && limit <= 0) return [];
    const stop = limit === undefined ? "-1" : String(limit - 1);
    const reply = await this.#link.send(["LRANGE", this.#keys.errors, "0", stop]);
    return replyStrings(reply).map(keptItem);
  }

  /** The kept item `id` and its text exactly as stored (what LREM matches), if there is one. */
  async #find(id: string): Promise<{ item: ErrorItem; stored: string } | undefined> {
    this.#link.assertOpen();
    const reply = await this.#link.send(["LRANGE", this.#keys.errors, "0", "-1"]);
    for (const stored of replyStrings(reply)) {
      const item = keptItem(stored);
      if (item.id === id) return { item, stored };
    }
    return undefined;
  }

  /** {@link Storage.deleteError}: `LREM` of the item found. */
  async delete(id: string): Promise<boolean> {
    const found = await this.#find(id);
    if (!found) return false;
    return Number(await this.#link.send(["LREM", this.#keys.errors, "1", found.stored])) > 0;
  }

  /** {@link Storage.requeueError}: {@link REQUEUE_ERROR} on the item found. */
  async requeue(id: string, priority: number): Promise<boolean> {
    const found = await this.#find(id);
    if (!found) return false;
    if (!Number.isFinite(priority)) {
      throw new RangeError(`Cannot requeue: priority must be a finite number: ${priority}`);
    }
    const k = this.#keys;
    const layout = this.#priority ? "priority" : "list";
    const args = [found.stored, layout, String(-priority), found.item.data];
    const reply = await this.#link.run(REQUEUE_ERROR, [k.errors, k.queue, k.seq, k.wake], args);
    return Number(reply) === 1;
  }

  /** {@link Storage.flushErrors}: `DEL`. */
  async flush(): Promise<void> {
    await this.#link.send(["DEL", this.#keys.errors]);
  }
}
