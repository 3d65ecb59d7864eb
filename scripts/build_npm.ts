/**
 * Build the npm package `npm/` from the Deno sources (dnt's job, with tools
 * from npm): esbuild strips the types of each source file to ESM JavaScript
 * (no bundling; one `.js` and `.js.map` per `.ts`), and the TypeScript
 * compiler writes the `.d.ts` files.
 *
 *   deno task build:npm        # = deno run -A scripts/build_npm.ts
 *
 * Writes:
 * - `npm/package.json` (name `hueyjs`, version and license from deno.json,
 *   `exports` from deno.json's, `bin` `huey`, and as `dependencies` exactly
 *   the npm packages the emitted JavaScript imports), README.md, LICENSE;
 * - `npm/mod.js`, `npm/cli.js` (with a node shebang), `npm/lib/**` with
 *   `.js`, `.js.map` and `.d.ts`;
 * - `npm/tests/**`: the test suite compiled the same way, so that
 *   `node --test npm/tests/*_test.js` and `bun test` run it against the
 *   build instead of the sources. It is not published (`files` leaves it out).
 *
 * Relative `.ts` paths in string literals (imports, `import()`,
 * `new URL("./x.ts", import.meta.url)`, module paths in test options) that
 * name an existing source file become `.js`; the replacement has the same
 * length, so source positions do not move.
 *
 * @module
 */
import * as esbuild from "esbuild";
import ts from "typescript";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "npm");
/** The oldest Node the package supports: node:sqlite without a flag. */
const NODE_ENGINE = ">=22.13";
/** esbuild lowers what that Node lacks (e.g. `await using`). */
const TARGET = "node22.13";
const SHEBANG = "#!/usr/bin/env node";

interface DenoConfig {
  name: string;
  version: string;
  license?: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Every `.ts` file under `dir` (relative to the repository root), sorted. */
function tsFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const path = `${dir}/${name}`;
    if (statSync(join(root, path)).isDirectory()) found.push(...tsFiles(path));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) found.push(path);
  }
  return found;
}

/**
 * `text` with every string literal that is a relative path to an existing
 * `.ts` file (resolved from `sourceDir`) ending in `.js` instead.
 */
export function rewriteTsSpecifiers(text: string, fileName: string, sourceDir: string): string {
  const kind = fileName.endsWith(".ts") ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, kind);
  const ends: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const value = node.text;
      if (
        /^\.\.?\//.test(value) && value.endsWith(".ts") && !value.endsWith(".d.ts") &&
        existsSync(resolve(sourceDir, value)) && text.slice(node.end - 4, node.end - 1) === ".ts"
      ) {
        ends.push(node.end - 1);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let result = text;
  for (const end of ends) result = `${result.slice(0, end - 3)}.js${result.slice(end)}`;
  return result;
}

/**
 * `text` with every `npm:` specifier in a string literal (`"npm:@scope/name@^1.2"`,
 * which lib/ uses so that apps importing it by path or URL can resolve it)
 * as the bare package name a Node package resolves through its dependencies.
 * Each range must be the one deno.json declares for the package.
 */
export function rewriteNpmSpecifiers(text: string, imports: Record<string, string>): string {
  return text.replace(
    /(["'])npm:(@?[^@"'/]+(?:\/[^@"'/]+)?)@([^"'/]+)\1/g,
    (_, quote, name, range) => {
      const declared = npmSpecifier(imports[name] ?? "");
      if (!declared || declared[1] !== range) {
        fail(
          `Cannot build the npm package: npm:${name}@${range} in the sources, but deno.json declares ${
            imports[name] ?? "nothing"
          } for ${name}`,
        );
      }
      return `${quote}${name}${quote}`;
    },
  );
}

/** `npm:@scope/name@^1.2` -> `["@scope/name", "^1.2"]`. */
function npmSpecifier(specifier: string): [string, string] | undefined {
  const match = /^npm:(@?[^@]+)(?:@(.+))?$/.exec(specifier);
  return match ? [match[1], match[2] ?? "*"] : undefined;
}

/** The package a bare import specifier names (`@redis/client/dist/x` -> `@redis/client`). */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Compile `source` (repository-relative) to `npm/<source>.js` with its source map. */
async function emitJs(
  source: string,
  imports: Record<string, string>,
  banner?: string,
): Promise<string> {
  const original = readFileSync(join(root, source), "utf8");
  const code = rewriteNpmSpecifiers(
    rewriteTsSpecifiers(original, source, dirname(join(root, source))),
    imports,
  );
  const target = join(out, source.replace(/\.ts$/, ".js"));
  const result = await esbuild.transform(code, {
    loader: "ts",
    format: "esm",
    target: TARGET,
    // Function and class names are API here (hooks register under a
    // function's name; errors set `name` from their class).
    keepNames: true,
    sourcemap: "external",
    sourcefile: basename(source),
    banner,
  });
  const map = JSON.parse(result.map);
  // Positions are those of the original (the .ts rewrite keeps lengths; an
  // npm: specifier, rare, shifts the rest of its line).
  map.sourcesContent = [original];
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${result.code}//# sourceMappingURL=${basename(target)}.map\n`);
  writeFileSync(`${target}.map`, JSON.stringify(map));
  return result.code;
}

/** Write `.d.ts` files for `sources` (and what they import) into npm/. */
function emitDeclarations(sources: string[], imports: Record<string, string>): void {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    outDir: out,
    rootDir: root,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    typeRoots: [join(root, "node_modules/@types")],
    skipLibCheck: true,
    noEmitOnError: true,
  };
  // tsc resolves packages from node_modules by their bare names.
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile;
  host.readFile = (fileName) => {
    const text = readFile(fileName);
    return text === undefined || !fileName.startsWith(join(root, "lib"))
      ? text
      : rewriteNpmSpecifiers(text, imports);
  };
  const program = ts.createProgram(sources.map((s) => join(root, s)), options, host);
  const written: string[] = [];
  const emitted = program.emit(undefined, (fileName, text) => {
    const source = relative(out, fileName).replace(/\.d\.ts$/, ".ts");
    const fixed = rewriteTsSpecifiers(text, fileName, dirname(join(root, source)));
    mkdirSync(dirname(fileName), { recursive: true });
    writeFileSync(fileName, fixed);
    written.push(fileName);
  });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => "\n",
    };
    fail(
      `Cannot write declarations: tsc reports ${diagnostics.length} error(s):\n` +
        ts.formatDiagnosticsWithColorAndContext(diagnostics, host),
    );
  }
  for (const source of sources) {
    const dts = join(out, source.replace(/\.ts$/, ".d.ts"));
    if (!written.includes(dts)) fail(`Cannot write declarations: tsc did not emit: ${dts}`);
  }
}

/** Bare specifiers that `code` imports (static, dynamic with a literal, re-exports). */
function bareImports(code: string): string[] {
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName)
    .filter((s) => !/^(\.{1,2}\/|\/|node:|file:)/.test(s));
}

/** Paths of files under `dir` (absolute), recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

async function main(): Promise<void> {
  const config: DenoConfig = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const entries = Object.values(config.exports);
  for (const [key, value] of Object.entries(config.exports)) {
    if (!/^\.\/[^/]+\.ts$/.test(value) || !existsSync(join(root, value))) {
      fail(
        `Cannot build the npm package: deno.json export ${key} is not a .ts file here: ${value}`,
      );
    }
  }
  const cli = config.exports["./cli"] ?? fail("Cannot build the npm package: no ./cli export");

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // Package sources: the exported modules and all of lib/ (worker_entry.ts
  // and process_entry.ts are loaded by URL, not imported).
  const sources = [...entries.map((e) => e.slice(2)), ...tsFiles("lib")];
  const external = new Set<string>();
  try {
    for (const source of sources) {
      const code = await emitJs(
        source,
        config.imports,
        source === cli.slice(2) ? SHEBANG : undefined,
      );
      for (const specifier of bareImports(code)) external.add(packageOf(specifier));
    }
    for (const source of tsFiles("tests")) await emitJs(source, config.imports);
  } finally {
    await esbuild.stop();
  }
  chmodSync(join(out, cli.slice(2).replace(/\.ts$/, ".js")), 0o755);
  emitDeclarations(sources, config.imports);

  // dependencies: exactly the npm packages the JavaScript imports, at the
  // versions deno.json declares.
  const dependencies: Record<string, string> = {};
  for (const name of [...external].sort()) {
    const declared = npmSpecifier(config.imports[name] ?? "");
    if (!declared || declared[0] !== name) {
      fail(
        `Cannot build the npm package: the JavaScript imports ${name}, not an npm: import in deno.json`,
      );
    }
    dependencies[name] = declared[1];
  }

  const js = (path: string) => path.replace(/\.ts$/, ".js");
  const dts = (path: string) => path.replace(/\.ts$/, ".d.ts");
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [key, value] of Object.entries(config.exports)) {
    exports[key] = { types: dts(value), default: js(value) };
  }
  const pkg = {
    name: "hueyjs",
    version: config.version,
    description: "A little task queue: a TypeScript port of Python's huey. Deno. Node. Bun.",
    keywords: ["huey", "task queue", "job queue", "background jobs", "redis", "sqlite", "cron"],
    license: config.license ?? "MIT",
    type: "module",
    main: js(config.exports["."]),
    types: dts(config.exports["."]),
    exports,
    bin: { huey: js(cli) },
    // The exported modules and lib/; not tests/.
    files: [
      ...Object.values(config.exports).map((e) => e.slice(2))
        .flatMap((e) => [js(e), `${js(e)}.map`, dts(e)]),
      "lib/",
    ],
    engines: { node: NODE_ENGINE },
    dependencies,
  };
  writeFileSync(join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  copyFileSync(join(root, "README.md"), join(out, "README.md"));
  copyFileSync(join(root, "LICENSE"), join(out, "LICENSE"));

  // What the package must not contain: TypeScript for Node to strip, or
  // `.ts` specifiers left in its JavaScript or declarations.
  const published = walk(out).filter((p) => !relative(out, p).startsWith("tests"));
  for (const path of published) {
    if (path.endsWith(".ts") && !path.endsWith(".d.ts")) {
      fail(`Cannot build the npm package: TypeScript source in the package: ${path}`);
    }
    if (!/\.(js|d\.ts)$/.test(path)) continue;
    const left = ts.preProcessFile(readFileSync(path, "utf8"), true, true).importedFiles
      .map((f) => f.fileName).filter((s) => s.endsWith(".ts") && !s.endsWith(".d.ts"));
    if (left.length) {
      fail(`Cannot build the npm package: .ts specifiers left in ${path}: ${left.join(", ")}`);
    }
  }
  console.log(
    `npm/: hueyjs@${pkg.version}, ${sources.length} modules (.js, .js.map, .d.ts), ` +
      `dependencies ${JSON.stringify(dependencies)}; tests in npm/tests/ (not published)`,
  );
}

if (import.meta.main) await main();
