// The convolutions of one VNet window (batch 1), each timed alone into reused buffers: convs with
// their bias and ReLU as oneDNN post-ops, transposed convs without an epilogue (tracoco applies
// theirs in a pass of its own). The floor of an eval forward on this machine (README, Performance).
//   g++ -O2 -std=c++17 native/tools/vnet-window-layers.cc -ldnnl -o /tmp/vnet-window-layers
//   OMP_NUM_THREADS=2 /tmp/vnet-window-layers [ndhwc|blocked] [filters=16]
#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>
#include <string>
using namespace dnnl; using tag = memory::format_tag; using dt = memory::data_type;
engine eng(engine::kind::cpu, 0); stream s(eng);
struct L { std::string name; int ic, oc, k, st, d, h, w; bool deconv; };
double timeit(const L& l, tag act) {
  int od = l.deconv ? l.d*2 : (l.k==2? l.d/2 : l.d), oh = l.deconv? l.h*2 : (l.k==2? l.h/2: l.h), ow = l.deconv? l.w*2 : (l.k==2? l.w/2: l.w);
  memory::dims src{1,l.ic,l.d,l.h,l.w}, dst{1,l.oc,od,oh,ow}, wei{l.oc,l.ic,l.k,l.k,l.k}, bias{l.oc};
  int p = l.k==3?1:0; memory::dims str{l.st,l.st,l.st}, pad{p,p,p};
  auto sd = memory::desc(src, dt::f32, act), dd = memory::desc(dst, dt::f32, act);
  auto wd = memory::desc(wei, dt::f32, tag::any), bd = memory::desc(bias, dt::f32, tag::x);
  primitive_attr attr; post_ops po; po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); attr.set_post_ops(po);
  primitive prim; memory::desc wpd; std::string impl;
  if (!l.deconv) { auto pd = convolution_forward::primitive_desc(convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, sd, wd, bd, dd, str, pad, pad), attr, eng); prim = convolution_forward(pd); wpd = pd.weights_desc(); impl = pd.impl_info_str(); sd = pd.src_desc(); dd = pd.dst_desc(); }
  else { auto pd = deconvolution_forward::primitive_desc(deconvolution_forward::desc(prop_kind::forward_inference, algorithm::deconvolution_direct, sd, wd, dd, str, pad, pad), eng); prim = deconvolution_forward(pd); wpd = pd.weights_desc(); impl = pd.impl_info_str(); sd = pd.src_desc(); dd = pd.dst_desc(); }
  memory ms(sd, eng), md(dd, eng), mw(wpd, eng), mb(bd, eng);
  float* p0 = (float*)ms.get_data_handle(); for (size_t i=0;i<sd.get_size()/4;i++) p0[i]=0.01f*(i%97);
  std::vector<double> t;
  for (int r=0;r<6;r++){ auto a=std::chrono::steady_clock::now(); prim.execute(s,{{DNNL_ARG_SRC,ms},{DNNL_ARG_WEIGHTS,mw},{DNNL_ARG_BIAS,mb},{DNNL_ARG_DST,md}}); s.wait(); t.push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-a).count()); }
  std::sort(t.begin()+1,t.end()); double ms_=t[3];
  double fl = 2.0*l.ic*l.oc*l.k*l.k*l.k*(l.deconv? (double)l.d*l.h*l.w : (double)od*oh*ow);
  printf("%-14s %7.2f ms %6.0f GF/s %s\n", l.name.c_str(), ms_, fl/ms_/1e6, impl.c_str());
  return ms_;
}
int main(int argc, char** argv) {
  tag act = argc > 1 && std::string(argv[1]) == "blocked" ? tag::nCdhw16c : tag::ndhwc;
  int F = argc>2 ? atoi(argv[2]) : 16;
  std::vector<std::pair<L,int>> ls = {
    {{"c1",1,F,3,1,80,112,112,false},1}, {{"c9",F,F,3,1,80,112,112,false},1},
    {{"down1",F,2*F,2,2,80,112,112,false},1}, {{"c2",2*F,2*F,3,1,40,56,56,false},4},
    {{"down2",2*F,4*F,2,2,40,56,56,false},1}, {{"c3",4*F,4*F,3,1,20,28,28,false},6},
    {{"down3",4*F,8*F,2,2,20,28,28,false},1}, {{"c4",8*F,8*F,3,1,10,14,14,false},6},
    {{"down4",8*F,16*F,2,2,10,14,14,false},1}, {{"c5",16*F,16*F,3,1,5,7,7,false},3},
    {{"up5",16*F,8*F,2,2,5,7,7,true},1}, {{"up6",8*F,4*F,2,2,10,14,14,true},1}, {{"up7",4*F,2*F,2,2,20,28,28,true},1}, {{"up8",2*F,F,2,2,40,56,56,true},1},
    {{"out",F,2,1,1,80,112,112,false},1} };
  double tot=0; for (auto& [l,n] : ls) tot += n*timeit(l, act);
  printf("total %.1f ms\n", tot);
}
