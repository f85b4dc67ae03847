/**
 * The layer rules of the README's architecture, checked by `npm test` (scripts/check-layers.mjs):
 *   src/shared       the library: knows nothing of NATS, HTTP, processes or the command line;
 *   src/coordinator,
 *   src/worker       depend on src/shared, never on each other nor on a transport implementation;
 *   src/transport    transport implementations (NATS, in-process);
 *   src/cli,
 *   src/local        the only places that wire implementations together.
 */
const WIRING = '^src/(cli|local)/';
// Resolved paths: node's core modules by name, npm packages under node_modules.
const core = (names) => `^(node:)?(${names.join('|')})$`;
const npm = (names) => `(^|/)node_modules/(${names.join('|')})/`;
const SERVICES = [core(['http', 'https', 'http2', 'net', 'child_process', 'cluster']), npm(['nats', 'commander'])];

module.exports = {
  forbidden: [
    {
      name: 'shared-is-a-library',
      comment: 'src/shared imports no other src layer',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^src/(coordinator|worker|transport|local|cli)/' },
    },
    {
      name: 'shared-knows-no-services',
      comment: 'src/shared imports neither NATS, HTTP, processes nor the command-line parser',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: SERVICES },
    },
    {
      name: 'coordinator-not-worker',
      severity: 'error',
      from: { path: '^src/coordinator/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'worker-not-coordinator',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/coordinator/' },
    },
    {
      name: 'roles-not-transport-implementations',
      comment: 'the coordinator and workers see the Transport interface (src/shared/protocol), not NATS',
      severity: 'error',
      from: { path: '^src/(coordinator|worker)/' },
      to: { path: ['^src/transport/', npm(['nats', 'commander']), core(['http', 'https'])] },
    },
    {
      name: 'only-wiring-imports-wiring',
      comment: 'nothing outside src/cli and src/local imports them',
      severity: 'error',
      from: { path: '^src/', pathNot: WIRING },
      to: { path: WIRING },
    },
    {
      name: 'transport-has-no-cli',
      comment: 'command-line flags for a transport live in src/cli',
      severity: 'error',
      from: { path: '^src/transport/' },
      to: { path: npm(['commander']) },
    },
    {
      name: 'protocol-owns-its-types',
      comment: 'the wire protocol defines its message types; training imports them, not the reverse',
      severity: 'error',
      from: { path: '^src/shared/protocol/' },
      to: { path: '^src/shared/training/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
