#!/usr/bin/env node
// Committed launcher, so npm links the `rmt` bin at install time, before dist/ is built.
import('../dist/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    console.error('rmt: the runner is not built yet; run `npm run build` at the repository root first.');
    process.exit(1);
  }
  throw error;
});
