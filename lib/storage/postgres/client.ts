/**
 * The PostgreSQL connections of one PostgresStorage, on npm `postgres`
 * (postgres.js), loaded on first use so that apps that never use Postgres
 * never load it. This is the only file that names the `postgres` module.
 *
 * Why postgres.js and not `pg` (`scripts/pg_clients.ts`, medians of 10
 * runs on a shared 2-core machine): one awaited statement after another,
 * neither wins everywhere (postgres.js ÷ pg: 0.90 on Deno, 1.21 on Node 24,
 * 0.69 on Bun); with 8 callers on one connection postgres.js pipelines and
 * does 1.77x, 1.92x and 1.46x `pg`'s rate, which sends one statement at a
 * time (and deprecates concurrent queries on one client). A consumer's
 * workers, scheduler and event batches do overlap, so that is the figure
 * that counts. LISTEN/NOTIFY latency is alike (0.06-0.12 ms p50 for both).
 * postgres.js also has no dependencies and re-opens a dropped connection
 * on the next statement.
 *
 * Here: options, the pool (`poolSize` connections; statements are prepared
 * once per connection), an application's own client, the dedicated LISTEN
 * connection, and adapters for an application's open transaction
 * (postgres.js's `sql.begin()` handle, or a `pg` client inside `BEGIN`).
 *
 * @module
 */
import { HueyError } from "../../errors.ts";

/** A row as the storage reads it: column name to value. */
export type Row = Record<string, unknown>;

/** Runs one statement with parameters, returning its rows: the pool, or an open transaction. */
export interface PgRunner {
  /** Send `text` with `params` (`$1`, `$2`, ...); resolves to the rows it returns. */
  query(text: string, params: readonly unknown[]): Promise<Row[]>;
}

/**
 * The part of a postgres.js `sql` instance (what `postgres(url)` returns)
 * that PostgresStorage uses, when the application passes its own.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import type { PostgresClientLike } from "./client.ts";
 * const client: PostgresClientLike = postgres("postgres://app@127.0.0.1:5432/app");
 * ```
 */
export interface PostgresClientLike {
  /** Run a statement given as text. */
  unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean }): PromiseLike<
    unknown
  >;
  /** Run `fn` in a transaction on one connection. */
  begin(fn: (sql: PostgresTransactionLike) => unknown): PromiseLike<unknown>;
  /** The parsed connection options (postgres.js `sql.options`): the listen connection copies them. */
  readonly options: object;
}

/** The part of a postgres.js transaction handle (`sql.begin(async (tx) => ...)`) used here. */
export interface PostgresTransactionLike {
  /** Run a statement given as text, inside the transaction. */
  unsafe(query: string, parameters?: unknown[], options?: { prepare?: boolean }): PromiseLike<
    unknown
  >;
}

/** Where and how PostgresStorage connects. */
export interface PostgresConnectionOptions {
  /**
   * `postgres://user:password@host:port/database?sslmode=...`; the fields
   * below override its parts. Unset: postgres.js reads the `PG*`
   * environment variables, then defaults to localhost:5432.
   */
  url?: string;
  /** Server host (or a Unix socket directory). */
  host?: string;
  /** Server port. @default 5432 */
  port?: number;
  /** Database name. @default the user name */
  database?: string;
  /** User name. */
  user?: string;
  /** Password. */
  password?: string;
  /** TLS: `true`, `"require"`, `"prefer"`, `"verify-full"`, or Node TLS options. @default false */
  ssl?: boolean | "require" | "allow" | "prefer" | "verify-full" | Record<string, unknown>;
  /** Connections in the pool (the LISTEN connection is one more). @default 4 */
  poolSize?: number;
  /** Seconds to wait for a connection before a statement fails. @default 5 */
  connectTimeout?: number;
  /**
   * Prepare statements (once per connection). Turn off behind a pooler in
   * transaction mode (PgBouncer), which cannot keep them. @default true
   */
  prepare?: boolean;
}

/** A dedicated LISTEN connection, as {@link PostgresConnection.openListener} returns it. */
export interface ListenConnection {
  /** Run a statement (LISTEN / UNLISTEN) on it. */
  unsafe(query: string): PromiseLike<unknown>;
  /** Close it. */
  end(options?: { timeout?: number }): PromiseLike<void>;
}

/** What the LISTEN connection calls back. */
export interface ListenEvents {
  /** A notification arrived. */
  onnotify(channel: string, payload: string): void;
  /** The connection closed (or could not be opened): every LISTEN on it is gone. */
  onclose(): void;
}

// The npm: specifier, not the bare name: an app that imports this library by
// path or URL has no import map entry for postgres (the npm build rewrites it
// to the bare name, a dependency of the package).
type Postgres = typeof import("npm:postgres@^3.4.9");
type PostgresModule = { default: Postgres };
type Sql = ReturnType<Postgres>;

let loading: Promise<PostgresModule> | undefined;

/**
 * Seconds before reconnecting after the `retries`-th failed attempt in a
 * row: 50 ms doubling up to a second. postgres.js's own backoff grows to 20
 * s, so a consumer would sit idle for many seconds after a short outage.
 */
function reconnectDelay(retries: number): number {
  return Math.min(0.05 * 2 ** retries, 1);
}

/** The postgres.js module, imported once, on first use. */
function loadPostgres(label: string): Promise<PostgresModule> {
  loading ??= (async () => {
    try {
      // deno-lint-ignore no-import-prefix -- path and URL imports of this library have no import map
      return await import("npm:postgres@^3.4.9") as PostgresModule;
    } catch (cause) {
      loading = undefined;
      throw new HueyError(
        `Cannot connect to Postgres for ${label}: cannot load the npm package postgres: ${
          (cause as Error)?.message ?? cause
        }`,
        { cause },
      );
    }
  })();
  return loading!;
}

/** `host:port/database` for messages; never the password. */
export function describeTarget(options: PostgresConnectionOptions): string {
  let host = options.host;
  let port = options.port;
  let database = options.database;
  if (options.url) {
    try {
      const url = new URL(options.url);
      host ??= decodeURIComponent(url.hostname);
      port ??= url.port ? Number(url.port) : undefined;
      database ??= decodeURIComponent(url.pathname.slice(1)) || undefined;
    } catch {
      // postgres.js says what is wrong with it when it connects
    }
  }
  return `${host ?? "localhost"}:${port ?? 5432}/${database ?? "(default)"}`;
}

/**
 * The connections of one storage: a pool of `poolSize` (or the
 * application's client), opened on first use, and one LISTEN connection.
 *
 * @example Run a statement, then close
 * ```ts
 * import { PostgresConnection } from "./client.ts";
 * const connection = new PostgresConnection({ url: "postgres://postgres@127.0.0.1/postgres" }, "example");
 * console.log(await connection.query("SELECT 1 AS one", [])); // [{ one: 1 }]
 * await connection.close();
 * ```
 */
export class PostgresConnection {
  /** `host:port/database` (or "an application's client"), for messages. */
  readonly target: string;
  readonly #options: PostgresConnectionOptions;
  readonly #label: string;
  readonly #prepare: boolean;
  readonly #client?: PostgresClientLike;
  #sql?: Promise<Sql | PostgresClientLike>;
  #live?: Sql | PostgresClientLike;
  #owned: Sql[] = [];

  /**
   * Connections to `options`, or on the application's `client` (then left
   * open by `close()`); `label` names the storage in errors. Throws a
   * TypeError for a client that is not a postgres.js instance.
   */
  constructor(options: PostgresConnectionOptions, label: string, client?: PostgresClientLike) {
    if (
      client !== undefined &&
      (typeof (client as Partial<PostgresClientLike>)?.unsafe !== "function" ||
        typeof (client as Partial<PostgresClientLike>).begin !== "function" ||
        typeof (client as Partial<PostgresClientLike>).options !== "object")
    ) {
      throw new TypeError(
        `Cannot create ${label}: client must be a postgres.js instance (what postgres(url) returns): ${
          Object.prototype.toString.call(client)
        }`,
      );
    }
    this.#options = options;
    this.#label = label;
    this.#prepare = options.prepare ?? true;
    this.#client = client;
    this.target = client ? "an application's client" : describeTarget(options);
    if (client) this.#live = client;
  }

  /** postgres.js options for one of our own instances. */
  async #create(mod: PostgresModule, extra: Record<string, unknown>): Promise<Sql> {
    const o = this.#options;
    const base = this.#client
      // The application's parsed options, as postgres.js copies them for its own listen connection.
      ? { ...this.#client.options }
      : {
        host: o.host,
        port: o.port,
        database: o.database,
        username: o.user,
        password: o.password,
        ssl: o.ssl,
        max: o.poolSize ?? 4,
        connect_timeout: o.connectTimeout ?? 5,
        backoff: reconnectDelay,
        prepare: this.#prepare,
        // Our statements raise no notice worth printing on stderr.
        onnotice: () => {},
        // Plan each prepared statement once per connection (sql.ts writes them
        // so that the generic plan is a good one): the default plans the take
        // and finish statements afresh each time, 0.4-0.6 ms of a 0.2 ms call.
        // Not without prepared statements: a pooler such as PgBouncer
        // refuses startup parameters it does not know.
        connection: this.#prepare
          ? { application_name: "huey", plan_cache_mode: "force_generic_plan" }
          : { application_name: "huey" },
      };
    for (const key of Object.keys(base) as (keyof typeof base)[]) {
      if (base[key] === undefined) delete base[key];
    }
    const options = { ...base, ...extra };
    const sql = o.url && !this.#client
      ? mod.default(o.url, options as never)
      : mod.default(options as never);
    this.#owned.push(sql);
    return sql;
  }

  /** The pool (or the application's client), created on first use. */
  #pool(): Promise<Sql | PostgresClientLike> {
    this.#sql ??= loadPostgres(this.#label).then((mod) => this.#create(mod, {})).then(
      (sql) => (this.#live = sql),
      (error) => {
        this.#sql = undefined;
        throw error;
      },
    );
    return this.#sql;
  }

  /** Run one statement on the pool. */
  async query(text: string, params: readonly unknown[]): Promise<Row[]> {
    const sql: PostgresClientLike = this.#live ?? await this.#pool();
    return await sql.unsafe(text, params as unknown[], { prepare: this.#prepare }) as Row[];
  }

  /** Run `fn` in one transaction on one connection of the pool. */
  async transaction<T>(fn: (run: PgRunner) => Promise<T>): Promise<T> {
    const sql: PostgresClientLike = this.#live ?? await this.#pool();
    const prepare = this.#prepare;
    return await sql.begin((tx) => fn(transactionRunner(tx, prepare, this.#label))) as T;
  }

  /** Open a dedicated connection for LISTEN (one, kept open; reopened by its next statement). */
  async openListener(events: ListenEvents): Promise<ListenConnection> {
    const mod = await loadPostgres(this.#label);
    return await this.#create(mod, {
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      backoff: reconnectDelay,
      onnotice: () => {},
      onnotify: (channel: string, payload: string) => events.onnotify(channel, payload),
      onclose: () => events.onclose(),
    });
  }

  /** Close every connection opened here (an application's client stays open). */
  async close(): Promise<void> {
    const owned = this.#owned;
    this.#owned = [];
    this.#sql = undefined;
    this.#live = this.#client;
    await Promise.all(owned.map((sql) => sql.end({ timeout: 5 })));
  }
}

/**
 * Statements inside an application's open transaction: a postgres.js
 * transaction handle (it has `unsafe`) or a `pg` client inside `BEGIN` (it
 * has `query(text, values)` resolving to `{ rows }`). Throws a TypeError
 * naming `label` for anything else.
 *
 * @example
 * ```ts
 * import { transactionRunner } from "./client.ts";
 * const run = transactionRunner({ query: async () => ({ rows: [{ one: 1 }] }) }, true, "example");
 * console.log(await run.query("SELECT 1 AS one", [])); // [{ one: 1 }]
 * ```
 */
export function transactionRunner(transaction: unknown, prepare: boolean, label: string): PgRunner {
  const tx = transaction as {
    unsafe?: PostgresTransactionLike["unsafe"];
    query?: (text: string, values: unknown[]) => PromiseLike<{ rows: Row[] }>;
  } | null;
  if (typeof tx?.unsafe === "function") {
    const unsafe = tx.unsafe.bind(tx);
    return { query: async (text, params) => await unsafe(text, [...params], { prepare }) as Row[] };
  }
  if (typeof tx?.query === "function") {
    const query = tx.query.bind(tx);
    return { query: async (text, params) => (await query(text, [...params])).rows };
  }
  throw new TypeError(
    `Cannot join the transaction for ${label}: expected a postgres.js transaction (the sql that sql.begin() passes its callback) or a pg client inside BEGIN: ${
      Object.prototype.toString.call(transaction)
    }`,
  );
}
