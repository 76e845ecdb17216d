/**
 * The import rules of DESIGN.md ("Dependency rules"), checked by `npm run boundaries`.
 *
 * Floors, top to bottom: cli > http, config > backends, gateway > features, protocols, store, observability > core.
 * Each folder under src/ may import only the folders listed for it in ALLOWED (and itself). Tests beside
 * the code (`*.test.ts`) keep their folder's floor (and may make test models) but may reach into any
 * file; nothing else imports them, nor test/, bench/ or scripts/.
 *
 * TypeScript 7 has no compiler API for dependency-cruiser to parse with, so it reads the sources with swc
 * (`@swc/core`), which also sees `import type` lines: a type import obeys the same floors.
 */

// Without a parser for .ts dependency-cruiser skips every file and reports "no violations": refuse instead.
try {
  require.resolve("@swc/core");
} catch {
  throw new Error("npm run boundaries needs @swc/core (a devDependency) to read TypeScript; run npm ci");
}

/** What each top-level folder of src/ may import besides itself. */
const ALLOWED = {
  core: [],
  testmodels: [],
  features: ["core"],
  protocols: ["core"],
  store: ["core"],
  observability: ["core"],
  backends: ["core", "features"],
  gateway: ["core", "store"],
  config: ["core", "features", "protocols", "store", "observability", "backends", "gateway"],
  http: ["core", "features", "protocols", "store", "observability", "backends", "gateway", "config"],
  cli: ["core", "features", "protocols", "store", "observability", "backends", "gateway", "config", "http", "testmodels"],
};

const TEST = "\\.test\\.ts$";

const floorRules = Object.entries(ALLOWED).flatMap(([folder, allowed]) => [
  {
    name: `floor-${folder}`,
    comment: `src/${folder}/ may import ${allowed.length === 0 ? "nothing of ours" : allowed.map((a) => `src/${a}/`).join(", ")} (DESIGN.md, Dependency rules).`,
    severity: "error",
    from: { path: `^src/${folder}/`, pathNot: TEST },
    to: { path: `^src/(?!(?:${[folder, ...allowed].join("|")})/)` },
  },
  {
    name: `floor-${folder}-tests`,
    comment: `Tests in src/${folder}/ keep its floor; they may also make test models (src/testmodels/).`,
    severity: "error",
    from: { path: `^src/${folder}/.*${TEST}` },
    to: { path: `^src/(?!(?:${[folder, ...allowed, "testmodels"].join("|")})/)` },
  },
]);

module.exports = {
  forbidden: [
    ...floorRules,
    {
      name: "known-folder",
      comment: "Every module lives in a folder that ALLOWED gives a floor; a new folder gets one there first.",
      severity: "error",
      from: { path: `^src/(?!(?:${Object.keys(ALLOWED).join("|")})/)` },
      to: {},
    },
    {
      name: "protocols-dialects-apart",
      comment: "A dialect reads only its own files and protocols/shared/; shared/ knows no dialect.",
      severity: "error",
      from: { path: "^src/protocols/([^/]+)/", pathNot: TEST },
      to: { path: "^src/protocols/", pathNot: ["^src/protocols/$1/", "^src/protocols/shared/"] },
    },
    {
      name: "backends-apart",
      comment: "A backend reads only its own files and the upstream transport (backends/upstream/).",
      severity: "error",
      from: { path: "^src/backends/([^/]+)/", pathNot: TEST },
      to: { path: "^src/backends/", pathNot: ["^src/backends/$1/", "^src/backends/upstream/"] },
    },
    {
      name: "through-index",
      comment: "Import another folder through its index.ts; files within one folder import each other freely.",
      severity: "error",
      from: { path: "^(src/.+)/[^/]+$", pathNot: TEST },
      to: { path: "^src/", pathNot: ["^$1/[^/]+$", "/index\\.ts$"] },
    },
    {
      name: "no-circular",
      comment: "No import cycles (type imports included).",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-tests",
      comment: "Code under src/ never imports tests, test/, bench/ or scripts/.",
      severity: "error",
      from: { path: "^src/", pathNot: TEST },
      to: { path: [TEST, "^(?:test|bench|scripts)/"] },
    },
    {
      name: "not-to-dev-dep",
      comment: "Code under src/ runs on a production install (`npm ci --omit=dev`): no devDependencies outside tests.",
      severity: "error",
      from: { path: "^src/", pathNot: TEST },
      to: { dependencyTypes: ["npm-dev"], pathNot: "node_modules/@types/" },
    },
    {
      name: "not-to-unresolvable",
      comment: "Every import resolves to a file.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: "swc",
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: ["node_modules", "^(?:test|bench|scripts)/"] },
    enhancedResolveOptions: {
      extensions: [".ts", ".js"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
