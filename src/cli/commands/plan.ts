/** `nodehost plan --src <export> --members "…" --config <host.json | inspect.json> [--config …]` */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrUsage } from '../../errors.js';
import { planRecovery, type InspectJson, type PlanHost, type PlanResult } from '../../ops/plan.js';
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
    for (const w of h.warnings) ctx.print(`    note: ${w}`);
    if (h.command) ctx.print(`    run: ${h.command}`);
  }
  if (p.uncoveredMembers.length) {
    ctx.print('');
    ctx.print(`  Members with no host given here (run the import there too): ${p.uncoveredMembers.join(', ')}`);
  }
  ctx.print('');
  ctx.print(p.ok ? 'Plan OK: stop every NodeHost, run the commands above, then restart.' : 'Plan FAILED: fix the problems above first.');
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
