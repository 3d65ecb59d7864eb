/**
 * A PostgreSQL server for the tests: each test run makes a private cluster
 * (`initdb` into a temporary directory, trust authentication, as the
 * `postgres` user when run as root), starts it with `pg_ctl` on a spare
 * loopback port, and stops and removes it when the process exits.
 * `DATABASE_URL` points the tests at an existing server instead (the
 * restart test then does not restart it).
 *
 * The binaries are looked up on the PATH and then in
 * `/usr/lib/postgresql/<version>/bin`, where Debian's `postgresql` package
 * puts them. When there are none and `DATABASE_URL` is unset, the Postgres
 * tests cannot run: {@link describeWithPostgres} registers one test in their
 * place, which passes on a developer's machine and fails under `CI=true`.
 */
import { after, describe } from "node:test";
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { env } from "../lib/runtime.ts";
import { describeWithServer, sparePort } from "./servers.ts";
import type { ServerUnavailable } from "./servers.ts";

/** A server the tests can use. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** True when this helper started it: only then `stop` and `start` do anything. */
  readonly own: boolean;
  /** Stop the server (fast shutdown), keeping its data. */
  stop(): Promise<void>;
  /** Start it again on the same port, with the same data. */
  start(): Promise<void>;
  /** Stop it for good and remove its directory (own servers only). */
  remove(): Promise<void>;
}

/** The path of the PostgreSQL program `name`, or undefined when it is not installed. */
export function postgresBinary(name: "initdb" | "pg_ctl"): string | undefined {
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a);
  for (const version of versions) {
    const path = join(root, version, "bin", name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Run `command` (as the postgres user when we are root); throws with its output on failure. */
function run(asPostgres: boolean, command: string, args: string[]): void {
  const [file, argv] = asPostgres
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
  const result = spawnSync(file, argv, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(
      `Cannot run ${command} ${args.join(" ")}: ${
        result.error?.message ?? ""
      }${result.stderr}${result.stdout}`,
    );
  }
}

const clusters = new Set<() => void>();
process.on("exit", () => {
  for (const remove of clusters) remove();
});

/**
 * Make and start a private cluster on a spare loopback port. Needs
 * `initdb` and `pg_ctl` (see {@link postgresBinary}); as root, a `postgres`
 * user to run them.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const initdb = postgresBinary("initdb");
  const pgCtl = postgresBinary("pg_ctl");
  if (!initdb || !pgCtl) {
    throw new Error("Cannot start Postgres: initdb and pg_ctl are not installed");
  }
  const asPostgres = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "huey-pg-"));
  if (asPostgres) {
    const id = (flag: string) =>
      Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, id("-u"), id("-g"));
  }
  const data = join(dir, "data");
  run(asPostgres, initdb, [
    "-D",
    data,
    "--auth=trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--no-sync",
  ]);
  let port = 0;
  let running = false;
  let started = false;
  const start = async () => {
    for (let attempt = 0;; attempt++) {
      port ||= await sparePort();
      try {
        run(asPostgres, pgCtl, [
          "-D",
          data,
          "-l",
          join(dir, "log"),
          "-w",
          "-o",
          `-k ${dir} -p ${port} -h 127.0.0.1 -c fsync=off -c max_connections=200`,
          "start",
        ]);
        running = true;
        return;
      } catch (error) {
        // The port was taken in between (only before the first start): try another.
        if (attempt >= 4 || started) throw error;
        port = 0;
      }
    }
  };
  const stop = () => {
    if (!running) return;
    running = false;
    run(asPostgres, pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]);
  };
  const remove = () => {
    clusters.delete(remove);
    try {
      stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  clusters.add(remove);
  await start();
  started = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    own: true,
    stop: async () => stop(),
    start,
    remove: async () => remove(),
  };
}

/**
 * The server the Postgres tests use: `DATABASE_URL` when set, otherwise a
 * private cluster; or why there is none.
 */
export async function postgresForTests(): Promise<PostgresServer | ServerUnavailable> {
  const url = env("DATABASE_URL");
  if (url) {
    const port = Number(new URL(url).port || 5432);
    const nothing = async () => {};
    return { url, port, own: false, stop: nothing, start: nothing, remove: nothing };
  }
  if (!postgresBinary("initdb") || !postgresBinary("pg_ctl")) {
    return {
      reason: "initdb is not installed (apt-get install postgresql) and DATABASE_URL is unset",
      fail: env("CI") === "true",
    };
  }
  return await startPostgresServer();
}

/**
 * Register `register(server)` under `title` when a Postgres server is
 * there; otherwise one test under `title` that says why, and fails under
 * CI=true.
 */
export async function describeWithPostgres(
  title: string,
  register: (server: PostgresServer) => void,
): Promise<void> {
  const found = await postgresForTests();
  // Removed when the file's tests are done: Deno's test runner exits
  // without the process "exit" event, which is only the fallback.
  describeWithServer(title, "Postgres", found, (server) => {
    describe(title, () => {
      after(() => server.remove());
      register(server);
    });
  });
}
