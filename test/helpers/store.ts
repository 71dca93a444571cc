/**
 * The log store the operation suites lay their hosts out on. The suites run
 * once per store (vitest projects in vitest.config.ts set the variable); a
 * suite that is about one engine pins its type instead.
 */
import type { LogDBType } from '../../src/nodehost/settings.js';

/** `sharded-leveldb` unless NODEHOST_TEST_LOGDB_TYPE says otherwise. */
export const TEST_LOGDB_TYPE: LogDBType = (process.env.NODEHOST_TEST_LOGDB_TYPE as LogDBType | undefined) ?? 'sharded-leveldb';
