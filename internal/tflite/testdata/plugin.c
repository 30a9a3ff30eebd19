// A minimal TFLite external delegate plugin for the binding's tests. Its
// delegate takes no nodes, so the model runs on the builtin kernels.
// Options:
//   fail=MSG     tflite_plugin_create_delegate reports MSG and returns NULL
//   record=PATH  writes every key=value it was given to PATH
//   prepare=fail the delegate's Prepare fails (application failure)
// Built without tflite_plugin_destroy_delegate when NO_DESTROY is defined.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensorflow/lite/c/common.h"

static TfLiteStatus prepare_ok(TfLiteContext* context, TfLiteDelegate* d) {
  (void)context;
  (void)d;
  return kTfLiteOk;
}

static TfLiteStatus prepare_fail(TfLiteContext* context, TfLiteDelegate* d) {
  (void)d;
  context->ReportError(context, "test plugin: prepare failed on purpose");
  return kTfLiteError;
}

TfLiteDelegate* tflite_plugin_create_delegate(char** keys, char** values,
                                              size_t n,
                                              void (*report_error)(const char*)) {
  int fail_prepare = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(keys[i], "fail") == 0) {
      report_error(values[i]);
      return NULL;
    }
    if (strcmp(keys[i], "prepare") == 0 && strcmp(values[i], "fail") == 0) {
      fail_prepare = 1;
    }
    if (strcmp(keys[i], "record") == 0) {
      FILE* f = fopen(values[i], "w");
      if (f == NULL) {
        report_error("test plugin: cannot open the record file");
        return NULL;
      }
      for (size_t j = 0; j < n; j++) {
        fprintf(f, "%s=%s\n", keys[j], values[j]);
      }
      fclose(f);
    }
  }
  TfLiteDelegate* d = (TfLiteDelegate*)calloc(1, sizeof(TfLiteDelegate));
  d->Prepare = fail_prepare ? prepare_fail : prepare_ok;
  return d;
}

#ifndef NO_DESTROY
void tflite_plugin_destroy_delegate(TfLiteDelegate* d) { free(d); }
#endif
