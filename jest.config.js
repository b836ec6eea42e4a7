/**
 * Jest runs the TypeScript sources as ESM through ts-jest (transpile only: `npm run lint` type-checks).
 *
 * Three projects: `unit` (in-memory twins, parsers, the CDK template), `integration` (real ffmpeg,
 * PostgreSQL, the S3/SQS emulator) and `slow` (chaos, accuracy sweeps, hostile media, the synthetic
 * generator's own checks, a production install, and any `*.slow.test.ts`). `npm test` runs unit and
 * integration; `npm run test:slow` (TEST_PROJECTS=slow) runs slow; `.ci/run` runs both;
 * TEST_PROJECTS=all runs everything. The choice is made here, not with --selectProjects, whose
 * variadic argument would swallow a test path given after it (`npm test -- test/x.test.ts`).
 */
const SLOW = [
  '<rootDir>/test/chaos/',
  '<rootDir>/test/engine/accuracy.test.ts',
  '<rootDir>/test/engine/hostile-media.test.ts',
  '<rootDir>/test/fixtures/synth.test.ts',
  '<rootDir>/test/deploy/production-install.test.ts',
  '\\.slow\\.test\\.ts$',
];
const UNIT = [
  '<rootDir>/test/service/unit.test.ts',
  '<rootDir>/test/service/unit-s3.test.ts',
  '<rootDir>/test/service/enqueue.test.ts',
  '<rootDir>/test/service/error-tables.test.ts',
  '<rootDir>/test/engine/units.test.ts',
  '<rootDir>/test/fixtures/score.test.ts',
  '<rootDir>/cdk/test/',
];

const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { isolatedModules: true }, diagnostics: false }],
  },
  // cdk synth copies package.json into cdk.out/asset.*: keep generated trees out of the module map.
  modulePathIgnorePatterns: ['<rootDir>/cdk.out/', '<rootDir>/.aws-sam/', '<rootDir>/.tools/', '<rootDir>/scratch/'],
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/cdk/test/**/*.test.ts'],
  testTimeout: 120000,
};

/** testMatch globs for the entries above (a folder: every test file in it). */
const globs = (patterns) => patterns.filter((p) => p.startsWith('<rootDir>')).map((p) => (p.endsWith('/') ? `${p}**/*.test.ts` : p));

const PROJECTS = [
  { ...shared, displayName: 'unit', testMatch: globs(UNIT), testPathIgnorePatterns: ['/node_modules/', ...SLOW] },
  // Everything else (testPathIgnorePatterns are regexes; <rootDir> is substituted).
  { ...shared, displayName: 'integration', testPathIgnorePatterns: ['/node_modules/', ...UNIT, ...SLOW] },
  { ...shared, displayName: 'slow', testMatch: [...globs(SLOW), '<rootDir>/{test,cdk/test}/**/*.slow.test.ts'] },
];

const selected = (process.env.TEST_PROJECTS || 'unit,integration').split(',').map((p) => p.trim());
const unknown = selected.filter((p) => p !== 'all' && !PROJECTS.some((q) => q.displayName === p));
if (unknown.length) throw new Error(`TEST_PROJECTS: unknown project ${unknown.join(', ')} (use unit, integration, slow or all)`);

export default {
  testTimeout: 120000,
  maxWorkers: 2,
  projects: PROJECTS.filter((p) => selected.includes('all') || selected.includes(p.displayName)),
};
