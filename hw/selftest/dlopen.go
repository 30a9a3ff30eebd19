package selftest

// #cgo LDFLAGS: -ldl
// #include <dlfcn.h>
// #include <stdlib.h>
//
// // animed_check_plugin dlopens path, looks up both plugin entry points and
// // closes it again. It returns NULL or the loader's message (static storage).
// static const char* animed_check_plugin(const char* path, int* has_create, int* has_destroy) {
//   void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
//   if (h == NULL) {
//     return dlerror();
//   }
//   *has_create = dlsym(h, "tflite_plugin_create_delegate") != NULL;
//   *has_destroy = dlsym(h, "tflite_plugin_destroy_delegate") != NULL;
//   dlclose(h);
//   return NULL;
// }
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/animed/animed/hw"
)

// CheckLoad loads the plugin at path with dlopen (running its constructors:
// call it only in a child process), checks that it exports both external
// delegate entry points, and unloads it.
func CheckLoad(path string) error {
	if path == "" {
		return errors.New("dlopen: no delegate path")
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var create, destroy C.int
	if msg := C.animed_check_plugin(cpath, &create, &destroy); msg != nil {
		return fmt.Errorf("dlopen %s: %s", path, C.GoString(msg))
	}
	switch {
	case create == 0:
		return fmt.Errorf("dlopen %s: no symbol %s", path, hw.PluginCreate)
	case destroy == 0:
		return fmt.Errorf("dlopen %s: no symbol %s", path, hw.PluginDestroy)
	}
	return nil
}
