import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../helpers/server.ts";

// `npm run build` output, made into a scratch folder inside the repository (so that it resolves
// packages from node_modules like dist/ does), checked for what a production install needs.
const run = promisify(execFile);
let outDir: string;

before(async () => {
  await mkdir(join(REPO_ROOT, ".cache"), { recursive: true });
  outDir = await mkdtemp(join(REPO_ROOT, ".cache", "build-test-"));
  await run(join(REPO_ROOT, "node_modules", ".bin", "tsc"), ["-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", outDir], { cwd: REPO_ROOT });
});
after(async () => {
  await rm(outDir, { recursive: true, force: true });
});

/** Module specifiers of a compiled file: static imports and re-exports, side-effect and dynamic imports. */
function specifiers(js: string): string[] {
  const found: string[] = [];
  for (const pattern of [/\bfrom\s*"([^"]+)"/g, /\bimport\s*"([^"]+)"/g, /\bimport\(\s*"([^"]+)"\s*\)/g]) {
    for (const match of js.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Every file the CLI can load, from dist/cli/main.js along relative imports; and the packages they import. */
async function runtimeGraph(): Promise<{ files: Set<string>; packages: Map<string, string> }> {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [join(outDir, "cli", "main.js")];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of specifiers(await readFile(file, "utf8"))) {
      if (specifier.startsWith(".")) {
        assert.match(specifier, /\.js$/, `${file}: relative import ${specifier} must name a .js file`);
        queue.push(resolve(dirname(file), specifier));
      } else if (!specifier.startsWith("node:") && !builtinModules.includes(specifier)) {
        packages.set(packageName(specifier), file);
      }
    }
  }
  return { files, packages };
}

describe("the build (tsconfig.build.json)", () => {
  test("the CLI imports only production dependencies", async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const { files, packages } = await runtimeGraph();
    assert.ok(files.size > 50, `only ${files.size} files reachable from cli/main.js`);
    for (const [name, importer] of packages) {
      assert.ok(name in pkg.dependencies, `${importer.slice(outDir.length + 1)} imports ${name}, which is not in package.json's dependencies`);
    }
  });

  test("it compiles no tests and runs on plain node (no tsx)", async () => {
    const { files } = await runtimeGraph();
    assert.ok(![...files].some((file) => file.endsWith(".test.js")));
    const { stdout } = await run(process.execPath, [join(outDir, "cli", "main.js"), "--help"], { cwd: REPO_ROOT });
    assert.match(stdout, /Usage:\n {2}openscope serve/);
  });
});
