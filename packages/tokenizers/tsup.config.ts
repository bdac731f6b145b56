import { packageBuild } from '../../tools/tsup.shared.ts';

export default packageBuild();
