/**
 * Two setups side by side in one run, each repetition in a fresh process,
 * alternating which goes first; prints the medians and their ratios as a
 * Markdown table.
 *
 *   deno run -A bench/compare.ts cluster [--reps 3]
 *   deno run -A bench/compare.ts pg-boss [--reps 3]
 *
 * - `cluster`: RedisHuey on one redis-server against RedisHuey on a
 *   three-master Redis Cluster (tests/redis_cluster_server.ts), both from Deno.
 * - `pg-boss`: PostgresHuey (Deno) against pg-boss (Node 24, bench/peers.mjs,
 *   installed with `npm install --prefix bench`) on one private PostgreSQL
 *   (tests/postgres_server.ts).
 *
 * Workloads (bench/ours.ts, bench/peers.mjs): W1 awaited enqueues, W2 drain
 * of pre-enqueued no-op tasks with 1 and 8 workers, W3 round trip.
 */
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { parseArgs } from "node:util";
import { args as commandLine, exit } from "../lib/runtime.ts";
import { startRedisServer } from "../tests/redis_server.ts";
import { startRedisCluster } from "../tests/redis_cluster_server.ts";
import { startPostgresServer } from "../tests/postgres_server.ts";

const { values, positionals } = parseArgs({
  args: commandLine(),
  allowPositionals: true,
  options: { reps: { type: "string", default: "3" } },
});
const reps = Number(values.reps);
const mode = positionals[0];
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** One setup: a label and how to start one measurement's process. */
interface Setup {
  label: string;
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** One measurement: its workload arguments and the metric compared. */
const CASES = [
  {
    label: "W1 awaited enqueues/s",
    args: ["--workload", "w1", "--n", "3000"],
    metric: "rate",
  },
  {
    label: "W2 drain c1, tasks/s",
    args: ["--workload", "w2", "--n", "5000", "--concurrency", "1"],
    metric: "rate",
  },
  {
    label: "W2 drain c8, tasks/s",
    args: ["--workload", "w2", "--n", "5000", "--concurrency", "8"],
    metric: "rate",
  },
  {
    label: "W3 round trip p50, ms",
    args: ["--workload", "w3", "--n", "1000"],
    metric: "p50",
  },
] as const;

/** Run one measurement; resolves to its metrics (the `BENCH_RESULT` line). */
function measure(setup: Setup, args: readonly string[]) {
  return new Promise<Record<string, number>>((resolve, reject) => {
    const child = spawn(setup.command, [...setup.args, ...args], {
      cwd: here("."),
      env: { ...process.env, ...setup.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code !== 0 || !line) {
        return reject(
          new Error(
            `${setup.label} ${args.join(" ")} failed (${code}): ${stdout}${stderr}`,
          ),
        );
      }
      resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ours = (env: Record<string, string>, label: string): Setup => ({
  label,
  command: "deno",
  args: ["run", "-A", here("./ours.ts")],
  env,
});

/** The two setups of `mode` and how to stop what they run on. */
async function setups(): Promise<
  { a: Setup; b: Setup; stop(): Promise<void> }
> {
  if (mode === "cluster") {
    const single = await startRedisServer();
    const cluster = await startRedisCluster();
    return {
      a: ours(
        { BENCH_STORAGE: "redis", BENCH_REDIS_URL: single.url },
        "one redis-server",
      ),
      b: ours(
        {
          BENCH_STORAGE: "redis",
          BENCH_REDIS_CLUSTER: cluster.rootNodes.join(","),
        },
        "3-master cluster",
      ),
      stop: async () => {
        await cluster.stop();
        await single.stop();
      },
    };
  }
  if (mode === "pg-boss") {
    const pg = await startPostgresServer();
    const node = execFileSync("npx", [
      "-y",
      "node@24",
      "-p",
      "process.execPath",
    ]).toString().trim();
    return {
      a: {
        label: "pg-boss (Node 24)",
        command: node,
        args: [here("./peers.mjs"), "--system", "pgboss"],
        env: { BENCH_POSTGRES_URL: pg.url },
      },
      b: ours(
        { BENCH_STORAGE: "postgres", BENCH_POSTGRES_URL: pg.url },
        "PostgresHuey (Deno)",
      ),
      stop: () => pg.remove(),
    };
  }
  throw new Error(
    `bench/compare.ts: the mode must be cluster or pg-boss: ${mode}`,
  );
}

const { a, b, stop } = await setups();
try {
  const rows: string[] = [];
  for (const c of CASES) {
    const seen = [[] as number[], [] as number[]];
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        seen[i].push((await measure([a, b][i], c.args))[c.metric]);
      }
    }
    const [x, y] = seen.map(median);
    // > 1 means the second setup is better: throughput b/a, latency a/b.
    const ratio = c.metric === "p50" ? x / y : y / x;
    const fmt = (
      v: number,
    ) => (c.metric === "p50" ? v.toFixed(3) : Math.round(v).toString());
    // The median, then the spread of the repetitions.
    const cell = (i: number) =>
      `${fmt([x, y][i])} (${fmt(Math.min(...seen[i]))}–${fmt(Math.max(...seen[i]))})`;
    rows.push(`| ${c.label} | ${cell(0)} | ${cell(1)} | ${ratio.toFixed(2)}× |`);
    console.error(rows.at(-1));
  }
  console.log(`median of ${reps} (min–max); ratio > 1× means ${b.label} is better\n`);
  console.log(
    `| workload | ${a.label} | ${b.label} | ${b.label} vs ${a.label} |`,
  );
  console.log("|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await stop();
}
exit(0);
