#include "conv3d.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "args.h"
#include "dnnl_context.h"
#include "lru_cache.h"
#include "parallel.h"
#include "workspace.h"

namespace tracoco {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

constexpr int kGeometrySize = 21;
constexpr size_t kPlanCacheCapacity = 128;

// kTransposedForward: the transposed convolution of the geometry's conv (what backward-data computes,
// a = the conv's dst, out = its src) as oneDNN's deconvolution, which takes an epilogue.
enum Direction { kForward = 0, kBackwardData = 1, kBackwardWeights = 2, kTransposedForward = 3 };
enum Layout { kPlain = 0, kBlockedWeights = 1, kBlocked = 2 };
// Inference epilogue (bit flags), so the output is not read and written again by separate ops:
// the bias, then ReLU, then (transposed forward only) a `skip` tensor shaped like the output added.
// The forward conv applies them inside the primitive; the transposed forward in one pass after it.
enum Epilogue { kNoEpilogue = 0, kBias = 1, kRelu = 2, kSum = 4 };

// direction, layout, epilogue, geometry
using PlanKey = std::array<int64_t, kGeometrySize + 3>;
struct PlanKeyHash {
  size_t operator()(const PlanKey& k) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : k) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

struct Geometry {
  int64_t n, id, ih, iw, ic, od, oh, ow, oc, kd, kh, kw, sd, sh, sw, pf, pt, pl, pbk, pbt, pr;
  memory::dims src() const { return {n, ic, id, ih, iw}; }
  memory::dims dst() const { return {n, oc, od, oh, ow}; }
  memory::dims weights() const { return {oc, ic, kd, kh, kw}; }
  memory::dims strides() const { return {sd, sh, sw}; }
  memory::dims padLeft() const { return {pf, pt, pl}; }
  memory::dims padRight() const { return {pbk, pbt, pr}; }
};

// One tensor argument of the primitive: the user's plain layout, the primitive's layout, and the
// reorder between them when they differ.
struct Operand {
  int arg = 0;
  memory::desc user;
  memory::desc prim;
  bool reordered = false;
  dnnl::primitive reorder;
};

struct Plan {
  dnnl::primitive primitive;
  std::string impl;
  Operand a, b, out;
  memory::desc scratchpad;
  memory::desc bias;  // zero-sized without a bias epilogue
};

memory::desc plainDesc(const memory::dims& dims, Tag tag) { return memory::desc(dims, memory::data_type::f32, tag); }
memory::desc anyDesc(const memory::dims& dims) { return memory::desc(dims, memory::data_type::f32, Tag::any); }

Operand operand(int arg, const memory::desc& user, const memory::desc& prim, bool isOutput) {
  Operand o;
  o.arg = arg;
  o.user = user;
  o.prim = prim;
  o.reordered = !(user == prim);
  if (o.reordered) {
    const dnnl::engine& eng = cpuEngine();
    o.reorder = isOutput ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim, eng, user))
                         : dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, prim));
  }
  return o;
}

// A plan computing dst from (src, weights): a = src, b = weights, out = dst.
template <typename Primitive, typename PrimitiveDesc>
void setForward(Plan& plan, const PrimitiveDesc& pd, const memory::desc& srcUser, const memory::desc& weiUser, const memory::desc& dstUser) {
  plan.primitive = Primitive(pd);
  plan.impl = pd.impl_info_str();
  plan.a = operand(DNNL_ARG_SRC, srcUser, pd.src_desc(), false);
  plan.b = operand(DNNL_ARG_WEIGHTS, weiUser, pd.weights_desc(), false);
  plan.out = operand(DNNL_ARG_DST, dstUser, pd.dst_desc(), true);
  plan.scratchpad = pd.scratchpad_desc();
}

void setReluPostOp(dnnl::primitive_attr& attr, int epilogue) {
  dnnl::post_ops ops;
  if (epilogue & kRelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
}

// The transposed convolution (inference). Its epilogue runs as one pass of our own afterwards
// (applyEpilogue): oneDNN 2.6's jit deconvolution applies a bias 5x and a ReLU post-op 50x slower
// than the deconvolution itself takes. Activations stay in the user's layout.
std::shared_ptr<Plan> makeTransposedPlan(int layout, int epilogue, const Geometry& g) {
  const memory::desc srcUser = plainDesc(g.dst(), Tag::ndhwc);
  const memory::desc dstUser = plainDesc(g.src(), Tag::ndhwc);
  // tfjs's [kd, kh, kw, out, in] filter seen as deconvolution weights {out, in, kd, kh, kw}.
  const memory::dims dims = {g.ic, g.oc, g.kd, g.kh, g.kw};
  const memory::desc weiUser(dims, memory::data_type::f32, memory::dims{g.oc, 1, g.kh * g.kw * g.ic * g.oc, g.kw * g.ic * g.oc, g.ic * g.oc});
  const memory::desc wei = layout == kPlain ? weiUser : anyDesc(dims);
  const memory::desc bias = (epilogue & kBias) ? plainDesc({g.ic}, Tag::x) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, srcUser, wei,
                                            dstUser, g.strides(), g.padLeft(), g.padRight());
  const dnnl::deconvolution_forward::primitive_desc pd(d, attr, cpuEngine());
  auto plan = std::make_shared<Plan>();
  setForward<dnnl::deconvolution_forward>(*plan, pd, srcUser, weiUser, dstUser);
  plan->bias = bias;  // for the size check; applied by applyEpilogue
  return plan;
}

// out = relu?(out + bias[c]) (+ skip), channels fastest (NDHWC).
void applyEpilogue(float* out, int64_t n, const float* bias, int64_t channels, bool relu, const float* skip) {
  parallelRanges(n / channels, channels * (skip ? 3 : 2), [&](int64_t begin, int64_t end, int) {
    for (int64_t v = begin; v < end; ++v) {
      float* row = out + v * channels;
      const float* add = skip ? skip + v * channels : nullptr;
      for (int64_t c = 0; c < channels; ++c) {
        float y = row[c] + (bias ? bias[c] : 0.0f);
        if (relu && y < 0.0f) y = 0.0f;
        row[c] = add ? y + add[c] : y;
      }
    }
  });
}

std::shared_ptr<Plan> makePlan(int direction, int layout, int epilogue, const Geometry& g) {
  if (direction == kTransposedForward) return makeTransposedPlan(layout, epilogue, g);
  const memory::desc srcUser = plainDesc(g.src(), Tag::ndhwc);
  const memory::desc dstUser = plainDesc(g.dst(), Tag::ndhwc);
  const memory::desc weiUser = plainDesc(g.weights(), Tag::dhwio);
  const memory::desc src = layout == kBlocked ? anyDesc(g.src()) : srcUser;
  const memory::desc dst = layout == kBlocked ? anyDesc(g.dst()) : dstUser;
  const memory::desc wei = layout == kPlain ? weiUser : anyDesc(g.weights());
  const dnnl::engine& eng = cpuEngine();

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto algo = dnnl::algorithm::convolution_direct;
  const dnnl::convolution_forward::desc fwdDesc(dnnl::prop_kind::forward_training, algo, src, wei, dst, g.strides(),
                                                g.padLeft(), g.padRight());
  const dnnl::convolution_forward::primitive_desc fwd(fwdDesc, attr, eng);

  auto plan = std::make_shared<Plan>();
  if (direction == kForward && epilogue != kNoEpilogue) {
    // Inference only (no backward pass follows), so the primitive may pick its fastest form.
    setReluPostOp(attr, epilogue);
    const memory::desc bias = (epilogue & kBias) ? plainDesc({g.oc}, Tag::x) : memory::desc();
    const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, algo, src, wei, bias, dst, g.strides(),
                                            g.padLeft(), g.padRight());
    setForward<dnnl::convolution_forward>(*plan, dnnl::convolution_forward::primitive_desc(d, attr, eng), srcUser, weiUser, dstUser);
    plan->bias = bias;
  } else if (direction == kForward) {
    setForward<dnnl::convolution_forward>(*plan, fwd, srcUser, weiUser, dstUser);
  } else if (direction == kBackwardData) {
    const dnnl::convolution_backward_data::desc d(algo, src, wei, dst, g.strides(), g.padLeft(), g.padRight());
    const dnnl::convolution_backward_data::primitive_desc pd(d, attr, eng, fwd);
    plan->primitive = dnnl::convolution_backward_data(pd);
    plan->impl = pd.impl_info_str();
    plan->a = operand(DNNL_ARG_DIFF_DST, dstUser, pd.diff_dst_desc(), false);
    plan->b = operand(DNNL_ARG_WEIGHTS, weiUser, pd.weights_desc(), false);
    plan->out = operand(DNNL_ARG_DIFF_SRC, srcUser, pd.diff_src_desc(), true);
    plan->scratchpad = pd.scratchpad_desc();
  } else {
    const dnnl::convolution_backward_weights::desc d(algo, src, wei, dst, g.strides(), g.padLeft(), g.padRight());
    const dnnl::convolution_backward_weights::primitive_desc pd(d, attr, eng, fwd);
    plan->primitive = dnnl::convolution_backward_weights(pd);
    plan->impl = pd.impl_info_str();
    plan->a = operand(DNNL_ARG_SRC, srcUser, pd.src_desc(), false);
    plan->b = operand(DNNL_ARG_DIFF_DST, dstUser, pd.diff_dst_desc(), false);
    plan->out = operand(DNNL_ARG_DIFF_WEIGHTS, weiUser, pd.diff_weights_desc(), true);
    plan->scratchpad = pd.scratchpad_desc();
  }
  return plan;
}

LruCache<PlanKey, Plan, PlanKeyHash>& planCache() {
  thread_local LruCache<PlanKey, Plan, PlanKeyHash> cache(kPlanCacheCapacity);
  return cache;
}

struct Request {
  int direction;
  int layout;
  int epilogue;
  Geometry geometry;
  PlanKey key;
};

// `epilogueArg`: where the optional epilogue flags are (conv3d: 6, conv3dImpl: 3).
Request parseRequest(const Napi::CallbackInfo& info, size_t epilogueArg) {
  Request r;
  r.direction = static_cast<int>(intArg(info, 0, "direction"));
  r.layout = static_cast<int>(intArg(info, 1, "layout"));
  require(info, r.direction >= kForward && r.direction <= kTransposedForward, "conv3d: direction must be 0, 1, 2 or 3");
  require(info, r.layout >= kPlain && r.layout <= kBlocked, "conv3d: layout must be 0, 1 or 2");
  const Span<int32_t> geo = spanArg<int32_t>(info, 2, "geometry");
  require(info, geo.size == kGeometrySize, "conv3d: geometry must have 21 entries");
  const int32_t* v = geo.data;
  // Sizes (batch, input, output, filter) and strides must be positive, paddings non-negative:
  // oneDNN would otherwise read or write outside the buffers it is given.
  for (int i = 0; i < kGeometrySize; ++i) {
    const bool padding = i >= 15;
    if (v[i] < (padding ? 0 : 1)) {
      require(info, false, "conv3d: geometry entry " + std::to_string(i) + (padding ? " (a padding) must be >= 0" : " (a size or stride) must be >= 1") + ", got " + std::to_string(v[i]));
    }
  }
  r.geometry = Geometry{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
                        v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20]};
  r.epilogue = info.Length() > epilogueArg && !info[epilogueArg].IsUndefined() ? static_cast<int>(intArg(info, epilogueArg, "epilogue")) : kNoEpilogue;
  require(info, r.epilogue >= kNoEpilogue && r.epilogue <= (kBias | kRelu | kSum), "conv3d: epilogue must be 0..7");
  require(info, r.epilogue == kNoEpilogue || r.direction == kForward || r.direction == kTransposedForward,
          "conv3d: an epilogue needs the forward or transposed-forward direction");
  require(info, !(r.epilogue & kSum) || r.direction == kTransposedForward, "conv3d: a sum epilogue needs the transposed-forward direction");
  r.key[0] = r.direction;
  r.key[1] = r.layout;
  r.key[2] = r.epilogue;
  for (int i = 0; i < kGeometrySize; ++i) r.key[i + 3] = v[i];
  return r;
}

bool isReference(const Plan& plan) { return plan.impl.rfind("ref", 0) == 0; }

std::shared_ptr<Plan> planFor(const Napi::CallbackInfo& info, const Request& r) {
  std::shared_ptr<Plan> plan = planCache().find(r.key);
  if (plan) return plan;
  try {
    plan = makePlan(r.direction, r.layout, r.epilogue, r.geometry);
    // Some plain-layout geometries only have oneDNN's reference (scalar) implementation, orders
    // of magnitude slower: use the first other layout that has an optimised one.
    for (int layout : {kBlockedWeights, kBlocked, kPlain}) {
      if (!isReference(*plan)) break;
      if (layout == r.layout) continue;
      std::shared_ptr<Plan> other = makePlan(r.direction, layout, r.epilogue, r.geometry);
      if (!isReference(*other)) plan = other;
    }
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN could not create the convolution: ") + e.what());
  }
  planCache().insert(r.key, plan);
  return plan;
}

// The memory the primitive reads or writes for one operand: the user's buffer itself, or a
// workspace slot in the primitive's layout.
memory bind(const Operand& o, float* user, int slot, memory* userMemory) {
  const dnnl::engine& eng = cpuEngine();
  *userMemory = memory(o.user, eng, user);
  if (!o.reordered) return *userMemory;
  return memory(o.prim, eng, workspace().get(slot, o.prim.get_size()));
}

void checkSize(const Napi::CallbackInfo& info, const Operand& o, int64_t elements, const char* what) {
  require(info, static_cast<size_t>(elements) * sizeof(float) == o.user.get_size(),
          std::string("conv3d: ") + what + " has the wrong number of elements");
}

}  // namespace

Napi::Value Conv3d(const Napi::CallbackInfo& info) {
  const Request r = parseRequest(info, 6);
  const Span<float> a = spanArg<float>(info, 3, "a");
  const Span<float> b = spanArg<float>(info, 4, "b");
  const Span<float> out = spanArg<float>(info, 5, "out");
  const std::shared_ptr<Plan> plan = planFor(info, r);
  checkSize(info, plan->a, a.size, "input a");
  checkSize(info, plan->b, b.size, "input b");
  checkSize(info, plan->out, out.size, "output");
  float* bias = nullptr;
  if (r.epilogue & kBias) {
    const Span<float> b7 = spanArg<float>(info, 7, "bias");
    require(info, static_cast<size_t>(b7.size) * sizeof(float) == plan->bias.get_size(), "conv3d: bias has the wrong number of elements");
    bias = b7.data;
  }
  const float* skip = nullptr;
  if (r.epilogue & kSum) {
    const Span<float> s8 = spanArg<float>(info, 8, "skip");
    require(info, s8.size == out.size, "conv3d: skip must have as many elements as the output");
    skip = s8.data;
  }
  const bool ownEpilogue = r.direction == kTransposedForward && r.epilogue != kNoEpilogue;
  try {
    dnnl::stream& s = cpuStream();
    memory userA, userB, userOut;
    memory primA = bind(plan->a, a.data, 0, &userA);
    memory primB = bind(plan->b, b.data, 1, &userB);
    memory primOut = bind(plan->out, out.data, 2, &userOut);
    if (plan->a.reordered) plan->a.reorder.execute(s, {{DNNL_ARG_FROM, userA}, {DNNL_ARG_TO, primA}});
    if (plan->b.reordered) plan->b.reorder.execute(s, {{DNNL_ARG_FROM, userB}, {DNNL_ARG_TO, primB}});
    memory scratch(plan->scratchpad, cpuEngine(), workspace().get(3, plan->scratchpad.get_size()));
    std::unordered_map<int, memory> args{{plan->a.arg, primA}, {plan->b.arg, primB}, {plan->out.arg, primOut}, {DNNL_ARG_SCRATCHPAD, scratch}};
    if (bias && !ownEpilogue) args.emplace(DNNL_ARG_BIAS, memory(plan->bias, cpuEngine(), bias));
    plan->primitive.execute(s, args);
    if (plan->out.reordered) plan->out.reorder.execute(s, {{DNNL_ARG_FROM, primOut}, {DNNL_ARG_TO, userOut}});
    s.wait();
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN convolution failed: ") + e.what());
  }
  if (ownEpilogue) applyEpilogue(out.data, out.size, bias, r.geometry.ic, (r.epilogue & kRelu) != 0, skip);
  return info.Env().Undefined();
}

Napi::Value Conv3dImpl(const Napi::CallbackInfo& info) {
  const Request r = parseRequest(info, 3);
  const std::shared_ptr<Plan> plan = planFor(info, r);
  std::string desc = plan->impl;
  if (plan->a.reordered || plan->b.reordered || plan->out.reordered) {
    desc += " (reorders:";
    if (plan->a.reordered) desc += " a";
    if (plan->b.reordered) desc += " b";
    if (plan->out.reordered) desc += " out";
    desc += ")";
  }
  return Napi::String::New(info.Env(), desc);
}

Napi::Value Conv3dCacheClear(const Napi::CallbackInfo& info) {
  planCache().clear();
  workspace().release();
  return info.Env().Undefined();
}

Napi::Value Conv3dCacheSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(planCache().size()));
}

}  // namespace tracoco
