/** `nodehost inspect --config <file> --shard-id N --replica-id N` */
import { inspectNode, type NodeView } from '../../ops/inspect.js';
import { logSummaryJson, type LogSummary } from '../../ops/survivor.js';
import { parseId, requireString, type Command, type CommandContext, type Invocation } from '../command.js';
import { bootstrapJson, membershipJson, plainJson, raftStateJson, snapshotJson } from '../present.js';
import { configPath, loadConfig } from './shared.js';
import { describeNode } from './describe.js';

/** Runs `nodehost inspect` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext, cmd: Command): Promise<number> {
  const file = configPath(inv, 'inspect');
  const shardId = parseId(requireString(inv, 'shard-id', cmd), '--shard-id');
  const replicaId = parseId(requireString(inv, 'replica-id', cmd), '--replica-id');
  const config = await loadConfig(file);
  const v = await inspectNode(config, shardId, replicaId);
  ctx.print([...describeNode(v), logLine(v.log)].join('\n'));
  if (v.problems.length === 0) {
    ctx.result(nodeViewJson(v));
    return 0;
  }
  // Still the whole view (plan reads it), with the failure in the usual error form.
  if (ctx.json) {
    const first = v.problems[0]!;
    const error = {
      code: /^(snapshot|external)-file-/.test(first.code) ? 'ErrIncompleteSnapshot' : 'ErrLogDB',
      message: `the node would not restart cleanly: ${v.problems.map((p) => p.message).join('; ')}`,
      details: { check: first.code, ...(first.path ? { path: first.path } : {}), problems: plainJson(v.problems) },
    };
    ctx.io.stdout.write(JSON.stringify({ ok: false, error, ...nodeViewJson(v) }) + '\n');
  }
  return 1;
}

/** The JSON form of a node view (also what `plan` accepts). */
export function nodeViewJson(v: NodeView): Record<string, unknown> {
  return {
    shardId: v.shardId.toString(),
    replicaId: v.replicaId.toString(),
    nodeHostDir: v.nodeHostDir,
    nodeHostDirExists: v.nodeHostDirExists,
    partition: v.partition,
    partitionDir: v.partitionDir,
    hasState: v.hasState,
    entryFormat: v.entryFormat ?? null,
    dataStatus: v.dataStatus.map((d) => ({
      path: d.path,
      present: d.status !== undefined,
      ...(d.status ? { status: plainJson(d.status) } : {}),
      ...(d.error ? { error: d.error } : {}),
    })),
    locks: v.locks.map((l) => ({ path: l.path, lockedByOther: l.lockedByOther, holders: plainJson(l.holders) })),
    bootstrap: v.bootstrap ? bootstrapJson(v.bootstrap) : null,
    raftState: v.raftState ? raftStateJson(v.raftState) : null,
    maxIndex: v.maxIndex?.toString() ?? null,
    snapshot: v.snapshot ? snapshotJson(v.snapshot) : null,
    membership: v.snapshot ? membershipJson(v.snapshot.membership) : null,
    snapshotIndexes: v.snapshotIndexes.map(String),
    entries: {
      firstIndex: v.entries.firstIndex.toString(),
      count: v.entries.count.toString(),
      lastIndex: v.entries.lastIndex?.toString() ?? null,
    },
    storedEntries: plainJson(v.storedEntries),
    snapshotRoot: v.snapshotRoot,
    markedDeleted: v.markedDeleted,
    snapshotDirs: plainJson(v.snapshotDirs),
    malformed: v.malformed,
    fingerprint: v.fingerprint ?? null,
    problems: plainJson(v.problems),
    log: logSummaryJson(v.log),
  };
}

/** One line on the stored log as `plan` judges it: its span, terms, holes and membership changes. */
function logLine(l: LogSummary): string {
  if (l.lastIndex === undefined) return '  stored log     none';
  const span = l.firstIndex === undefined ? `no entries (last index ${l.lastIndex})` : `entries ${l.firstIndex}..${l.lastIndex}`;
  const terms = l.termRuns.length ? `, terms ${l.termRuns.map(([i, t]) => `${t} from ${i}`).join(', ')}` : '';
  const holes = [...l.gaps.map((g) => `missing ${g.first}..${g.last}`), ...l.undecodable.map((g) => `undecodable ${g.first}..${g.last}`)];
  const cc = l.configChanges.length ? `; membership changes at ${l.configChanges.join(', ')}` : '';
  return `  stored log     ${span}${terms}${holes.length ? `; ${holes.join(', ')}` : ''}${cc}`;
}
