/**
 * What the test servers share (redis_server.ts, postgres_server.ts): a spare
 * loopback port to start one on, and registering a server's tests, or, when
 * there is no server, the one test that says why (which fails under
 * `CI=true`: CI must run them).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";

/** Why a server's tests cannot run here. */
export interface ServerUnavailable {
  reason: string;
  /** True under `CI=true`: the run must fail rather than pass without them. */
  fail: boolean;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * `register(server)` when `found` is a server; otherwise one test under
 * `title` that says why the `kind` tests are not run, failing under CI=true.
 */
export function describeWithServer<T extends object>(
  title: string,
  kind: string,
  found: T | ServerUnavailable,
  register: (server: T) => void,
): void {
  if (!("reason" in found && "fail" in found)) return register(found as T);
  describe(title, () => {
    it(`are not tested: ${found.reason}`, () => {
      if (found.fail) assert.fail(`Cannot run the ${kind} tests under CI=true: ${found.reason}`);
    });
  });
}
