// A TFLite external delegate plugin for the backend tests, built with the
// system cc in one of four modes:
//   -DMODE_XNNPACK       wraps the XNNPACK delegate of libtensorflowlite_c
//                        (QS8 on): a real, correct, fast delegate
//   -DMODE_CRASH_CREATE  SIGSEGV in tflite_plugin_create_delegate
//   -DMODE_CRASH_INVOKE  takes every node, SIGSEGV when the graph runs
//   -DMODE_WRONG         takes every node and writes a constant: wrong output

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/lite/c/common.h"

// crash writes through a NULL pointer the compiler cannot see coming.
static void crash(void) {
  volatile int* volatile p = NULL;
  *p = 1;
}

#ifdef MODE_XNNPACK
// TFLite 2.9's options are {int32 num_threads; uint32 flags}; later
// versions append fields, left zero here.
typedef struct {
  int32_t num_threads;
  uint32_t flags;
  void* reserved[8];
} xnnpack_options;
TfLiteDelegate* TfLiteXNNPackDelegateCreate(const xnnpack_options* options);
void TfLiteXNNPackDelegateDelete(TfLiteDelegate* delegate);

TfLiteDelegate* tflite_plugin_create_delegate(char** keys, char** values, size_t n,
                                              void (*report_error)(const char*)) {
  xnnpack_options o;
  memset(&o, 0, sizeof o);
  o.num_threads = 1;
  o.flags = 1;  // QS8
  for (size_t i = 0; i < n; i++) {
    if (strcmp(keys[i], "num_threads") == 0) o.num_threads = atoi(values[i]);
  }
  TfLiteDelegate* d = TfLiteXNNPackDelegateCreate(&o);
  if (d == NULL) report_error("test plugin: XNNPACK delegate not created");
  return d;
}

void tflite_plugin_destroy_delegate(TfLiteDelegate* d) { TfLiteXNNPackDelegateDelete(d); }

#else

static TfLiteStatus kernel_prepare(TfLiteContext* context, TfLiteNode* node) {
  (void)context;
  (void)node;
  return kTfLiteOk;
}

static TfLiteStatus kernel_invoke(TfLiteContext* context, TfLiteNode* node) {
#ifdef MODE_CRASH_INVOKE
  crash();
#endif
  for (int i = 0; i < node->outputs->size; i++) {
    TfLiteTensor* t = &context->tensors[node->outputs->data[i]];
    if (t->type == kTfLiteFloat32) {
      for (size_t j = 0; j < t->bytes / sizeof(float); j++) t->data.f[j] = 0.5f;
    } else {
      memset(t->data.raw, 0x40, t->bytes);
    }
  }
  return kTfLiteOk;
}

static TfLiteStatus delegate_prepare(TfLiteContext* context, TfLiteDelegate* d) {
  TfLiteIntArray* plan;
  if (context->GetExecutionPlan(context, &plan) != kTfLiteOk) return kTfLiteError;
  TfLiteRegistration r;
  memset(&r, 0, sizeof r);
  r.prepare = kernel_prepare;
  r.invoke = kernel_invoke;
  r.custom_name = "animed_test_delegate";
  r.version = 1;
  return context->ReplaceNodeSubsetsWithDelegateKernels(context, r, plan, d);
}

TfLiteDelegate* tflite_plugin_create_delegate(char** keys, char** values, size_t n,
                                              void (*report_error)(const char*)) {
  (void)keys;
  (void)values;
  (void)n;
  (void)report_error;
#ifdef MODE_CRASH_CREATE
  crash();
#endif
#ifdef MODE_WRONG
  // Vendor libraries chat on stdout; the self-test result must survive it.
  printf("test plugin: delegate created\n{\"not\": \"the result\"\n");
  fflush(stdout);
#endif
  TfLiteDelegate* d = (TfLiteDelegate*)calloc(1, sizeof(TfLiteDelegate));
  d->Prepare = delegate_prepare;
  return d;
}

void tflite_plugin_destroy_delegate(TfLiteDelegate* d) { free(d); }

#endif
