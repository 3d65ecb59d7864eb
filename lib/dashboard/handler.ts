/**
 * The dashboard as a Web-standard handler, `(request: Request) =>
 * Promise<Response>`, mounted under a path prefix in any server that speaks
 * Request/Response (Deno.serve, Bun.serve, Hono; Node through
 * `nodeListener`). Under the prefix:
 *
 * | method and path | what it does |
 * |---|---|
 * | `GET /` | the page (HTML, CSS and JS in one string; it reads the JSON below) |
 * | `GET /api/overview` | everything the page shows, as JSON |
 * | `GET /metrics` | the metrics in Prometheus' text format |
 * | `POST /api/revoke`, `/api/restore` `{ "task": name }` | revoke or restore every invocation of a task |
 * | `POST /api/requeue` `{ "id": id }` (or `"all"`) | put dead letters back in the queue |
 * | `POST /api/cancel` `{ "id": id }` | cancel a task, running or not |
 *
 * GET changes nothing. A POST must carry `Content-Type: application/json`
 * and the header `X-Huey-Dashboard: 1`, and an `Origin` (when sent) of the
 * dashboard's own origin: a page on another site can send neither without
 * a CORS preflight, which this handler never grants. Bad paths answer 404,
 * bad bodies or ids 400, a storage that fails 503, each with a message; the
 * handler never rejects.
 *
 * @module
 */
import { errorMessage } from "../_util.ts";
import { METRICS_CONTENT_TYPE, metricsText } from "../metrics_text.ts";
import { readMetrics } from "../metrics.ts";
import { readOverview } from "./overview.ts";
import type { DashboardHost } from "./overview.ts";
import { DASHBOARD_PAGE } from "./page.ts";

/** Options of `huey.dashboard()`. */
export interface DashboardOptions {
  /** The path the dashboard is mounted under, e.g. `"/admin/huey"`. @default "" (the root) */
  prefix?: string;
  /**
   * Decides whether a request may see or use the dashboard: false answers
   * 401. Runs before anything else, for every path.
   * @default every request may
   */
  auth?: (request: Request) => boolean | Promise<boolean>;
  /** The most tasks of each list (pending, scheduled, dead letters...) the page shows. @default 50 */
  limit?: number;
}

/** A Web-standard request handler. */
export type DashboardHandler = (request: Request) => Promise<Response>;

/** A failure the dashboard answers with `status` and a message (not a storage failure). */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" },
  });
}

/** Normalize `prefix`: "" or "/x/y" (no trailing slash); throws a TypeError for anything else. */
function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== "string" || (prefix !== "" && !/^\/[\w\-./~%]*$/.test(prefix))) {
    throw new TypeError(
      `Cannot mount the dashboard: prefix must be "" or a path starting with "/": ${
        JSON.stringify(prefix)
      }`,
    );
  }
  return prefix.replace(/\/+$/, "");
}

/**
 * The dashboard of `host` (a Huey) as a request handler.
 *
 * @example Mount it in Deno.serve under /admin/huey
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { createDashboard } from "./handler.ts";
 * const huey = new MemoryHuey();
 * const dashboard = createDashboard(huey, { prefix: "/admin/huey" });
 * const response = await dashboard(new Request("http://localhost/admin/huey/api/overview"));
 * console.log(response.status); // 200
 * ```
 */
export function createDashboard(
  host: DashboardHost,
  options: DashboardOptions = {},
): DashboardHandler {
  const prefix = checkPrefix(options.prefix ?? "");
  const limit = options.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Cannot mount the dashboard: limit must be a positive integer: ${limit}`);
  }
  const auth = options.auth;
  if (auth !== undefined && typeof auth !== "function") {
    throw new TypeError(`Cannot mount the dashboard: auth must be a function: ${typeof auth}`);
  }
  return async (request) => {
    try {
      if (auth && !(await auth(request))) return json(401, { error: "Not authorized" });
      const url = new URL(request.url);
      if (url.pathname !== prefix && !url.pathname.startsWith(prefix + "/")) {
        throw new HttpError(404, `Not found: ${url.pathname} is not under ${prefix || "/"}`);
      }
      const path = url.pathname.slice(prefix.length);
      if (request.method === "POST") return await act(host, request, url, path);
      if (request.method !== "GET" && request.method !== "HEAD") {
        throw new HttpError(405, `Method ${request.method} is not allowed on ${url.pathname}`);
      }
      return await read(host, path, prefix, limit);
    } catch (error) {
      if (error instanceof HttpError) return json(error.status, { error: error.message });
      return json(503, { error: `Cannot read the storage: ${errorMessage(error)}` });
    }
  };
}

async function read(
  host: DashboardHost,
  path: string,
  prefix: string,
  limit: number,
): Promise<Response> {
  switch (path) {
    case "":
      // The page finds its API relative to its own path, which ends with "/".
      return new Response(null, { status: 308, headers: { location: `${prefix}/` } });
    case "/":
      return new Response(DASHBOARD_PAGE, {
        headers: {
          ...SECURITY_HEADERS,
          "content-type": "text/html; charset=utf-8",
          "content-security-policy":
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
        },
      });
    case "/api/overview":
      return json(200, await readOverview(host, limit));
    case "/metrics":
      return new Response(metricsText(await readMetrics(host)), {
        headers: { ...SECURITY_HEADERS, "content-type": METRICS_CONTENT_TYPE },
      });
    default:
      throw new HttpError(404, `Not found: ${prefix}${path}`);
  }
}

/** The checks that make a POST an explicit action from the dashboard's own page. */
function checkAction(request: Request, url: URL): void {
  const origin = request.headers.get("origin");
  if (origin !== null && origin !== url.origin) {
    throw new HttpError(403, `Refused: a request from ${origin} cannot act on ${url.origin}`);
  }
  if (request.headers.get("x-huey-dashboard") !== "1") {
    throw new HttpError(403, "Refused: an action needs the header X-Huey-Dashboard: 1");
  }
  if (!/^application\/json\b/.test(request.headers.get("content-type") ?? "")) {
    throw new HttpError(415, "Refused: an action's body must be application/json");
  }
}

async function body(request: Request, field: string): Promise<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await request.text());
  } catch (error) {
    throw new HttpError(400, `Cannot read the body as JSON: ${errorMessage(error)}`);
  }
  const value = (parsed as Record<string, unknown> | null)?.[field];
  if (typeof value !== "string" || value === "" || value.length > 1000) {
    throw new HttpError(400, `Expected a body {"${field}": "..."}: ${field} is ${typeof value}`);
  }
  return value;
}

/** Run an action; the TypeError or RangeError of a bad id is the request's fault (400). */
async function asked<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new HttpError(400, errorMessage(error));
    }
    throw error;
  }
}

async function act(host: DashboardHost, request: Request, url: URL, path: string) {
  checkAction(request, url);
  switch (path) {
    case "/api/revoke":
    case "/api/restore": {
      const task = await body(request, "task");
      if (!host.taskNames().includes(task)) {
        throw new HttpError(
          404,
          `Unknown task ${JSON.stringify(task)}: the app does not declare it`,
        );
      }
      if (path === "/api/revoke") await host.revokeAll(task);
      else await host.restoreAll(task);
      return json(200, { ok: true, task, revoked: path === "/api/revoke" });
    }
    case "/api/requeue": {
      const id = await body(request, "id");
      const requeued = await asked(() => host.requeue(id));
      if (!requeued && id !== "all") {
        throw new HttpError(404, `No dead letter ${JSON.stringify(id)}`);
      }
      return json(200, { ok: true, requeued });
    }
    case "/api/cancel": {
      const id = await body(request, "id");
      const cancelled = await asked(() => host.cancel(id));
      if (!cancelled) {
        throw new HttpError(404, `No task ${JSON.stringify(id)} to cancel (finished, or unknown)`);
      }
      return json(200, { ok: true, cancelled });
    }
    default:
      throw new HttpError(404, `Not found: POST ${url.pathname}`);
  }
}
