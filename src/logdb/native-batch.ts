/**
 * A LevelDB write batch built and written by the addon (its own copy of the
 * LevelDB 1.20 sources classic-level ships): the commit batch of an import
 * whose carried log suffix comes as encoded puts ({@link PutMany.encoded}),
 * appended as they are, with no JavaScript per entry, and written as ONE
 * synced LevelDB write.
 *
 * The rule of `native-bulk.ts` holds here too: **never write to a database
 * that classic-level holds open in this process** (close it first, as the
 * LevelDB partition does). Another process holding it is refused
 * ({@link ErrDirLocked}). Never on a Pebble partition.
 */
import path from 'node:path';

import { ErrLogDB, NodeHostToolsError, throwIfAborted } from '../errors.js';
import { loadNative, mapNativeError, requireNative, withCancel, type RawNativeError, type RawNativeWriteBatch } from '../native/binding.js';
import type { PutMany } from './store.js';

/** True when the addon is loaded, so {@link NativeLevelBatch} can be made. */
export function nativeBatchAvailable(): boolean {
  return typeof loadNative()?.NativeWriteBatch === 'function';
}

/** Options of {@link NativeLevelBatch.write}. */
export interface NativeBatchWriteOptions {
  /** Create the database when missing (default true; the caller makes a new directory durable). */
  createIfMissing?: boolean;
  /** Cancels up to the write; once the write starts it completes (it is atomic). */
  signal?: AbortSignal;
}

/** One write batch for the LevelDB database at `dbPath`; written once (or discarded). */
export class NativeLevelBatch {
  /** The database the batch is for (named in its errors). */
  readonly dbPath: string;
  private readonly raw: RawNativeWriteBatch;

  /** Throws {@link ErrEngineUnavailable} without the addon. */
  constructor(dbPath: string) {
    this.dbPath = path.resolve(dbPath);
    this.raw = new (requireNative('writing a LevelDB batch').NativeWriteBatch)();
  }

  /** Operations in the batch so far. */
  get count(): number {
    return this.raw.count;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.call(() => this.raw.put(key, value));
  }

  del(key: Uint8Array): void {
    this.call(() => this.raw.del(key));
  }

  /**
   * Adds `count` puts encoded as a {@link PutMany.encoded} piece, copied
   * during the call. A piece that breaks the encoding (a kind other than
   * put, a cut-off or overlong length, a count that is not the piece's) is
   * {@link ErrLogDB} (`check: 'encoded-puts'`, the rule and the offset in
   * the piece) and adds nothing.
   */
  appendEncoded(bytes: Uint8Array, count: number): void {
    this.call(() => this.raw.appendEncoded(bytes, count));
  }

  /**
   * Opens the database, applies the batch as ONE synced write, closes it.
   * Throws {@link ErrDirLocked} (held by another process), {@link ErrLogDB},
   * {@link ErrPathNotExist} (missing, with `createIfMissing: false`),
   * {@link ErrAborted} (nothing written).
   */
  async write(options: NativeBatchWriteOptions = {}): Promise<void> {
    const binding = requireNative('writing a LevelDB batch');
    throwIfAborted(options.signal, 'LevelDB batch write');
    const token = new binding.CancelToken();
    await withCancel(token, options.signal, async () => {
      try {
        await this.raw.write(this.dbPath, { sync: true, createIfMissing: options.createIfMissing ?? true }, token);
      } catch (err) {
        throw mapNativeError(err, 'LevelDB batch write', this.dbPath, options.signal);
      }
    });
  }

  /**
   * Releases the batch's bytes now, when it will not be written (its
   * filling failed): they can be the whole carried suffix, and the garbage
   * collector does not know their size. Later operations are refused.
   */
  discard(): void {
    this.raw.discard();
  }

  private call(run: () => void): void {
    try {
      run();
    } catch (err) {
      const e = err as RawNativeError & { offset?: number; check?: string };
      if (err instanceof NodeHostToolsError || e?.check === undefined) throw mapNativeError(err, 'LevelDB batch', this.dbPath);
      throw new ErrLogDB(
        `log store partition ${this.dbPath}: ${e.message}`,
        { path: this.dbPath, check: 'encoded-puts', rule: e.check, offset: e.offset },
        { cause: err },
      );
    }
  }
}
