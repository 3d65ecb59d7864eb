import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as mod from "../mod.ts";

const root = new URL("../", import.meta.url);
/** The sources are .ts; the npm build's copy of this test reads the built .js (scripts/build_npm.ts). */
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(new URL(dir, root))) {
    const path = `${dir}/${name}`;
    if (statSync(new URL(path, root)).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(ext) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

describe("public API", () => {
  it("mod.ts exports exactly these runtime names (change deliberately)", () => {
    assert.deepEqual(Object.keys(mod).sort(), [
      "BlackHoleHuey",
      "BlackHoleStorage",
      "CancelExecution",
      "Chord",
      "ChordResult",
      "ConfigurationError",
      "Consumer",
      "DeadLetterError",
      "FileHuey",
      "FileStorage",
      "Group",
      "Huey",
      "HueyError",
      "MemoryHuey",
      "MemoryStorage",
      "MiniHuey",
      "PostgresHuey",
      "PostgresStorage",
      "PriorityRedisExpireHuey",
      "PriorityRedisExpireStorage",
      "PriorityRedisHuey",
      "PriorityRedisStorage",
      "RateLimit",
      "RateLimitExceeded",
      "RedisExpireHuey",
      "RedisExpireStorage",
      "RedisHuey",
      "RedisStorage",
      "Result",
      "ResultGroup",
      "ResultTimeout",
      "RetryTask",
      "SIGNALS",
      "SIGNAL_CANCELED",
      "SIGNAL_COMPLETE",
      "SIGNAL_ENQUEUED",
      "SIGNAL_ERROR",
      "SIGNAL_EXECUTING",
      "SIGNAL_EXPIRED",
      "SIGNAL_INTERRUPTED",
      "SIGNAL_LOCKED",
      "SIGNAL_RATE_LIMITED",
      "SIGNAL_RETRYING",
      "SIGNAL_REVOKED",
      "SIGNAL_SCHEDULED",
      "SIGNAL_TIMEOUT",
      "SerializationError",
      "Serializer",
      "SqliteHuey",
      "SqliteStorage",
      "Task",
      "TaskError",
      "TaskLock",
      "TaskLockedError",
      "TaskTimeout",
      "UnknownTaskError",
      "chord",
      "createLogger",
      "crontab",
      "currentTask",
      "fromTagged",
      "group",
      "metricsText",
      "nodeListener",
      "serveDashboard",
      "toTagged",
    ]);
  });

  it("every error class extends HueyError and sets its own name", () => {
    const errors = [
      new mod.TaskError({
        name: "E",
        message: "m",
        taskId: "1",
        taskName: "t",
        retries: 0,
      }),
      new mod.RetryTask(),
      new mod.CancelExecution(),
      new mod.TaskLockedError("l"),
      new mod.RateLimitExceeded("k", 1),
      new mod.ResultTimeout("1", 1),
      new mod.TaskTimeout(1),
      new mod.UnknownTaskError("t", []),
      new mod.ConfigurationError("c"),
      new mod.SerializationError("s"),
    ];
    for (const err of errors) {
      assert.ok(err instanceof mod.HueyError);
      assert.equal(err.name, err.constructor.name);
    }
  });

  it("mod.ts only re-exports", () => {
    const text = readFileSync(new URL(`mod${ext}`, root), "utf8");
    const code = text.replace(/\/\*\*[\s\S]*?\*\//g, "").split("\n")
      .filter((line) => line.trim() && !line.trim().startsWith("//"));
    const body = code.join("\n");
    assert.doesNotMatch(body, /\b(const|let|function|class)\b/);
  });

  it("only lib/runtime.ts touches Deno, process or Bun globals", () => {
    const offenders = sourceFiles("lib").filter((file) => {
      if (file === `lib/runtime${ext}`) return false;
      const code = readFileSync(new URL(file, root), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/\/\/.*$/gm, "");
      return /\b(Deno|Bun)\.|\bprocess\.|globalThis\.process/.test(code);
    });
    assert.deepEqual(offenders, []);
  });
});
