/**
 * Measures the two npm PostgreSQL clients PostgresStorage could use, npm
 * `postgres` (porsager) and `pg`, on the runtime that runs this script:
 *
 * - awaited round trips per second: one parameterised, prepared statement
 *   after another on one connection (what a lone producer or a lone worker
 *   pays per call);
 * - concurrent statements per second: 8 callers at once on one connection
 *   (`postgres` pipelines them; `pg` sends one at a time);
 * - LISTEN/NOTIFY latency: from sending `NOTIFY` on one connection to the
 *   notification arriving on another (what wakes a blocked dequeue), p50
 *   and p99 in ms.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres deno run -A scripts/pg_clients.ts
 *   DATABASE_URL=... node scripts/pg_clients.ts      # Node >= 23.6 strips the types
 *   DATABASE_URL=... bun scripts/pg_clients.ts
 *
 * Prints one JSON line per client.
 *
 * @module
 */
import process from "node:process";
import pg from "pg";
import postgres from "postgres";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ROUND_TRIPS = Number(process.env.ROUND_TRIPS ?? 5000);
const NOTIFIES = Number(process.env.NOTIFIES ?? 500);
const CONCURRENT = 8;
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

interface Client {
  query(value: number): Promise<number>;
  listen(channel: string, onMessage: (payload: string) => void): Promise<void>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

async function porsager(): Promise<Client> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const listener = postgres(url, { max: 1, onnotice: () => {} });
  return {
    async query(value) {
      const rows = await sql.unsafe("SELECT $1::int AS v", [value], { prepare: true });
      return rows[0].v as number;
    },
    async listen(channel, onMessage) {
      await listener.listen(channel, onMessage);
    },
    async notify(channel, payload) {
      await sql.unsafe("SELECT pg_notify($1, $2)", [channel, payload], { prepare: true });
    },
    async close() {
      await sql.end();
      await listener.end();
    },
  };
}

async function brianc(): Promise<Client> {
  const main = new pg.Client({ connectionString: url });
  const listener = new pg.Client({ connectionString: url });
  await main.connect();
  await listener.connect();
  return {
    async query(value) {
      const result = await main.query({ name: "q", text: "SELECT $1::int AS v", values: [value] });
      return result.rows[0].v as number;
    },
    async listen(channel, onMessage) {
      listener.on("notification", (message) => onMessage(message.payload ?? ""));
      await listener.query(`LISTEN "${channel}"`);
    },
    async notify(channel, payload) {
      await main.query({ name: "n", text: "SELECT pg_notify($1, $2)", values: [channel, payload] });
    },
    async close() {
      await main.end();
      await listener.end();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function measure(name: string, make: () => Promise<Client>) {
  const client = await make();
  // Warm up: connections, prepared statements, JIT.
  for (let i = 0; i < 200; i++) await client.query(i);

  let start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await client.query(i);
  const roundTrips = ROUND_TRIPS / ((performance.now() - start) / 1000);

  start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      for (let i = 0; i < ROUND_TRIPS / CONCURRENT; i++) await client.query(i);
    }),
  );
  const concurrent = ROUND_TRIPS / ((performance.now() - start) / 1000);

  let wake: ((at: number) => void) | undefined;
  await client.listen("bench_wake", () => wake?.(performance.now()));
  const latencies: number[] = [];
  for (let i = 0; i < NOTIFIES; i++) {
    const arrived = new Promise<number>((resolve) => (wake = resolve));
    const sent = performance.now();
    const [, at] = await Promise.all([client.notify("bench_wake", String(i)), arrived]);
    latencies.push(at - sent);
  }
  latencies.sort((a, b) => a - b);
  await client.close();
  const round = (n: number, digits = 0) => Number(n.toFixed(digits));
  console.log(JSON.stringify({
    runtime,
    client: name,
    roundTripsPerSecond: round(roundTrips),
    concurrentPerSecond: round(concurrent),
    notifyP50ms: round(percentile(latencies, 0.5), 3),
    notifyP99ms: round(percentile(latencies, 0.99), 3),
  }));
}

const only = process.argv[2];
for (const [name, make] of [["postgres", porsager], ["pg", brianc]] as const) {
  if (!only || only === name) await measure(name, make);
}
