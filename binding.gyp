# The nodehost_native addon (build/Release/nodehost_native.node).
#
# LevelDB and Snappy are not vendored here: the addon links the very LevelDB
# 1.20 and Snappy sources classic-level ships (deps/leveldb/leveldb.gyp pulls
# in its snappy.gyp), so both libraries read and write identical files.
# classic-level is found through Node's resolution, so a hoisted install
# (node_modules/classic-level next to this package) works too.
{
  'variables': {
    'classic_level_dir%': '<!(node -p "require(\'path\').relative(process.cwd(), require(\'path\').dirname(require.resolve(\'classic-level/package.json\'))) || \'.\'")',
    'node_addon_api_gyp%': '<!(node -p "require(\'node-addon-api\').targets")',
  },
  'targets': [
    {
      'target_name': 'nodehost_native',
      'dependencies': [
        '<(classic_level_dir)/deps/leveldb/leveldb.gyp:leveldb',
        '<(node_addon_api_gyp):node_addon_api_except',
      ],
      'sources': [
        'native/src/addon.cc',
        'native/src/crc32_clmul.cc',
        'native/src/crc32_dispatch.cc',
        'native/src/crc32_table.cc',
        'native/src/crc32_zlib.cc',
        'native/src/crc32c.cc',
        'native/src/file_lock.cc',
        'native/src/js_util.cc',
        'native/src/leveldb_batch.cc',
        'native/src/logdb_bulk.cc',
        'native/src/payload_scan.cc',
        'native/src/piece_reader.cc',
        'native/src/posix_io.cc',
        'native/src/split_scan.cc',
        'native/src/suffix_frames.cc',
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
      ],
      'conditions': [
        ['OS == "linux" or OS == "freebsd" or OS == "openbsd"', {
          'cflags_cc': ['-O3', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter'],
          # LevelDB and Snappy come in as static libraries; keep their symbols
          # private so they never interpose with classic-level's copy.
          'ldflags': ['-Wl,--exclude-libs,ALL', '-pthread'],
        }],
        ['OS == "mac"', {
          'xcode_settings': {
            'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
            'MACOSX_DEPLOYMENT_TARGET': '10.15',
            'OTHER_CPLUSPLUSFLAGS': ['-O3', '-std=c++17'],
          },
        }],
      ],
    },
  ],
}
