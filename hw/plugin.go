package hw

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// The entry points of a TFLite external delegate plugin (see
// tensorflow/lite/delegates/external/external_delegate.h).
const (
	PluginCreate  = "tflite_plugin_create_delegate"
	PluginDestroy = "tflite_plugin_destroy_delegate"
)

// elfMachine is the ELF machine a shared library must have to load into a
// process of the given GOARCH.
var elfMachine = map[string]elf.Machine{
	"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64, "arm": elf.EM_ARM,
	"386": elf.EM_386, "riscv64": elf.EM_RISCV,
}

// CheckPlugin inspects the ELF file at path (a path on this machine) and
// reports whether it is a shared library for arch that exports the external
// delegate entry points. It reads headers and the dynamic symbol table
// only: nothing is loaded or run.
func CheckPlugin(path, arch string) Plugin {
	p := Plugin{Path: path}
	fail := func(format string, args ...any) Plugin {
		p.Error = fmt.Sprintf(format, args...)
		return p
	}
	st, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	if !st.Mode().IsRegular() {
		return fail("%s: not a regular file", path)
	}
	ef, err := elf.Open(path)
	if err != nil {
		return fail("%s: not an ELF shared library: %v", path, err)
	}
	defer ef.Close()
	p.Machine = ef.Machine.String()
	if ef.Type != elf.ET_DYN {
		return fail("%s: ELF type %v, want a shared library (ET_DYN)", path, ef.Type)
	}
	if want, ok := elfMachine[arch]; ok && ef.Machine != want {
		return fail("%s: built for %v, this process is %s (%v)", path, ef.Machine, arch, want)
	}
	syms, err := ef.DynamicSymbols()
	if err != nil {
		return fail("%s: no dynamic symbol table: %v", path, err)
	}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		switch s.Name {
		case PluginCreate:
			p.HasCreate = true
		case PluginDestroy:
			p.HasDestroy = true
		}
	}
	switch {
	case !p.HasCreate && !p.HasDestroy:
		return fail("%s: exports neither %s nor %s: not a TFLite external delegate plugin", path, PluginCreate, PluginDestroy)
	case !p.HasCreate:
		return fail("%s: does not export %s", path, PluginCreate)
	case !p.HasDestroy:
		return fail("%s: does not export %s", path, PluginDestroy)
	}
	p.OK = true
	return p
}

func probeDelegate(f rootFS, o Options) (func(*Report), error) {
	p := o.Delegate
	local := p
	if f.live {
		if abs, err := filepath.Abs(p); err == nil {
			p, local = abs, abs
		}
	} else {
		local = f.path(p)
	}
	pl := CheckPlugin(local, o.Arch)
	pl.Path = p
	return func(r *Report) { r.Delegate = &pl }, nil
}
