// Shared vitest project settings. Tests import sibling packages from their TypeScript sources,
// so `npm test` does not need a build and a stack trace points at src/, not dist/. The private test
// helpers (packages/testing, `@rmt/testing`) resolve the same way.
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('../packages/', import.meta.url));

const sourceAliases: Record<string, string> = Object.fromEntries(
  readdirSync(packagesDir)
    .filter((dir) => existsSync(`${packagesDir}${dir}/src/index.ts`))
    .map((dir) => [`@rmt/${dir}`, `${packagesDir}${dir}/src/index.ts`]),
);

export function packageTestConfig(name: string) {
  return defineProject({
    resolve: { alias: sourceAliases },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  });
}
