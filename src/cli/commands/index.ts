/**
 * The CLI's commands, in the order `--help` lists them: names, help and
 * options only. Each command's code (and the library it needs: the log
 * store, protobuf, the engines) is loaded by a dynamic `import()` when that
 * command runs, so `--help`, a usage error or `--version` load nothing else.
 */
import { lazyRun, type Command } from '../command.js';
import { configOption, engineOption, nodeIdOptions, progressOptions } from './options.js';

const planCommand: Command = {
  name: 'plan',
  summary: 'pre-flight a repair: validate everything, show per host what import does and loses',
  usage:
    'nodehost plan --src <exported-dir> --members "1=m1:7001,4=m4:7001,5=m5:7001" --config <host.json> [--config <host.json|inspect.json> ...] [--json]',
  description:
    'Writes nothing. Give one --config per host you can reach (a NodeHost configuration), or the `inspect --json` ' +
    'output taken on a host you cannot. Exit 0 when the plan is sound, 1 when a host or the member map would fail.',
  options: {
    src: { type: 'string', arg: '<dir>', help: 'the exported snapshot directory' },
    members: { type: 'string', arg: '<list>', help: 'the new membership, replicaID=address pairs' },
    config: { type: 'string', multiple: true, arg: '<file>', help: 'a host: NodeHost configuration or inspect --json output (repeatable)' },
    ...engineOption,
  },
  run: lazyRun(() => import('./plan.js')),
};

const importCommand: Command = {
  name: 'import',
  summary: "import an exported snapshot onto this host's replica with a new membership (the repair)",
  usage:
    'nodehost import --config <file> --src <exported-dir> --members "1=m1:7001,4=m4:7001,5=m5:7001" --replica-id N [--backup <dir>] [--ignore-log] [--dry-run] [--yes] [--json]\n' +
    '       nodehost import --config <file> --manifest <imports.json> [--concurrency N] [--dry-run] [--yes] [--json]',
  description:
    'Stop the NodeHost first. Run on every host of the new membership with the same --src and --members. ' +
    'Everything is validated before anything is written; an interrupted import is safe to rerun. ' +
    'When stdin is a terminal and the node has state that will be overwritten, the import shows that state and asks (y/N); ' +
    'elsewhere (scripts, --json) --yes is required. ' +
    '--backup <dir> first saves what the import replaces; `nodehost restore-backup <dir>` undoes it. ' +
    '--manifest runs many imports on this host: {"imports": [{"shardId", "src", "members", "replicaId", "backupDir"?}, ...]}.',
  options: {
    ...configOption,
    src: { type: 'string', arg: '<dir>', help: 'the exported snapshot directory (snapshot-<INDEX>)' },
    members: { type: 'string', arg: '<list>', help: 'the new membership, replicaID=address pairs separated by commas' },
    'replica-id': { type: 'string', arg: '<N>', help: "the replica on this host (must be in --members with this host's RaftAddress)" },
    'dry-run': { type: 'boolean', help: 'validate everything and show the before/after of every record; write nothing' },
    yes: { type: 'boolean', short: 'y', help: "do not ask: overwrite the node's existing state (required off a terminal and with --json)" },
    'config-change-id': {
      type: 'string',
      arg: '<policy>',
      help: "preserve (default: the export's value) or snapshot-index (the reference's value)",
    },
    backup: {
      type: 'string',
      arg: '<dir>',
      help: 'first save everything the import replaces into this new directory (undo with restore-backup)',
    },
    manifest: { type: 'string', arg: '<file>', help: 'run the imports listed in this JSON file (many shards on this host)' },
    concurrency: { type: 'string', arg: '<N>', help: 'imports at once with --manifest (default 2)' },
    'ignore-log': {
      type: 'boolean',
      help: "import the snapshot alone, without the export's log suffix (log-suffix.nhlog): the reference's result",
    },
    ...engineOption,
    ...progressOptions,
  },
  run: lazyRun(() => import('./import.js')),
};

const verifyCommand: Command = {
  name: 'verify',
  summary: 'check a snapshot file or an exported snapshot directory, every block',
  usage: 'nodehost verify <file.gbsnap | exported-dir> [--engine auto|native|wasm|js] [--json]',
  description:
    'Checks the header (length, header checksum), every v2 block CRC against its data, the tail ' +
    '(magic, total), the payload checksum, and for an export directory also snapshot.metadata, ' +
    'the file size and checksum it records, the external files, the manifest, and the log suffix (log-suffix.nhlog: every ' +
    'frame and entry, its anchor at the snapshot) when there is one. Exit 0: intact; 1: a check failed.',
  positionals: [1, 1],
  options: { ...engineOption, ...progressOptions },
  run: lazyRun(() => import('./verify.js')),
};

const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show what a restarting node would see (records, entry range, snapshot directories)',
  usage: 'nodehost inspect --config <file> --shard-id N --replica-id N [--json]',
  description:
    'Read-only: the log store is read from a private clone and nothing on disk changes. ' +
    'Safe to run while the NodeHost is stopped; while it runs, the view may be stale.',
  options: {
    ...configOption,
    ...nodeIdOptions,
  },
  run: lazyRun(() => import('./inspect.js')),
};

const exportCommand: Command = {
  name: 'export',
  summary: "export a stopped node's latest snapshot, offline, in Dragonboat's export layout (+ SHA-256 manifest)",
  usage: 'nodehost export --config <file> --shard-id N --replica-id N --dest <dir> [--with-log [--snapshot-from <exported-dir>]] [--json]',
  description:
    "Takes the latest snapshot the node's log store records, verifies every block while copying it, and writes " +
    '<dest>/snapshot-<INDEX>/ with the .gbsnap, external files, snapshot.metadata and nodehost.manifest.json. ' +
    'The NodeHost must be stopped. The result is what `import --src` takes. ' +
    "--with-log also writes the node's entries past the snapshot to log-suffix.nhlog (the import carries them).",
  options: {
    ...configOption,
    ...nodeIdOptions,
    dest: { type: 'string', arg: '<dir>', help: 'directory to create snapshot-<INDEX>/ in' },
    'with-log': { type: 'boolean', help: "also export the node's log entries past the snapshot (log-suffix.nhlog)" },
    'snapshot-from': {
      type: 'string',
      arg: '<dir>',
      help: "with --with-log: take the snapshot from this export; this node's log must hold its index with its term",
    },
    ...engineOption,
    ...progressOptions,
  },
  run: lazyRun(() => import('./export.js')),
};

const restoreCommand: Command = {
  name: 'restore-backup',
  summary: 'undo an import: put the node back exactly as `import --backup <dir>` saved it',
  usage: 'nodehost restore-backup <backup-dir> --config <file> [--json]',
  description:
    "Restores the replica's log store records and entries and its snapshot directories from the backup. " +
    "Verifies the whole backup first (every file's SHA-256, the log store pairs' count and digest) and refuses a tampered backup, " +
    'a backup taken for another node, and a node that has moved on since the import, changing nothing. The NodeHost must be stopped.',
  positionals: [1, 1],
  options: { ...configOption },
  run: lazyRun(() => import('./restore.js')),
};

const demoCommand: Command = {
  name: 'demo',
  summary: 'run the worked example (shard 100: m2, m3 lost; import on m1, m4, m5) on temporary directories',
  usage: 'nodehost demo [--store pebble|leveldb] [--keep]\n       nodehost demo --setup <dir> [--store pebble|leveldb]',
  description:
    'With --setup, runs nothing: lays out the example as it stands before the repair in <dir> (m1.json, m4.json, m5.json, ' +
    "m1's NodeHost directory, and export/ with m1's exported snapshot) and prints the guide's commands to run on it by hand.",
  options: {
    keep: { type: 'boolean', help: 'keep the temporary directories and print where they are' },
    setup: {
      type: 'string',
      arg: '<dir>',
      help: 'lay out the before state in <dir> (new or empty) and print the commands of the guide to walk on it',
    },
    store: {
      type: 'string',
      arg: '<pebble|leveldb>',
      help: "the hosts' log store: pebble (default, what a Dragonboat v4 NodeHost runs) or leveldb",
    },
  },
  run: lazyRun(() => import('./demo.js')),
};

const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark verify, import and stale-entry removal against same-run baselines',
  usage:
    'nodehost bench [--size 1GiB] [--entries 1000000,10000000] [--repetitions 5] [--engine native,wasm,js] [--rss-sizes 1GiB,4GiB] [--pebble-entries 10000000] [--carry-entries 1000000] [--cold] [--only cold-start] [--json]',
  description:
    'Generates its own inputs in a temporary directory (a v2 export of --size; a log store per --entries count), ' +
    'runs every case in its own child process, alternating, and prints one table: medians, ratios to the baselines ' +
    'measured in the same run, the targets, and peak RSS. The defaults are the full run (several minutes, ~9 GiB of ' +
    'temporary disk); use --size 256MiB --entries 100000 --repetitions 3 for a quick look.',
  options: {
    size: { type: 'string', arg: '<bytes>', help: 'payload size of the generated export (default 1GiB)' },
    entries: { type: 'string', arg: '<n,n>', help: 'stale-entry counts (default 1000000,10000000)' },
    repetitions: { type: 'string', arg: '<n>', help: 'timed runs per case (default 5)' },
    engine: { type: 'string', arg: '<list>', help: 'verify engines (default native,wasm,js)' },
    'rss-sizes': { type: 'string', arg: '<list>', help: 'extra sizes at which peak RSS is reported (default 1GiB,4GiB)' },
    'pebble-entries': {
      type: 'string',
      arg: '<n>',
      help: 'entries of the Pebble rows: read, removal, import on a Pebble host (default 10000000; 0 skips them, about 4 minutes less)',
    },
    'carry-entries': {
      type: 'string',
      arg: '<n>',
      help: 'entries of the log suffix the minimal-loss row imports (default 1000000, about 100 MiB; 0 skips it)',
    },
    cold: { type: 'boolean', help: 'drop the page cache before every run (root only)' },
    tmp: { type: 'string', arg: '<dir>', help: 'where inputs go (default the system temp directory)' },
    only: { type: 'string', arg: 'cold-start', help: 'run only this part: cold-start (startup, verify and inspect, whole process)' },
  },
  run: lazyRun(() => import('./bench.js')),
};

export const commands: Command[] = [
  planCommand,
  importCommand,
  verifyCommand,
  inspectCommand,
  exportCommand,
  restoreCommand,
  demoCommand,
  benchCommand,
];
