// Loads a command's bundle (dist/cli/bundle-<command>.cjs) as require() would,
// with V8's code cache for it when one was made for this very bundle:
// compiling the bundle and the functions a verify calls took about 8 ms of a
// verify's start. The cache (<bundle>.v8cache) is made at build time by
// scripts/code-cache.cjs, which runs the command once through loadBundle and
// then calls writeCache(). V8 checks a cache only against the source's
// length (and its own version and flags): a cache is used here only when its
// header names this Node.js version and the bundle's length, and the cache
// is not older than the bundle, so a bundle rebuilt or edited since (even to
// the same length) is compiled as it would be without one. Hashing the text
// instead would cost a cold start most of what the cache saves.
'use strict';
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const MAGIC = 'nodehost-tools v8 code cache 1';

function headerFor(source) {
  return `${MAGIC} ${process.version} ${source.length}\n`;
}

/** The cache's V8 data when it was made for `source` at `bundleFile` as it is now; undefined otherwise. */
function readCache(file, source, bundleFile) {
  let bytes;
  try {
    if (statSync(file).mtimeMs < statSync(bundleFile).mtimeMs) return undefined;
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const header = headerFor(source);
  return bytes.length > header.length && bytes.toString('latin1', 0, header.length) === header ? bytes.subarray(header.length) : undefined;
}

/**
 * Runs the CommonJS bundle at `file` and returns its exports, plus
 * `writeCache()`, which stores V8's code for it and for every function it has
 * compiled so far beside the bundle, and `cacheUsed`.
 */
function loadBundle(file) {
  const source = readFileSync(file, 'utf8');
  const cacheFile = `${file}.v8cache`;
  const cachedData = readCache(cacheFile, source, file);
  // On one line with the source, as Node's own wrapper is, so stack traces keep the bundle's line numbers.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  return {
    exports: module.exports,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    writeCache() {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.concat([Buffer.from(headerFor(source), 'latin1'), script.createCachedData()]));
      renameSync(tmp, cacheFile);
    },
  };
}

module.exports = { loadBundle };
