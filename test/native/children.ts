/**
 * Child processes that hold locks, for the tests of lock detection: a lock
 * held in this process would be invisible to fcntl(F_GETLK), and a LevelDB
 * opened by classic-level here must never be opened by the addon too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Holder {
  pid: number;
  /** Ends the child and waits for it. */
  release(): Promise<void>;
}

function waitReady(child: ChildProcess, what: string): Promise<Holder> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const onStderr = (d: Buffer) => (err += d.toString());
    const onEarlyExit = (code: number | null) => reject(new Error(`${what} exited early (${code}): ${err}`));
    const onStdout = (d: Buffer) => {
      out += d.toString();
      if (!out.includes('ready')) return;
      // Detach exactly our own listeners, once: later output (a late newline)
      // must not touch the listeners release() adds.
      child.stdout?.off('data', onStdout);
      child.stdout?.resume();
      child.off('exit', onEarlyExit);
      resolve({
        pid: child.pid!,
        release: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            // A holder that ignores the end of its stdin is killed, so no test hangs on it.
            const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(kill);
              done();
            });
            child.stdin?.end();
          }),
      });
    };
    child.stderr?.on('data', onStderr);
    child.once('exit', onEarlyExit);
    child.stdout?.on('data', onStdout);
  });
}

/** A node child that opens the LevelDB at `dbPath` with classic-level and keeps it open. */
export function holdLevelDb(dbPath: string): Promise<Holder> {
  const code = `
    const { ClassicLevel } = require('classic-level');
    const db = new ClassicLevel(process.argv[1]);
    db.open().then(() => process.stdout.write('ready\\n'));
    process.stdin.resume();
    process.stdin.on('end', () => db.close().then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ['-e', code, dbPath], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  return waitReady(child, 'classic-level holder');
}

export const hasPython3 = spawnSync('python3', ['-c', 'import fcntl'], { stdio: 'ignore' }).status === 0;

/** A python3 child holding a POSIX write lock (lockf → fcntl F_SETLKW) on the whole file. */
export function holdFcntlLock(filePath: string): Promise<Holder> {
  const code = [
    'import fcntl, sys',
    "f = open(sys.argv[1], 'a')",
    'fcntl.lockf(f, fcntl.LOCK_EX)',
    "print('ready', flush=True)",
    'sys.stdin.read()',
  ].join('\n');
  const child = spawn('python3', ['-c', code, filePath], { stdio: ['pipe', 'pipe', 'pipe'] });
  return waitReady(child, 'python3 lock holder');
}
