/**
 * The records of a Redis storage (`Storage.putRecord`: task status,
 * progress, consumer heartbeats): a hash, the expiries (server time) and a
 * key index (scripts.ts), the same for every layout.
 *
 * @module
 */
import { checkRecord, checkRecordKey } from "../record.ts";
import { replyStrings } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";
import type { RedisLink } from "./link.ts";
import { DELETE_RECORD, PUT_RECORD, READ_RECORDS } from "./scripts.ts";

/** `{key, value, ...}` as a Map. */
function pairs(reply: unknown): Map<string, string> {
  const flat = replyStrings(reply as never);
  const items = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) items.set(flat[i], flat[i + 1]);
  return items;
}

/**
 * The records of one name, on its link; expiries on the server's clock (the
 * callers' `now` is not used).
 *
 * @example
 * ```ts
 * import type { RedisKeys } from "./keys.ts";
 * import type { RedisLink } from "./link.ts";
 * import { RedisRecords } from "./records.ts";
 * const consumers = (link: RedisLink, keys: RedisKeys) =>
 *   new RedisRecords(link, keys, "RedisStorage \"app\"").items("%c:", 0);
 * ```
 */
export class RedisRecords {
  readonly #link: RedisLink;
  readonly #keys: readonly string[];
  readonly #label: string;

  /** Records under `keys`' names, sent on `link`; `label` names the storage in errors. */
  constructor(link: RedisLink, keys: RedisKeys, label: string) {
    this.#link = link;
    this.#keys = [keys.records, keys.recordExpiries, keys.recordKeys];
    this.#label = label;
  }

  /** One script: the record, its expiry and its key; sweeps expired ones. */
  async put(key: string, value: string, ttl: number): Promise<void> {
    const ttlMs = checkRecord(key, value, ttl, this.#label);
    await this.#link.run(PUT_RECORD, this.#keys, [key, value, String(Math.ceil(ttlMs))]);
  }

  /** The unexpired record `key`, or `undefined`. */
  async get(key: string): Promise<string | undefined> {
    checkRecordKey(key, this.#label);
    return pairs(await this.#link.run(READ_RECORDS, this.#keys, ["get", key])).get(key);
  }

  /** The unexpired records under `prefix`, sorted by key. */
  async items(prefix: string, _now: number, limit?: number): Promise<Map<string, string>> {
    checkRecordKey(prefix, this.#label);
    const max = limit === undefined ? -1 : Math.max(0, Math.floor(limit));
    if (max === 0) return new Map();
    return pairs(await this.#link.run(READ_RECORDS, this.#keys, ["list", prefix, String(max)]));
  }

  /** Remove the record `key`; true if it was there. */
  async delete(key: string): Promise<boolean> {
    checkRecordKey(key, this.#label);
    return (await this.#link.run(DELETE_RECORD, this.#keys, [key])) === 1;
  }

  /** Remove every record of the name. */
  async flush(): Promise<void> {
    await this.#link.send(["DEL", ...this.#keys]);
  }
}
