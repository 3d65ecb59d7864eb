/**
 * A Redis Cluster for the tests: three `redis-server --cluster-enabled yes`
 * masters on spare loopback ports (persistence off, the cluster bus on a
 * spare port of its own), joined with `redis-cli --cluster create`, stopped
 * afterwards. `REDIS_CLUSTER_URL` (comma-separated root node URLs) points
 * the tests at an existing cluster instead.
 *
 * When `redis-server` or `redis-cli` is missing and `REDIS_CLUSTER_URL` is
 * unset, the cluster tests cannot run: {@link describeWithRedisCluster}
 * registers one test in their place, which fails under `CI=true`.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env } from "../lib/runtime.ts";
import { connectRedis, replyStrings } from "../lib/storage/redis/connection.ts";
import type { RedisConnection } from "../lib/storage/redis/connection.ts";
import { launch, redisServerInstalled, terminate } from "./redis_server.ts";
import { describeWithServer, sparePort } from "./servers.ts";
import type { ServerUnavailable } from "./servers.ts";

/** One master of the cluster. */
export interface ClusterNode {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The node id (`CLUSTER MYID`). */
  readonly id: string;
}

/** A cluster the tests can use. */
export interface RedisClusterServer {
  /** The masters' URLs: what `cluster: { rootNodes }` takes. */
  readonly rootNodes: string[];
  /** True when this helper started it: only then `stop` does anything. */
  readonly own: boolean;
  /** The masters, with their ids. */
  masters(): Promise<ClusterNode[]>;
  /** The master serving hash slot `slot`. */
  owner(slot: number): Promise<ClusterNode>;
  /** The hash slot of `key` (`CLUSTER KEYSLOT`). */
  keySlot(key: string): Promise<number>;
  /**
   * Move hash slot `slot` to another master (`to`, or the next one after its
   * owner), the way `redis-cli --cluster reshard` moves each slot: mark it
   * IMPORTING on the target and MIGRATING on the source, `MIGRATE` its keys
   * (waiting `holdMs` between batches, so clients meet ASK redirects), then
   * `SETSLOT NODE` on every master. Resolves to the source and target.
   */
  moveSlot(
    slot: number,
    options?: { to?: ClusterNode; holdMs?: number },
  ): Promise<{ from: ClusterNode; to: ClusterNode }>;
  /** Stop the masters (and wait until they have exited), remove their files. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Run a command to its end; rejects with its output when it exits non-zero. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk.toString()));
    child.stderr.on("data", (chunk) => (output += chunk.toString()));
    child.on("error", reject);
    child.on(
      "exit",
      (code) =>
        code === 0
          ? resolve(output)
          : reject(new Error(`Cannot run ${command} ${args.join(" ")}: exit ${code}: ${output}`)),
    );
  });
}

/** The `field:value` lines of an INFO-like reply. */
function fields(text: string): Map<string, string> {
  return new Map(
    text.split(/\r?\n/).filter((line) => line.includes(":")).map((line) => {
      const at = line.indexOf(":");
      return [line.slice(0, at), line.slice(at + 1).trim()];
    }),
  );
}

/** Admin connections to each root node, made on first use. */
class ClusterAdmin {
  readonly rootNodes: string[];
  readonly #conns = new Map<string, Promise<RedisConnection>>();

  constructor(rootNodes: string[]) {
    this.rootNodes = rootNodes;
  }

  conn(url: string): Promise<RedisConnection> {
    let conn = this.#conns.get(url);
    if (!conn) {
      conn = connectRedis({ url, owner: "the cluster tests" });
      this.#conns.set(url, conn);
    }
    return conn;
  }

  async send(url: string, args: string[]): Promise<unknown> {
    return await (await this.conn(url)).send(args);
  }

  /** The masters as the first root node sees them (`CLUSTER NODES`). */
  async masters(): Promise<ClusterNode[]> {
    const text = String(await this.send(this.rootNodes[0], ["CLUSTER", "NODES"]));
    return text.trim().split("\n").map((line) => line.split(" ")).filter((parts) =>
      parts[2].includes("master") && !parts[2].includes("fail")
    ).map((parts) => {
      const [hostPort] = parts[1].split("@");
      const colon = hostPort.lastIndexOf(":");
      const host = hostPort.slice(0, colon) || "127.0.0.1";
      const port = Number(hostPort.slice(colon + 1));
      return { id: parts[0], host, port, url: `redis://${host}:${port}` };
    }).sort((a, b) => a.port - b.port);
  }

  async owner(slot: number): Promise<ClusterNode> {
    const reply = await this.send(this.rootNodes[0], ["CLUSTER", "SLOTS"]) as unknown[][];
    for (const range of reply) {
      if (Number(range[0]) <= slot && slot <= Number(range[1])) {
        const [, port, id] = range[2] as unknown[];
        const found = (await this.masters()).find((node) =>
          node.id === id || node.port === Number(port)
        );
        if (found) return found;
      }
    }
    throw new Error(`Cannot find the owner of slot ${slot}`);
  }

  async keySlot(key: string): Promise<number> {
    return Number(await this.send(this.rootNodes[0], ["CLUSTER", "KEYSLOT", key]));
  }

  async moveSlot(
    slot: number,
    options: { to?: ClusterNode; holdMs?: number } = {},
  ): Promise<{ from: ClusterNode; to: ClusterNode }> {
    const masters = await this.masters();
    const from = await this.owner(slot);
    const to = options.to ??
      masters[(masters.findIndex((node) => node.id === from.id) + 1) % masters.length];
    const hold = options.holdMs ?? 0;
    const s = String(slot);
    await this.send(to.url, ["CLUSTER", "SETSLOT", s, "IMPORTING", from.id]);
    await this.send(from.url, ["CLUSTER", "SETSLOT", s, "MIGRATING", to.id]);
    await sleep(hold);
    for (;;) {
      const keys = replyStrings(
        await this.send(from.url, ["CLUSTER", "GETKEYSINSLOT", s, "100"]) as never,
      );
      if (keys.length === 0) break;
      await this.send(from.url, [
        "MIGRATE",
        to.host,
        String(to.port),
        "",
        "0",
        "5000",
        "REPLACE",
        "KEYS",
        ...keys,
      ]);
      await sleep(hold);
    }
    // The target first, then the source, then the rest (as redis-cli does).
    for (const node of [to, from, ...masters.filter((m) => m.id !== to.id && m.id !== from.id)]) {
      await this.send(node.url, ["CLUSTER", "SETSLOT", s, "NODE", to.id]);
    }
    return { from, to };
  }

  async close(): Promise<void> {
    const conns = [...this.#conns.values()];
    this.#conns.clear();
    for (const conn of conns) await conn.then((c) => c.close(true), () => {});
  }
}

/** Wait until every node of `urls` reports `cluster_state:ok` and agrees on all 16384 slots. */
async function waitUntilOk(admin: ClusterAdmin, urls: string[]): Promise<void> {
  const deadline = performance.now() + 20_000;
  let last = "";
  while (performance.now() < deadline) {
    let ok = true;
    for (const url of urls) {
      const info = fields(String(await admin.send(url, ["CLUSTER", "INFO"])));
      last = `${url}: ${info.get("cluster_state")}, ${info.get("cluster_slots_ok")} slots ok`;
      if (info.get("cluster_state") !== "ok" || info.get("cluster_slots_ok") !== "16384") {
        ok = false;
      }
    }
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`Cannot start the Redis Cluster: not ok after 20 s: ${last}`);
}

/**
 * Start three masters of our own and join them into a cluster. Needs
 * `redis-server` and `redis-cli` on the PATH.
 */
export async function startRedisCluster(): Promise<RedisClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), "huey-cluster-"));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const stopAll = async () => {
    for (const child of children) await terminate(child);
    children.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        const port = await sparePort();
        const bus = await sparePort();
        try {
          children.push(
            await launch(port, [
              "--cluster-enabled",
              "yes",
              "--cluster-port",
              String(bus),
              "--cluster-config-file",
              join(dir, `nodes-${port}.conf`),
              "--cluster-node-timeout",
              "5000",
              "--dir",
              dir,
            ]),
          );
          ports.push(port);
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error; // a port was taken in between: try others
        }
      }
      if (lastError) throw lastError;
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    const rootNodes = ports.map((port) => `redis://127.0.0.1:${port}`);
    const admin = new ClusterAdmin(rootNodes);
    await waitUntilOk(admin, rootNodes);
    return clusterServer(admin, true, async () => {
      await admin.close();
      await stopAll();
    });
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function clusterServer(
  admin: ClusterAdmin,
  own: boolean,
  stop: () => Promise<void>,
): RedisClusterServer {
  return {
    rootNodes: admin.rootNodes,
    own,
    masters: () => admin.masters(),
    owner: (slot) => admin.owner(slot),
    keySlot: (key) => admin.keySlot(key),
    moveSlot: (slot, options) => admin.moveSlot(slot, options),
    stop,
  };
}

/** True when `redis-server` and `redis-cli` are on the PATH. */
function redisCliInstalled(): boolean {
  if (!redisServerInstalled()) return false;
  try {
    const result = spawnSync("redis-cli", ["--version"], { stdio: "ignore" });
    return !result.error && result.status === 0;
  } catch {
    return false;
  }
}

/**
 * The cluster the tests use: `REDIS_CLUSTER_URL` when set, otherwise one of
 * our own; or why there is none.
 */
export async function redisClusterForTests(): Promise<RedisClusterServer | ServerUnavailable> {
  const urls = env("REDIS_CLUSTER_URL");
  if (urls) {
    const admin = new ClusterAdmin(urls.split(",").map((url) => url.trim()).filter(Boolean));
    return clusterServer(admin, false, () => admin.close());
  }
  if (!redisCliInstalled()) {
    return {
      reason:
        "redis-server or redis-cli is not on the PATH (apt-get install redis-server) and REDIS_CLUSTER_URL is unset",
      fail: env("CI") === "true",
    };
  }
  return await startRedisCluster();
}

/**
 * Register `register(cluster)` under `title` when a cluster is there;
 * otherwise one test under `title` that says why, and fails under CI=true.
 */
export async function describeWithRedisCluster(
  title: string,
  register: (cluster: RedisClusterServer) => void,
): Promise<void> {
  describeWithServer(title, "Redis Cluster", await redisClusterForTests(), register);
}
