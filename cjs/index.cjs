'use strict';
// CommonJS entry of nodehost-tools (package.json "exports" → "require").
//
// The library is ES modules. Where Node.js can require() an ES module
// (process.features.require_module: Node.js >= 20.19 and >= 22.12 by default),
// require('nodehost-tools') returns every export of the library, synchronously,
// the very objects `import` gives (plus load(), below, for portable code).
//
// On an older Node.js 20 it cannot (nor with --no-experimental-require-module), and a second, compiled CommonJS copy of the library
// would duplicate its error classes (instanceof across the two copies fails)
// and its process-wide state (the engine cache, the held NodeHost locks). So
// here require() returns:
//   - load(): a Promise of the library's module namespace (everything: classes,
//     codecs, constants), the same object `import('nodehost-tools')` gives;
//   - every asynchronous function of the library under its own name
//     (verifySnapshot, importSnapshot, inspectNode, ...), which loads the
//     library on first call and returns its Promise.
// Anything else (NodeHostToolsError, LogDB, encodeSnapshot, ...) is reached
// through `await load()`; reading it directly throws an Error saying so.
//
// scripts/consumer-test.mjs checks that the list below is exactly the
// library's asynchronous exports.

const ASYNC_EXPORTS = [
  'checkLogSuffixFile',
  'checkManifest',
  'copySnapshotFile',
  'createBackup',
  'exportSnapshot',
  'importMany',
  'importSnapshot',
  'inspectNode',
  'loadImportManifest',
  'loadNodeHostConfigFile',
  'planRecovery',
  'readBackup',
  'readExportDir',
  'readLogSuffixHeader',
  'readManifest',
  'restoreBackup',
  'summarizeLog',
  'verifyExportLogSuffix',
  'verifySnapshot',
  'verifySnapshotFile',
  'writeV1SnapshotFile',
  'writeV2SnapshotFile',
];

if (process.features?.require_module) {
  const lib = require('../dist/index.js');
  module.exports = Object.freeze({ ...lib, load: () => Promise.resolve(lib), ASYNC_EXPORTS });
} else {
  let loading;
  const load = () => (loading ??= import('../dist/index.js'));
  const api = { load, ASYNC_EXPORTS };
  for (const name of ASYNC_EXPORTS) {
    api[name] = { [name]: (...args) => load().then((m) => m[name](...args)) }[name];
  }
  module.exports = new Proxy(Object.freeze(api), {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !(prop in target) && prop !== 'then' && prop !== '__esModule' && prop !== 'default') {
        throw new Error(
          `nodehost-tools: "${prop}" is not available from require() on Node.js ${process.versions.node}, ` +
            "which cannot require() an ES module: use `(await require('nodehost-tools').load())." +
            prop +
            '` or `import`.',
        );
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}
