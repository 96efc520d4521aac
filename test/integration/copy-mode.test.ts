import { DockerClient } from '../../src/engine/index.js';
import { copyModeSuite } from '../helpers/copy-mode-suite.js';

copyModeSuite('workspace: copy on the local engine', () => new DockerClient(), { workspace: 'copy' });
