/**
 * The benchmark app: one Huey and the benchmark's tasks. `bench/ours.ts`
 * imports it in the main thread, and the consumer's `worker` pool imports it
 * again in every worker thread, so the storage comes from the environment
 * (set by `scripts/bench.ts` for each child process):
 *
 * - `BENCH_STORAGE`: `memory` | `sqlite` | `redis` | `priority-redis` | `postgres`
 * - `BENCH_REDIS_URL`: the benchmark's own redis-server
 * - `BENCH_REDIS_CLUSTER`: root node URLs, comma-separated: `redis` and
 *   `priority-redis` run on that Redis Cluster instead (bench/compare.ts cluster)
 * - `BENCH_POSTGRES_URL`: a PostgreSQL server (by hand for now: `scripts/bench.ts`
 *   does not start one yet)
 * - `BENCH_SQLITE_FILE`: a fresh database file for this run
 * - `BENCH_TRACK_STATUS`: `1` turns on `trackStatus` (to measure its cost)
 */
import { MemoryHuey, PostgresHuey, PriorityRedisHuey, RedisHuey, SqliteHuey } from "../mod.ts";
import type { Huey } from "../mod.ts";
import { env } from "../lib/runtime.ts";

/** The storages the benchmark runs on. */
export type BenchStorage =
  | "memory"
  | "sqlite"
  | "redis"
  | "priority-redis"
  | "postgres";

const storage = (env("BENCH_STORAGE") ?? "memory") as BenchStorage;
const name = "bench";
const url = env("BENCH_REDIS_URL") ?? "redis://127.0.0.1:6379";
const trackStatus = env("BENCH_TRACK_STATUS") === "1";
const rootNodes = env("BENCH_REDIS_CLUSTER")?.split(",");
/** Where the Redis flavors connect: one server, or a cluster. */
const redis = rootNodes ? { cluster: { rootNodes } } : { url };

function create(): Huey {
  switch (storage) {
    case "memory":
      return new MemoryHuey({ name, trackStatus });
    case "sqlite":
      return new SqliteHuey({
        name,
        trackStatus,
        filename: env("BENCH_SQLITE_FILE") ?? ".tmp/bench.db",
      });
    case "redis":
      return new RedisHuey({
        name,
        ...redis,
        trackStatus,
        events: env("BENCH_EVENTS") !== "0",
      });
    case "priority-redis":
      return new PriorityRedisHuey({ name, ...redis, trackStatus });
    case "postgres":
      return new PostgresHuey({
        name,
        trackStatus,
        url: env("BENCH_POSTGRES_URL") ??
          "postgres://postgres@127.0.0.1:5432/postgres",
        events: env("BENCH_EVENTS") !== "0",
      });
    default:
      throw new Error(
        `BENCH_STORAGE must be memory, sqlite, redis, priority-redis or postgres: ${storage}`,
      );
  }
}

/** The Huey of this benchmark run. */
export const huey: Huey = create();

/** W1, W1b, W2, W5: a task that does nothing and returns 1 (so a result is stored). */
export const noop = huey.task("noop", () => 1);

/** W3: the round-trip task. */
export const add = huey.task("add", (a: number, b: number) => a + b);

/** W4: an IO-bound task (a timer). */
export const nap = huey.task("nap", async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
});
