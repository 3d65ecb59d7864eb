/**
 * The only module that knows which runtime it is on (Deno, Node or Bun).
 * Everything runtime-specific lives here: environment, signals, exit,
 * process spawning, workers, unref'd timers, and driver choices.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { ConfigurationError } from "./errors.ts";

/** The JavaScript runtimes huey supports. */
export type RuntimeName = "deno" | "bun" | "node";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Which runtime this is, detected by feature (Bun and Deno also define `process`). */
export function runtimeName(): RuntimeName {
  if (typeof g.Bun !== "undefined") return "bun";
  if (typeof g.Deno !== "undefined" && typeof g.Deno.version?.deno === "string") return "deno";
  return "node";
}

/**
 * The command that runs the TypeScript (or, from the npm build, JavaScript)
 * module `script` (a path, or a `file:` URL) with `args` on this runtime,
 * with every permission on Deno. Deno also runs an `http(s):` URL as it is:
 * the library may have been loaded from one (`deno run -A https://.../cli.ts`).
 */
export function scriptCommand(script: string | URL, args: readonly string[] = []): {
  command: string;
  args: string[];
} {
  const exec: string = g.process?.execPath ?? g.Deno?.execPath?.();
  const url = script instanceof URL ? script : undefined;
  const local = url && url.protocol === "file:" ? fileURLToPath(url) : url?.href ?? script;
  if (runtimeName() === "deno") {
    return { command: exec, args: ["run", "-A", "--no-check", String(local), ...args] };
  }
  if (url && url.protocol !== "file:") {
    throw new TypeError(`Cannot start ${url.href}: ${runtimeName()} runs only local modules`);
  }
  return { command: exec, args: [String(local), ...args] };
}

/** An environment variable, or `undefined`. */
export function env(name: string): string | undefined {
  return g.process?.env?.[name] ?? undefined;
}

/** OS signals the consumer handles. */
export type OsSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/**
 * Call `handler` when the process receives `signal`; returns a function that
 * removes the listener. The listener keeps the process from dying of the
 * signal (the handler decides what to do).
 */
export function onSignal(signal: OsSignal, handler: () => void): () => void {
  if (runtimeName() === "deno") {
    g.Deno.addSignalListener(signal, handler);
    return () => g.Deno.removeSignalListener(signal, handler);
  }
  g.process.on(signal, handler);
  return () => g.process.off(signal, handler);
}

/** Signals the process pool sends its children. */
export type ChildSignal = "SIGINT" | "SIGTERM" | "SIGKILL";

/**
 * Send `signal` to the process `pid`; false if it is gone (it exited). The
 * process pool signals its children by pid because Deno's
 * `node:child_process` sends nothing after a child's first `kill()`, and a
 * child may need SIGINT twice (graceful, then hard) or SIGKILL after it.
 */
export function signalProcess(pid: number, signal: ChildSignal): boolean {
  try {
    if (runtimeName() === "deno") g.Deno.kill(pid, signal);
    else g.process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** End the process with `code`. */
export function exit(code: number): never {
  if (runtimeName() === "deno") g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}

/** Set the exit code used when the process ends on its own. */
export function setExitCode(code: number): void {
  if (runtimeName() === "deno") g.Deno.exitCode = code;
  else g.process.exitCode = code;
}

/** This process's id. */
export function pid(): number {
  return g.process?.pid ?? g.Deno?.pid ?? 0;
}

/** The command-line arguments after the script. */
export function args(): string[] {
  if (runtimeName() === "deno") return [...g.Deno.args];
  return g.process.argv.slice(2);
}

/** Current working directory. */
export function cwd(): string {
  return g.process?.cwd?.() ?? g.Deno.cwd();
}

/** Resident set size of this process, in bytes. */
export function rss(): number {
  if (runtimeName() === "deno") return g.Deno.memoryUsage().rss;
  return g.process.memoryUsage().rss;
}

/** Let a timer not keep the process alive (Deno, Node and Bun timers differ). */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "number" && runtimeName() === "deno") g.Deno.unrefTimer(timer);
  else (timer as { unref?: () => void })?.unref?.();
}

/** A worker thread running a module, as the consumer's `worker` pool uses it. */
export interface WorkerThread {
  /** Send a structured-cloneable message. */
  postMessage(message: unknown): void;
  /** Listen to messages from the worker. */
  onMessage(listener: (message: unknown) => void): void;
  /** Listen for the worker's end (exit code; non-zero or an error means it died). */
  onExit(listener: (code: number, error?: unknown) => void): void;
  /** Stop the worker at once. */
  terminate(): Promise<void>;
}

/**
 * Start `module` in a worker thread with `data` as its `workerData`.
 * `node:worker_threads` is used on every runtime (Node has no global
 * `Worker`; Deno and Bun implement `node:worker_threads` on their Web Workers).
 * It takes only `file:` and `data:` URLs, so a module loaded from elsewhere
 * (the library imported by `https:` URL on Deno) starts from a `data:`
 * module that imports it.
 */
export async function startWorkerThread(module: URL, data: unknown): Promise<WorkerThread> {
  const { Worker } = await import("node:worker_threads");
  const start = module.protocol === "file:" || module.protocol === "data:" ? module : new URL(
    `data:text/javascript,${encodeURIComponent(`import ${JSON.stringify(module.href)};`)}`,
  );
  const worker = new Worker(start, { workerData: data });
  let exited = false;
  let failure: unknown;
  const exitListeners: ((code: number, error?: unknown) => void)[] = [];
  worker.on("error", (error: unknown) => (failure = error));
  worker.on("exit", (code: number) => {
    exited = true;
    for (const listener of exitListeners) listener(failure ? code || 1 : code, failure);
  });
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (listener) => void worker.on("message", listener),
    onExit: (listener) => void exitListeners.push(listener),
    terminate: async () => {
      if (!exited) await worker.terminate();
    },
  };
}

/**
 * The `node:sqlite` module, loaded when a SQLite storage is made rather than
 * when the library is imported, so an app that uses another storage runs on
 * a runtime without it (Node before 22.13). Throws one line saying what is
 * needed where it is missing.
 */
export function sqliteModule(): typeof import("node:sqlite") {
  const loaded = g.process?.getBuiltinModule?.("node:sqlite");
  if (loaded) return loaded;
  const found = runtimeName() === "node"
    ? `found Node ${g.process.versions.node}`
    : `found ${runtimeName()} ${g.Deno?.version?.deno ?? g.Bun?.version ?? ""}`.trim();
  throw new ConfigurationError(
    `hueyjs needs Node 22.13 or later (or Deno 2, or Bun) for node:sqlite, which SqliteStorage uses; ${found}. Other storages work without it.`,
  );
}

/** The Redis client library the Redis storages use. */
export type RedisClientKind = "node-redis" | "bun";

/**
 * Which Redis client the Redis storages use here: Bun's built-in client on
 * Bun (about 1.6x the awaited commands per second of node-redis there, and
 * it passes the storage conformance suite), node-redis (`@redis/client`)
 * on Deno and Node.
 */
export function redisClientKind(): RedisClientKind {
  return runtimeName() === "bun" ? "bun" : "node-redis";
}

/** An HTTP server started by {@link serveNative} (or `serveDashboard` on Node). */
export interface HttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** The URL it answers at, e.g. `http://127.0.0.1:8080/huey/`. */
  readonly url: string;
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

/**
 * Serve `handler` with the runtime's own server (Deno.serve, Bun.serve);
 * `undefined` on Node, whose caller uses `node:http`.
 */
export async function serveNative(
  handler: (request: Request) => Promise<Response>,
  options: { port: number; hostname: string; path: string },
): Promise<HttpServer | undefined> {
  const { hostname, path } = options;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  if (runtimeName() === "deno") {
    const listening = Promise.withResolvers<number>();
    const server = g.Deno.serve({
      port: options.port,
      hostname,
      onListen: (address: { port: number }) => listening.resolve(address.port),
    }, handler);
    const port = await listening.promise;
    return { port, url: `http://${host}:${port}${path}`, close: () => server.shutdown() };
  }
  if (runtimeName() === "bun") {
    const server = g.Bun.serve({ port: options.port, hostname, fetch: handler });
    return {
      port: server.port,
      url: `http://${host}:${server.port}${path}`,
      close: async () => void (await server.stop(true)),
    };
  }
  return undefined;
}
