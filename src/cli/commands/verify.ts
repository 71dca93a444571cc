/** `nodehost verify <file.gbsnap | exported dir>` */
import { verifySnapshot } from '../../ops/verify.js';
import type { Command } from '../command.js';
import { engineOption, progressOptions, progressFor, engineChoice, noteDegraded } from './shared.js';
import { hex, plainJson, snapshotHeaderJson, snapshotJson } from '../present.js';
import { formatBytes } from '../progress.js';
import { selectEngine } from '../../engines/select.js';
import { membersText } from './describe.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check a snapshot file or an exported snapshot directory, every block',
  usage: 'nodehost verify <file.gbsnap | exported-dir> [--engine auto|native|wasm|js] [--json]',
  description:
    'Checks the header (length, header checksum), every v2 block CRC against its data, the tail ' +
    '(magic, total), the payload checksum, and for an export directory also snapshot.metadata, ' +
    'the file size and checksum it records, and the external files. Exit 0: intact; 1: a check failed.',
  positionals: [1, 1],
  options: { ...engineOption, ...progressOptions },
  async run(inv, ctx) {
    const choice = engineChoice(inv);
    // Chosen here so that the note about a missing native engine comes before the work, not after it.
    const { engine, degraded } = selectEngine(choice);
    noteDegraded(ctx, degraded);
    const progress = progressFor(inv, ctx);
    let res;
    try {
      res = await verifySnapshot(inv.positionals[0]!, {
        engine,
        onProgress: (done, total) => progress.update('verify', done, total),
      });
    } finally {
      progress.finishLine();
    }
    const f = res.file;
    ctx.print(`OK  ${f.path}`);
    ctx.print(`    format v${f.version}, ${formatBytes(Number(f.fileSize))} on disk, ${f.payloadBytes} payload bytes` +
      (f.version === 2 ? ` in ${f.blocks} block(s)` : ''));
    ctx.print(`    payload checksum ${hex(f.payloadChecksum)}, engine ${res.engine}`);
    if (res.record) {
      const r = res.record;
      ctx.print(`    snapshot index ${r.index}, term ${r.term}, shard ${r.shardId}, ` +
        `members {${membersText(r.membership.addresses)}}`);
      if (res.manifest) {
        ctx.print(`    manifest: SHA-256 of ${res.manifest.hashed.length} file(s) matches (${res.manifest.hashed.join(', ')})`);
      }
      if (res.externalFiles && res.externalFiles.length > 0) {
        ctx.print(`    ${res.externalFiles.length} external file(s) present with the recorded sizes`);
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
    });
    return 0;
  },
};
