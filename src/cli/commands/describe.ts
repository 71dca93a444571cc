/** Human-readable descriptions of library results, shared by commands. */
import type { NodeView } from '../../ops/inspect.js';
import type { Membership, Snapshot } from '../../records/types.js';
import { StateMachineType } from '../../records/types.js';
import { hex } from '../present.js';

/** `1=m1:7001, 4=m4:7001` (empty for an empty map: callers wrap it in braces). */
export function membersText(m: Map<bigint, string>): string {
  return [...m].map(([id, a]) => `${id}=${a}`).join(', ');
}

export function membershipText(m: Membership): string {
  const parts = [`members {${membersText(m.addresses)}}`, `config change ${m.configChangeId}`];
  if (m.removed.size) parts.push(`removed {${[...m.removed.keys()].join(', ')}}`);
  if (m.nonVotings.size) parts.push(`non-voting {${membersText(m.nonVotings)}}`);
  if (m.witnesses.size) parts.push(`witnesses {${membersText(m.witnesses)}}`);
  return parts.join(', ');
}

export function snapshotText(s: Snapshot): string {
  return (
    `index ${s.index}, term ${s.term}, ${StateMachineType[s.type] ?? s.type} state machine, ` +
    `${s.fileSize} bytes, checksum ${hex(s.checksum)}${s.imported ? ', imported' : ''}`
  );
}

/** Lines describing a node's restart view. */
export function describeNode(v: NodeView): string[] {
  const out: string[] = [];
  out.push(`shard ${v.shardId} replica ${v.replicaId}  (${v.nodeHostDir})`);
  const running = v.locks.some((l) => l.lockedByOther);
  if (running) out.push('  ! the NodeHost directory is locked by another process: a NodeHost may be running');
  if (!v.nodeHostDirExists) {
    out.push(`  ${v.nodeHostDir}: directory does not exist (fresh host, or a wrong nodeHostDir)`);
  } else if (!v.hasState) {
    out.push('  no state in the log store: the node has never run here (or was fully removed)');
  }
  out.push(`  log store      ${v.partitionDir}${v.entryFormat ? ` (format ${v.entryFormat})` : ''}`);
  out.push(
    `  bootstrap      ${
      v.bootstrap
        ? `join=${v.bootstrap.join}, type ${StateMachineType[v.bootstrap.type] ?? v.bootstrap.type}, ` +
          `addresses {${membersText(v.bootstrap.addresses)}}`
        : '(none)'
    }`,
  );
  out.push(
    `  raft state     ${v.raftState ? `term ${v.raftState.term}, vote ${v.raftState.vote}, commit ${v.raftState.commit}` : '(none)'}`,
  );
  out.push(`  snapshot       ${v.snapshot ? snapshotText(v.snapshot) : '(none)'}`);
  if (v.snapshot) out.push(`  membership     ${membershipText(v.snapshot.membership)}`);
  if (v.fingerprint) out.push(`  fingerprint    ${v.fingerprint} (of the import that repaired this node)`);
  out.push(`  max index      ${v.maxIndex ?? '(none)'}`);
  out.push(
    `  entries        ${v.entries.count === 0n ? 'none (max index = snapshot index)' : `${v.entries.firstIndex}..${v.entries.lastIndex} (${v.entries.count} read on restart, from the snapshot index on)`}`,
  );
  if (v.markedDeleted) out.push('  ! DELETED.dragonboat: this replica was removed and must never be reused');
  out.push(`  snapshot dirs  ${v.snapshotDirs.length === 0 ? '(none)' : ''}`);
  const fileProblems = v.problems.filter((p) => /^(snapshot|external)-file-/.test(p.code)).map((p) => p.code);
  for (const d of v.snapshotDirs) {
    const broken =
      v.snapshot && d.index === v.snapshot.index && d.kind === 'final' && fileProblems.length ? `  ! ${fileProblems.join(', ')}` : '';
    out.push(`    ${d.name.padEnd(40)} ${d.status}${d.hasFlagFile ? ' (flag file)' : ''} -> on restart: ${d.restartFate}${broken}`);
  }
  const problems = v.problems.filter((p) => p.code !== 'malformed-record');
  for (const m of v.malformed) out.push(`  ! malformed ${m.kind} record ${m.key}: ${m.message}`);
  if (problems.length) {
    out.push('  problems (a restart would fail or lose data):');
    for (const p of problems) out.push(`  ! ${p.code}: ${p.message}`);
  }
  return out;
}
