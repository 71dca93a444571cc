/**
 * `nodehost demo`: the worked example of docs/import-contract.md end to end, on temporary
 * directories. Shard 100 ran replicas 1, 2, 3 on m1, m2, m3; m2 and m3 are
 * lost; replicas 4 and 5 on m4 and m5 replace them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { inspectNode, type NodeView } from '../../ops/inspect.js';
import { samplePayload, WORKED_EXAMPLE, workedExampleConfig, writeSampleExport, writeSampleNode } from '../../ops/sample-node.js';
import { LOGDB_TYPE_LEVELDB, LOGDB_TYPE_PEBBLE, type LogDBType } from '../../nodehost/settings.js';
import { ErrUsage } from '../../errors.js';
import { StateMachineType } from '../../records/types.js';
import type { CliIO, CommandContext, Invocation } from '../command.js';
import { main } from '../main.js';
import { membersText } from './describe.js';
import { noteDegraded } from './shared.js';
import { selectEngine } from '../../engines/select.js';

const { shardId: SHARD, snapshotIndex: SNAPSHOT_INDEX, lastIndex: LAST_INDEX, term: TERM } = WORKED_EXAMPLE;

/** `--store`: the log store the example's NodeHosts run. */
const STORES: Record<string, LogDBType> = { pebble: LOGDB_TYPE_PEBBLE, leveldb: LOGDB_TYPE_LEVELDB };

/** Runs the CLI in-process, echoing its command line and indenting its output. */
async function runCli(ctx: CommandContext, args: string[]): Promise<number> {
  ctx.print(`$ nodehost ${args.map((a) => (/[\s,"]/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString()));
  err.on('data', (c: Buffer) => chunks.push(c.toString()));
  // The shared notes keep a note said by the demo itself (on the real stderr) from repeating in the transcript.
  const io: CliIO = { stdout: out, stderr: err, stdin: ctx.io.stdin, env: ctx.io.env, notes: ctx.notes };
  const status = await main(args, io);
  for (const line of chunks.join('').split('\n')) if (line !== '') ctx.print(`  ${line}`);
  return status;
}

function column(v: NodeView): string[] {
  const s = v.snapshot;
  return [
    `replica ${v.replicaId}`,
    `bootstrap: join=${v.bootstrap?.join ?? '-'}`,
    `raft state: term ${v.raftState?.term ?? '-'}`,
    `  commit ${v.raftState?.commit ?? '-'}, vote ${v.raftState?.vote ?? '-'}`,
    `snapshot: index ${s?.index ?? '-'}`,
    `  imported=${s?.imported ?? '-'}`,
    `members: ${s ? [...s.membership.addresses.keys()].join(', ') : '-'}`,
    `removed: ${s ? [...s.membership.removed.keys()].join(', ') || '(none)' : '-'}`,
    `config change: ${s?.membership.configChangeId ?? '-'}`,
    `max index: ${v.maxIndex ?? '-'}`,
    `entries to replay: ${v.entries.count}`,
    `fingerprint: ${v.fingerprint ?? '-'}`,
    `snapshot dirs: ${v.snapshotDirs.length}`,
    ...v.snapshotDirs.map((d) => `  ${d.name.replace('snapshot-', 's-')}: ${d.status}`),
  ];
}

function sideBySide(titles: string[], cols: string[][]): string[] {
  const width = Math.max(...cols.flat().map((l) => l.length), ...titles.map((t) => t.length)) + 3;
  const rows = Math.max(...cols.map((c) => c.length));
  const out = [titles.map((t) => t.padEnd(width)).join(''), titles.map(() => '-'.repeat(width - 3).padEnd(width)).join('')];
  for (let i = 0; i < rows; i++)
    out.push(
      cols
        .map((c) => (c[i] ?? '').padEnd(width))
        .join('')
        .trimEnd(),
    );
  return out;
}

/** Runs `nodehost demo` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext): Promise<number> {
  const storeName = (inv.values.store as string | undefined) ?? 'pebble';
  const logdbType = STORES[storeName];
  if (logdbType === undefined) throw new ErrUsage(`--store must be pebble or leveldb (got "${storeName}")`, { field: 'store' });
  const setup = inv.values.setup;
  if (typeof setup === 'string') {
    if (setup === '') throw new ErrUsage('--setup needs a directory: a new one, or an empty one', { field: 'setup' });
    if (inv.values.keep === true)
      throw new ErrUsage('--keep goes with the demo itself; --setup keeps its directory anyway', { field: 'keep' });
    const { runSetup } = await import('./demo-setup.js');
    return runSetup(setup, logdbType, ctx);
  }
  noteDegraded(ctx, selectEngine('auto').degraded);
  const root = await mkdtemp(join(tmpdir(), 'nodehost-demo-'));
  try {
    const hosts = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const cfg = Object.fromEntries(hosts.map((h) => [h, workedExampleConfig(root, h, logdbType)]));
    for (const h of hosts) await writeFile(join(root, `${h}.json`), JSON.stringify(cfg[h], null, 2));
    const initial = new Map(WORKED_EXAMPLE.initialMembers);
    const payload = samplePayload(WORKED_EXAMPLE.payloadSize);

    ctx.print(`1. Shard ${SHARD} runs replicas 1, 2, 3 on m1, m2, m3 (data under ${root}; log store ${logdbType}).`);
    let record;
    for (const [i, h] of ['m1', 'm2', 'm3'].entries()) {
      const snap = await writeSampleNode({
        config: cfg[h]!,
        shardId: SHARD,
        replicaId: BigInt(i + 1),
        members: initial,
        lastIndex: LAST_INDEX,
        snapshotIndex: SNAPSHOT_INDEX,
        term: TERM,
        payload,
        type: StateMachineType.Regular,
      });
      if (h === 'm1') record = snap;
    }
    ctx.print(`   Each has entries 1..${LAST_INDEX} and a snapshot at index ${SNAPSHOT_INDEX}, term ${TERM}.`);
    ctx.print('');
    ctx.print(`2. An exported snapshot of index ${SNAPSHOT_INDEX} is saved to ${join(root, 'backup')}.`);
    const exportDir = await writeSampleExport(join(root, 'backup'), record!, payload);
    ctx.print('');
    ctx.print('3. m2 and m3 are lost for good: the shard has lost its quorum.');
    await rm(join(root, 'm2'), { recursive: true, force: true });
    await rm(join(root, 'm3'), { recursive: true, force: true });
    ctx.print('');
    const members = WORKED_EXAMPLE.newMembers;
    ctx.print(`4. With every NodeHost stopped, the export is verified and imported on m1, m4 and m5 with members {${members}}.`);
    if ((await runCli(ctx, ['verify', exportDir, '--no-progress'])) !== 0) return 1;
    for (const [h, id] of [
      ['m1', '1'],
      ['m4', '4'],
      ['m5', '5'],
    ] as const) {
      ctx.print('');
      const status = await runCli(ctx, [
        'import',
        '--config',
        join(root, `${h}.json`),
        '--src',
        exportDir,
        '--members',
        members,
        '--replica-id',
        id,
        '--yes',
        '--no-progress',
      ]);
      if (status !== 0) return status;
    }
    ctx.print('');
    ctx.print('5. What each node sees when its NodeHost restarts (nodehost inspect):');
    const views = [];
    for (const [h, id] of [
      ['m1', 1n],
      ['m4', 4n],
      ['m5', 5n],
    ] as const)
      views.push(await inspectNode(cfg[h]!, SHARD, id));
    for (const line of sideBySide(['m1', 'm4', 'm5'], views.map(column))) ctx.print(`   ${line}`);
    ctx.print('');
    ctx.print(
      `The shard now has members {${membersText(views[0]!.snapshot!.membership.addresses)}}; replicas 2 and 3 are removed ` +
        'and must never restart. Proposals after index 400 (entries 401..620 on m1) are gone: that is the repair. ' +
        'The same fingerprint on every host shows they were repaired from the same snapshot with the same member map.',
    );
    if (inv.values.keep === true) ctx.print(`\nKept: ${root}`);
    ctx.result({ root: inv.values.keep === true ? root : null, members });
    return 0;
  } finally {
    if (inv.values.keep !== true) await rm(root, { recursive: true, force: true });
  }
}
