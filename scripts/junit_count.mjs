// Count leaf test cases in Deno's JUnit report: prints "passed failed".
// Deno reports describe() groups as test cases too; a case whose name
// prefixes another ("group > ...") is a group, not a test.
import { readFileSync } from "node:fs";

const xml = readFileSync(process.argv[2], "utf8");
const cases = [...xml.matchAll(/<testcase name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)]
  .map(([, name, body]) => ({ name, failed: /<failure/.test(body) }));
const names = cases.map((c) => c.name);
const leaves = cases.filter((c) => !names.some((n) => n.startsWith(c.name + " &gt; ")));
// Top-level file entries (one per describe/test at file scope) repeat the leaves' parents.
const failed = leaves.filter((c) => c.failed).length;
console.log(`${leaves.length - failed} ${failed}`);
