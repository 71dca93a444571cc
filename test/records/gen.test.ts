import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { PROJECT_ROOT, tempDirs } from '../helpers/snapshots.js';

const dirs = tempDirs('nht-gen-');

// The committed generated code must be exactly what `npm run gen:proto`
// produces from dragonboat.proto, so the schema and the code cannot drift.
test('src/records/gen is up to date with dragonboat.proto', () => {
  const out = dirs.make();
  const buf = join(PROJECT_ROOT, 'node_modules', '.bin', 'buf');
  execFileSync(buf, ['generate', 'src/records', '--template', 'src/records/buf.gen.yaml', '-o', out], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PATH: `${join(PROJECT_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
    stdio: 'pipe',
  });
  const fresh = readFileSync(join(out, 'src/records/gen/dragonboat_pb.ts'), 'utf8');
  const committed = readFileSync(join(PROJECT_ROOT, 'src/records/gen/dragonboat_pb.ts'), 'utf8');
  expect(fresh).toBe(committed);
}, 60_000);
