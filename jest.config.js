/** Jest runs the TypeScript sources as ESM through ts-jest (transpile only: `npm run lint` type-checks). */
export default {
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
  maxWorkers: 2,
};
