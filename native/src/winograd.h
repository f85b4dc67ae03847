// Winograd F(2×2×2, 3×3×3) convolution for evaluation: 3×3×3 kernels, stride 1, padding 1,
// activations NDHWC, channel counts multiples of 16. A 2×2×2 output tile costs 64 products per
// input/output channel pair instead of 216 (3.4× fewer), at the price of transforms that are
// additions only. Only evaluation's fused conv uses it (src/shared/backend/kernels/winograd.ts);
// training's convolutions and their gradients stay oneDNN's.
#pragma once
#include <cstdint>

// TRACOCO_KERNEL_ONLY: the kernel without its N-API entry points (native/tools/winograd-layers.cc).
#ifndef TRACOCO_KERNEL_ONLY
#include <napi.h>
#endif

namespace tracoco {

constexpr int kWinogradLanes = 16;

// Whether this build has 512-bit vectors for the kernel (-march=native on an AVX-512 host); without
// them it still computes the right result, but slower than oneDNN, which dispatches at run time.
constexpr bool winogradVectorised() {
#ifdef __AVX512F__
  return true;
#else
  return false;
#endif
}

// Whether winogradConv3d takes these channel counts.
bool winogradFits(int64_t inChannels, int64_t outChannels);

// filter [3][3][3][cin][cout] (tfjs dhwio) -> u [64][cin][cout], u = G g Gᵀ along each axis.
void winogradFilter(const float* filter, int cin, int cout, float* u);

// y = relu?(conv(x, g) + bias); x [n][d][h][w][cin], y [n][d][h][w][cout], u from winogradFilter.
void winogradConv3d(const float* x, int n, int d, int h, int w, int cin, const float* u, int cout,
                    const float* bias, bool relu, float* y);

#ifndef TRACOCO_KERNEL_ONLY
// winogradFilter(filter: Float32Array, cin, cout) -> Float32Array(64·cin·cout)
// winogradConv3d(x, shape: Int32Array[n, d, h, w, cin], u, cout, bias, relu, out) -> undefined
void registerWinograd(Napi::Env env, Napi::Object exports);
#endif

}  // namespace tracoco
