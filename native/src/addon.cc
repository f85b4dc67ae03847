// tracoco's native kernels for the tfjs `native` backend: oneDNN convolutions plus multi-threaded
// elementwise, reduction and BatchNorm loops. Every entry point is synchronous and writes into
// an output typed array allocated by the caller.
#include <napi.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "args.h"
#include "batchnorm.h"
#include "conv3d.h"
#include "dnnl_context.h"
#include "elementwise.h"
#include "layout.h"
#include "losses.h"
#include "matmul.h"
#include "reduce.h"
#include "winograd.h"
#include "workspace.h"

namespace tracoco {

// The engine is thread-safe and shared; streams, scratch buffers and plan caches are per thread,
// so JS worker threads that load the addon in the same process never share mutable state.
const dnnl::engine& cpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

namespace {

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = intArg(info, 0, "threads");
  require(info, n >= 1 && n <= 1024, "setThreads: expected 1..1024");
  omp_set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Value Versions(const Napi::CallbackInfo& info) {
  const dnnl_version_t* v = dnnl_version();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("dnnl", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("dnnlCpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : std::to_string(v->cpu_runtime));
#ifdef TRACOCO_PORTABLE
  o.Set("portable", true);
#else
  o.Set("portable", false);
#endif
  o.Set("winograd", winogradVectorised());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("conv3d", Napi::Function::New(env, Conv3d, "conv3d"));
  exports.Set("conv3dImpl", Napi::Function::New(env, Conv3dImpl, "conv3dImpl"));
  exports.Set("conv3dCacheClear", Napi::Function::New(env, Conv3dCacheClear, "conv3dCacheClear"));
  exports.Set("conv3dCacheSize", Napi::Function::New(env, Conv3dCacheSize, "conv3dCacheSize"));
  registerElementwise(env, exports);
  registerReduce(env, exports);
  registerLayout(env, exports);
  registerMatmul(env, exports);
  registerBatchNorm(env, exports);
  registerLosses(env, exports);
  registerWinograd(env, exports);
  return exports;
}

}  // namespace
}  // namespace tracoco

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tracoco::Init(env, exports); }
NODE_API_MODULE(tracoco_native, InitModule)
