/**
 * docs/import-contract.md step 9: the snapshot record the node will own after the import.
 */
import { basename, join } from 'node:path';
import type { Membership, Snapshot } from '../records/types.js';

/**
 * Builds the imported record from the exported one. Paths are re-pointed into
 * `finalDir` (same base names); on_disk_index and witness are deliberately not
 * copied, as in the reference: the importing node has applied nothing yet and
 * is a full voter.
 */
export function importedSnapshotRecord(source: Snapshot, finalDir: string, membership: Membership): Snapshot {
  return {
    filepath: join(finalDir, basename(source.filepath)),
    fileSize: source.fileSize,
    index: source.index,
    term: source.term,
    membership,
    files: source.files.map((f) => ({
      filepath: join(finalDir, basename(f.filepath)),
      fileSize: f.fileSize,
      fileId: f.fileId,
      metadata: f.metadata,
    })),
    checksum: source.checksum,
    dummy: source.dummy,
    shardId: source.shardId,
    type: source.type,
    imported: true,
    onDiskIndex: 0n,
    witness: false,
  };
}
