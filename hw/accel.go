package hw

import (
	"runtime"
	"strings"
)

func accelOrder(name string) int {
	return strings.Index("edgetpu gpu armnn nnapi", name)
}

// edgeTPUUSB are the USB ids of the Coral USB Accelerator: before its
// firmware is loaded (Global Unichip) and after (Google).
var edgeTPUUSB = []string{"1a6e:089a", "18d1:9302"}

func probeAccelerators(f rootFS, o Options) (func(*Report), error) {
	libs := newLibSearch(f, o)
	plugin := func(paths []string) *Plugin {
		if len(paths) == 0 {
			return nil
		}
		p := CheckPlugin(f.path(paths[0]), o.Arch)
		p.Path = paths[0]
		return &p
	}
	status := func(lib, dev bool) string {
		switch {
		case lib && dev:
			return Present
		case lib || dev:
			return Partial
		}
		return Absent
	}
	var out []Accelerator

	// Coral Edge TPU: PCIe/M.2 (/dev/apex_*) or USB.
	tpu := Accelerator{Name: "edgetpu", Libraries: libs.find("libedgetpu.so.1*")}
	tpu.Devices = f.glob("/dev/apex_*")
	for _, dev := range f.glob("/sys/bus/usb/devices/*") {
		v, err1 := f.readString(dev + "/idVendor")
		p, err2 := f.readString(dev + "/idProduct")
		if err1 != nil || err2 != nil {
			continue
		}
		id := strings.ToLower(v + ":" + p)
		for _, want := range edgeTPUUSB {
			if id == want {
				tpu.Devices = append(tpu.Devices, "usb "+id+" "+dev[strings.LastIndex(dev, "/")+1:])
			}
		}
	}
	tpu.Status = status(len(tpu.Libraries) > 0, len(tpu.Devices) > 0)
	tpu.Plugin = plugin(tpu.Libraries)
	switch {
	case tpu.Status == Present:
		tpu.Note = "runs only models compiled with edgetpu_compiler; others stay on the CPU"
	case len(tpu.Devices) > 0:
		tpu.Note = "device found, but not libedgetpu.so.1 (Debian package libedgetpu1-std)"
	case len(tpu.Libraries) > 0:
		tpu.Note = "libedgetpu.so.1 found, but no device (/dev/apex_*, USB 1a6e:089a or 18d1:9302)"
	}
	out = append(out, tpu)

	// TFLite GPU delegate over OpenCL or OpenGL ES (EGL).
	gpu := Accelerator{Name: "gpu", Libraries: libs.find("libtensorflowlite_gpu_delegate.so*")}
	delegate := len(gpu.Libraries) > 0
	var stack []string
	for _, n := range []string{"libOpenCL.so*", "libEGL.so*", "libGLESv2.so*"} {
		if l := libs.find(n); len(l) > 0 {
			gpu.Libraries = append(gpu.Libraries, l[0])
			stack = append(stack, n)
		}
	}
	for _, pattern := range []string{"/dev/mali0", "/dev/dri/renderD*", "/dev/kgsl-3d0", "/dev/nvhost-ctrl-gpu", "/dev/nvgpu/igpu0/ctrl"} {
		gpu.Devices = append(gpu.Devices, f.glob(pattern)...)
	}
	gpu.Status = status(delegate && len(stack) > 0, len(gpu.Devices) > 0)
	if delegate {
		gpu.Plugin = plugin(gpu.Libraries[:1])
	} else if len(stack) > 0 || len(gpu.Devices) > 0 {
		gpu.Note = "no libtensorflowlite_gpu_delegate.so found"
	}
	out = append(out, gpu)

	// Arm NN delegate (CpuAcc on NEON, GpuAcc on Mali).
	armnn := Accelerator{Name: "armnn", Libraries: libs.find("libarmnnDelegate.so*")}
	if len(armnn.Libraries) > 0 {
		armnn.Status = Present
		armnn.Plugin = plugin(armnn.Libraries)
	} else {
		armnn.Status = Absent
	}
	out = append(out, armnn)

	// NNAPI exists only on Android.
	nnapi := Accelerator{Name: "nnapi", Status: NotApplicable, Note: "Android only"}
	if runtime.GOOS == "android" {
		nnapi.Note = ""
		nnapi.Libraries = libs.find("libneuralnetworks.so")
		for _, p := range []string{"/system/lib64/libneuralnetworks.so", "/system/lib/libneuralnetworks.so"} {
			if f.exists(p) {
				nnapi.Libraries = append(nnapi.Libraries, p)
			}
		}
		nnapi.Status = status(len(nnapi.Libraries) > 0, true)
	}
	out = append(out, nnapi)

	return func(r *Report) { r.Accelerators = out }, nil
}

// Plugins returns the delegate libraries the self-test may try: the user's
// --delegate first, then the libraries of present accelerators (library
// and device found) that export the external delegate ABI.
func (r Report) Plugins() []Plugin {
	var ps []Plugin
	seen := map[string]bool{}
	if r.Delegate != nil && r.Delegate.OK {
		ps = append(ps, *r.Delegate)
		seen[r.Delegate.Path] = true
	}
	for _, a := range r.Accelerators {
		if a.Status == Present && a.Plugin != nil && a.Plugin.OK && !seen[a.Plugin.Path] {
			seen[a.Plugin.Path] = true
			ps = append(ps, *a.Plugin)
		}
	}
	return ps
}
