#!/usr/bin/env node
// Runs the built CLI (dist/, made by `npm run build`) on production dependencies only.
// In a development checkout, `npm run openscope -- <args>` runs the TypeScript source instead.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("openscope: dist/ is not built: run `npm run build` first (or `npm run openscope -- <args>` to run from source).");
  process.exit(1);
}
await import(main.href);
