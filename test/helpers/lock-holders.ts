/**
 * Child processes that hold locks, for the tests of lock detection: a lock
 * held in this process would be invisible to fcntl(F_GETLK), and a LevelDB
 * opened by classic-level here must never be opened by the addon too. Each
 * holder prints "locked" once it holds the lock and keeps it until released
 * (SIGKILL, as a NodeHost that dies) or until its stdin ends.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_LOGDB_TYPE } from './store.js';

const HELPERS_DIR = path.dirname(fileURLToPath(import.meta.url));

/** A child process holding a lock until released. */
export interface LockHolder {
  pid: number;
  /** Kills the child and waits until it is gone (its locks with it). */
  release(): Promise<void>;
}

/** Whether python3 with fcntl is there (the fcntl holders and probes need it). */
export const hasPython3 = spawnSync('python3', ['-c', 'import fcntl'], { stdio: 'ignore' }).status === 0;

/** Spawns `cmd args`, waits for "locked" on its stdout, returns a handle that kills it. */
function spawnHolder(cmd: string, args: string[]): Promise<LockHolder> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const exited = new Promise<void>((done) => child.once('close', () => done()));
    const onEarlyExit = (code: number | null): void => reject(new Error(`${cmd} lock holder exited early (${code}): ${err}`));
    child.once('exit', onEarlyExit);
    child.once('error', reject);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const onStdout = (d: Buffer): void => {
      out += d.toString();
      if (!out.includes('locked')) return;
      child.stdout.off('data', onStdout);
      child.stdout.resume();
      child.removeListener('exit', onEarlyExit);
      resolve({
        pid: child.pid!,
        release: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout.on('data', onStdout);
  });
}

/** How a python3 holder locks the file: POSIX fcntl (what Dragonboat and LevelDB take), BSD flock, or an open file description lock. */
export type FileLockKind = 'posix' | 'flock' | 'ofd';

const LOCKERS: Record<FileLockKind, string> = {
  posix: 'fcntl.lockf(f, fcntl.LOCK_EX)',
  flock: 'fcntl.flock(f, fcntl.LOCK_EX)',
  // struct flock on x86_64/aarch64: short, short, off_t, off_t, pid_t
  ofd: "fcntl.fcntl(f, fcntl.F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))",
};

/** A python3 child holding a write lock of `kind` (default POSIX fcntl) on the whole of `file` (created if missing). */
export function holdFcntlLock(file: string, kind: FileLockKind = 'posix'): Promise<LockHolder> {
  const code = [
    'import fcntl, struct, sys',
    "f = open(sys.argv[1], 'a')",
    LOCKERS[kind],
    "print('locked', flush=True)",
    'sys.stdin.read()',
  ];
  return spawnHolder('python3', ['-c', code.join('\n'), file]);
}

/** A node child holding the LevelDB database at `dbDir` (which must exist) open with classic-level. */
export function holdLevelDb(dbDir: string): Promise<LockHolder> {
  return spawnHolder(process.execPath, [path.join(HELPERS_DIR, 'hold-leveldb.mjs'), dbDir]);
}

/**
 * A child holding the partition at `dbDir` the way its engine does: LevelDB
 * open with classic-level, or (Pebble) an fcntl write lock on its LOCK file,
 * which is all a running Pebble holds. Never opens a Pebble store with LevelDB.
 */
export function holdPartition(dbDir: string): Promise<LockHolder> {
  return TEST_LOGDB_TYPE === 'sharded-leveldb' ? holdLevelDb(dbDir) : holdFcntlLock(path.join(dbDir, 'LOCK'));
}

/** What another process finds when it tries to lock a file. */
export type LockProbe = 'free' | 'locked' | 'missing';

/**
 * Asks a python3 child to take a write lock on each file without waiting, as
 * a starting NodeHost would (one child for all: each costs tens of
 * milliseconds); never creates a file.
 */
export function probeLocks(files: string[]): LockProbe[] {
  const code = [
    'import fcntl, os, sys',
    'out = []',
    'for p in sys.argv[1:]:',
    '    try:',
    '        fd = os.open(p, os.O_RDWR)',
    '    except FileNotFoundError:',
    "        out.append('missing')",
    '        continue',
    '    try:',
    '        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)',
    "        out.append('free')",
    '    except OSError:',
    "        out.append('locked')",
    '    os.close(fd)',
    "print(' '.join(out))",
  ].join('\n');
  const r = spawnSync('python3', ['-c', code, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lock probe failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim().split(' ') as LockProbe[];
}

/** {@link probeLocks} of one file. */
export function probeLock(file: string): LockProbe {
  return probeLocks([file])[0]!;
}
