/**
 * hatwin import layers, checked by dependency-cruiser.
 *
 *   npm run lint:layers          (CLI)
 *   npx vitest run test/layers.test.ts   (same rules through the JS API)
 *
 * Layers are top-level folders (web/ is three: web/server, web/shared,
 * web/client). From the bottom up:
 *
 *   trace/ <- sim/, engine/ <- policies/ <- adapters/ <- run/ <- experiments/
 *          <- web/server/ <- bin/
 *
 * Each layer rule below only looks at imports of our own code (the layer
 * folders); packages and node: built-ins are not restricted here. Imports of
 * test/ are left to the one `not-to-test` rule so that a stray import of a
 * test helper is reported once, under that name.
 *
 * `import type` counts (tsPreCompilationDeps: true): a type-only import still
 * ties one layer to another.
 */

/** Every folder that holds our code, except test/ (see `not-to-test`). */
const OURS = '^(trace|sim|engine|policies|adapters|run|experiments|web|bin|bench|scripts)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'trace-imports-nothing',
      comment:
        'trace/ is the bottom layer (the trace event type, NDJSON writer/reader, metrics): it imports nothing of ours outside trace/.',
      severity: 'error',
      from: { path: '^trace/' },
      to: { path: OURS, pathNot: '^trace/' },
    },
    {
      name: 'sim-only-sim-trace',
      comment: 'sim/ (the simulation kernel, world and scenario language) imports only sim/ and trace/.',
      severity: 'error',
      from: { path: '^sim/' },
      to: { path: OURS, pathNot: '^(sim|trace)/' },
    },
    {
      name: 'engine-only-engine-trace',
      comment:
        'engine/ (ports and runtime that policies are written against) imports only engine/ and trace/ - not sim/, so that the same policy code runs in the twin and live.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: OURS, pathNot: '^(engine|trace)/' },
    },
    {
      name: 'policies-only-engine-trace-and-sim-units',
      comment:
        'policies/ imports only policies/, engine/ and trace/, and of sim/ only the scenario language types: sim/scenario/units.ts and sim/kernel/time.ts (durations and distributions).',
      severity: 'error',
      from: { path: '^policies/' },
      to: {
        path: OURS,
        pathNot: ['^(policies|engine|trace)/', '^sim/scenario/units\\.ts$', '^sim/kernel/time\\.ts$'],
      },
    },
    {
      name: 'adapters-not-above',
      comment:
        'adapters/ (sim and live implementations of the engine ports) imports only adapters/, engine/, sim/ and trace/ - never policies/, run/, experiments/, web/ or bin/.',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: OURS, pathNot: '^(adapters|engine|sim|trace)/' },
    },
    {
      name: 'run-only-below',
      comment:
        'run/ (composition: sites, installer, sim and live runs) imports run/ and anything below it: trace/, sim/, engine/, policies/, adapters/ - not experiments/, web/, bin/, bench/ or scripts/.',
      severity: 'error',
      from: { path: '^run/' },
      to: { path: OURS, pathNot: '^(run|adapters|policies|engine|sim|trace)/' },
    },
    {
      name: 'experiments-only-run-and-below',
      comment: 'experiments/ imports experiments/, run/ and anything below run/ - not web/, bin/, bench/ or scripts/.',
      severity: 'error',
      from: { path: '^experiments/' },
      to: { path: OURS, pathNot: '^(experiments|run|adapters|policies|engine|sim|trace)/' },
    },
    {
      name: 'web-server-only-shared-and-experiments-down',
      comment:
        'web/server/ imports web/server/, web/shared/, experiments/ and anything below (run/, adapters/, policies/, engine/, sim/, trace/) - not web/client/, bin/, bench/ or scripts/.',
      severity: 'error',
      from: { path: '^web/server/' },
      to: {
        path: OURS,
        pathNot: '^(web/server|web/shared|experiments|run|adapters|policies|engine|sim|trace)/',
      },
    },
    {
      name: 'web-shared-only-trace',
      comment:
        'web/shared/ (the API types shared by the server and the browser bundle) imports only web/shared/ and trace/ (types).',
      severity: 'error',
      from: { path: '^web/shared/' },
      to: { path: OURS, pathNot: '^(web/shared|trace)/' },
    },
    {
      name: 'web-client-only-client-shared-trace',
      comment:
        'web/client/ (the browser bundle) imports only web/client/, web/shared/ and trace/ - nothing that needs Node.',
      severity: 'error',
      from: { path: '^web/client/' },
      to: { path: OURS, pathNot: '^(web/client|web/shared|trace)/' },
    },
    {
      name: 'not-to-test',
      comment:
        'Nothing imports test/ except test/ itself (bin/, bench/ and scripts/ may import everything else, but not test/).',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-cross-layer-cycles',
      comment:
        'No circular import that leaves its layer: a cycle starting in one layer folder (web/server, web/shared and web/client count as three) must stay inside that folder. Cycles wholly inside one folder are not this rule\'s business (when written, the tree had no cycles at all, inside a folder or across).',
      severity: 'error',
      from: { path: '^(web/[^/]+|[^/]+)/' },
      to: { circular: true, via: { pathNot: '^$1/' } },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    // `import type` and type-only re-exports are dependencies too.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|out|web/dist)/' },
    skipAnalysisNotInRules: true,
  },
};
