// The list of vitest projects: one per package and app. vitest >= 4 no longer reads this file by
// itself, so vitest.config.ts imports it into `test.projects`.
export default ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'];
