/**
 * `serveDashboard(huey, { port })`: the dashboard on its own HTTP server,
 * what `huey dashboard app.ts --port 8080` runs. Deno and Bun serve it
 * natively, Node through `node:http` and {@link nodeListener}.
 *
 * @module
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serveNative } from "../runtime.ts";
import type { HttpServer } from "../runtime.ts";
import { createDashboard } from "./handler.ts";
import type { DashboardOptions } from "./handler.ts";
import { nodeListener } from "./node.ts";
import type { DashboardHost } from "./overview.ts";

/** Options of {@link serveDashboard}. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** The TCP port; 0 picks a free one. @default 8080 */
  port?: number;
  /** The address to listen on. @default "127.0.0.1" (this machine only) */
  hostname?: string;
}

export type { HttpServer };

/**
 * Serve `huey`'s dashboard until `close()`; resolves once it listens, with
 * the URL it answers at (the prefix included).
 *
 * @example
 * ```ts
 * import { MemoryHuey, serveDashboard } from "../../mod.ts";
 * const server = await serveDashboard(new MemoryHuey(), { port: 0, prefix: "/huey" });
 * console.log(server.url); // e.g. http://127.0.0.1:40123/huey/
 * await server.close();
 * ```
 */
export async function serveDashboard(
  huey: DashboardHost,
  options: ServeDashboardOptions = {},
): Promise<HttpServer> {
  const port = options.port ?? 8080;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve the dashboard: port must be 0-65535: ${port}`);
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const handler = createDashboard(huey, options);
  const path = `${(options.prefix ?? "").replace(/\/+$/, "")}/`;
  const native = await serveNative(handler, { port, hostname, path });
  if (native) return native;
  const server = createServer(nodeListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${bound}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
