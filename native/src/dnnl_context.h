// The oneDNN CPU engine (process-wide) and the calling thread's stream; kernels run in order on
// the JS thread that calls them.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

namespace tracoco {

const dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

}  // namespace tracoco
