{
  "targets": [
    {
      "target_name": "rmt_kernels",
      "sources": ["native/addon.c", "native/gemm.c", "native/exp.c", "native/adamw.c", "native/binary.c", "native/fused.c", "native/rows.c", "native/threads.c"],
      "cflags": ["-O3", "-march=native", "-fno-math-errno", "-std=gnu11", "-pthread"],
      "ldflags": ["-pthread"],
      "cflags!": ["-O2"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-march=native", "-fno-math-errno"] }
    }
  ]
}
