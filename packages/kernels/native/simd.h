// The vector width the compiler targets on this machine (-march=native) and float vectors of that width,
// shared by the vectorised kernels.
#pragma once
#include <stdint.h>

#if defined(__AVX512F__)
#define VW 16
#define ISA "avx512"
#elif defined(__AVX2__)
#define VW 8
#define ISA "avx2"
#elif defined(__AVX__)
#define VW 8
#define ISA "avx"
#else
#define VW 4
#define ISA "generic"
#endif

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
// The same vector type at float alignment, for loads from and stores to the caller's memory.
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));
