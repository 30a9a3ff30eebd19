package tflite

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/animed/animed/internal/testmodel"
	"github.com/animed/animed/internal/tflitefile"
)

// rewrite returns the default test model with its main graph changed.
func rewrite(t *testing.T, change func(*tflitefile.Subgraph)) []byte {
	t.Helper()
	m, err := tflitefile.Parse(testmodel.MustBuild(testmodel.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	change(m.Main())
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVersion(t *testing.T) {
	if v := Version(); !strings.HasPrefix(v, "2.9") {
		t.Errorf("Version() = %q, want 2.9.x (the npm tfjs-tflite-node@0.0.2 library)", v)
	}
}

// garbage returns n deterministic pseudo-random bytes.
func garbage(n int, ident string) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	if ident != "" && n >= 8 {
		copy(b[4:], ident)
	}
	return b
}

func TestNewModelRejectsBadBytes(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "too short"},
		{"short", []byte("TFL3"), "too short"},
		{"garbage", garbage(4096, ""), "not a TFLite model"},
		{"garbage with identifier", garbage(4096, "TFL3"), "verification"},
		{"zeros with identifier", append([]byte{0, 0, 0, 0}, append([]byte("TFL3"), make([]byte, 64)...)...), "verification"},
		// Valid flatbuffers whose tensors TFLite 2.9 cannot allocate: it
		// would abort the process instead of failing.
		{"tensor past 1 GiB", testmodel.MustBuild(testmodel.Config{H: 20000, W: 20000}), "byte limit"},
		{"tensor dims in the billions", testmodel.MustBuild(testmodel.Config{H: 1 << 30, W: 1 << 30}), "byte limit"},
		// Valid flatbuffers TFLite 2.9 accepts and then crashes on (a
		// cycle) or loops on (an empty input).
		{"cycle", rewrite(t, func(g *tflitefile.Subgraph) {
			g.Operators[0].Inputs[0] = g.Operators[len(g.Operators)-1].Outputs[0]
		}), "invalid graph: subgraph 0: operator 0 (CONV_2D) reads tensor"},
		{"0x0 input", rewrite(t, func(g *tflitefile.Subgraph) {
			g.Tensors[g.Inputs[0]].Shape = []int32{1, 0, 0, 3}
		}), "has an empty shape [1 0 0 3]"},
	}
	if p, ok := sharedPath(teacherRel); ok {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests,
			struct {
				name string
				data []byte
				want string
			}{"truncated teacher", data[:len(data)/2], "verification"},
			struct {
				name string
				data []byte
				want string
			}{"teacher tail cut by 1 byte", data[:len(data)-1], "verification"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewModel(tt.data)
			if err == nil {
				m.Close()
				t.Fatal("NewModel succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestLoadModelMissingFile(t *testing.T) {
	_, err := LoadModel(filepath.Join(t.TempDir(), "missing.tflite"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadModel(missing) = %v, want an os.ErrNotExist error", err)
	}
}

func TestNewInterpreterBadOptions(t *testing.T) {
	m := teacher(t)
	for _, o := range []Options{
		{Backend: "gpu"},
		{Backend: BackendExternal},
	} {
		if it, err := NewInterpreter(m, o); err == nil {
			it.Close()
			t.Errorf("NewInterpreter(%+v) succeeded, want an error", o)
		}
	}
	if _, err := NewInterpreter(nil, Options{}); err == nil {
		t.Error("NewInterpreter(nil model) succeeded")
	}
}

// TestMisuse feeds an interpreter wrong sizes, shapes and indexes: each must
// be an error (or nil tensor), never a crash, and the interpreter must still
// run afterwards.
func TestMisuse(t *testing.T) {
	m := smallModel(t)
	it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0)
	shape := in.Shape()
	n := in.Len()

	for _, tc := range []struct {
		name string
		err  error
	}{
		{"set too few", in.SetFloat32(make([]float32, n-1))},
		{"set too many", in.SetFloat32(make([]float32, n+1))},
		{"read too few", it.Output(0).ReadFloat32(make([]float32, 3))},
		{"quantization of a float tensor", func() error { _, _, err := in.Quantization(); return err }()},
		{"resize input 1", it.ResizeInput(1, shape)},
		{"resize input -1", it.ResizeInput(-1, shape)},
		{"resize empty", it.ResizeInput(0, nil)},
		{"resize zero dim", it.ResizeInput(0, []int{1, 0, 8, 3})},
		{"resize negative dim", it.ResizeInput(0, []int{1, -8, 8, 3})},
		{"resize rank 9", it.ResizeInput(0, []int{1, 1, 1, 1, 1, 1, 1, 1, 1})},
		{"resize huge", it.ResizeInput(0, []int{1, 1 << 20, 1 << 20, 3})},
		// Small enough per dimension, but the hidden tensor would be
		// 18000²x8 bytes: TFLite 2.9 aborts the process on that.
		{"resize past memory", it.ResizeInput(0, []int{1, 18000, 18000, 3})},
		{"resize wrong channels", it.ResizeInput(0, []int{shape[0], shape[1], shape[2], 5})},
		{"resize wrong rank", it.ResizeInput(0, []int{shape[1], shape[2], shape[3]})},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, tc.err)
		}
	}
	if it.Input(1) != nil || it.Input(-1) != nil || it.Output(7) != nil {
		t.Error("out-of-range tensors are not nil")
	}
	if got := in.Shape(); !slices.Equal(got, shape) {
		t.Errorf("after failed resizes the input shape is %v, want %v restored", got, shape)
	}
	// Still runs after all that.
	run(t, it, make([]float32, n))
}

// TFLite's own messages reach the error: a channel mismatch fails in the
// CONV_2D kernel's Prepare.
func TestErrorCarriesTFLiteMessage(t *testing.T) {
	m := smallModel(t)
	it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	s := it.Input(0).Shape()
	err = it.ResizeInput(0, []int{s[0], s[1], s[2], s[3] + 2})
	if err == nil {
		t.Fatal("resize to a wrong channel count succeeded")
	}
	if !strings.Contains(err.Error(), "failed to prepare") {
		t.Errorf("error %q does not carry TFLite's \"failed to prepare\" message", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Op != "allocate tensors" || !strings.Contains(e.Message, "CONV_2D") {
		t.Errorf("error %q: want a *tflite.Error for \"allocate tensors\" naming CONV_2D, got %#v", err, e)
	}
}

func TestUseAfterClose(t *testing.T) {
	m := smallModel(t)
	it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	in, out := it.Input(0), it.Output(0)
	n := in.Len()
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := it.Invoke(); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
	if err := it.ResizeInput(0, []int{1, 8, 8, 3}); !errors.Is(err, ErrClosed) {
		t.Errorf("ResizeInput after Close = %v, want ErrClosed", err)
	}
	if err := in.SetFloat32(make([]float32, n)); !errors.Is(err, ErrClosed) {
		t.Errorf("SetFloat32 after Close = %v, want ErrClosed", err)
	}
	if in.Float32s() != nil || out.Bytes() != nil || in.Shape() != nil || it.InputCount() != 0 {
		t.Error("tensor views after Close are not empty")
	}
	m.Close()
	if _, err := NewInterpreter(m, Options{}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewInterpreter on a closed model = %v, want ErrClosed", err)
	}
}

// Closing the model first must not free memory its interpreters use.
func TestModelCloseBeforeInterpreter(t *testing.T) {
	data := smallModelBytes(t)
	m, err := NewModel(data)
	if err != nil {
		t.Fatal(err)
	}
	it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, it.Input(0).Len())
	want := run(t, it, in)
	m.Close()
	if got := run(t, it, in); !slices.Equal(got, want) {
		t.Error("output changed after the model was closed")
	}
	it.Close()
}

// pluginCC returns a C compiler for the test plugin that builds for this
// binary's architecture, or skips.
func pluginCC(t *testing.T) string {
	t.Helper()
	names := []string{"cc", "gcc"}
	if runtime.GOARCH == "arm64" {
		names = []string{"aarch64-linux-gnu-gcc", "cc", "gcc"}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			if runtime.GOARCH == "arm64" && n != "aarch64-linux-gnu-gcc" {
				// Only a native arm64 machine's cc builds arm64 code.
				out, err := exec.Command(p, "-dumpmachine").Output()
				if err != nil || !bytes.HasPrefix(out, []byte("aarch64")) {
					continue
				}
			}
			return p
		}
	}
	t.Skipf("skipping: no C compiler for %s to build the test plugin (tried %v)", runtime.GOARCH, names)
	return ""
}

// buildPlugin compiles testdata/plugin.c into a shared library.
func buildPlugin(t *testing.T, cc string, defines ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plugin.so")
	args := append([]string{"-shared", "-fPIC", "-O1", "-I../../build/tflite/include", "-o", out}, defines...)
	args = append(args, "testdata/plugin.c")
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", cc, args, err, b)
	}
	return out
}

func TestExternalDelegate(t *testing.T) {
	cc := pluginCC(t)
	plugin := buildPlugin(t, cc)
	noDestroy := buildPlugin(t, cc, "-DNO_DESTROY")
	m := smallModel(t)
	record := filepath.Join(t.TempDir(), "options.txt")

	cpu, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	in := make([]float32, cpu.Input(0).Len())
	for i := range in {
		in[i] = float32(i%17)/8 - 1
	}
	want := run(t, cpu, in)

	t.Run("runs with options", func(t *testing.T) {
		it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendExternal, ExternalDelegate: plugin,
			ExternalOptions: map[string]string{"record": record, "device": "test:0"}})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		if it.Backend() != BackendExternal {
			t.Errorf("Backend() = %q", it.Backend())
		}
		if got := run(t, it, in); !slices.Equal(got, want) {
			t.Error("output differs from the CPU backend's")
		}
		b, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(b), "device=test:0\nrecord="+record+"\n"; got != want {
			t.Errorf("plugin got options %q, want %q", got, want)
		}
	})

	for _, tc := range []struct {
		name, path string
		opts       map[string]string
		want       string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.so"), nil, "nope.so"},
		{"not a library", record, nil, "options.txt"},
		{"no plugin symbols", sharedLib(t), nil, "does not export tflite_plugin_create_delegate"},
		{"no destroy symbol", noDestroy, nil, "does not export tflite_plugin_destroy_delegate"},
		{"create fails", plugin, map[string]string{"fail": "no accelerator attached"}, "no accelerator attached"},
		{"prepare fails", plugin, map[string]string{"prepare": "fail"}, "prepare failed on purpose"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := NewInterpreter(m, Options{Threads: 1, Backend: BackendExternal, ExternalDelegate: tc.path, ExternalOptions: tc.opts})
			if err == nil {
				it.Close()
				t.Fatal("NewInterpreter succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to mention %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// sharedLib returns a real shared library that is not a delegate plugin.
func sharedLib(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("../../build/tflite", "linux_"+runtime.GOARCH, "libtensorflowlite_c.so"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
