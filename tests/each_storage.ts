/**
 * Behaviour tests that must hold on every kind of storage: one suite
 * registered on MemoryStorage, SqliteStorage (a fresh file each time) and
 * RedisStorage (a redis-server of the file's own, under a fresh name each
 * time), each storage closed when its suite is done.
 */
import { after, describe } from "node:test";
import { join } from "node:path";
import { MemoryStorage, RedisStorage, SqliteStorage } from "../mod.ts";
import type { Storage } from "../mod.ts";
import { tempDir } from "./process_helpers.ts";
import { describeWithRedis } from "./redis_server.ts";

/** Registers the tests of one storage; `open()` gives a fresh storage of that kind. */
export type StorageSuite = (open: () => Storage) => void;

let names = 0;
const uniqueName = () => `each-${Date.now().toString(36)}-${names++}`;

/** Register `suite` as `<title> on <storage class>` for each storage. */
export async function onEachStorage(title: string, suite: StorageSuite): Promise<void> {
  const dir = tempDir("huey-each-storage-");
  const register = (kind: string, make: () => Storage, done?: () => Promise<void>) => {
    describe(`${title} on ${kind}`, { timeout: 60_000 }, () => {
      const opened: Storage[] = [];
      after(async () => {
        for (const storage of opened) await storage.close().catch(() => {});
        await done?.();
      });
      suite(() => {
        const storage = make();
        opened.push(storage);
        return storage;
      });
    });
  };
  register("MemoryStorage", () => new MemoryStorage());
  register(
    "SqliteStorage",
    () => new SqliteStorage({ name: uniqueName(), filename: join(dir, `${uniqueName()}.db`) }),
  );
  await describeWithRedis(`${title} on RedisStorage`, (server) => {
    register(
      "RedisStorage",
      () => new RedisStorage({ name: uniqueName(), url: server.url }),
      () => server.stop(),
    );
  });
}
