/** The survivor rules on hand-made log summaries: anchors, holes, term order, the choice and its tie-breaks, losses. */
import { describe, expect, it } from 'vitest';
import {
  checkLog,
  chooseSurvivor,
  configChangesIn,
  hostLoss,
  type LogSummary,
  logSummaryJson,
  parseLogSummary,
  termIn,
} from '../../src/ops/survivor.js';

const ANCHOR = { index: 400n, term: 5n };

/** A log from `first` to `last` with term runs, optional holes and snapshot. */
function log(first: bigint, last: bigint, runs: [bigint, bigint][], extra: Partial<LogSummary> = {}): LogSummary {
  return {
    snapshot: undefined,
    firstIndex: first,
    lastIndex: last,
    termRuns: runs,
    gaps: [],
    undecodable: [],
    holesTruncatedAt: undefined,
    configChanges: [],
    ...extra,
  };
}

describe('checkLog', () => {
  it('qualifies a log holding the anchor and every entry after it, terms never going back', () => {
    expect(checkLog(log(300n, 620n, [[300n, 5n]]), ANCHOR)).toMatchObject({ via: 'given-export', lastIndex: 620n, lastTerm: 5n });
    // The anchor from a snapshot record at exactly the export's index, entries from the next one.
    const fromSnap = log(401n, 620n, [[401n, 6n]], { snapshot: { index: 400n, term: 5n } });
    expect(checkLog(fromSnap, ANCHOR)).toMatchObject({ via: 'given-export', anchorTerm: 5n, lastTerm: 6n });
  });

  it('refuses and says where: diverged, compacted, a gap, an undecodable entry, a term going back, too short', () => {
    const why = (l: LogSummary) => checkLog(l, ANCHOR).problems.map((p) => [p.code, p.index, p.message]);
    expect(why(log(300n, 620n, [[300n, 4n]]))[0]).toEqual(['diverged', 400n, expect.stringMatching(/term 4 at index 400/)]);
    expect(why(log(410n, 620n, [[410n, 5n]]))[0]).toEqual([
      'not-contiguous',
      400n,
      expect.stringMatching(/compacted \(its first entry is 410\)/),
    ]);
    const gap = log(300n, 620n, [[300n, 5n]], { gaps: [{ first: 450n, last: 460n }] });
    expect(why(gap)[0]).toEqual(['not-contiguous', 450n, expect.stringMatching(/entries 450\.\.460 are missing/)]);
    const bad = log(300n, 620n, [[300n, 5n]], { undecodable: [{ first: 500n, last: 500n }] });
    expect(why(bad)[0]).toEqual(['not-contiguous', 500n, expect.stringMatching(/entry 500 is not decodable/)]);
    const back = log(300n, 620n, [
      [300n, 5n],
      [500n, 6n],
      [550n, 5n],
    ]);
    expect(why(back)[0]).toEqual(['term-order', 550n, expect.stringMatching(/entry 550 has term 5, below 6/)]);
    expect(why(log(300n, 400n, [[300n, 5n]]))[0]!.slice(0, 2)).toEqual(['short', 400n]);
    // A gap before the anchor does not matter.
    expect(checkLog(log(300n, 620n, [[300n, 5n]], { gaps: [{ first: 350n, last: 360n }] }), ANCHOR).via).toBe('given-export');
  });

  it('falls back to its own newer snapshot, unless that cannot be exported', () => {
    const l = log(480n, 650n, [[480n, 5n]], { snapshot: { index: 500n, term: 5n } });
    expect(checkLog(l, ANCHOR, { index: 500n, term: 5n })).toMatchObject({ via: 'own-export', base: { index: 500n, term: 5n } });
    const r = checkLog(l, ANCHOR, { index: 500n, term: 5n, unusable: 'an on-disk state machine' });
    expect(r.via).toBeNull();
    expect(r.problems.map((p) => p.code)).toEqual(['not-contiguous', 'own-snapshot']);
  });
});

describe('chooseSurvivor', () => {
  const c = (replicaId: bigint, lastIndex: bigint, lastTerm: bigint, via: 'given-export' | 'own-export' | null = 'given-export') => ({
    replicaId,
    check: { lastIndex, lastTerm, anchorTerm: 5n, via, problems: [] },
  });
  it('the most up-to-date log in Raft terms: the last term first, then the last index', () => {
    expect(chooseSurvivor([c(1n, 620n, 5n), c(4n, 550n, 6n)])!.replicaId).toBe(4n);
    expect(chooseSurvivor([c(1n, 620n, 5n), c(4n, 500n, 5n), c(5n, 900n, 7n, null)])!.replicaId).toBe(1n);
  });
  it('tie: the one reusing the given export, then the lower replica ID', () => {
    expect(chooseSurvivor([c(1n, 620n, 5n, 'own-export'), c(4n, 620n, 5n)])!.replicaId).toBe(4n);
    expect(chooseSurvivor([c(6n, 620n, 5n), c(4n, 620n, 5n)])!.replicaId).toBe(4n);
    expect(chooseSurvivor([c(6n, 620n, 5n, null)])).toBeUndefined();
  });
});

describe('hostLoss', () => {
  const survivor = log(300n, 620n, [
    [300n, 5n],
    [501n, 6n],
  ]);
  it('keeps what the survivor holds identically, loses from the first differing term and past its last index', () => {
    // Its 501..520 are of term 5, the survivor's of term 6: different entries.
    expect(hostLoss(log(300n, 520n, [[300n, 5n]]), ANCHOR, survivor)).toEqual({
      kept: { first: 401n, last: 500n },
      lost: { first: 501n, last: 520n },
    });
    expect(
      hostLoss(
        log(300n, 700n, [
          [300n, 5n],
          [501n, 6n],
        ]),
        ANCHOR,
        survivor,
      ),
    ).toEqual({ kept: { first: 401n, last: 620n }, lost: { first: 621n, last: 700n } });
    // Diverged at the anchor: everything after it.
    expect(hostLoss(log(300n, 450n, [[300n, 4n]]), ANCHOR, survivor)).toEqual({ kept: undefined, lost: { first: 401n, last: 450n } });
    expect(hostLoss(undefined, ANCHOR, survivor)).toEqual({ kept: undefined, lost: undefined });
    expect(hostLoss(log(300n, 400n, [[300n, 5n]]), ANCHOR, survivor)).toEqual({ kept: undefined, lost: undefined });
  });
});

describe('the JSON form', () => {
  it('round-trips, and a malformed one is refused', () => {
    const l = log(
      300n,
      620n,
      [
        [300n, 5n],
        [501n, 6n],
      ],
      { snapshot: { index: 400n, term: 5n }, gaps: [{ first: 350n, last: 351n }], configChanges: [450n] },
    );
    const j = JSON.parse(JSON.stringify(logSummaryJson(l)));
    expect(j.termRuns).toEqual([
      ['300', '5'],
      ['501', '6'],
    ]);
    expect(parseLogSummary(j)).toEqual(l);
    expect(parseLogSummary({ ...j, termRuns: [['x', '1']] })).toBeUndefined();
    expect(parseLogSummary(undefined)).toBeUndefined();
    expect(termIn(l, 350n)).toBeUndefined();
    expect(termIn(l, 600n)).toBe(6n);
    expect(configChangesIn(l, 401n, 620n)).toEqual([{ index: 450n, term: 5n }]);
  });
});
