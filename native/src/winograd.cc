// Winograd F(2,3) along each of the three axes (Lavin & Gray 2016): y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A
// per 2×2×2 output tile, d the 4×4×4 input tile around it. Tiles are taken in blocks of kTiles
// (consecutive in d, h, w order); per block the 64 transformed inputs V[ξ][tile][cin] are
// multiplied by the transformed filter U[ξ][cin][cout] (64 small matrix products, the bulk of the
// work), then transformed back, with bias and ReLU, into the output.
#include "winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#ifndef TRACOCO_KERNEL_ONLY
#include "args.h"
#endif

namespace tracoco {
namespace {

constexpr int L = kWinogradLanes;
// A vector of 16 floats; the aligned(4) variant loads and stores at any float address.
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

inline v16 load(const float* p) { return *reinterpret_cast<const v16u*>(p); }
inline void store(float* p, v16 v) { *reinterpret_cast<v16u*>(p) = v; }

// Tiles per block: a multiple of every row count the products below use.
constexpr int kTiles = 12;

// Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1] applied to 4 values in place.
inline void inputTransform(v16& a, v16& b, v16& c, v16& d) {
  const v16 t0 = a - c, t1 = b + c, t2 = c - b, t3 = b - d;
  a = t0; b = t1; c = t2; d = t3;
}

// Aᵀ = [1 1 1 0; 0 1 −1 −1].
inline void outputTransform(v16 a, v16 b, v16 c, v16 d, v16& y0, v16& y1) {
  y0 = a + b + c;
  y1 = b - c - d;
}

struct Geometry {
  int n, d, h, w, cin, cout;
  int td, th, tw;  // tiles per axis (ceil of half)
  int64_t tilesPerImage() const { return int64_t{td} * th * tw; }
};

// Tile index -> its first output voxel (image, z, y, x).
inline void tileOrigin(const Geometry& g, int64_t tile, int& img, int& z, int& y, int& x) {
  const int64_t per = g.tilesPerImage();
  img = static_cast<int>(tile / per);
  int64_t r = tile % per;
  z = static_cast<int>(r / (int64_t{g.th} * g.tw)) * 2;
  r %= int64_t{g.th} * g.tw;
  y = static_cast<int>(r / g.tw) * 2;
  x = static_cast<int>(r % g.tw) * 2;
}

// V[ξ][slot][cin] for one tile: the 4×4×4 input window starting at (z−1, y−1, x−1), zero outside
// (Inside: the window lies in the volume, no bounds to check).
template <bool Inside>
void transformInputTile(const Geometry& g, const float* x, int img, int z0, int y0, int x0, int slot, float* v) {
  const int64_t rowStride = int64_t{g.w} * g.cin, sliceStride = int64_t{g.h} * rowStride;
  const float* base = x + int64_t{img} * g.d * sliceStride;
  for (int c0 = 0; c0 < g.cin; c0 += L) {
    v16 s[4][4][4];
    for (int a = 0; a < 4; a++) {
      for (int b = 0; b < 4; b++) {
        for (int c = 0; c < 4; c++) {
          const int zz = z0 - 1 + a, yy = y0 - 1 + b, xx = x0 - 1 + c;
          if (Inside || (zz >= 0 && zz < g.d && yy >= 0 && yy < g.h && xx >= 0 && xx < g.w)) {
            s[a][b][c] = load(base + zz * sliceStride + yy * rowStride + int64_t{xx} * g.cin + c0);
          } else {
            s[a][b][c] = v16{};
          }
        }
      }
    }
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 4; b++) inputTransform(s[a][b][0], s[a][b][1], s[a][b][2], s[a][b][3]);
    for (int a = 0; a < 4; a++)
      for (int c = 0; c < 4; c++) inputTransform(s[a][0][c], s[a][1][c], s[a][2][c], s[a][3][c]);
    for (int b = 0; b < 4; b++)
      for (int c = 0; c < 4; c++) inputTransform(s[0][b][c], s[1][b][c], s[2][b][c], s[3][b][c]);
    for (int xi = 0; xi < 64; xi++) store(v + (int64_t{xi} * kTiles + slot) * g.cin + c0, s[xi >> 4][(xi >> 2) & 3][xi & 3]);
  }
}

void transformInputTile(const Geometry& g, const float* x, int img, int z0, int y0, int x0, int slot, float* v) {
  const bool inside = z0 >= 1 && y0 >= 1 && x0 >= 1 && z0 + 3 <= g.d && y0 + 3 <= g.h && x0 + 3 <= g.w;
  if (inside) transformInputTile<true>(g, x, img, z0, y0, x0, slot, v);
  else transformInputTile<false>(g, x, img, z0, y0, x0, slot, v);
}

// M[ξ] (kTiles × cout) = V[ξ] (kTiles × cin) · U[ξ] (cin × cout), R rows × CV vectors at a time.
template <int R, int CV>
void multiplyBlock(const float* v, const float* u, float* m, int cin, int cout) {
  for (int r0 = 0; r0 < kTiles; r0 += R) {
    for (int j0 = 0; j0 < cout; j0 += CV * L) {
      v16 acc[R][CV];
      for (int r = 0; r < R; r++)
        for (int j = 0; j < CV; j++) acc[r][j] = v16{};
      const float* a = v + int64_t{r0} * cin;
      for (int k = 0; k < cin; k++) {
        v16 b[CV];
        for (int j = 0; j < CV; j++) b[j] = load(u + int64_t{k} * cout + j0 + j * L);
        for (int r = 0; r < R; r++) {
          const float ar = a[int64_t{r} * cin + k];
          for (int j = 0; j < CV; j++) acc[r][j] += ar * b[j];
        }
      }
      for (int r = 0; r < R; r++)
        for (int j = 0; j < CV; j++) store(m + int64_t{r0 + r} * cout + j0 + j * L, acc[r][j]);
    }
  }
}

void multiply(const float* v, const float* u, float* m, int cin, int cout) {
  for (int xi = 0; xi < 64; xi++) {
    const float* vx = v + int64_t{xi} * kTiles * cin;
    const float* ux = u + int64_t{xi} * cin * cout;
    float* mx = m + int64_t{xi} * kTiles * cout;
    if (cout % (4 * L) == 0) multiplyBlock<6, 4>(vx, ux, mx, cin, cout);
    else if (cout % (2 * L) == 0) multiplyBlock<12, 2>(vx, ux, mx, cin, cout);
    else multiplyBlock<12, 1>(vx, ux, mx, cin, cout);
  }
}

// The 2×2×2 outputs of one tile from M[ξ][slot][cout], with bias and ReLU; voxels past the
// volume's end (odd sizes) are not written.
void transformOutputTile(const Geometry& g, const float* m, const float* bias, bool relu, int img, int z0, int y0, int x0, int slot, float* y) {
  const int64_t rowStride = int64_t{g.w} * g.cout, sliceStride = int64_t{g.h} * rowStride;
  float* base = y + int64_t{img} * g.d * sliceStride;
  for (int c0 = 0; c0 < g.cout; c0 += L) {
    v16 s[4][4][4];
    for (int xi = 0; xi < 64; xi++) s[xi >> 4][(xi >> 2) & 3][xi & 3] = load(m + (int64_t{xi} * kTiles + slot) * g.cout + c0);
    v16 t1[4][4][2], t2[4][2][2], t3[2][2][2];
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 4; b++) outputTransform(s[a][b][0], s[a][b][1], s[a][b][2], s[a][b][3], t1[a][b][0], t1[a][b][1]);
    for (int a = 0; a < 4; a++)
      for (int c = 0; c < 2; c++) outputTransform(t1[a][0][c], t1[a][1][c], t1[a][2][c], t1[a][3][c], t2[a][0][c], t2[a][1][c]);
    for (int b = 0; b < 2; b++)
      for (int c = 0; c < 2; c++) outputTransform(t2[0][b][c], t2[1][b][c], t2[2][b][c], t2[3][b][c], t3[0][b][c], t3[1][b][c]);
    const v16 bv = bias ? load(bias + c0) : v16{};
    for (int a = 0; a < 2 && z0 + a < g.d; a++) {
      for (int b = 0; b < 2 && y0 + b < g.h; b++) {
        for (int c = 0; c < 2 && x0 + c < g.w; c++) {
          v16 o = t3[a][b][c] + bv;
          if (relu) o = o > 0 ? o : v16{};
          store(base + (z0 + a) * sliceStride + (y0 + b) * rowStride + int64_t{x0 + c} * g.cout + c0, o);
        }
      }
    }
  }
}

}  // namespace

bool winogradFits(int64_t inChannels, int64_t outChannels) {
  return inChannels > 0 && outChannels > 0 && inChannels % L == 0 && outChannels % L == 0;
}

namespace {

// out[o][r][i] = Σ_c G[r][c] · in[o][c][i] for r < 4, c < 3: G applied along one axis of a
// [outer][3][inner] array of (cin × cout) matrices, giving [outer][4][inner].
void filterTransformAxis(const float* in, int outer, int inner, int64_t pair, float* out) {
  // G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].
  static const float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
  for (int o = 0; o < outer; o++)
    for (int r = 0; r < 4; r++)
      for (int i = 0; i < inner; i++) {
        float* dst = out + ((int64_t{o} * 4 + r) * inner + i) * pair;
        for (int64_t e = 0; e < pair; e++) dst[e] = 0;
        for (int c = 0; c < 3; c++) {
          const float* src = in + ((int64_t{o} * 3 + c) * inner + i) * pair;
          for (int64_t e = 0; e < pair; e++) dst[e] += G[r][c] * src[e];
        }
      }
}

}  // namespace

void winogradFilter(const float* filter, int cin, int cout, float* u) {
  // Along w ([3·3][3][1] -> [3·3][4][1]), then h ([3][3][4] -> [3][4][4]), then d ([1][3][16]).
  const int64_t pair = int64_t{cin} * cout;
  std::vector<float> alongW(int64_t{36} * pair), alongH(int64_t{48} * pair);
  filterTransformAxis(filter, 9, 1, pair, alongW.data());
  filterTransformAxis(alongW.data(), 3, 4, pair, alongH.data());
  filterTransformAxis(alongH.data(), 1, 16, pair, u);
}

void winogradConv3d(const float* x, int n, int d, int h, int w, int cin, const float* u, int cout,
                    const float* bias, bool relu, float* y) {
  const Geometry g{n, d, h, w, cin, cout, (d + 1) / 2, (h + 1) / 2, (w + 1) / 2};
  const int64_t tiles = g.n * g.tilesPerImage();
  const int64_t blocks = (tiles + kTiles - 1) / kTiles;
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), blocks)));
  // Each thread's V and M, allocated here: a std::bad_alloc inside the parallel region would
  // terminate the process instead of reaching the caller as an exception.
  const int64_t vSize = int64_t{64} * kTiles * cin, mSize = int64_t{64} * kTiles * cout;
  std::vector<float> scratch(threads * (vSize + mSize));
#pragma omp parallel num_threads(threads)
  {
    float* v = scratch.data() + omp_get_thread_num() * (vSize + mSize);
    float* m = v + vSize;
#pragma omp for schedule(static)
    for (int64_t block = 0; block < blocks; block++) {
      const int64_t first = block * kTiles;
      const int count = static_cast<int>(std::min<int64_t>(kTiles, tiles - first));
      int img, z, yy, xx;
      for (int s = 0; s < count; s++) {
        tileOrigin(g, first + s, img, z, yy, xx);
        transformInputTile(g, x, img, z, yy, xx, s, v);
      }
      multiply(v, u, m, cin, cout);
      for (int s = 0; s < count; s++) {
        tileOrigin(g, first + s, img, z, yy, xx);
        transformOutputTile(g, m, bias, relu, img, z, yy, xx, s, y);
      }
    }
  }
}

#ifndef TRACOCO_KERNEL_ONLY
namespace {

Napi::Value WinogradFilter(const Napi::CallbackInfo& info) {
  const Span<float> filter = spanArg<float>(info, 0, "winogradFilter filter");
  const int64_t cin = intArg(info, 1, "winogradFilter cin"), cout = intArg(info, 2, "winogradFilter cout");
  require(info, winogradFits(cin, cout), "winogradFilter: channel counts must be positive multiples of 16");
  require(info, filter.size == 27 * cin * cout, "winogradFilter: filter must hold 3·3·3·cin·cout values");
  auto u = Napi::Float32Array::New(info.Env(), static_cast<size_t>(64 * cin * cout));
  winogradFilter(filter.data, static_cast<int>(cin), static_cast<int>(cout), u.Data());
  return u;
}

Napi::Value WinogradConv3d(const Napi::CallbackInfo& info) {
  const Span<float> x = spanArg<float>(info, 0, "winogradConv3d x");
  const std::vector<int64_t> s = dimsArg(info, 1, "winogradConv3d shape");
  const Span<float> u = spanArg<float>(info, 2, "winogradConv3d u");
  const int64_t cout = intArg(info, 3, "winogradConv3d cout");
  const Span<float> bias = spanArg<float>(info, 4, "winogradConv3d bias");
  const bool relu = info[5].ToBoolean().Value();
  const Span<float> y = spanArg<float>(info, 6, "winogradConv3d out");
  require(info, s.size() == 5, "winogradConv3d: shape must be [n, d, h, w, cin]");
  const int64_t voxels = s[0] * s[1] * s[2] * s[3];
  require(info, voxels > 0 && winogradFits(s[4], cout), "winogradConv3d: empty volume, or channel counts not multiples of 16");
  require(info, x.size == voxels * s[4] && y.size == voxels * cout, "winogradConv3d: x or out does not match the shape");
  require(info, u.size == 64 * s[4] * cout && bias.size == cout, "winogradConv3d: u or bias does not match the channel counts");
  winogradConv3d(x.data, static_cast<int>(s[0]), static_cast<int>(s[1]), static_cast<int>(s[2]), static_cast<int>(s[3]),
                 static_cast<int>(s[4]), u.data, static_cast<int>(cout), bias.data, relu, y.data);
  return info.Env().Undefined();
}

}  // namespace

void registerWinograd(Napi::Env env, Napi::Object exports) {
  exports.Set("winogradFilter", Napi::Function::New(env, WinogradFilter, "winogradFilter"));
  exports.Set("winogradConv3d", Napi::Function::New(env, WinogradConv3d, "winogradConv3d"));
}
#endif

}  // namespace tracoco
