{
  "targets": [
    {
      "target_name": "wifibox_dgram",
      "sources": ["unix_dgram.c", "tcp_join.c"],
      "cflags": ["-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
