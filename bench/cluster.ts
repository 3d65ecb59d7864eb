/**
 * RedisHuey on a Redis Cluster against RedisHuey on one redis-server, in
 * the same run: starts both (three cluster masters, tests/redis_cluster_server.ts),
 * then runs `bench/ours.ts` for W1 (awaited enqueues), W2 (drain no-op
 * tasks, 1 and 8 async workers) and W3 (round trip with a blocking get),
 * each repetition in a fresh Deno process, alternating which setup goes
 * first. Prints the medians and cluster/single ratios as a Markdown table.
 *
 *   deno run -A bench/cluster.ts [--reps 3]
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { parseArgs } from "node:util";
import { args as commandLine, exit } from "../lib/runtime.ts";
import { startRedisServer } from "../tests/redis_server.ts";
import { startRedisCluster } from "../tests/redis_cluster_server.ts";

const { values } = parseArgs({
  args: commandLine(),
  options: { reps: { type: "string", default: "3" } },
});
const reps = Number(values.reps);
const ours = fileURLToPath(new URL("./ours.ts", import.meta.url));

/** One measurement: its ours.ts arguments and the metric compared. */
const CASES = [
  { label: "W1 awaited enqueues/s", args: ["--workload", "w1", "--n", "5000"], metric: "rate" },
  {
    label: "W2 drain c1, tasks/s",
    args: ["--workload", "w2", "--n", "10000", "--concurrency", "1"],
    metric: "rate",
  },
  {
    label: "W2 drain c8, tasks/s",
    args: ["--workload", "w2", "--n", "10000", "--concurrency", "8"],
    metric: "rate",
  },
  { label: "W3 round trip p50, ms", args: ["--workload", "w3", "--n", "2000"], metric: "p50" },
] as const;

/** Run ours.ts with `args` and `extra` environment; resolves to its metrics. */
function measure(args: readonly string[], extra: Record<string, string>) {
  return new Promise<Record<string, number>>((resolve, reject) => {
    const child = spawn("deno", ["run", "-A", ours, ...args], {
      env: { ...process.env, BENCH_STORAGE: "redis", ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code !== 0 || !line) {
        return reject(new Error(`ours.ts ${args.join(" ")} failed (${code}): ${stderr}`));
      }
      resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const single = await startRedisServer();
const cluster = await startRedisCluster();
try {
  const setups = {
    single: { BENCH_REDIS_URL: single.url },
    cluster: { BENCH_REDIS_CLUSTER: cluster.rootNodes.join(",") },
  };
  const rows: string[] = [];
  for (const c of CASES) {
    const seen = { single: [] as number[], cluster: [] as number[] };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? ["single", "cluster"] as const : ["cluster", "single"] as const;
      for (const setup of order) seen[setup].push((await measure(c.args, setups[setup]))[c.metric]);
    }
    const [s, k] = [median(seen.single), median(seen.cluster)];
    // > 1 means the cluster is better: throughput cluster/single, latency single/cluster.
    const ratio = c.metric === "p50" ? s / k : k / s;
    const fmt = (x: number) => (c.metric === "p50" ? x.toFixed(3) : Math.round(x).toString());
    rows.push(`| ${c.label} | ${fmt(s)} | ${fmt(k)} | ${ratio.toFixed(2)}× |`);
    console.error(rows.at(-1));
  }
  console.log(`RedisHuey, Deno, median of ${reps}; ratio > 1× means the cluster is better\n`);
  console.log("| workload | one redis-server | 3-master cluster | cluster vs one |");
  console.log("|---|---|---|---|");
  for (const row of rows) console.log(row);
} finally {
  await cluster.stop();
  await single.stop();
}
exit(0);
