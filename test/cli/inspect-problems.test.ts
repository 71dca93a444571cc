/** `nodehost inspect` on a broken node (issue 10 #10): says what is wrong and exits 1. */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRunningNode, type RunningNode } from '../helpers/nodehost.js';
import { lastJson, runCli, writeConfig } from './run.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.cleanup();
});

describe('nodehost inspect on a broken node', () => {
  it('the recorded .gbsnap deleted: exit 1, the problem on stdout, ok:false with the check in --json', async () => {
    const node = await makeRunningNode({ entries: 20, snapshotIndex: 10n });
    nodes.push(node);
    const config = writeConfig(node.root, node.config);
    rmSync(node.snapshotFile!);
    const human = await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1']);
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/! snapshot-file-missing: .*does not exist/);
    expect(human.stdout).not.toMatch(/-> on restart: keep\s*$/m);
    const run = await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1', '--json']);
    expect(run.status).toBe(1);
    const res = lastJson(run.stdout, run.stderr);
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('ErrIncompleteSnapshot');
    expect(res.error.details.check).toBe('snapshot-file-missing');
    expect(res.problems.map((p: { code: string }) => p.code)).toEqual(['snapshot-file-missing']);
    // Still an inspect view: plan accepts it.
    expect(res.shardId).toBe('100');
  });
});
