/** Jest in native-ESM mode with ts-jest (see shared/reference/github-platform.md §1.7). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: { "^.+\\.ts$": ["ts-jest", { useESM: true }] },
  testMatch: ["**/test/**/*.test.ts"],
  testTimeout: 30000,
};
