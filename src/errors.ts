/**
 * Every failure this library reports is an instance of {@link NodeHostToolsError}
 * subclass whose `code` equals its class name. Codes are part of the public API:
 * automation matches on `err.code`, never on the message.
 *
 * `details` carries the context a reader needs to act (path, byte offset, block
 * number, the failed check, expected and actual values). Values are JSON-safe
 * except bigints, which the CLI prints as decimal strings.
 */

/** Context attached to an error. */
export interface ErrorDetails {
  /** File or directory the failure is about. */
  path?: string;
  /** Name of the failed check, e.g. `block-crc`, `tail-magic`, `hard-hash`. */
  check?: string;
  /** Byte offset in `path` where the failed check looked. */
  offset?: number | bigint;
  /** Zero-based v2 block number. */
  block?: number;
  expected?: unknown;
  actual?: unknown;
  [key: string]: unknown;
}

/** Base class of every error this package throws on purpose. */
export class NodeHostToolsError extends Error {
  /** Stable machine-readable code; equals the concrete class name. */
  readonly code: string;
  /** Context: path, offset, block, check, expected/actual. */
  readonly details: ErrorDetails;

  constructor(message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = new.target.name;
    this.details = details;
  }
}

// --- The reference's three errors, with exactly its meaning -----------------

/** The member map is invalid: the local replica is missing or has another address, or a member conflicts with the snapshot's membership. */
export class ErrInvalidMembers extends NodeHostToolsError {}
/** A required path (the export directory) does not exist. */
export class ErrPathNotExist extends NodeHostToolsError {}
/** The exported snapshot is incomplete or corrupt; `details.check` names the failed check. */
export class ErrIncompleteSnapshot extends NodeHostToolsError {}

// --- Records and flag files --------------------------------------------------

/** A protobuf record could not be decoded (truncated, bad wire type, bad varint, wrong length). */
export class ErrMalformedRecord extends NodeHostToolsError {}
/** A flag file (`dragonboat.ds`, `snapshot.metadata`, ...) is missing, too short, or fails its MD5 check. */
export class ErrCorruptFlagFile extends NodeHostToolsError {}

// --- dragonboat.ds checks (one class per check, named as Dragonboat names them) ---

/** `dragonboat.ds` records another log store type. */
export class ErrLogDBType extends NodeHostToolsError {}
/** `dragonboat.ds` records another RaftAddress: the directory belongs to another NodeHost. */
export class ErrNotOwner extends NodeHostToolsError {}
/** `dragonboat.ds` records another host name. */
export class ErrHostnameChanged extends NodeHostToolsError {}
/** `dragonboat.ds` records another DeploymentID. */
export class ErrDeploymentIDChanged extends NodeHostToolsError {}
/** `dragonboat.ds` records another AddressByNodeHostID setting. */
export class ErrAddressByNodeHostIDChanged extends NodeHostToolsError {}
/** `dragonboat.ds` records another log store format (bin_ver). */
export class ErrIncompatibleData extends NodeHostToolsError {}
/** `dragonboat.ds` records other hard settings (hard_hash or shard counts). */
export class ErrHardSettingsChanged extends NodeHostToolsError {}

// --- Directories and locks ---------------------------------------------------

/** NodeHostDir/LOCK, WALDir/LOCK or a partition's LevelDB LOCK is held by another process. */
export class ErrDirLocked extends NodeHostToolsError {}
/** The node's snapshot root holds `DELETED.dragonboat`: the node was removed and must never be reused. */
export class ErrDirMarkedAsDeleted extends NodeHostToolsError {}

// --- Import ------------------------------------------------------------------

/** The snapshot is older than what the node already has and cannot be imported over it. */
export class ErrSnapshotOutOfDate extends NodeHostToolsError {}
/** The node's log store records no snapshot (nothing to export). */
export class ErrNoSnapshot extends NodeHostToolsError {}
/** An export's manifest does not match its files (missing, extra, size or SHA-256 differs). */
export class ErrManifestMismatch extends NodeHostToolsError {}
/** A backup is incomplete, malformed, or belongs to another node (or the node moved on since). */
export class ErrBackupMismatch extends NodeHostToolsError {}
/** A destination that must not exist already does (an earlier export, a previous backup). */
export class ErrAlreadyExists extends NodeHostToolsError {}
/** The snapshot's state machine type is Unknown (0). */
export class ErrUnknownStateMachineType extends NodeHostToolsError {}
/**
 * A log suffix (the survivor's entries past the snapshot, `log-suffix.nhlog`)
 * cannot be used: the file is truncated, a frame fails its CRC, indexes skip
 * or go back, a term goes backwards, it names another shard or snapshot, or
 * the state machine type cannot carry it; `details.check` names the failed
 * check, `details.offset` the byte where it looked. Nothing was changed.
 */
export class ErrLogSuffix extends NodeHostToolsError {}
/**
 * The survivor's log does not continue the snapshot's history: it holds
 * neither an entry nor a snapshot record at the snapshot's index with the
 * snapshot's term (Raft's log matching rule), so its later entries may
 * belong to another history. Take the log from a host that holds it, or
 * repair without the log. Nothing was changed.
 */
export class ErrLogDiverged extends NodeHostToolsError {}
/** The operation was cancelled through its AbortSignal. */
export class ErrAborted extends NodeHostToolsError {}

// --- Configuration, engines, storage -----------------------------------------

/** A NodeHost configuration or an option is invalid. */
export class ErrInvalidConfig extends NodeHostToolsError {}
/** A requested checksum engine (native, wasm) is not available in this installation. */
export class ErrEngineUnavailable extends NodeHostToolsError {}
/** The log store (LevelDB or Pebble) reported a failure. */
export class ErrLogDB extends NodeHostToolsError {}
/**
 * The log store is of a kind or shape this tool does not read or write (another
 * Pebble format major version, compression, filters, a RocksDB-written store,
 * a LevelDB file in a Pebble partition, ...); `details.path` names the file and
 * `details.check` the reason. Nothing was changed.
 */
export class ErrUnsupportedLogStore extends NodeHostToolsError {}
/**
 * A log store file is corrupt or torn where the store itself would refuse it
 * (a bad checksum, a truncated block, a malformed version edit or batch);
 * `details` name the file and the byte offset. Nothing was changed.
 */
export class ErrCorruptLogStore extends NodeHostToolsError {}
/** A file-system operation failed; `details.path` and `details.syscall` say which. */
export class ErrIO extends NodeHostToolsError {}
/** The command line is invalid (CLI only; exit status 2). */
export class ErrUsage extends NodeHostToolsError {}

/** Throws {@link ErrAborted} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) {
    throw new ErrAborted(`aborted during ${where}`, { phase: where }, { cause: signal.reason });
  }
}

/** Wraps a Node.js system error (ENOENT, EACCES, ...) into {@link ErrIO} with its path. */
export function ioError(err: unknown, what: string, path: string): NodeHostToolsError {
  if (err instanceof NodeHostToolsError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ErrIO(
    `${what} ${path}: ${e?.message ?? String(err)}`,
    {
      path,
      syscall: e?.syscall,
      errno: e?.code,
    },
    { cause: err },
  );
}
