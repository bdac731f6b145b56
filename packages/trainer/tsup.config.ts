import { packageBuild } from '../../tools/tsup.shared.ts';

// The gradient worker is its own entry: worker threads load it by file (see workers.ts).
export default packageBuild({ entry: ['src/index.ts', 'src/gradient-worker.ts'] });
