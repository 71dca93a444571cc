/** `nodehost import --config <file> --src <dir> --members "1=a,4=b" --replica-id N` */
import { ErrInvalidMembers, ErrUsage } from '../../errors.js';
import { MEMBER_SYNTAX_CHECKS, parseMemberList } from '../../ops/members.js';
import { importMany, loadImportManifest, type ManyResult } from '../../ops/import-many.js';
import { asWriter, interruptSignal } from '../interrupt.js';
import { importSnapshot, type ImportPhase, type ImportResult, type NodeRecordsView } from '../../ops/import.js';
import { parseId, requireString, type Command, type CommandContext, type Invocation } from '../command.js';
import { bootstrapJson, plainJson, raftStateJson, snapshotJson, stateMachineTypeJson } from '../present.js';
import { formatBytes } from '../progress.js';
import { membersText, membershipText, snapshotText } from './describe.js';
import { configPath, engineChoice, loadConfig, noteDegraded, progressFor } from './shared.js';
import { selectEngine } from '../../engines/select.js';
import { StateMachineType } from '../../records/types.js';

/**
 * Parses `--members "1=m1:7001,4=m4:7001"`. A list that does not parse into
 * replica IDs and addresses is a usage error (exit 2); a list that parses
 * but breaks a membership rule (an address that is not a RaftAddress, two
 * replicas on one address) keeps its ErrInvalidMembers, as the library
 * reports it (exit 1).
 */
export function parseMembers(text: string): Map<bigint, string> {
  try {
    return parseMemberList(text);
  } catch (err) {
    if (err instanceof ErrInvalidMembers && MEMBER_SYNTAX_CHECKS.has(String(err.details.check))) {
      throw new ErrUsage(`--members: ${err.message}`, err.details);
    }
    throw err;
  }
}

/**
 * The `--members` option: required, but an empty value is given (and is
 * reported as an empty list by the parser), not missing.
 */
export function membersOption(inv: Invocation, cmd: Command): Map<bigint, string> {
  const v = inv.values.members;
  return typeof v === 'string' ? parseMembers(v) : parseMembers(requireString(inv, 'members', cmd));
}

function recordsLines(r: NodeRecordsView): string[] {
  const out: string[] = [];
  out.push(
    `    bootstrap    ${r.bootstrap ? `join=${r.bootstrap.join}, type ${StateMachineType[r.bootstrap.type]}, addresses {${membersText(r.bootstrap.addresses)}}` : '(none)'}`,
  );
  out.push(
    `    raft state   ${r.raftState ? `term ${r.raftState.term}, vote ${r.raftState.vote}, commit ${r.raftState.commit}` : '(none)'}`,
  );
  out.push(`    snapshot     ${r.snapshot ? snapshotText(r.snapshot) : '(none)'}`);
  if (r.snapshot) out.push(`    membership   ${membershipText(r.snapshot.membership)}`);
  out.push(`    max index    ${r.maxIndex ?? '(none)'}`);
  const e = r.plainEntries ?? (r.entryBatches ? { first: r.entryBatches.first * 48n, last: r.entryBatches.last * 48n + 47n } : undefined);
  out.push(`    entries      ${e ? `stored ${e.first}..${e.last}` : '(none)'}`);
  return out;
}

function describe(res: ImportResult, ctx: CommandContext): void {
  const head = res.dryRun ? 'DRY RUN: nothing was written. The import would:' : 'Imported.';
  ctx.print(head);
  ctx.print(`  shard ${res.shardId} replica ${res.replicaId}: snapshot index ${res.index}, term ${res.term}`);
  ctx.print(
    `  members      {${membersText(res.members)}}${res.removedReplicas.length ? `; removed replicas ${res.removedReplicas.join(', ')}` : ''}`,
  );
  ctx.print(
    `  config change ID ${res.configChangeId.value} (${res.configChangeId.policy}; the reference would write ${res.configChangeId.reference})`,
  );
  ctx.print(`  snapshot dir ${res.snapshotDir}`);
  for (const f of res.files) ctx.print(`    ${f.how.padEnd(7)} ${f.name} (${formatBytes(Number(f.bytes))})`);
  for (const l of logSuffixLines(res)) ctx.print(l);
  ctx.print('  before:');
  for (const l of recordsLines(res.before)) ctx.print(l);
  ctx.print('  after:');
  for (const l of recordsLines({
    ...res.after,
    hasState: true,
    snapshotIndexes: [res.index],
    plainEntries: res.logSuffix ? { first: res.logSuffix.firstIndex, last: res.logSuffix.lastIndex } : undefined,
    entryBatches: undefined,
  }))
    ctx.print(l);
  if (res.removedSnapshotDirs.length) {
    ctx.print(`  ${res.dryRun ? 'would remove' : 'removed'} snapshot dirs: ${res.removedSnapshotDirs.join(', ')}`);
  }
  if (res.staleEntries) {
    // On Pebble the commit's range tombstone covers the replica's old entries, the carried ones included, which the
    // same batch writes again after it: say so, or the line reads as if the log suffix were gone.
    const again = res.logSuffix ? `; ${res.logSuffix.firstIndex}..${res.logSuffix.lastIndex} written again from the log suffix` : '';
    ctx.print(`  stale entries removed: ${describeStaleEntries(res.staleEntries)}${again}`);
  }
  for (const d of res.dataStatus) if (d.outcome !== 'ok') ctx.print(`  ${d.outcome} ${d.path}`);
  if (res.backup)
    ctx.print(`  backup       ${res.backup.dir} (undo: nodehost restore-backup ${res.backup.dir} --config <this host's config>)`);
  ctx.print(`  fingerprint  ${res.fingerprint} (must be the same on every host of this repair)`);
}

/** The carried log suffix and every entry it neutralised. */
export function logSuffixLines(res: ImportResult): string[] {
  const l = res.logSuffix;
  if (!l) return [];
  const s = l.survivor;
  return [
    `  log suffix   entries ${l.firstIndex}..${l.lastIndex} (${l.entryCount}, last term ${l.lastTerm}) ` +
      `${res.dryRun ? 'would be' : 'were'} written after the snapshot; from replica ${s.replicaId} (${s.raftAddress}, ${s.nodeHostDir}), sha256 ${l.sha256}`,
    ...l.neutralized.map((n) => `    entry ${n.index} (term ${n.term}): membership change replaced by an empty entry`),
  ];
}

/** "421 plain, 0 batches" where the store counted them, else the removed index spans. */
function describeStaleEntries(st: NonNullable<ImportResult['staleEntries']>): string {
  if (st.plainEntriesRemoved !== undefined && st.entryBatchesRemoved !== undefined) {
    return `${st.plainEntriesRemoved} plain, ${st.entryBatchesRemoved} batches`;
  }
  const spans = [
    st.plainEntries && `entries ${st.plainEntries.first}..${st.plainEntries.last}`,
    st.entryBatches && `entry batches ${st.entryBatches.first}..${st.entryBatches.last}`,
  ].filter(Boolean);
  return spans.length ? `${spans.join(', ')} (range tombstones)` : 'none';
}

/** Runs `nodehost import` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext, cmd: Command): Promise<number> {
  if (inv.values.manifest !== undefined) return runManifest(inv, ctx);
  // Every usage error first (exit 2), before any file is read.
  const configFile = configPath(inv, 'import');
  const backupDir = inv.values.backup as string | undefined;
  const src = requireString(inv, 'src', cmd);
  const members = membersOption(inv, cmd);
  const replicaId = parseId(requireString(inv, 'replica-id', cmd), '--replica-id');
  const ccid = inv.values['config-change-id'] ?? 'preserve';
  if (ccid !== 'preserve' && ccid !== 'snapshot-index') {
    throw new ErrUsage(`--config-change-id must be preserve or snapshot-index, got "${String(ccid)}"`);
  }
  const choice = engineChoice(inv);
  const dryRun = inv.values['dry-run'] === true;
  const config = await loadConfig(configFile);
  // Chosen here so that the note about a missing native engine comes before the work, not after it.
  const { engine, degraded } = selectEngine(choice);
  noteDegraded(ctx, degraded);
  const progress = progressFor(inv, ctx);
  // Only the copy (or, in a dry run, the verification) moves bytes; the other phases are instant.
  const onProgress =
    (label: string) =>
    (phase: ImportPhase, d: number, t: number): void => {
      if (phase === 'copy' || phase === 'verify') progress.update(phase === 'verify' ? 'verify' : label, d, t);
    };
  const ignoreLog = inv.values['ignore-log'] === true;
  const base = { engine, configChangeId: ccid, ...(backupDir ? { backupDir } : {}), ...(ignoreLog ? { ignoreLog } : {}) } as const;

  try {
    if (!dryRun && inv.values.yes !== true && ctx.io.stdin.isTTY === true) {
      const { backupDir: _b, ...previewBase } = base as { backupDir?: string };
      const preview = await importSnapshot(config, src, members, replicaId, {
        ...previewBase,
        engine,
        dryRun: true,
        onProgress: onProgress('verify'),
      });
      if (preview.before.hasState) {
        progress.finishLine();
        ctx.warn(`Shard ${preview.shardId} replica ${preview.replicaId} in ${preview.nodeHostDir} has state that the import overwrites:`);
        for (const l of recordsLines(preview.before)) ctx.warn(l);
        for (const w of preview.warnings) ctx.warn(`  ! ${w.message}`);
        for (const l of logSuffixLines(preview)) ctx.warn(l);
        if (preview.removedSnapshotDirs.length) ctx.warn(`  ! snapshot directories removed: ${preview.removedSnapshotDirs.join(', ')}`);
        // On a terminal, ask (y/N); --json is for scripts, which say --yes. No answer (end of input) is a no.
        const confirmed =
          !ctx.json &&
          ctx.io.stderr.isTTY === true &&
          (await askYesNo(
            ctx,
            `Overwrite shard ${preview.shardId} replica ${preview.replicaId} on this host${backupDir ? ` (backup first to ${backupDir})` : ''}? [y/N] `,
          ));
        if (!confirmed) {
          throw new ErrUsage(
            'refusing to overwrite without confirmation: review the above and answer y, or rerun with --yes ' +
              '(or --dry-run to see the whole before/after)',
          );
        }
      }
    }
    // SIGINT/SIGTERM stop a writing import at its next safe point (../interrupt.ts).
    const signal = interruptSignal();
    const options = { ...base, dryRun, ...(signal ? { signal } : {}), onProgress: onProgress(dryRun ? 'verify' : 'copy') };
    const res = await (dryRun
      ? importSnapshot(config, src, members, replicaId, options)
      : asWriter(() => importSnapshot(config, src, members, replicaId, options)));
    progress.finishLine();
    for (const w of res.warnings) ctx.warn(`warning: ${w.message}`);
    describe(res, ctx);
    const json = importResultJson(res);
    if (degraded) json.warnings = [{ code: 'degraded-engine', message: degraded }, ...res.warnings];
    ctx.result(json);
    return 0;
  } finally {
    progress.finishLine();
  }
}

/** Asks a yes/no question on stderr and reads one line of stdin: true for y or yes (any case), false otherwise or at end of input. */
async function askYesNo(ctx: CommandContext, question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr, terminal: false });
  try {
    const answer = await new Promise<string | undefined>((done) => {
      rl.once('close', () => done(undefined));
      rl.question(question, done);
    });
    if (answer === undefined) ctx.warn('');
    return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/** JSON form of an import result. */
export function importResultJson(res: ImportResult): Record<string, unknown> {
  const recs = (r: NodeRecordsView): Record<string, unknown> => ({
    bootstrap: r.bootstrap ? bootstrapJson(r.bootstrap) : null,
    raftState: r.raftState ? raftStateJson(r.raftState) : null,
    maxIndex: r.maxIndex?.toString() ?? null,
    snapshot: r.snapshot ? snapshotJson(r.snapshot) : null,
    snapshotIndexes: r.snapshotIndexes.map(String),
    plainEntries: plainJson(r.plainEntries),
    entryBatches: plainJson(r.entryBatches),
  });
  return {
    dryRun: res.dryRun,
    shardId: res.shardId.toString(),
    replicaId: res.replicaId.toString(),
    index: res.index.toString(),
    term: res.term.toString(),
    type: stateMachineTypeJson(res.type),
    members: plainJson(res.members),
    removedReplicas: res.removedReplicas.map(String),
    configChangeId: plainJson(res.configChangeId),
    engine: res.engine,
    nodeHostDir: res.nodeHostDir,
    partitionDir: res.partitionDir,
    snapshotDir: res.snapshotDir,
    before: recs(res.before),
    after: {
      bootstrap: bootstrapJson(res.after.bootstrap),
      raftState: raftStateJson(res.after.raftState),
      maxIndex: res.after.maxIndex.toString(),
      snapshot: snapshotJson(res.after.snapshot),
    },
    files: plainJson(res.files),
    removedSnapshotDirs: res.removedSnapshotDirs,
    staleEntries: plainJson(res.staleEntries),
    dataStatus: res.dataStatus.map((d) => ({ path: d.path, outcome: d.outcome })),
    warnings: res.warnings,
    fingerprint: res.fingerprint,
    ...(res.backup ? { backup: plainJson(res.backup) } : {}),
    logSuffix: res.logSuffix ? plainJson(res.logSuffix) : null,
  };
}

/** `import --manifest`: many shards on this host, one progress display, one summary. */
async function runManifest(inv: Invocation, ctx: CommandContext): Promise<number> {
  const configFile = configPath(inv, 'import');
  for (const single of ['src', 'members', 'replica-id', 'backup']) {
    if (inv.values[single] !== undefined)
      throw new ErrUsage(`import: --${single} cannot be combined with --manifest (give it per import in the manifest)`);
  }
  const concurrency = inv.values.concurrency === undefined ? 2 : Number(inv.values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new ErrUsage('--concurrency must be a whole number from 1 to 64');
  const choice = engineChoice(inv);
  const dryRun = inv.values['dry-run'] === true;
  const config = await loadConfig(configFile);
  const jobs = await loadImportManifest(inv.values.manifest as string);
  const { engine, degraded } = selectEngine(choice);
  noteDegraded(ctx, degraded);
  if (!dryRun && inv.values.yes !== true && ctx.io.stdin.isTTY === true) {
    throw new ErrUsage(
      `import --manifest overwrites ${jobs.length} replica(s) on this host: run it with --dry-run first, then rerun with --yes`,
    );
  }
  const progress = progressFor(inv, ctx);
  const done = new Map<number, number>();
  const totals = new Map<number, number>();
  let ended = 0;
  const show = (): void => {
    let sd = 0;
    let st = 0;
    for (const [j, v] of done) {
      sd += v;
      st += totals.get(j) ?? 0;
    }
    // The sizes of imports not started yet are unknown: the display completes only when every import has ended.
    if (ended < jobs.length && sd >= st) return;
    progress.update(`${dryRun ? 'verify' : 'copy'} (${jobs.length} imports)`, sd, st);
  };
  // SIGINT/SIGTERM stop a writing run at every job's next safe point (../interrupt.ts).
  const signal = interruptSignal();
  const many = (): Promise<ManyResult> =>
    importMany(config, jobs, {
      engine,
      concurrency,
      dryRun,
      ...(inv.values['ignore-log'] === true ? { ignoreLog: true } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (job, phase, d, t) => {
        if (phase !== 'copy' && phase !== 'verify') return;
        done.set(job, d);
        totals.set(job, t);
        show();
      },
      onJobDone: (o) => {
        ended++;
        // An import that ended (failed too) has no bytes left to move.
        if (totals.has(o.job)) done.set(o.job, totals.get(o.job)!);
        show();
        progress.finishLine();
        ctx.warn(
          `${o.ok ? 'ok    ' : 'FAILED'} #${o.job} shard ${o.shardId ?? '?'} replica ${o.replicaId} from ${o.src}` +
            (o.error ? `: ${o.error.code}: ${o.error.message}` : ''),
        );
      },
    });
  const res = await (dryRun ? many() : asWriter(many));
  progress.finishLine();
  const ok = res.outcomes.filter((o) => o.ok).length;
  ctx.print(`${dryRun ? 'Dry run: ' : ''}${ok} of ${jobs.length} import(s) succeeded.`);
  if (res.retry.length) ctx.print(`Retry (after fixing each error): manifest entries ${res.retry.join(', ')}`);
  if (ctx.json) {
    const outcomes = res.outcomes.map((o) => ({
      job: o.job,
      src: o.src,
      shardId: o.shardId?.toString() ?? null,
      replicaId: o.replicaId.toString(),
      ok: o.ok,
      ...(o.error ? { error: o.error } : {}),
      ...(o.result ? { result: importResultJson(o.result) } : {}),
    }));
    const first = res.outcomes.find((o) => !o.ok)?.error;
    ctx.io.stdout.write(
      JSON.stringify({
        ok: res.ok,
        ...(first
          ? { error: { code: first.code, message: `${res.retry.length} of ${jobs.length} import(s) failed; first: ${first.message}` } }
          : {}),
        outcomes,
        retry: res.retry,
      }) + '\n',
    );
  }
  return res.ok ? 0 : 1;
}
