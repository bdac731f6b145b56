import { packageBuild } from '../../tools/tsup.shared.ts';

export default packageBuild({ entry: ['src/index.ts', 'src/cli.ts'] });
