{
  # TRACOCO_NATIVE_PORTABLE=1 builds without -march=native (for machines other than the build host).
  'variables': {
    'tracoco_portable%': '<!(node -p "process.env.TRACOCO_NATIVE_PORTABLE === \'1\' ? 1 : 0")',
  },
  'targets': [
    {
      'target_name': 'tracoco_native',
      'sources': [
        'src/addon.cc',
        'src/conv3d.cc',
        'src/elementwise.cc',
        'src/reduce.cc',
        'src/layout.cc',
        'src/batchnorm.cc',
        'src/matmul.cc',
        'src/losses.cc',
        'src/winograd.cc',
      ],
      'dependencies': ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      # CPP_EXCEPTIONS_ALL: any C++ exception (std::bad_alloc, dnnl::error, ...) that reaches an
      # entry point becomes a JS Error instead of terminating the process.
      'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NODE_ADDON_API_CPP_EXCEPTIONS_ALL'],
      'cflags_cc': ['-O3', '-fopenmp', '-fno-math-errno', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'cflags_cc!': ['-O2', '-fno-rtti'],
      'libraries': ['-ldnnl', '-fopenmp'],
      'conditions': [
        ['tracoco_portable==1', {'defines': ['TRACOCO_PORTABLE']}, {'cflags_cc': ['-march=native']}],
      ],
    },
  ],
}
