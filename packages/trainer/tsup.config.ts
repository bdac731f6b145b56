import { packageBuild } from '../../tools/tsup.shared.ts';

// The worker is its own entry: worker threads load it by file (see parallel.ts).
export default packageBuild({ entry: ['src/index.ts', 'src/worker.ts'] });
