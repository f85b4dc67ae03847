// 3D convolution (forward, backward-data, backward-weights) through oneDNN on tfjs's layouts:
// activations NDHWC, filters [kd, kh, kw, in, out] (oneDNN `ndhwc` / `dhwio`).
#pragma once
#include <napi.h>

namespace tracoco {

// conv3d(direction, layout, geometry: Int32Array(21), a, b, out, epilogue?, bias?, skip?) -> undefined
//   direction 0 forward:          a = x,  b = filter, out = y
//   direction 1 backward-data:    a = dy, b = filter, out = dx
//   direction 2 backward-weights: a = x,  b = dy,     out = dfilter
//   direction 3 transposed forward (inference): a = dy, b = filter, out = dx, as direction 1 but
//     through oneDNN's deconvolution, which takes an epilogue
//   layout 0 plain (no reorders), 1 blocked weights, 2 blocked activations and weights
//   epilogue (directions 0 and 3; inference): bit 1 adds `bias` (Float32Array, one per output
//     channel), bit 2 applies ReLU, bit 4 (direction 3 only) then adds `skip` (shaped like out)
//   geometry [N, iD, iH, iW, iC, oD, oH, oW, oC, kD, kH, kW, sD, sH, sW,
//             padFront, padTop, padLeft, padBack, padBottom, padRight]
Napi::Value Conv3d(const Napi::CallbackInfo& info);

// conv3dImpl(direction, layout, geometry, epilogue?) -> string: oneDNN implementation chosen for that call.
Napi::Value Conv3dImpl(const Napi::CallbackInfo& info);

// conv3dCacheClear() / conv3dCacheSize(): the plan cache (tests, memory release).
Napi::Value Conv3dCacheClear(const Napi::CallbackInfo& info);
Napi::Value Conv3dCacheSize(const Napi::CallbackInfo& info);

}  // namespace tracoco
