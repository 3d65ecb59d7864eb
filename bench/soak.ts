/**
 * A memory soak: a consumer in this process drains a million no-op tasks,
 * fed in chunks so the queue never holds more than one, and prints its
 * resident set size as it goes, to see whether memory levels off.
 *
 *   deno run -A bench/soak.ts --storage sqlite --n 1000000
 *   deno run -A bench/soak.ts --storage redis --n 1000000   # starts its own redis-server
 *
 * Prints one line per sample: tasks done, RSS in MB, and the change since
 * the first sample after warm-up.
 */
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, RedisHuey, SqliteHuey } from "../mod.ts";
import type { Huey } from "../mod.ts";
import { args as commandLine, rss } from "../lib/runtime.ts";
import { startRedisServer } from "../tests/redis_server.ts";

const { values } = parseArgs({
  args: commandLine(),
  options: {
    storage: { type: "string", default: "sqlite" },
    n: { type: "string", default: "1000000" },
    chunk: { type: "string", default: "10000" },
    samples: { type: "string", default: "20" },
  },
});
const n = Number(values.n);
const chunk = Number(values.chunk);
const every = Math.max(
  chunk,
  Math.floor(n / Number(values.samples) / chunk) * chunk,
);

const dir = mkdtempSync(join(tmpdir(), "huey-soak-"));
const redis = values.storage === "redis" ? await startRedisServer() : undefined;
const huey: Huey = redis
  ? new RedisHuey({ name: "soak", url: redis.url })
  : new SqliteHuey({ name: "soak", filename: join(dir, "soak.db") });
const noop = huey.task("noop", (i: number) => i);
await huey.flush();
const consumer = new Consumer(huey, {
  workers: 8,
  periodic: false,
  initialDelay: 0.001,
  maxDelay: 0.01,
  logLevel: "warn",
});
await consumer.start();

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
let baseline: number | undefined;
const started = performance.now();
for (let done = 0; done < n; done += chunk) {
  await noop.map(
    Array.from({ length: chunk }, (_, i) => [done + i] as [number]),
  );
  // Results are not read: drop them as they come, as an app that ignores them would.
  while (
    (await huey.storage.queueSize()) > 0 ||
    (await huey.storage.leasedSize()) > 0
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await huey.storage.flushResults();
  const finished = done + chunk;
  if (finished % every === 0) {
    const now = rss();
    if (finished >= every * 2 && baseline === undefined) baseline = now;
    const change = baseline === undefined
      ? ""
      : ` (${now >= baseline ? "+" : ""}${mb(now - baseline)} MB since ${every * 2})`;
    const rate = Math.round(finished / ((performance.now() - started) / 1000));
    console.log(
      `${values.storage} ${finished} tasks: RSS ${mb(now)} MB${change}, ${rate} tasks/s`,
    );
  }
}
await consumer.stop();
await huey.close();
await redis?.stop();
rmSync(dir, { recursive: true, force: true });
