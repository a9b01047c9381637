// The dependency order of src/, checked by `npm run lint` (dependency-cruiser): no import cycles, not
// even type-only ones; each folder of src/ imports only folders of the layers below its own; production
// code never imports test code. docs/ARCHITECTURE.md draws the same layers; change both together.
//
// Layers, lowest first (a folder may import its own folder and every folder of a lower layer, never a
// folder of its own layer or a higher one):
//
//   core ← fields ← query ← store, ingest ← history, policy, redact, detect, generate, rbac, forward, gaps
//        ← pipeline, config, bundle ← integrity ← server ← cli
//
// Test code (*.test.ts and src/test-support/, which holds the store conformance suite) may import
// anything and is never imported by production code, so it stays out of dist/ (tsconfig.build.json).
// The one file of src/test-support/ the build compiles is clickhouse.ts, which starts a throw-away
// ClickHouse server for the store benchmark (bench/stores.ts) as it does for the tests.

/** The layers of src/, lowest first. */
const LAYERS = [
  ['core'],
  ['fields'],
  ['query'],
  ['store', 'ingest'],
  ['history', 'policy', 'redact', 'detect', 'generate', 'rbac', 'forward', 'gaps'],
  ['pipeline', 'config', 'bundle'],
  ['integrity'],
  ['server'],
  ['cli'],
];

const TEST_FILE = '\\.test\\.ts$';
const TEST_CODE = ['^src/test-support/', TEST_FILE];

const layerRules = LAYERS.flatMap((layer, i) => {
  const below = LAYERS.slice(0, i).flat();
  return layer.map((folder) => ({
    name: `layer-${folder}`,
    severity: 'error',
    comment:
      below.length === 0
        ? `src/${folder}/ is the lowest layer: it imports nothing else in src/ (see .dependency-cruiser.mjs)`
        : `src/${folder}/ may import only its own folder and the layers below it: ${below.join(', ')} (see .dependency-cruiser.mjs)`,
    from: { path: `^src/${folder}/`, pathNot: TEST_FILE },
    to: { path: '^src/', pathNot: [`^src/(${[folder, ...below].join('|')})/`] },
  }));
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment:
        'import cycles are not allowed, not even through `import type`: move what both sides need to a lower module',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      comment:
        'production code must not import test code (*.test.ts, src/test-support/): it would compile into dist/',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
    {
      name: 'bench-uses-only-the-clickhouse-launcher',
      severity: 'error',
      comment:
        'the benchmarks may use src/test-support/clickhouse.ts (a throw-away ClickHouse server) and no other test code',
      from: { path: '^bench/', pathNot: TEST_FILE },
      to: { path: TEST_CODE, pathNot: '^src/test-support/clickhouse\\.ts$' },
    },
    {
      name: 'no-dev-dependencies-in-production',
      severity: 'error',
      comment:
        'production code must not import a devDependency (vitest, fast-check…): it is not installed with the package',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-backends-behind-the-registry',
      severity: 'error',
      comment:
        'a store back end (src/store/duckdb/, src/store/clickhouse/) is reached through the registry and the Store interface (src/store/open.ts, src/store/store.ts, src/store/detection.ts), never imported from outside src/store/',
      from: { path: '^(src|bench)/', pathNot: ['^src/store/', ...TEST_CODE] },
      to: { path: '^src/store/(duckdb|clickhouse)/' },
    },
    {
      name: 'folder-not-in-a-layer',
      severity: 'error',
      comment:
        'every folder of src/ belongs to a layer: add it to LAYERS in .dependency-cruiser.mjs and to docs/ARCHITECTURE.md',
      from: {
        path: '^src/[^/]+/',
        pathNot: [`^src/(${[...LAYERS.flat(), 'test-support'].join('|')})/`],
      },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|ui)/' },
    // Type-only imports count: a cycle through `import type` is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
