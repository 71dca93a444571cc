/**
 * How the pure decoders report a failure: they know byte offsets but not
 * where the bytes came from, so the caller passes a {@link Where} (file path
 * and the file offset of the buffer's first byte) and every error names the
 * file and the absolute offset. Pure.
 */
import { ErrCorruptLogStore, ErrUnsupportedLogStore } from '../errors.js';

/** Where a buffer came from: its file and the file offset of its byte 0. */
export interface Where {
  path: string;
  /** File offset of the buffer's first byte (default 0). */
  base?: number;
}

/** Data Pebble itself would refuse: a bad checksum, a truncated or malformed structure. */
export function corrupt(
  where: Where,
  offset: number,
  check: string,
  message: string,
  extra: Record<string, unknown> = {},
): ErrCorruptLogStore {
  const at = (where.base ?? 0) + offset;
  return new ErrCorruptLogStore(`${where.path} at offset ${at}: ${message}`, { path: where.path, offset: at, check, ...extra });
}

/** Data outside what Dragonboat's Pebble configuration writes (another version, feature or engine). */
export function unsupported(
  where: Where,
  offset: number | undefined,
  check: string,
  message: string,
  extra: Record<string, unknown> = {},
): ErrUnsupportedLogStore {
  const at = offset === undefined ? undefined : (where.base ?? 0) + offset;
  const loc = at === undefined ? '' : ` at offset ${at}`;
  return new ErrUnsupportedLogStore(`${where.path}${loc}: ${message}`, {
    path: where.path,
    ...(at === undefined ? {} : { offset: at }),
    check,
    ...extra,
  });
}
