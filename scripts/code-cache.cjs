// Makes the V8 code cache of one bundled command (see bin/bundle-loader.js):
// runs `nodehost <command> <args...>` from its bundle once, so the cache holds
// the functions such a run compiles, then writes the cache beside the bundle.
// Run by scripts/prepare.mjs on the example `demo --setup` lays out.
//
//   node scripts/code-cache.cjs <command> [args...]
'use strict';
const path = require('node:path');
const { loadBundle } = require('../bin/bundle-loader.js');

const [command, ...args] = process.argv.slice(2);
const bundle = loadBundle(path.join(__dirname, '..', 'dist', 'cli', `bundle-${command}.cjs`));
bundle.exports.main([command, ...args]).then((status) => {
  if (status !== 0) {
    process.stderr.write(`code-cache: nodehost ${command} exited ${status}; no cache written\n`);
    process.exitCode = 1;
    return;
  }
  bundle.writeCache();
});
