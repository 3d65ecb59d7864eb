import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
/** The sources are .ts; the npm build's copy of this test reads the built .js (scripts/build_npm.ts). */
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).sort().flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return name.endsWith(ext) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The relative modules `file` imports (static, dynamic and type-only), as paths from the root. */
function importsOf(file: string): string[] {
  const code = readFileSync(join(root, file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const specifiers = [...code.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]);
  return specifiers.map((specifier) => relative(root, join(root, dirname(file), specifier)));
}

const lib = sourceFiles("lib");
const graph = new Map(lib.map((file) => [file, importsOf(file)]));

/** One import cycle through `start`, as a list of files, or undefined. */
function cycleFrom(start: string): string[] | undefined {
  const path: string[] = [];
  const seen = new Set<string>();
  const visit = (file: string): string[] | undefined => {
    if (file === start && path.length) return [...path, file];
    if (seen.has(file)) return undefined;
    seen.add(file);
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    path.pop();
    return undefined;
  };
  return visit(start);
}

describe("layout", () => {
  it("has no import cycle in lib/", () => {
    const cycles = lib.map(cycleFrom).filter((cycle) => cycle !== undefined);
    assert.deepEqual(cycles.map((cycle) => cycle!.join(" -> ")), []);
  });

  it("keeps lib/ below cli, tests, scripts and bench", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !target.startsWith("lib/")).map((target) => `${file} -> ${target}`)
    );
    assert.deepEqual(upward, []);
  });

  it("keeps every file in lib/ under 800 lines and every class under 500", () => {
    const oversized: string[] = [];
    for (const file of lib) {
      const lines = readFileSync(join(root, file), "utf8").split("\n");
      if (lines.length > 800) oversized.push(`${file}: ${lines.length} lines`);
      lines.forEach((line, start) => {
        const name = /^(?:export )?(?:abstract )?class (\w+)/.exec(line)?.[1];
        if (!name) return;
        const end = lines.findIndex((l, i) => i > start && l.startsWith("}"));
        if (end - start > 500) oversized.push(`${file}: class ${name} is ${end - start} lines`);
      });
    }
    assert.deepEqual(oversized, []);
  });
});
