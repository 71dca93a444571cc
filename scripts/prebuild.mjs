#!/usr/bin/env node
// `npm pack`'s prepack step: puts this platform's addon into the package as a
// prebuild, in prebuildify's layout, so an install needs no compiler:
//
//   prebuilds/<platform>-<arch>/nodehost-tools.napi[.glibc|.musl].node
//
// The addon is the one build/Release holds, built from source first when it is
// missing or older than native/ and binding.gyp (scripts/build-native.mjs
// --required: offline, npm's node-gyp, this Node's headers). Nothing is
// downloaded. The copy is loaded in a child process before it is kept.
//
//   node scripts/prebuild.mjs           make the prebuild (prepack)
//   node scripts/prebuild.mjs --clean   remove prebuilds/ again (postpack)
//
// It is a Node-API addon, so one file serves every Node.js >= 20 on the
// platform; on Linux it needs a glibc at least as new as the build machine's
// (or musl when built on musl: the tag says which).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuilds = path.join(root, 'prebuilds');

if (process.argv.includes('--clean')) {
  fs.rmSync(prebuilds, { recursive: true, force: true });
  process.exit(0);
}

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs'), '--required'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  process.stderr.write('nodehost-tools: prebuild: the native addon could not be built, so the package would carry no prebuild\n');
  process.exit(1);
}

const libc = process.platform !== 'linux' ? [] : [process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc')];
const dir = path.join(prebuilds, `${process.platform}-${process.arch}`);
const file = path.join(dir, ['nodehost-tools', 'napi', ...libc, 'node'].join('.'));
fs.rmSync(prebuilds, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(path.join(root, 'build', 'Release', 'nodehost_native.node'), file);

const check = spawnSync(
  process.execPath,
  [
    '-e',
    `const b = require(${JSON.stringify(file)}); if (b.crc32(Buffer.from('123456789')) !== 0xcbf43926) throw new Error('crc32 self-test failed'); process.stdout.write(b.crcKernel);`,
  ],
  { encoding: 'utf8' },
);
if (check.status !== 0) {
  fs.rmSync(prebuilds, { recursive: true, force: true });
  process.stderr.write(`nodehost-tools: prebuild: ${path.relative(root, file)} does not load:\n${check.stderr}`);
  process.exit(1);
}
process.stderr.write(
  `nodehost-tools: prebuild ${path.relative(root, file)} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB, CRC kernel ${check.stdout})\n`,
);
