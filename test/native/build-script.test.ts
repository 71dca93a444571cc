/**
 * scripts/build-native.mjs decides between a hard failure (this repository,
 * --required) and a warning plus degraded mode (installed as a dependency).
 * A copy of the script in a temp tree without classic-level fails fast,
 * which is all these tests need.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from './v2file.js';

const script = fileURLToPath(new URL('../../scripts/build-native.mjs', import.meta.url));

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('nh-build-script');
});
afterAll(() => tmp.cleanup());

/** A package root holding only the build script. */
function packageAt(root: string): string {
  fs.mkdirSync(path.join(root, 'scripts'), { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"nodehost-tools","version":"0.0.0"}');
  fs.copyFileSync(script, path.join(root, 'scripts', 'build-native.mjs'));
  return root;
}

function run(root: string, args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'INIT_CWD' && !k.startsWith('NODEHOST_TOOLS_')),
  );
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs'), ...args], {
    cwd: root,
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
}

describe('build-native.mjs failure policy', () => {
  it('installed as a dependency: one warning about degraded mode, exit 0', () => {
    const app = path.join(tmp.dir, 'app');
    const root = packageAt(path.join(app, 'node_modules', 'nodehost-tools'));
    const res = run(root, [], { INIT_CWD: app, npm_lifecycle_event: 'install' });
    expect(res.status).toBe(0);
    const warnings = res.stderr.split('\n').filter((l) => l.includes('WARNING'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/degraded mode/);
    expect(warnings[0]).toMatch(/WebAssembly/);
    expect(fs.existsSync(path.join(root, 'build'))).toBe(false);
  });

  it('--required makes the same failure an error', () => {
    const root = packageAt(path.join(tmp.dir, 'app2', 'node_modules', 'nodehost-tools'));
    const res = run(root, ['--required'], { INIT_CWD: path.join(tmp.dir, 'app2'), npm_lifecycle_event: 'install' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/native addon build failed: classic-level is not installed/);
  });

  it("this repository's own install fails hard", () => {
    const root = packageAt(path.join(tmp.dir, 'checkout'));
    const res = run(root, [], { INIT_CWD: root, npm_lifecycle_event: 'install' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/native addon build failed/);
    // Run by hand, outside npm: same.
    expect(run(root, [], {}).status).toBe(1);
  });

  it('NODEHOST_TOOLS_SKIP_NATIVE_BUILD=1 skips the build', () => {
    const root = packageAt(path.join(tmp.dir, 'skip'));
    const res = run(root, ['--required'], { NODEHOST_TOOLS_SKIP_NATIVE_BUILD: '1' });
    expect(res.status).toBe(0);
    expect(res.stderr).toMatch(/skipped/);
  });
});
