{
  "targets": [
    {
      "target_name": "mmapfile",
      "sources": ["native/binding.c", "native/args.c", "native/handles.c", "native/mapping.c", "native/registry.c"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
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
