// Argument access for the N-API entry points. The TypeScript side validates shapes and dtypes;
// these checks only turn a wrong call into a JS exception instead of memory corruption.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tracoco {

template <typename T>
struct TypedArrayKind;
template <>
struct TypedArrayKind<float> {
  static constexpr napi_typedarray_type value = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedArrayKind<int32_t> {
  static constexpr napi_typedarray_type value = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayKind<uint8_t> {
  static constexpr napi_typedarray_type value = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};

// A typed-array argument seen as (pointer, length).
template <typename T>
struct Span {
  T* data;
  int64_t size;
};

template <typename T>
Span<T> spanArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  const Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayKind<T>::value) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a " + TypedArrayKind<T>::name);
  }
  auto array = v.As<Napi::TypedArrayOf<T>>();
  return Span<T>{array.Data(), static_cast<int64_t>(array.ElementLength())};
}

inline int64_t intArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  const Napi::Value v = info[index];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a number");
  return v.As<Napi::Number>().Int64Value();
}

inline double numberArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  const Napi::Value v = info[index];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

// A small Int32Array of dimensions or strides, copied to int64.
inline std::vector<int64_t> dimsArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  const Span<int32_t> s = spanArg<int32_t>(info, index, what);
  return std::vector<int64_t>(s.data, s.data + s.size);
}

inline void require(const Napi::CallbackInfo& info, bool ok, const std::string& message) {
  if (!ok) throw Napi::RangeError::New(info.Env(), message);
}

}  // namespace tracoco
