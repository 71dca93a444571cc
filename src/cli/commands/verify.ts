/** `nodehost verify <file.gbsnap | exported dir>` */
import { verifySnapshot } from '../../ops/verify.js';
import type { CommandContext, Invocation } from '../command.js';
import { progressFor, engineChoice, noteDegraded } from './shared.js';
import { hex, plainJson, snapshotHeaderJson, snapshotJson } from '../present.js';
import { formatBytes } from '../progress.js';
import { chooseEngine } from '../../engines/choose.js';
import { membersText } from './describe.js';

/** Runs `nodehost verify` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext): Promise<number> {
  const choice = engineChoice(inv);
  // Chosen here so that the note about a missing native engine comes before the work, not after it.
  const { engine, degraded } = await chooseEngine(choice);
  noteDegraded(ctx, degraded);
  const progress = progressFor(inv, ctx);
  let res;
  try {
    res = await verifySnapshot(inv.positionals[0]!, {
      engine,
      // No callback when nothing is shown: each report wakes this thread while the scan keeps both cores busy.
      ...(progress.enabled ? { onProgress: (done: number, total: number) => progress.update('verify', done, total) } : {}),
    });
  } finally {
    progress.finishLine();
  }
  const f = res.file;
  // Loaded only for an export that carries a log suffix, like the code that verified it.
  const suffixView = res.logSuffix ? await import('./log-suffix.js') : undefined;
  ctx.print(`OK  ${f.path}`);
  ctx.print(
    `    format v${f.version}, ${formatBytes(Number(f.fileSize))} on disk, ${f.payloadBytes} payload bytes` +
      (f.version === 2 ? ` in ${f.blocks} block(s)` : ''),
  );
  ctx.print(`    payload checksum ${hex(f.payloadChecksum)}, engine ${res.engine}`);
  if (res.record) {
    const r = res.record;
    ctx.print(`    snapshot index ${r.index}, term ${r.term}, shard ${r.shardId}, ` + `members {${membersText(r.membership.addresses)}}`);
    if (res.manifest) {
      ctx.print(`    manifest: SHA-256 of ${res.manifest.hashed.length} file(s) matches (${res.manifest.hashed.join(', ')})`);
    }
    if (res.externalFiles && res.externalFiles.length > 0) {
      ctx.print(`    ${res.externalFiles.length} external file(s) present with the recorded sizes`);
    }
    if (res.logSuffix && suffixView) {
      for (const line of suffixView.logSuffixLines(res.logSuffix)) ctx.print(`    ${line}`);
      const s = res.logSuffix;
      ctx.print(
        `      from replica ${s.survivorReplicaId} (${s.survivor.raftAddress}), continues the snapshot at index ${s.snapshotIndex} term ${s.snapshotTerm}`,
      );
    }
  }
  ctx.print(`    checks: ${f.checks.join(', ')}`);
  ctx.result({
    kind: res.kind,
    target: res.target,
    engine: res.engine,
    ...(degraded ? { degraded } : {}),
    file: {
      path: f.path,
      fileSize: f.fileSize.toString(),
      version: f.version,
      headerLength: f.headerLength,
      header: snapshotHeaderJson(f.header),
      payloadBytes: String(f.payloadBytes),
      blocks: f.blocks,
      payloadChecksum: hex(f.payloadChecksum),
      checks: f.checks,
    },
    ...(res.record ? { record: snapshotJson(res.record) } : {}),
    ...(res.externalFiles ? { externalFiles: plainJson(res.externalFiles) } : {}),
    ...(res.manifest ? { manifest: plainJson(res.manifest) } : {}),
    ...(res.logSuffix && suffixView ? { logSuffix: suffixView.logSuffixJson(res.logSuffix) } : {}),
  });
  return 0;
}
