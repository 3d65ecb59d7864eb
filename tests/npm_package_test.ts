/**
 * The npm package as a user gets it: `npm pack` the build (npm/), install
 * the tarball into a new Node project, run a real consumer there (`npx huey
 * app.js`, or `bunx --bun huey app.js` on Bun) and a producer that calls a
 * task and prints its result, and type-check a TypeScript file that uses
 * the package with `tsc` in strict mode.
 *
 * Registered only where this file runs from the npm build
 * (npm/tests/npm_package_test.js: Node 22, Node 24 and Bun in
 * scripts/test_all.sh), whose package is the directory above it. Deno runs
 * the sources, which are not the package, so there it registers nothing.
 * Installing works offline once npm's cache holds `@redis/client` and
 * `postgres`; tsc and `@types/node` come from the repository's node_modules
 * (`deno install`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../lib/runtime.ts";

const fromBuild = import.meta.url.endsWith(".js");

/** Run a command; resolves to its stdout, rejects with its output on failure. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; timeout?: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { ...options, timeout: options.timeout ?? 120_000 },
      (error, out, err) => {
        if (error) {
          reject(
            new Error(`Cannot run ${command} ${args.join(" ")}: ${error.message}\n${out}${err}`),
          );
        } else resolve(String(out));
      },
    );
  });
}

const APP = `import { crontab, SqliteHuey } from "hueyjs";

export const huey = new SqliteHuey({ name: "scratch", filename: "scratch.db" });
export const add = huey.task("add", (a, b) => a + b);
huey.periodicTask("report", crontab({ minute: "*/3" }), () => console.log("every 3 minutes"));
`;

const PRODUCER = `import { add, huey } from "./app.js";

const result = await add(1, 2);
console.log("add(1, 2) =", await result.get({ blocking: true, timeout: 20 }));
await huey.close();
`;

const TYPED = `import { crontab, type Result, SqliteHuey, TaskError } from "hueyjs";

export const huey = new SqliteHuey({ name: "typed", filename: "typed.db" });
export const add = huey.task("add", (a: number, b: number) => a + b);
huey.periodicTask("report", crontab({ minute: "*/3" }), () => {});

export async function sum(): Promise<number | undefined> {
  const result: Result<number> = await add(1, 2);
  // @ts-expect-error: add takes numbers (an untyped package would make this line an error)
  await add("1", 2);
  try {
    return await result.get({ blocking: true, timeout: 5 });
  } catch (error) {
    if (error instanceof TaskError) console.error(error.remoteName, error.remoteMessage);
    throw error;
  }
}
`;

if (fromBuild) {
  describe("npm package", { timeout: 300_000 }, () => {
    const packageDir = fileURLToPath(new URL("../", import.meta.url));
    const repo = fileURLToPath(new URL("../../", import.meta.url));
    const tmp = mkdtempSync(join(tmpdir(), "hueyjs-npm-"));
    const project = join(tmp, "project");
    // `node` (for npm, npx and the `huey` bin's shebang) is this runtime's.
    const env = {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
      npm_config_update_notifier: "false",
    };
    let tarball = "";

    before(async () => {
      const packed = JSON.parse(
        await run("npm", ["pack", packageDir, "--pack-destination", tmp, "--json"], {
          cwd: tmp,
          env,
        }),
      );
      tarball = join(tmp, packed[0].filename);
      mkdirSync(project);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "scratch", private: true, type: "module" }),
      );
      await run(
        "npm",
        ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball],
        { cwd: project, env },
      );
      writeFileSync(join(project, "app.js"), APP);
      writeFileSync(join(project, "producer.js"), PRODUCER);
    });
    after(() => rmSync(tmp, { recursive: true, force: true }));

    it("holds JavaScript, declarations, README and LICENSE, and no TypeScript sources or tests", () => {
      const installed = join(project, "node_modules", "hueyjs");
      const files = (readdirSync(installed, { recursive: true }) as string[])
        .map((f) => f.replaceAll("\\", "/"));
      for (const file of ["mod.js", "mod.js.map", "mod.d.ts", "cli.js", "cli.d.ts"]) {
        assert.ok(files.includes(file), file);
      }
      for (const file of ["README.md", "LICENSE", "package.json", "lib/huey.js", "lib/huey.d.ts"]) {
        assert.ok(files.includes(file), file);
      }
      assert.deepEqual(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), []);
      assert.deepEqual(files.filter((f) => f.startsWith("tests")), []);
      assert.match(readFileSync(join(installed, "cli.js"), "utf8"), /^#!\/usr\/bin\/env node\n/);
    });

    it("declares the module type, exports, bin, engines and exactly its npm dependencies", () => {
      const pkg = JSON.parse(
        readFileSync(join(project, "node_modules", "hueyjs", "package.json"), "utf8"),
      );
      const deno = JSON.parse(readFileSync(join(repo, "deno.json"), "utf8"));
      assert.equal(pkg.name, "hueyjs");
      assert.equal(pkg.version, deno.version);
      assert.equal(pkg.type, "module");
      assert.deepEqual(pkg.exports, {
        ".": { types: "./mod.d.ts", default: "./mod.js" },
        "./cli": { types: "./cli.d.ts", default: "./cli.js" },
      });
      assert.equal(pkg.types, "./mod.d.ts");
      assert.deepEqual(pkg.bin, { huey: "./cli.js" });
      assert.deepEqual(pkg.engines, { node: ">=22.13" });
      assert.deepEqual(Object.keys(pkg.dependencies), ["@redis/client", "postgres"]);
      for (const name of ["@redis/client", "postgres"]) {
        assert.equal(`npm:${name}@${pkg.dependencies[name]}`, deno.imports[name]);
      }
    });

    it(`runs a consumer with ${runtimeName() === "bun" ? "bunx --bun huey" : "npx huey"} and a producer in the project`, async () => {
      const command = runtimeName() === "bun"
        ? [process.execPath, "x", "--bun", "huey", "app.js", "-w", "2"]
        : ["npx", "huey", "app.js", "-w", "2"];
      // Its own process group, so that SIGINT reaches npx and the consumer
      // together, as Ctrl-C in a terminal does.
      const consumer = spawn(command[0], command.slice(1), {
        cwd: project,
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      consumer.stdout!.on("data", (chunk) => (output += chunk));
      consumer.stderr!.on("data", (chunk) => (output += chunk));
      // "close": every process holding the pipes (npx and the consumer) is gone.
      let gone = false;
      const closed = new Promise<void>((resolve) =>
        consumer.on("close", () => {
          gone = true;
          resolve();
        })
      );
      try {
        const deadline = Date.now() + 60_000;
        while (!output.includes("Consumer started")) {
          if (Date.now() > deadline || consumer.exitCode !== null) {
            assert.fail(`the consumer did not start; output:\n${output}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(
          output,
          /2 async worker\(s\), storage SqliteStorage "scratch".*tasks: add, report/,
        );
        const printed = await run(process.execPath, ["producer.js"], { cwd: project, env });
        assert.equal(printed.trim(), "add(1, 2) = 3");
        process.kill(-consumer.pid!, "SIGINT");
        await closed;
        assert.match(output, /Executing add: /);
        assert.match(output, /Consumer stopped\s*$/);
      } finally {
        if (!gone) {
          try {
            process.kill(-consumer.pid!, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
    });

    it("stops gracefully on a SIGINT sent to its pid, as a process manager sends it (exec from a shell wrapper)", async () => {
      // What a systemd unit (KillSignal=SIGINT) or `docker stop` with
      // STOPSIGNAL SIGINT does: signal the one process, not a group. The
      // wrapper execs the consumer, so its pid is the consumer's (npx would
      // stand in between and not pass the signal on).
      const consumer = runtimeName() === "bun"
        ? `exec "${process.execPath}" node_modules/hueyjs/cli.js app.js`
        : "exec node_modules/.bin/huey app.js";
      const child = spawn("sh", ["-c", consumer], {
        cwd: project,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      child.stderr!.on("data", (chunk) => (output += chunk));
      const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
      const deadline = Date.now() + 60_000;
      while (!output.includes("Consumer started")) {
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill("SIGKILL");
          assert.fail(`the consumer did not start; output:\n${output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill("SIGINT");
      assert.equal(await closed, 0, output);
      assert.match(output, /Stopping: waiting for running tasks/);
      assert.match(output, /Consumer stopped\s*$/);
    });

    // The machine's own `node` (Node 20 on Debian 12, where CI runs): older
    // than node:sqlite, which only SqliteStorage loads.
    const olderNode = (() => {
      const probe = spawnSync("/usr/bin/node", ["-p", "process.versions.node"], {
        encoding: "utf8",
      });
      const major = Number(probe.stdout?.split(".")[0]);
      return probe.status === 0 && major < 22 ? "/usr/bin/node" : undefined;
    })();
    it(
      "on a Node without node:sqlite, runs a Redis-only app and says in one line what SqliteHuey needs",
      {
        skip: olderNode ? false : "no Node older than 22 at /usr/bin/node here",
      },
      async () => {
        writeFileSync(
          join(project, "old_node.mjs"),
          `import { RedisHuey, SqliteHuey } from "hueyjs";\n` +
            `const redis = new RedisHuey({ name: "old", url: "redis://127.0.0.1:1" });\n` +
            `console.log("made", redis.name);\n` +
            `await redis.close();\n` +
            `try { new SqliteHuey({ filename: "old.db" }); } catch (e) { console.log(e.name + ": " + e.message); }\n`,
        );
        const printed = await run(olderNode!, ["old_node.mjs"], { cwd: project, env });
        assert.match(printed, /^made old$/m);
        assert.match(
          printed,
          /^ConfigurationError: hueyjs needs Node 22\.13 or later .*for node:sqlite.*; found Node 20\.\d+\.\d+\. Other storages work without it\.$/m,
        );
      },
    );

    it("type-checks a TypeScript file that uses the package (tsc, strict)", async () => {
      writeFileSync(join(project, "typed.ts"), TYPED);
      writeFileSync(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            noImplicitOverride: true,
            target: "es2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            types: ["node"],
            typeRoots: [join(repo, "node_modules", "@types")],
            noEmit: true,
          },
          files: ["typed.ts"],
        }),
      );
      const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
      await run(process.execPath, [tsc, "-p", project], { cwd: project, env });
    });
  });
}
