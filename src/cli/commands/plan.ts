/** `nodehost plan --src <export> --members "…" --config <host.json | inspect.json> [--config …]` */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrUsage } from '../../errors.js';
import { planRecovery, type InspectJson, type PlanHost, type PlanResult } from '../../ops/plan.js';
import type { IndexRange, LogCheck } from '../../ops/survivor.js';
import { requireString, type Command, type CommandContext, type Invocation } from '../command.js';
import { plainJson } from '../present.js';
import { membersText, membershipText } from './describe.js';
import { membersOption } from './import.js';
import { engineChoice, loadConfig } from './shared.js';

async function hostsFrom(paths: string[]): Promise<PlanHost[]> {
  const hosts: PlanHost[] = [];
  for (const path of paths) {
    let j: unknown;
    try {
      j = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      // Missing, unreadable or not JSON: the configuration loader says which, with the same code as every other command.
      await loadConfig(path);
      throw new ErrUsage(`--config ${path}: not a NodeHost configuration or an \`inspect --json\` output`);
    }
    // An `inspect --json` output (its last line) is accepted as well as a NodeHost configuration.
    const o = j as Record<string, unknown> | null;
    if (o !== null && typeof o === 'object' && typeof o.replicaId === 'string' && typeof o.shardId === 'string') {
      hosts.push({ kind: 'view', view: o as unknown as InspectJson, source: path });
    } else {
      // Absolute in the printed command line: it is run later, from another directory or shell.
      hosts.push({ kind: 'config', config: await loadConfig(path), configPath: resolve(path) });
    }
  }
  return hosts;
}

function describePlan(p: PlanResult, ctx: CommandContext): void {
  ctx.print(`Recovery plan for shard ${p.shardId} from ${p.exportDir}`);
  ctx.print(`  snapshot index ${p.index}, term ${p.term}; the snapshot's ${membershipText(p.snapshotMembership)}`);
  ctx.print(
    `  new members  {${membersText(p.members)}}${p.removedReplicas.length ? `; removes replicas ${p.removedReplicas.join(', ')} (they must never restart)` : ''}`,
  );
  ctx.print(`  fingerprint  ${p.fingerprint}  (import prints it, inspect shows it: every host must agree)`);
  for (const pr of p.problems) ctx.print(`  ! ${pr.code}: ${pr.message}`);
  for (const h of p.hosts) {
    ctx.print('');
    ctx.print(`  ${h.host}  replica ${h.replicaId ?? '?'}  [${h.status}]`);
    if (h.error) ctx.print(`    ! ${h.error.code}: ${h.error.message}`);
    ctx.print(`    ${h.hasState ? 'has state that the import overwrites' : 'no existing state'}`);
    if (h.discardedEntries) {
      const d = h.discardedEntries;
      const term =
        d.term !== undefined
          ? `, term ${d.term}${d.lastTerm !== undefined && d.lastTerm !== d.term ? `..${d.lastTerm}` : ''}`
          : d.lastTerm !== undefined
            ? `, term ${d.lastTerm}`
            : '';
      ctx.print(`    loses entries ${d.first}..${d.last} on ${h.host}${term}`);
    }
    if (h.discardedSnapshotIndex !== undefined) ctx.print(`    loses its newer snapshot at index ${h.discardedSnapshotIndex}`);
    if (h.logSuffix) ctx.print(`    log: ${logCheckText(h.logSuffix)}`);
    for (const w of h.warnings) ctx.print(`    note: ${w}`);
    if (h.command) ctx.print(`    run: ${h.command}`);
  }
  if (p.uncoveredMembers.length) {
    ctx.print('');
    ctx.print(`  Members with no host given here (run the import there too): ${p.uncoveredMembers.join(', ')}`);
  }
  describeMinimalLoss(p, ctx);
  ctx.print('');
  ctx.print(
    p.ok
      ? `Plan OK: stop every NodeHost, run the commands above (${p.minimalLoss ? 'the minimal-loss repair or the reference one' : 'the reference repair'}), then restart.`
      : 'Plan FAILED: fix the problems above first.',
  );
}

const range = (r: IndexRange): string => (r.first === r.last ? `${r.first}` : `${r.first}..${r.last}`);

function logCheckText(c: LogCheck): string {
  const reach = c.lastIndex === undefined ? '' : `reaches ${c.lastIndex}${c.lastTerm !== undefined ? `, term ${c.lastTerm}` : ''}; `;
  if (c.via === 'given-export') return `${reach}can give the entries after the export (it holds the export's index and term)`;
  if (c.via === 'own-export') return `${reach}can give its log through its own newer snapshot at ${c.base!.index}`;
  if (c.lastIndex === undefined && c.problems.length === 1 && c.problems[0]!.code === 'no-log') return `none (${c.problems[0]!.message})`;
  return `${reach}cannot give the log suffix: ${c.problems.map((x) => x.message).join('; ')}`;
}

/** The minimal-loss repair (docs/log-suffix.md) after the reference one: survivor, per-host losses, neutralised entries, commands. */
function describeMinimalLoss(p: PlanResult, ctx: CommandContext): void {
  ctx.print('');
  const m = p.minimalLoss;
  if (!m) {
    ctx.print('  Minimal-loss repair: not available (the commands above are the only repair):');
    for (const r of p.minimalLossReasons) ctx.print(`    - ${r}`);
    return;
  }
  const via =
    m.source === 'given-export'
      ? `after the given export's snapshot at ${m.snapshotIndex}`
      : `with its own newer snapshot at ${m.snapshotIndex} (term ${m.snapshotTerm}), which replaces the given export`;
  ctx.print(
    `  Minimal-loss repair: carry the log of ${m.survivor.host} (replica ${m.survivor.replicaId}), entries ${m.firstIndex}..${m.lastIndex} (last term ${m.lastTerm}), ${via}`,
  );
  ctx.print(`    survivor rule: ${m.rule}`);
  if (m.neutralized.length) {
    ctx.print(
      `    membership changes the import replaces by empty entries: ${m.neutralized.map((n) => `${n.index} (term ${n.term})`).join(', ')}`,
    );
  }
  for (const h of m.hosts) {
    const lost = h.unknown ? `unknown (${h.unknown})` : h.lost ? `its entries ${range(h.lost)}` : 'nothing';
    const kept = h.kept ? `keeps its entries ${range(h.kept)}, ` : '';
    const snap = h.lostSnapshotIndex !== undefined ? `; its newer snapshot at ${h.lostSnapshotIndex}` : '';
    const ref = h.referenceLost ? `  (the reference repair loses ${range(h.referenceLost)})` : '';
    ctx.print(`    ${h.host}  replica ${h.replicaId}: ${kept}loses ${lost}${snap}${ref}`);
  }
  ctx.print(`    1. on ${m.survivor.host}, its NodeHost stopped, export the snapshot with the log to ${m.exportDir}:`);
  ctx.print(`      run: ${m.exportCommand}`);
  ctx.print(`    2. copy ${m.exportDir} to the same path on every host, then on each:`);
  for (const h of m.hosts) ctx.print(`      run: ${h.command}`);
  ctx.print(
    m.fingerprint
      ? `    fingerprint  ${m.fingerprint} (it names the carried log too: every import prints it, inspect shows it before the restart)`
      : "    The import prints the repair's fingerprint (it names the carried log too): every host must agree.",
  );
}

/** Runs `nodehost plan` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext, cmd: Command): Promise<number> {
  const src = requireString(inv, 'src', cmd);
  const members = membersOption(inv, cmd);
  const configs = (inv.values.config as string[] | undefined) ?? [];
  const plan = await planRecovery(src, members, await hostsFrom(configs), { engine: engineChoice(inv) });
  describePlan(plan, ctx);
  const json = plainJson({ ...plan, hosts: plan.hosts.map(({ dryRun: _d, ...h }) => h) }) as Record<string, unknown>;
  if (ctx.json) {
    const first = plan.problems[0] ?? plan.hosts.find((h) => h.error)?.error;
    const error = first ? { error: { code: first.code, message: `the plan failed: ${first.message}` } } : {};
    ctx.io.stdout.write(JSON.stringify({ ok: plan.ok, ...error, plan: json }) + '\n');
  }
  return plan.ok ? 0 : 1;
}
