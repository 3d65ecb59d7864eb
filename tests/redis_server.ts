/**
 * A Redis server for the tests: each test run starts its own `redis-server`
 * on a spare loopback port, with persistence off, and stops it afterwards.
 * `REDIS_URL` points the tests at an existing server instead (the reconnect
 * test still starts its own, since it stops and restarts it).
 *
 * When `redis-server` is not installed and `REDIS_URL` is unset, the Redis
 * tests cannot run: {@link redisForTests} says why, and the test file
 * registers one test in their place, which passes on a developer's machine
 * and fails under `CI=true` (CI must run them).
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import process from "node:process";
import { env } from "../lib/runtime.ts";
import {
  PriorityRedisExpireStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  RedisStorage,
} from "../lib/storage/redis/storage.ts";
import { describeWithServer, sparePort } from "./servers.ts";

/** The four Redis storage classes, by name: what the Redis test files run. */
export const REDIS_CLASSES = {
  RedisStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  PriorityRedisExpireStorage,
} as const;

/** The name of one of {@link REDIS_CLASSES}. */
export type RedisClassName = keyof typeof REDIS_CLASSES;

/** A server the tests can use. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when this helper started it: only then `stop` and `restart` do anything. */
  readonly own: boolean;
  /** Stop the server (and wait until it has exited). */
  stop(): Promise<void>;
  /** Start it again on the same port, with nothing in it. */
  restart(): Promise<void>;
}

/** Why the Redis tests cannot run here. */
export interface RedisUnavailable {
  reason: string;
  /** True under `CI=true`: the run must fail rather than pass without them. */
  fail: boolean;
}

/** True when a `redis-server` binary is on the PATH. */
export function redisServerInstalled(): boolean {
  try {
    const result = spawnSync("redis-server", ["--version"], { stdio: "ignore" });
    return !result.error && result.status === 0;
  } catch {
    return false;
  }
}

/** True when a server on `port` answers PING with PONG. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = "";
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 500);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.includes("\r\n")) finish(data.startsWith("+PONG"));
    });
    socket.on("error", () => finish(false));
  });
}

/**
 * Send one command to the server at `url` over a fresh socket, as raw RESP,
 * so that arguments can be any bytes (the clients send strings as UTF-8);
 * resolves to the first line of the reply, e.g. `:1`.
 */
export function rawCommand(url: string, args: (string | Uint8Array)[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const bytes = (arg: string | Uint8Array) =>
    typeof arg === "string" ? new TextEncoder().encode(arg) : arg;
  const parts: Uint8Array[] = [new TextEncoder().encode(`*${args.length}\r\n`)];
  for (const arg of args.map(bytes)) {
    parts.push(
      new TextEncoder().encode(`$${arg.length}\r\n`),
      arg,
      new TextEncoder().encode("\r\n"),
    );
  }
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    let reply = "";
    socket.on("connect", () => {
      for (const part of parts) socket.write(part);
    });
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (!reply.includes("\r\n")) return;
      socket.destroy();
      resolve(reply.slice(0, reply.indexOf("\r\n")));
    });
    socket.on("error", reject);
  });
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** More configuration, as `redis-server` arguments: `["--maxmemory-policy", "noeviction"]`. */
  args?: string[];
}

/**
 * Start redis-server on `port` with `args` added; resolves once it answers,
 * rejects if it exits first.
 */
export async function launch(port: number, args: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    ...args,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  running.add(child);
  let exited = false;
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk.toString()));
  child.on("exit", () => {
    exited = true;
    running.delete(child);
  });
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    if (exited) throw new Error(`Cannot start redis-server on port ${port}: it exited: ${stderr}`);
    if (await answers(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`Cannot start redis-server on port ${port}: no answer after 10 s`);
}

/** Stop `child` with SIGTERM and wait until it has exited. */
export async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/**
 * Start a fresh redis-server of our own on a spare loopback port, with
 * `options.args` added to its configuration. Needs `redis-server` on the PATH.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await sparePort();
    let child: ChildProcess | undefined;
    try {
      child = await launch(port, options.args);
    } catch (error) {
      lastError = error; // the port was taken in between: try another
      continue;
    }
    const host = "127.0.0.1";
    return {
      url: `redis://${host}:${port}`,
      host,
      port,
      own: true,
      stop: async () => {
        await terminate(child);
        child = undefined;
      },
      restart: async () => {
        await terminate(child);
        child = await launch(port, options.args);
      },
    };
  }
  throw lastError;
}

/**
 * The server the Redis tests use: `REDIS_URL` when set, otherwise a
 * redis-server of our own; or why there is none.
 */
export async function redisForTests(): Promise<RedisServer | RedisUnavailable> {
  const url = env("REDIS_URL");
  if (url) {
    const parsed = new URL(url);
    return {
      url,
      host: parsed.hostname,
      port: Number(parsed.port || 6379),
      own: false,
      stop: async () => {},
      restart: async () => {},
    };
  }
  if (!redisServerInstalled()) {
    return {
      reason:
        "redis-server is not on the PATH (apt-get install redis-server) and REDIS_URL is unset",
      fail: env("CI") === "true",
    };
  }
  return await startRedisServer();
}

/**
 * Register `register(server)` under `title` when a Redis server is there;
 * otherwise one test under `title` that says why, and fails under CI=true.
 */
export async function describeWithRedis(
  title: string,
  register: (server: RedisServer) => void,
): Promise<void> {
  describeWithServer(title, "Redis", await redisForTests(), register);
}
