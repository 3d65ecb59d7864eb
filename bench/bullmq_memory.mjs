/**
 * BullMQ's Redis memory per waiting job, for bench/backlog.ts's W6 table:
 * `node bench/bullmq_memory.mjs REDIS_URL N` adds N no-op jobs (as
 * bench/peers.mjs does, in bulk) and prints `BENCH_RESULT {"bytesPerJob"}`
 * from `used_memory` before and after. Needs `npm install --prefix bench`.
 */
import process from "node:process";
import { Queue } from "bullmq";
import IORedis from "ioredis";

const [url, count] = process.argv.slice(2);
const n = Number(count);
const connection = new IORedis(url, { maxRetriesPerRequest: null });
const used = async () => Number(/used_memory:(\d+)/.exec(await connection.info("memory"))[1]);
const queue = new Queue("bench-memory", { connection });
await queue.waitUntilReady();
const before = await used();
for (let added = 0; added < n; added += 10_000) {
  const jobs = Array.from(
    { length: Math.min(10_000, n - added) },
    () => ({ name: "noop", data: {} }),
  );
  await queue.addBulk(jobs);
}
const bytesPerJob = (await used() - before) / n;
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
console.log("BENCH_RESULT " + JSON.stringify({ bytesPerJob }));
