/**
 * `huey dashboard app.ts [--port 8080] [--hostname 127.0.0.1] [--prefix /]`:
 * the flags parsed, the dashboard served until SIGINT or SIGTERM. The `huey`
 * command's subcommand table calls {@link dashboardCommand} with the loaded
 * app's Huey and the arguments after the app.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { onSignal } from "../runtime.ts";
import { serveDashboard } from "./serve.ts";
import type { ServeDashboardOptions } from "./serve.ts";
import type { DashboardHost } from "./overview.ts";

/** The usage line of the subcommand, with an example. */
export const DASHBOARD_USAGE =
  "huey dashboard app.ts [--port 8080] [--hostname 127.0.0.1] [--prefix /admin/huey]\n" +
  "  e.g. huey dashboard app.ts --port 8080   # then open http://127.0.0.1:8080/";

/**
 * The server options `args` ask for; throws a TypeError or RangeError naming
 * the bad flag.
 *
 * @example
 * ```ts
 * import { dashboardFlags } from "./command.ts";
 * console.log(dashboardFlags(["--port", "9000"]).port); // 9000
 * ```
 */
export function dashboardFlags(args: readonly string[]): ServeDashboardOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: "string", short: "p" },
      hostname: { type: "string", short: "H" },
      prefix: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const options: ServeDashboardOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      throw new RangeError(`Cannot serve the dashboard: --port must be 0-65535: ${values.port}`);
    }
    options.port = port;
  }
  if (values.hostname !== undefined) options.hostname = values.hostname;
  if (values.prefix !== undefined) options.prefix = values.prefix;
  return options;
}

/**
 * Serve `huey`'s dashboard with the options `args` ask for, print its URL
 * with `print`, and resolve once SIGINT or SIGTERM (or `signal`) stops it.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { dashboardCommand } from "./command.ts";
 * const stop = new AbortController();
 * const served = dashboardCommand(new MemoryHuey(), ["--port", "0"], { signal: stop.signal });
 * stop.abort();
 * await served;
 * ```
 */
export async function dashboardCommand(
  huey: DashboardHost,
  args: readonly string[],
  options: { print?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const server = await serveDashboard(huey, dashboardFlags(args));
  (options.print ?? console.log)(`Dashboard of ${huey.name} at ${server.url}`);
  const stopped = Promise.withResolvers<void>();
  const removers = (["SIGINT", "SIGTERM"] as const).map((s) => onSignal(s, stopped.resolve));
  if (options.signal?.aborted) stopped.resolve();
  options.signal?.addEventListener("abort", () => stopped.resolve(), { once: true });
  try {
    await stopped.promise;
  } finally {
    for (const remove of removers) remove();
    await server.close();
  }
}
