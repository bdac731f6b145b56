// The one build recipe every @rmt package uses: ESM + CJS + .d.ts/.d.cts from src/index.ts.
import { defineConfig, type Options } from 'tsup';

export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    sourcemap: true,
    // import.meta.url in the CommonJS build (presets, the embedded base, the worker file are found from it).
    shims: true,
    clean: true,
    tsconfig: 'tsconfig.json',
    dts: {
      compilerOptions: {
        // TypeScript 6 deprecates `baseUrl`, which tsup's dts pass sets.
        ignoreDeprecations: '6.0',
        // Siblings' types come from their built dist (build depends on ^build), not their sources,
        // so a package's declarations never inline another's.
        paths: {},
      },
    },
    ...overrides,
  });
}
