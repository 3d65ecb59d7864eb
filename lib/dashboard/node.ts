/**
 * The dashboard (or any Web-standard handler) in a `node:http` server:
 * `nodeListener(handler)` turns each `IncomingMessage` into a `Request`
 * and writes the `Response` back. For Express or Fastify, mount it as a
 * route handler: `app.use("/admin/huey", nodeListener(dashboard))` with
 * the prefix set to the full path (Express strips the mount path from
 * `req.url`; set `prefix` to what is left, or mount at the root).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage } from "../_util.ts";

/** The largest request body read, in bytes (the dashboard's actions are tiny). */
const MAX_BODY = 64 * 1024;

async function readBody(request: IncomingMessage): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Uint8Array).byteLength;
    if (size > MAX_BODY) throw new RangeError(`request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

/**
 * A `node:http` request listener that answers with `handler`. The request's
 * URL is built from its `Host` header (as Deno.serve and Bun.serve do), so
 * the dashboard's same-origin check compares the browser's `Origin` with
 * the host it asked for.
 *
 * @example Serve the dashboard from node:http
 * ```ts
 * import { createServer } from "node:http";
 * import { MemoryHuey, nodeListener } from "../../mod.ts";
 * const huey = new MemoryHuey();
 * const server = createServer(nodeListener(huey.dashboard({ prefix: "/admin/huey" })));
 * server.listen(0, () => server.close());
 * ```
 */
export function nodeListener(
  handler: (request: Request) => Promise<Response>,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      try {
        const host = req.headers.host ?? "localhost";
        const url = new URL(req.url ?? "/", `http://${host}`);
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
        }
        const hasBody = req.method !== "GET" && req.method !== "HEAD";
        const body = hasBody ? await readBody(req) : undefined;
        const response = await handler(
          new Request(url, { method: req.method, headers, body: body as BodyInit | undefined }),
        );
        res.statusCode = response.status;
        response.headers.forEach((value, name) => res.setHeader(name, value));
        res.end(req.method === "HEAD" ? undefined : new Uint8Array(await response.arrayBuffer()));
      } catch (error) {
        if (!res.headersSent) {
          res.statusCode = error instanceof RangeError ? 413 : 500;
          res.setHeader("content-type", "application/json; charset=utf-8");
        }
        res.end(JSON.stringify({ error: errorMessage(error) }));
      }
    })();
  };
}
