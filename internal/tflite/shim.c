// Copyright 2026 The animed Authors. SPDX-License-Identifier: Apache-2.0

#include "shim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Declared here because the npm package lacks
// tensorflow/lite/delegates/xnnpack/xnnpack_delegate.h; both are exported by
// libtensorflowlite_c.so 2.9.
extern TfLiteDelegate* TfLiteXNNPackDelegateCreate(
    const animed_xnnpack_options* options);
extern void TfLiteXNNPackDelegateDelete(TfLiteDelegate* delegate);

animed_errbuf* animed_errbuf_new(void) {
  return (animed_errbuf*)calloc(1, sizeof(animed_errbuf));
}

void animed_errbuf_reset(animed_errbuf* eb) {
  eb->len = 0;
  eb->truncated = 0;
  eb->buf[0] = '\0';
}

// append adds text to eb, separating messages by a newline, and marks eb
// truncated when it is full.
static void append(animed_errbuf* eb, const char* text, size_t n) {
  if (eb->len > 0 && eb->len < ANIMED_ERRBUF_SIZE - 1) {
    eb->buf[eb->len++] = '\n';
  }
  size_t room = ANIMED_ERRBUF_SIZE - 1 - eb->len;
  if (n > room) {
    n = room;
    eb->truncated = 1;
  }
  memcpy(eb->buf + eb->len, text, n);
  eb->len += n;
  eb->buf[eb->len] = '\0';
}

void animed_errbuf_add(animed_errbuf* eb, const char* msg) {
  append(eb, msg, strlen(msg));
}

static void reporter(void* user_data, const char* format, va_list args) {
  animed_errbuf* eb = (animed_errbuf*)user_data;
  char msg[1024];
  int n = vsnprintf(msg, sizeof msg, format, args);
  if (n < 0) {
    return;
  }
  if ((size_t)n >= sizeof msg) {
    n = sizeof msg - 1;
    eb->truncated = 1;
  }
  append(eb, msg, (size_t)n);
}

TfLiteInterpreterOptions* animed_options_new(int threads, animed_errbuf* eb) {
  TfLiteInterpreterOptions* o = TfLiteInterpreterOptionsCreate();
  if (o == NULL) {
    return NULL;
  }
  TfLiteInterpreterOptionsSetNumThreads(o, threads);
  TfLiteInterpreterOptionsSetErrorReporter(o, reporter, eb);
  return o;
}

TfLiteDelegate* animed_xnnpack_new(int threads, uint32_t flags) {
  animed_xnnpack_options o;
  memset(&o, 0, sizeof o);
  o.num_threads = threads;
  o.flags = flags;
  return TfLiteXNNPackDelegateCreate(&o);
}

void animed_xnnpack_delete(TfLiteDelegate* d) {
  if (d != NULL) {
    TfLiteXNNPackDelegateDelete(d);
  }
}

typedef TfLiteDelegate* (*plugin_create_fn)(char** keys, char** values,
                                            size_t n,
                                            void (*report_error)(const char*));
typedef void (*plugin_destroy_fn)(TfLiteDelegate*);

struct animed_external {
  void* handle;
  plugin_destroy_fn destroy;
  TfLiteDelegate* delegate;
};

// The plugin ABI's error callback has no user data. Plugins call it
// synchronously from tflite_plugin_create_delegate, on the thread that called
// animed_external_new, so a thread-local pointer reaches the right buffer.
static __thread animed_errbuf* plugin_errbuf;

static void plugin_report(const char* msg) {
  if (plugin_errbuf != NULL && msg != NULL) {
    animed_errbuf_add(plugin_errbuf, msg);
  }
}

animed_external* animed_external_new(const char* path, const char** keys,
                                     const char** values, size_t n,
                                     animed_errbuf* eb) {
  dlerror();
  // RTLD_NODELETE: a plugin is never unmapped (plugins with threads or
  // atexit handlers crash when unloaded); dlclose only balances the count.
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (h == NULL) {
    const char* e = dlerror();
    animed_errbuf_add(eb, e != NULL ? e : "dlopen failed");
    return NULL;
  }
  plugin_create_fn create =
      (plugin_create_fn)dlsym(h, "tflite_plugin_create_delegate");
  plugin_destroy_fn destroy =
      (plugin_destroy_fn)dlsym(h, "tflite_plugin_destroy_delegate");
  if (create == NULL || destroy == NULL) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s is not a TFLite delegate plugin: it does not export %s", path,
             create == NULL ? "tflite_plugin_create_delegate"
                            : "tflite_plugin_destroy_delegate");
    animed_errbuf_add(eb, msg);
    dlclose(h);
    return NULL;
  }
  plugin_errbuf = eb;
  TfLiteDelegate* d = create((char**)keys, (char**)values, n, plugin_report);
  plugin_errbuf = NULL;
  if (d == NULL) {
    if (eb->len == 0) {
      animed_errbuf_add(eb, "tflite_plugin_create_delegate returned no delegate");
    }
    dlclose(h);
    return NULL;
  }
  animed_external* e = (animed_external*)calloc(1, sizeof(animed_external));
  if (e == NULL) {
    destroy(d);
    dlclose(h);
    animed_errbuf_add(eb, "out of memory");
    return NULL;
  }
  e->handle = h;
  e->destroy = destroy;
  e->delegate = d;
  return e;
}

TfLiteDelegate* animed_external_delegate(animed_external* e) {
  return e->delegate;
}

void animed_external_delete(animed_external* e) {
  if (e == NULL) {
    return;
  }
  e->destroy(e->delegate);
  dlclose(e->handle);
  free(e);
}
