/**
 * `nodehost demo --setup <dir>`: the worked example as it stands before the
 * repair, laid out in a directory the reader keeps, and the guide's commands
 * to walk on it by hand, printed so that they run as they are pasted.
 */
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layOutWorkedExample, WORKED_EXAMPLE } from '../../ops/sample-node.js';
import type { LogDBType } from '../../nodehost/settings.js';
import type { CommandContext } from '../command.js';
import { noteDegraded } from './shared.js';

/** A word for /bin/sh: as it is when it needs no quoting, else single-quoted (the form plan's "run:" lines take). */
function quote(s: string): string {
  return /^[\w./:=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How the reader starts this CLI, as the README says it: `npx nodehost` from
 * an installed package (it finds the bin of a project's install and of a
 * global one alike), else, from a clone, `node <path of bin/nodehost.js>` —
 * relative when run from inside the clone (the printed lines stay short;
 * `relativeToCwd`: they must run from the working directory), absolute from
 * elsewhere. `root` is the package's directory.
 */
export function launcher(
  cwd = process.cwd(),
  root = fileURLToPath(new URL('../../../', import.meta.url)),
): { prefix: string; relativeToCwd: boolean } {
  if (`${sep}${root}${sep}`.includes(`${sep}node_modules${sep}`)) return { prefix: 'npx nodehost', relativeToCwd: false };
  const bin = join(root, 'bin', 'nodehost.js');
  const inside = relative(root, cwd);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)))
    return { prefix: `node ${quote(relative(cwd, bin))}`, relativeToCwd: true };
  return { prefix: `node ${quote(bin)}`, relativeToCwd: false };
}

/** Lays out the example in `dir` and prints what is there and the guide's commands. */
export async function runSetup(dir: string, logdbType: LogDBType, ctx: CommandContext): Promise<number> {
  const ex = WORKED_EXAMPLE;
  const lay = await layOutWorkedExample(dir, { logdbType });
  noteDegraded(ctx, lay.degraded);
  const { prefix, relativeToCwd } = launcher();
  const nh = (...words: string[]): string => `${prefix} ${words.map(quote).join(' ')}`;
  const cfg = lay.configFiles;
  const src = lay.exportDir;
  const snapDir = relative(lay.dir, src);
  const hex = basename(src).slice('snapshot-'.length);
  const members = ex.newMembers;
  // Where plan puts the survivor's undo: beside the export.
  const backup = join(lay.dir, 'export', `undo-shard-${ex.shardId}-replica-1`);
  const shard = ex.shardId.toString();

  const inspect = (host: 'm1' | 'm4' | 'm5', id: bigint): string =>
    nh('inspect', '--config', cfg[host], '--shard-id', shard, '--replica-id', id.toString());
  const importOn = (host: 'm1' | 'm4' | 'm5', id: bigint): string =>
    nh(
      'import',
      '--config',
      cfg[host],
      '--src',
      src,
      '--members',
      members,
      '--replica-id',
      id.toString(),
      ...(host === 'm1' ? ['--backup', backup, '--yes'] : []),
    );
  const steps = {
    before: inspect('m1', 1n),
    verify: nh('verify', src),
    plan: nh('plan', '--src', src, '--members', members, '--config', cfg.m1, '--config', cfg.m4, '--config', cfg.m5),
    imports: ex.newHosts.map(([h, id]) => importOn(h, id)),
    inspects: ex.newHosts.map(([h, id]) => inspect(h, id)),
  };
  const exportCmd = nh('export', '--config', cfg.m1, '--shard-id', shard, '--replica-id', '1', '--dest', join(lay.dir, 'export'));
  const undo = nh('restore-backup', backup, '--config', cfg.m1);

  const p = (s = ''): void => ctx.print(s);
  const run = (c: string): void => p(`   $ ${c}`);
  p(`The worked example before its repair, in ${lay.dir} (log store ${logdbType}):`);
  p(
    `  m1.json  m1, the survivor: shard ${shard} replica 1 in m1/nodehost, entries 1..${ex.lastIndex}, ` +
      `snapshot index ${ex.snapshotIndex}, term ${ex.term}`,
  );
  p('  m4.json  m4, a fresh host for replica 4 (m4/nodehost: made by the import)');
  p('  m5.json  m5, a fresh host for replica 5 (m5/nodehost: made by the import)');
  p(`  ${snapDir}  m1's snapshot, exported by the code \`nodehost export\` runs (with nodehost.manifest.json)`);
  p(`  m2 and m3 are lost: nothing of them is here. The shard has lost its quorum.`);
  p(`  (${basename(src)}: the index in 16 hexadecimal digits, 0x${hex.replace(/^0+/, '')} = ${BigInt(`0x${hex}`)}.)`);
  p();
  p(`Walk the README's Operator's guide on it${relativeToCwd ? ` (run the commands from ${process.cwd()})` : ''}:`);
  p('1. Stop the NodeHost on every involved host: none runs here. What the survivor holds now:');
  run(steps.before);
  p('2. Get an export: done; this command made it (run again it refuses: the export exists):');
  p(`     ${exportCmd}`);
  p('   Verify it:');
  run(steps.verify);
  p('3. Plan: nothing is written.');
  run(steps.plan);
  p(`4. Import on each host, with the same export and member map everywhere (m1 first saves what it replaces):`);
  for (const c of steps.imports) run(c);
  p("5. Check each host: the fingerprint must match the plan's.");
  for (const c of steps.inspects) run(c);
  p('6. Restart the NodeHosts on m1, m4 and m5: there are none here; the repair ends at step 5.');
  p("Undo m1's import, before its NodeHost has run again:");
  p(`     ${undo}`);
  ctx.result({
    dir: lay.dir,
    logdbType,
    configFiles: cfg,
    exportDir: src,
    members,
    engine: lay.engine,
    commands: [steps.before, steps.verify, steps.plan, ...steps.imports, ...steps.inspects],
    export: exportCmd,
    undo,
  });
  return 0;
}
