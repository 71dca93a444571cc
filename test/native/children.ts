/**
 * Child processes that hold locks, for the tests of lock detection: a lock
 * held in this process would be invisible to fcntl(F_GETLK), and a LevelDB
 * opened by classic-level here must never be opened by the addon too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
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
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); process.stderr.write(`[child ${what} stderr] ${d}`); });
    process.stderr.write(`[spawned ${what} ${child.pid}]\n`);
    child.once('exit', (code) => reject(new Error(`${what} exited early (${code}): ${err}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString(); process.stderr.write(`[child ${what} out] ${d}`);
      if (out.includes('ready')) {
        child.removeAllListeners('exit');
        resolve({
          pid: child.pid!,
          release: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              process.stderr.write(`[release ${what} ${child.pid}]\n`);
              child.once('exit', (c, sig) => { process.stderr.write(`[exited ${what} ${c} ${sig}]\n`); done(); });
              child.stdin?.end();
              setTimeout(() => {
                try {
                  const fs = require('node:fs');
                  const pid = child.pid;
                  process.stderr.write(`[debug ${what} ${pid} exe=${fs.readlinkSync(`/proc/${pid}/exe`)} wchan=${fs.readFileSync(`/proc/${pid}/wchan`, 'utf8')} stat=${fs.readFileSync(`/proc/${pid}/stat`, 'utf8')}]\n`);
                  for (const f of fs.readdirSync(`/proc/${pid}/fd`)) process.stderr.write(`[fd ${f} ${fs.readlinkSync(`/proc/${pid}/fd/${f}`)}]\n`);
                  const ino = fs.readlinkSync(`/proc/${pid}/fd/0`);
                  process.stderr.write(`[my stdin side: destroyed=${child.stdin?.destroyed} writableEnded=${child.stdin?.writableEnded} writableFinished=${child.stdin?.writableFinished}]\n`);
                  process.stderr.write(`[who has ${ino}]: ` + require('node:child_process').execSync(`ls -l /proc/*/fd 2>/dev/null | grep -F '${ino.replace('socket:', '')}' || true`).toString() + '\n');
                } catch (e) { process.stderr.write(`[debug failed ${e}]\n`); }
              }, 3000).unref();
            }),
        });
      }
    });
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
