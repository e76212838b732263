import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

test("the committed declarations (package.json types) match the JSDoc of the source", () => {
  const out = mkdtempSync(join(tmpdir(), "livenews-types-"));
  try {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", root, "--noEmit", "false", "--declaration", "--emitDeclarationOnly", "--rootDir", join(root, "src"), "--outDir", out]);
    const types = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).types;
    assert.equal(readFileSync(join(root, types), "utf8"), readFileSync(join(out, "livenews.d.ts"), "utf8"), "run `npm run types` and commit the result");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
