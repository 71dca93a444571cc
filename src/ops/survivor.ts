/**
 * The minimal-loss repair's choice of survivor (docs/log-suffix.md): a
 * replica's log summarised compactly (term runs, holes, membership changes),
 * whether it can give the log suffix after an export's (index, term), which
 * of several logs to carry, and what each host keeps and loses with it.
 * Everything here but {@link summarizeLog} is pure, so a host read through
 * its configuration and one described by `inspect --json` are judged by the
 * same code.
 */
import type { LogDB } from '../logdb/logdb.js';
import { EntryType } from '../records/types.js';

/** A range of indexes, both ends included. */
export interface IndexRange {
  first: bigint;
  last: bigint;
}

/** Holes listed per kind before the summary stops listing them (a pathological store stays a small summary). */
export const HOLE_LIMIT = 64;

/**
 * A replica's log as the suffix rules need it: every stored entry at or
 * below its max index (entries below its snapshot that compaction left
 * included), without their bytes.
 */
export interface LogSummary {
  /** Its latest snapshot record. */
  snapshot: { index: bigint; term: bigint } | undefined;
  /** First stored entry at or below the max index. */
  firstIndex: bigint | undefined;
  /** The max index (the log's last index as Raft sees it); undefined when the replica has none. */
  lastIndex: bigint | undefined;
  /** Term changes: `[fromIndex, term]`, ascending, one per change over the decodable entries. */
  termRuns: [bigint, bigint][];
  /** Missing entries between firstIndex and lastIndex, including a missing tail. */
  gaps: IndexRange[];
  /** Entries present whose bytes do not decode as an Entry (or name another index): term unknown. */
  undecodable: IndexRange[];
  /** When more holes existed than listed: nothing at or after this index is known. */
  holesTruncatedAt: bigint | undefined;
  /** Indexes of membership-change entries. */
  configChanges: bigint[];
}

function addToRanges(ranges: IndexRange[], first: bigint, last: bigint): boolean {
  const prev = ranges[ranges.length - 1];
  if (prev && prev.last + 1n === first) {
    prev.last = last;
    return true;
  }
  if (ranges.length >= HOLE_LIMIT) return false;
  ranges.push({ first, last });
  return true;
}

/** Reads the summary of (shardId, replicaId)'s log in one streamed pass (memory: one batch plus the summary). */
export async function summarizeLog(
  db: LogDB,
  shardId: bigint,
  replicaId: bigint,
  maxIndex: bigint | undefined,
  snapshot: { index: bigint; term: bigint } | undefined,
): Promise<LogSummary> {
  const sum: LogSummary = {
    snapshot: snapshot ? { index: snapshot.index, term: snapshot.term } : undefined,
    firstIndex: undefined,
    lastIndex: maxIndex,
    termRuns: [],
    gaps: [],
    undecodable: [],
    holesTruncatedAt: undefined,
    configChanges: [],
  };
  if (maxIndex === undefined) return sum;
  let expected: bigint | undefined;
  let term: bigint | undefined;
  for await (const e of db.streamEntries(shardId, replicaId, 0n, maxIndex)) {
    if (expected !== undefined && e.index < expected) continue;
    sum.firstIndex ??= e.index;
    if (expected !== undefined && e.index > expected && !addToRanges(sum.gaps, expected, e.index - 1n)) {
      sum.holesTruncatedAt = expected;
      break;
    }
    expected = e.index + 1n;
    if (e.entry === undefined || e.entry.index !== e.index) {
      if (!addToRanges(sum.undecodable, e.index, e.index)) {
        sum.holesTruncatedAt = e.index;
        break;
      }
      continue;
    }
    if (e.entry.term !== term) {
      term = e.entry.term;
      sum.termRuns.push([e.index, term]);
    }
    if (e.entry.type === EntryType.ConfigChange) sum.configChanges.push(e.index);
  }
  if (sum.holesTruncatedAt === undefined && expected !== undefined && expected <= maxIndex && !addToRanges(sum.gaps, expected, maxIndex)) {
    sum.holesTruncatedAt = expected;
  }
  return sum;
}

function inRanges(ranges: IndexRange[], i: bigint): boolean {
  return ranges.some((r) => r.first <= i && i <= r.last);
}

/** Whether the summary holds an entry at `i` whose term it knows. */
function holdsEntry(l: LogSummary, i: bigint): boolean {
  if (l.firstIndex === undefined || l.lastIndex === undefined || i < l.firstIndex || i > l.lastIndex) return false;
  if (l.holesTruncatedAt !== undefined && i >= l.holesTruncatedAt) return false;
  return !inRanges(l.gaps, i) && !inRanges(l.undecodable, i);
}

/** The term the log holds at `i`: its entry's, else its snapshot record's at exactly `i` (as `LogDB.termAt`). */
export function termIn(l: LogSummary, i: bigint): bigint | undefined {
  if (holdsEntry(l, i)) {
    let t: bigint | undefined;
    for (const [from, term] of l.termRuns) {
      if (from > i) break;
      t = term;
    }
    if (t !== undefined) return t;
  }
  return l.snapshot?.index === i ? l.snapshot.term : undefined;
}

/** The first index in `first..last` the log does not hold as a decodable entry, with why; undefined when it holds them all. */
function firstHole(l: LogSummary, first: bigint, last: bigint): { index: bigint; until: bigint; why: string } | undefined {
  if (first > last) return undefined;
  if (l.firstIndex === undefined || l.firstIndex > first) {
    const until = l.firstIndex === undefined || l.firstIndex > last ? last : l.firstIndex - 1n;
    const why = l.firstIndex === undefined ? 'the log holds no entries' : `compacted (its first entry is ${l.firstIndex})`;
    return { index: first, until, why };
  }
  const holes = [...l.gaps.map((r) => ({ ...r, why: 'missing' })), ...l.undecodable.map((r) => ({ ...r, why: 'not decodable' }))]
    .filter((r) => r.last >= first && r.first <= last)
    .sort((a, b) => (a.first < b.first ? -1 : 1));
  const h = holes[0];
  const truncated = l.holesTruncatedAt !== undefined && l.holesTruncatedAt <= last ? l.holesTruncatedAt : undefined;
  if (h && (truncated === undefined || h.first <= truncated)) {
    return { index: h.first < first ? first : h.first, until: h.last > last ? last : h.last, why: h.why };
  }
  if (truncated !== undefined) {
    const at = truncated < first ? first : truncated;
    return { index: at, until: last, why: `unknown (more than ${HOLE_LIMIT} holes before it)` };
  }
  return undefined;
}

/** The first entry in `after+1..last` (all held) whose term is below the previous one or below `floor`. */
function termOrderBreak(
  l: LogSummary,
  after: bigint,
  last: bigint,
  floor: bigint,
): { index: bigint; term: bigint; min: bigint } | undefined {
  const start = termIn(l, after + 1n);
  if (start === undefined) return undefined;
  if (start < floor) return { index: after + 1n, term: start, min: floor };
  let prev = start;
  for (const [from, term] of l.termRuns) {
    if (from <= after + 1n) continue;
    if (from > last) break;
    if (term < prev) return { index: from, term, min: prev };
    prev = term;
  }
  return undefined;
}

/** Why a log cannot give a suffix. `code`: `no-log`, `short`, `diverged`, `not-contiguous`, `term-order`, `own-snapshot`. */
export interface LogProblem {
  code: string;
  message: string;
  index?: bigint;
}

/** What a host's own snapshot offers when it is newer than the export. */
export interface OwnSnapshotInfo {
  index: bigint;
  term: bigint;
  /** Its payload checksum, where known (the recovery fingerprint of a repair from it names it). */
  checksum?: Uint8Array;
  /** Why its own export cannot be used (an on-disk state machine, files missing, a membership conflict). */
  unusable?: string;
}

/** How one host's log meets the suffix rules for an export at (index, term). */
export interface LogCheck {
  /** Its last index (max index) and the term there, when known. */
  lastIndex: bigint | undefined;
  lastTerm: bigint | undefined;
  /** The term it holds at the export's index (entry or snapshot record), when it holds one. */
  anchorTerm: bigint | undefined;
  /** `given-export`: its suffix continues the given export; `own-export`: through its own newer snapshot; null: it cannot give one. */
  via: 'given-export' | 'own-export' | null;
  /** The snapshot its suffix continues: the export's or its own. */
  base?: { index: bigint; term: bigint };
  /** Why not, when `via` is null (the given export's reason first, then its own snapshot's). */
  problems: LogProblem[];
}

/** The suffix rules of docs/log-suffix.md on one log, from `base` (index, term) on. */
function suffixProblem(l: LogSummary, base: { index: bigint; term: bigint }, what: string): LogProblem | undefined {
  const last = l.lastIndex!;
  if (last <= base.index) {
    return { code: 'short', message: `its log ends at ${last}: no entry past ${what} ${base.index}`, index: last };
  }
  const hole = firstHole(l, base.index + 1n, last);
  if (hole) {
    const span = hole.until > hole.index ? `entries ${hole.index}..${hole.until}` : `entry ${hole.index}`;
    return {
      code: 'not-contiguous',
      message: `not contiguous: ${span} ${hole.until > hole.index ? 'are' : 'is'} ${hole.why}, but the suffix needs every entry ${base.index + 1n}..${last}`,
      index: hole.index,
    };
  }
  const brk = termOrderBreak(l, base.index, last, base.term);
  if (brk) {
    return {
      code: 'term-order',
      message: `entry ${brk.index} has term ${brk.term}, below ${brk.min}: terms must never go back past ${what} ${base.index}`,
      index: brk.index,
    };
  }
  return undefined;
}

/**
 * Checks one host's log against the export at (index, term): it qualifies
 * through the given export when it holds that index with that term and every
 * entry after it up to its last, terms never going back; or through its own
 * snapshot when that is newer than the export, usable, and followed by the
 * same kind of contiguous log.
 */
export function checkLog(l: LogSummary | undefined, anchor: { index: bigint; term: bigint }, own?: OwnSnapshotInfo): LogCheck {
  if (l === undefined) {
    return {
      lastIndex: undefined,
      lastTerm: undefined,
      anchorTerm: undefined,
      via: null,
      problems: [{ code: 'no-log', message: 'no log summary (an `inspect --json` of an older version: run it again on that host)' }],
    };
  }
  const last = l.lastIndex;
  const res: LogCheck = {
    lastIndex: last,
    lastTerm: last === undefined ? undefined : termIn(l, last),
    anchorTerm: termIn(l, anchor.index),
    via: null,
    problems: [],
  };
  if (last === undefined) {
    res.problems.push({ code: 'no-log', message: 'the replica has no log on this host' });
    return res;
  }
  const E = anchor.index;
  let given: LogProblem | undefined;
  if (res.anchorTerm !== undefined && res.anchorTerm !== anchor.term) {
    given = {
      code: 'diverged',
      message:
        `diverged: it holds term ${res.anchorTerm} at index ${E} where the export has term ${anchor.term}, so its entries after ${E} ` +
        'do not continue the exported history (ErrLogDiverged)',
      index: E,
    };
  } else if (last <= E) {
    given = { code: 'short', message: `its log ends at ${last}: no entry past the export's index ${E}`, index: last };
  } else if (res.anchorTerm === undefined) {
    const hole = firstHole(l, E, E);
    given = {
      code: 'not-contiguous',
      message: `not contiguous: it holds neither an entry nor a snapshot record at the export's index ${E} (entry ${E} is ${hole?.why ?? 'missing'})`,
      index: E,
    };
  } else {
    given = suffixProblem(l, anchor, "the export's index");
  }
  if (!given) {
    res.via = 'given-export';
    res.base = { index: anchor.index, term: anchor.term };
    return res;
  }
  res.problems.push(given);
  if (own && own.index > E) {
    const p = own.unusable
      ? { code: 'own-snapshot', message: `its own snapshot at ${own.index} cannot be exported: ${own.unusable}`, index: own.index }
      : suffixProblem(l, own, 'its own snapshot at');
    if (!p) {
      res.via = 'own-export';
      res.base = { index: own.index, term: own.term };
      res.problems = [];
      return res;
    }
    res.problems.push({ ...p, message: `through its own snapshot at ${own.index}: ${p.message}` });
  }
  return res;
}

/** A host competing to be the survivor. */
export interface Candidate {
  replicaId: bigint;
  check: LogCheck;
}

/**
 * The survivor: among the hosts whose log qualifies, the most up-to-date
 * log in Raft's sense (the higher last term, then the higher last index —
 * the log a new leader would have needed, so every entry any of them could
 * have had committed is in it); on a tie the one reusing the given export,
 * then the lower replica ID. Undefined when none qualifies.
 */
export function chooseSurvivor<C extends Candidate>(candidates: readonly C[]): C | undefined {
  let best: C | undefined;
  const key = (c: C): [bigint, bigint, number, bigint] => [
    c.check.lastTerm ?? 0n,
    c.check.lastIndex ?? 0n,
    c.check.via === 'given-export' ? 1 : 0,
    -c.replicaId,
  ];
  for (const c of candidates) {
    if (c.check.via === null) continue;
    if (best === undefined) {
      best = c;
      continue;
    }
    const a = key(c);
    const b = key(best);
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > b[i]!) {
        best = c;
        break;
      }
      if (a[i]! < b[i]!) break;
    }
  }
  return best;
}

/** What the minimal-loss repair keeps and loses of one host's entries past the given export. */
export interface HostLoss {
  /** Its own entries past the export that the carried log holds identically (same index and term). */
  kept: IndexRange | undefined;
  /** Its own entries from the first one the carried log does not hold identically to its last. */
  lost: IndexRange | undefined;
}

/**
 * Splits a host's entries past `exportIndex` into kept and lost against the
 * carried log: the survivor's snapshot at `base` then its entries to its
 * last index. By Raft's log matching rule two entries with the same index and
 * term are the same entry with the same history, so the first index where the
 * terms differ (or where the survivor's log ends) starts what is lost; where
 * the survivor's term is unknown below its snapshot, the host's entry counts
 * as kept (the snapshot holds the committed state there).
 */
export function hostLoss(host: LogSummary | undefined, exportAnchor: { index: bigint; term: bigint }, survivor: LogSummary): HostLoss {
  if (host?.lastIndex === undefined || host.lastIndex <= exportAnchor.index) return { kept: undefined, lost: undefined };
  const E = exportAnchor.index;
  const hostLast = host.lastIndex;
  const survLast = survivor.lastIndex ?? E;
  const start = host.firstIndex !== undefined && host.firstIndex > E + 1n ? host.firstIndex : E + 1n;
  let differs: bigint | undefined;
  const atE = termIn(host, E);
  if (atE !== undefined && atE !== exportAnchor.term) differs = E + 1n;
  else {
    let to = survLast;
    if (hostLast < to) to = hostLast;
    differs = firstDifference(host, survivor, start, to);
  }
  if (differs === undefined && hostLast > survLast) differs = survLast + 1n;
  const keptLast = differs === undefined ? hostLast : differs - 1n;
  return {
    kept: keptLast >= start ? { first: start, last: keptLast } : undefined,
    lost: differs !== undefined ? { first: differs < start ? start : differs, last: hostLast } : undefined,
  };
}

/** Boundaries where either log's term (or knowledge of it) may change. */
function breakpoints(l: LogSummary): bigint[] {
  const out: bigint[] = [];
  for (const [from] of l.termRuns) out.push(from);
  for (const r of [...l.gaps, ...l.undecodable]) out.push(r.first, r.last + 1n);
  if (l.firstIndex !== undefined) out.push(l.firstIndex);
  if (l.lastIndex !== undefined) out.push(l.lastIndex + 1n);
  if (l.holesTruncatedAt !== undefined) out.push(l.holesTruncatedAt);
  if (l.snapshot) out.push(l.snapshot.index, l.snapshot.index + 1n);
  return out;
}

/** The first index in `from..to` where both logs know their term and the terms differ (segment-wise, not per entry). */
function firstDifference(a: LogSummary, b: LogSummary, from: bigint, to: bigint): bigint | undefined {
  if (from > to) return undefined;
  // Between two consecutive breakpoints both terms are constant, so checking each segment's first index suffices.
  const points = [...new Set([from, ...breakpoints(a), ...breakpoints(b)].filter((p) => p >= from && p <= to))].sort((x, y) =>
    x < y ? -1 : x > y ? 1 : 0,
  );
  for (const p of points) {
    const ta = termIn(a, p);
    const tb = termIn(b, p);
    if (ta !== undefined && tb !== undefined && ta !== tb) return p;
  }
  return undefined;
}

/** The membership-change entries of `first..last` in the survivor's log: each is replaced by an empty entry at import. */
export function configChangesIn(l: LogSummary, first: bigint, last: bigint): { index: bigint; term: bigint }[] {
  return l.configChanges.filter((i) => i >= first && i <= last).map((index) => ({ index, term: termIn(l, index) ?? 0n }));
}

// --- the JSON form (`inspect --json`'s `log`, read back by `plan`) ---------------------------------

const rangeJson = (r: IndexRange): [string, string] => [r.first.toString(), r.last.toString()];

/**
 * The JSON form of a summary, as `inspect --json` prints it under `log`:
 * indexes and terms are decimal strings; `termRuns` `[[fromIndex, term], …]`;
 * `gaps` and `undecodable` `[[first, last], …]` (at most {@link HOLE_LIMIT}
 * each; `holesTruncatedAt` says from where nothing more is known).
 */
export function logSummaryJson(l: LogSummary): Record<string, unknown> {
  return {
    snapshotIndex: l.snapshot?.index.toString() ?? null,
    snapshotTerm: l.snapshot?.term.toString() ?? null,
    firstIndex: l.firstIndex?.toString() ?? null,
    lastIndex: l.lastIndex?.toString() ?? null,
    termRuns: l.termRuns.map(([i, t]) => [i.toString(), t.toString()]),
    gaps: l.gaps.map(rangeJson),
    undecodable: l.undecodable.map(rangeJson),
    holesTruncatedAt: l.holesTruncatedAt?.toString() ?? null,
    configChanges: l.configChanges.map(String),
  };
}

function big(v: unknown): bigint | undefined {
  return typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : undefined;
}

/** Reads {@link logSummaryJson}'s form back; undefined when `j` is not one (missing or malformed). */
export function parseLogSummary(j: unknown): LogSummary | undefined {
  if (j === null || typeof j !== 'object') return undefined;
  const o = j as Record<string, unknown>;
  const pairs = (v: unknown): [bigint, bigint][] | undefined => {
    if (!Array.isArray(v)) return undefined;
    const out: [bigint, bigint][] = [];
    for (const p of v) {
      if (!Array.isArray(p) || p.length !== 2) return undefined;
      const a = big(p[0]);
      const b = big(p[1]);
      if (a === undefined || b === undefined) return undefined;
      out.push([a, b]);
    }
    return out;
  };
  const opt = (v: unknown): bigint | undefined | null => (v === null ? undefined : (big(v) ?? null));
  const termRuns = pairs(o.termRuns);
  const gaps = pairs(o.gaps);
  const undecodable = pairs(o.undecodable);
  const configChanges = Array.isArray(o.configChanges) ? o.configChanges.map(big) : undefined;
  const snapshotIndex = opt(o.snapshotIndex);
  const snapshotTerm = opt(o.snapshotTerm);
  const firstIndex = opt(o.firstIndex);
  const lastIndex = opt(o.lastIndex);
  const holesTruncatedAt = opt(o.holesTruncatedAt ?? null);
  if (!termRuns || !gaps || !undecodable || !configChanges || configChanges.some((c) => c === undefined)) return undefined;
  if ([snapshotIndex, snapshotTerm, firstIndex, lastIndex, holesTruncatedAt].some((v) => v === null)) return undefined;
  return {
    snapshot:
      typeof snapshotIndex === 'bigint' && typeof snapshotTerm === 'bigint' ? { index: snapshotIndex, term: snapshotTerm } : undefined,
    firstIndex: firstIndex as bigint | undefined,
    lastIndex: lastIndex as bigint | undefined,
    termRuns,
    gaps: gaps.map(([first, last]) => ({ first, last })),
    undecodable: undecodable.map(([first, last]) => ({ first, last })),
    holesTruncatedAt: holesTruncatedAt as bigint | undefined,
    configChanges: configChanges as bigint[],
  };
}
