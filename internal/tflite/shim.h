// Copyright 2026 The animed Authors. SPDX-License-Identifier: Apache-2.0

// shim.h declares the few C helpers the Go binding needs on top of the
// TensorFlow Lite 2.9 C API (tensorflow/lite/c/c_api.h): an error reporter that
// captures messages into a per-interpreter buffer, the XNNPACK delegate (whose
// header the npm package does not ship) and an external delegate loader that
// checks a plugin before TFLite ever touches it.

#ifndef ANIMED_TFLITE_SHIM_H_
#define ANIMED_TFLITE_SHIM_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tensorflow/lite/c/c_api.h"

// animed_errbuf collects the messages TFLite reports for one interpreter.
// It lives in C memory and is passed to TFLite as the reporter's user_data.
enum { ANIMED_ERRBUF_SIZE = 4096 };
typedef struct {
  size_t len;
  int truncated;
  char buf[ANIMED_ERRBUF_SIZE];
} animed_errbuf;

animed_errbuf* animed_errbuf_new(void);
void animed_errbuf_reset(animed_errbuf* eb);
void animed_errbuf_add(animed_errbuf* eb, const char* msg);

// animed_options_new returns interpreter options with the thread count set and
// every TFLite error routed into eb.
TfLiteInterpreterOptions* animed_options_new(int threads, animed_errbuf* eb);

// The XNNPACK delegate is compiled into libtensorflowlite_c.so but its header
// is not shipped. In TFLite 2.9 the options are {int32 num_threads; uint32
// flags}; later versions append pointers (weights cache, ...). The delegate
// reads the struct through a pointer, so a struct with zeroed reserved fields
// after the two known ones is read correctly by either layout.
// TfLiteXNNPackDelegateOptionsDefault is deliberately not used: it returns the
// struct by value, and that ABI depends on the struct's size.
typedef struct {
  int32_t num_threads;
  uint32_t flags;
  void* reserved[8];
} animed_xnnpack_options;

enum {
  ANIMED_XNNPACK_FLAG_QS8 = 1,  // signed INT8 operators
  ANIMED_XNNPACK_FLAG_QU8 = 2,  // unsigned INT8 operators
};

TfLiteDelegate* animed_xnnpack_new(int threads, uint32_t flags);
void animed_xnnpack_delete(TfLiteDelegate* d);

// animed_external is an external delegate plugin (the tflite_plugin_* ABI of
// TFLite's external delegate) loaded with dlopen.
typedef struct animed_external animed_external;

// animed_external_new loads the plugin at path, checks that it exports both
// tflite_plugin_create_delegate and tflite_plugin_destroy_delegate, and
// creates its delegate with the given options. On failure it returns NULL and
// leaves the reason in eb.
animed_external* animed_external_new(const char* path, const char** keys,
                                     const char** values, size_t n,
                                     animed_errbuf* eb);
TfLiteDelegate* animed_external_delegate(animed_external* e);
// animed_external_delete destroys the delegate and unloads the plugin. Call it
// only after every interpreter using the delegate is deleted.
void animed_external_delete(animed_external* e);

#endif  // ANIMED_TFLITE_SHIM_H_
