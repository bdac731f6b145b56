// The `rmt` command (launched by bin/rmt.js).
import { runCli } from './index.js';

void runCli(process.argv).then((code) => {
  process.exitCode = code;
});
