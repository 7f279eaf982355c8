{
  "variables": {
    # 1 in test builds only (npm run build:addon): compiles in the test hook that acts out a runtime
    # without external ArrayBuffers (native/binding.c). The prebuilds that ship (scripts/prebuild.mjs)
    # and a build from source by default leave it out.
    "mmapfile_test_hooks%": 0
  },
  "targets": [
    {
      "target_name": "mmapfile",
      "sources": ["native/binding.c", "native/args.c", "native/handles.c", "native/mapping.c", "native/registry.c"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["mmapfile_test_hooks==1", {
          "defines": ["MMAPFILE_TEST_HOOKS"]
        }],
        ["OS=='win'", {
          "sources": ["native/win32.c"],
          "defines": ["_WIN32_WINNT=0x0A00", "WIN32_LEAN_AND_MEAN", "UNICODE", "_UNICODE"]
        }, {
          "sources": ["native/posix.c"],
          "defines": ["_FILE_OFFSET_BITS=64", "_GNU_SOURCE"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra"],
          "xcode_settings": {
            "OTHER_CFLAGS": ["-std=gnu11", "-Wall", "-Wextra"]
          }
        }]
      ]
    }
  ]
}
