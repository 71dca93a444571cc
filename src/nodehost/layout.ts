/** Creating the directory skeleton a NodeHost expects (Dragonboat's CreateNodeHostDir). */
import { mkdirDurable } from '../files/durable.js';
import type { ResolvedNodeHostConfig } from './config.js';
import { deploymentDir, walDeploymentDir } from './paths.js';

/**
 * Creates `NodeHostDir/H/D` and, with a WALDir, `WALDir/H/D` (missing parents
 * included, each creation fsynced). Returns the directories it created,
 * outermost first; empty when everything existed.
 */
export async function ensureNodeHostDirs(cfg: ResolvedNodeHostConfig): Promise<string[]> {
  const created = await mkdirDurable(deploymentDir(cfg));
  const wal = walDeploymentDir(cfg);
  if (wal !== undefined) created.push(...(await mkdirDurable(wal)));
  return created;
}
