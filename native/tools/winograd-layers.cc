// The Winograd kernel (native/src/winograd.cc) against oneDNN's direct convolution with the same
// bias + ReLU post-op, per 3×3×3 layer of a VNet-16 window: time (median of 6 after a warm-up),
// speed-up, the filter transform's time and the largest difference between the two outputs.
//   g++ -O3 -march=native -fopenmp -std=c++17 -DTRACOCO_KERNEL_ONLY native/tools/winograd-layers.cc native/src/winograd.cc -ldnnl -o /tmp/winograd-layers
//   OMP_NUM_THREADS=2 /tmp/winograd-layers
#include <oneapi/dnnl/dnnl.hpp>
#include "../src/winograd.h"
#include <chrono>
#include <cstdio>
#include <cmath>
#include <vector>
#include <algorithm>
#include <random>
using namespace dnnl; using tag = memory::format_tag; using dt = memory::data_type;
engine eng(engine::kind::cpu, 0); stream s(eng);
template<class F> double timeit(F f){ std::vector<double> t; for(int r=0;r<7;r++){auto a=std::chrono::steady_clock::now(); f(); t.push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-a).count());} std::sort(t.begin()+1,t.end()); return t[3]; }
void run(int N,int C,int K,int D,int H,int W){
  std::mt19937 rng(1); std::normal_distribution<float> nd(0,1);
  std::vector<float> x((size_t)N*D*H*W*C), wt(27*(size_t)C*K), b(K), y1((size_t)N*D*H*W*K), y2(y1.size());
  for (auto& v : x) v = nd(rng);
  for (auto& v : wt) v = nd(rng) * 0.1f;
  for (auto& v : b) v = nd(rng) * 0.1f;
  memory::dims src{N,C,D,H,W}, dst{N,K,D,H,W}, wei{K,C,3,3,3}, bias{K};
  auto sd=memory::desc(src,dt::f32,tag::ndhwc), dd=memory::desc(dst,dt::f32,tag::ndhwc), wd=memory::desc(wei,dt::f32,tag::dhwio), bd=memory::desc(bias,dt::f32,tag::x);
  primitive_attr attr; post_ops po; po.append_eltwise(1.f,algorithm::eltwise_relu,0.f,0.f); attr.set_post_ops(po);
  auto pd=convolution_forward::primitive_desc(convolution_forward::desc(prop_kind::forward_inference,algorithm::convolution_direct,sd,memory::desc(wei,dt::f32,tag::any),bd,dd,{1,1,1},{1,1,1},{1,1,1}),attr,eng);
  memory ms(sd,eng,x.data()), md(dd,eng,y1.data()), mwu(wd,eng,wt.data()), mb(bd,eng,b.data()); memory mw(pd.weights_desc(),eng);
  reorder(mwu,mw).execute(s,mwu,mw); s.wait();
  auto prim=convolution_forward(pd);
  double td=timeit([&]{prim.execute(s,{{DNNL_ARG_SRC,ms},{DNNL_ARG_WEIGHTS,mw},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,md}}); s.wait();});
  std::vector<float> u(64*(size_t)C*K);
  double tf=timeit([&]{tracoco::winogradFilter(wt.data(),C,K,u.data());});
  double tw=timeit([&]{tracoco::winogradConv3d(x.data(),N,D,H,W,C,u.data(),K,b.data(),true,y2.data());});
  double err=0, mx=0; for(size_t i=0;i<y1.size();i++){err=std::max(err,(double)std::fabs(y1[i]-y2[i])); mx=std::max(mx,(double)std::fabs(y1[i]));}
  printf("%dx%dx%dx%d %d->%d: dnnl %.2f ms  wino %.2f ms (%.2fx)  filter %.2f ms  maxerr %.2e (max %.2f)\n",N,D,H,W,C,K,td,tw,td/tw,tf,err,mx);
}
int main() {
  // The 3×3×3 layers of one VNet-16 window (112×112×80), then an odd-sized batch of two.
  run(1,16,16,80,112,112);
  run(1,32,32,40,56,56); run(1,64,64,20,28,28); run(1,128,128,10,14,14); run(1,256,256,5,7,7); run(2,16,32,7,5,9);
}
