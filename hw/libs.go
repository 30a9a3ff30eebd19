package hw

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path"
	"sort"
	"strings"
)

// ldEntry is one library in /etc/ld.so.cache.
type ldEntry struct{ name, path string }

const (
	ldNewMagic  = "glibc-ld.so.cache1.1"
	ldOldMagic  = "ld.so-1.7.0"
	ldNewHeader = 48 // magic+version, nlibs, len_strings, flags+pad, ext offset, unused[3]
	ldNewEntry  = 24 // flags, key, value, osversion, hwcap
)

// parseLDCache reads glibc's ld.so.cache (the "new" format, alone or after
// an old-format table). String offsets are relative to the new header.
func parseLDCache(data []byte) ([]ldEntry, error) {
	start := 0
	if bytes.HasPrefix(data, []byte(ldOldMagic)) {
		if len(data) < 16 {
			return nil, errors.New("ld.so.cache: truncated")
		}
		n := binary.LittleEndian.Uint32(data[12:])
		start = 16 + int(n)*12
		start = (start + 7) &^ 7 // the new table is 8-byte aligned
		if start < 0 || start > len(data) {
			return nil, errors.New("ld.so.cache: bad old-format count")
		}
	}
	d := data[start:]
	if !bytes.HasPrefix(d, []byte(ldNewMagic)) {
		return nil, errors.New("ld.so.cache: unknown format")
	}
	if len(d) < ldNewHeader {
		return nil, errors.New("ld.so.cache: truncated header")
	}
	n := int(binary.LittleEndian.Uint32(d[20:]))
	if n < 0 || n > (len(d)-ldNewHeader)/ldNewEntry {
		return nil, errors.New("ld.so.cache: bad entry count")
	}
	str := func(off uint32) string {
		if int(off) >= len(d) {
			return ""
		}
		s := d[off:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	out := make([]ldEntry, 0, n)
	for i := 0; i < n; i++ {
		e := d[ldNewHeader+i*ldNewEntry:]
		key, val := binary.LittleEndian.Uint32(e[4:]), binary.LittleEndian.Uint32(e[8:])
		if k, v := str(key), str(val); k != "" && v != "" {
			out = append(out, ldEntry{k, v})
		}
	}
	return out, nil
}

// libSearch finds shared libraries the way the dynamic loader would:
// LD_LIBRARY_PATH (live systems only), /etc/ld.so.cache, the folders in
// /etc/ld.so.conf and the standard folders for the architecture.
type libSearch struct {
	f       rootFS
	envDirs []string // LD_LIBRARY_PATH, searched before the cache
	cache   []ldEntry
	dirs    []string
	listed  map[string][]string // folder -> its file names, read once
}

func newLibSearch(f rootFS, o Options) *libSearch {
	s := &libSearch{f: f, listed: map[string][]string{}}
	if data, err := f.read("/etc/ld.so.cache"); err == nil {
		s.cache, _ = parseLDCache(data)
	}
	if f.live {
		for _, d := range strings.Split(o.Getenv("LD_LIBRARY_PATH"), ":") {
			if d != "" && path.IsAbs(d) {
				s.envDirs = append(s.envDirs, path.Clean(d))
			}
		}
	}
	seen := map[string]bool{}
	add := func(d string) {
		if d = path.Clean(d); path.IsAbs(d) && !seen[d] {
			seen[d] = true
			s.dirs = append(s.dirs, d)
		}
	}
	for _, d := range ldConfDirs(f, "/etc/ld.so.conf", 0) {
		add(d)
	}
	t := triplet(o.Arch)
	for _, d := range []string{"/lib/" + t, "/usr/lib/" + t, "/usr/local/lib/" + t,
		"/usr/lib/" + t + "/tegra", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"} {
		add(d)
	}
	return s
}

func triplet(arch string) string {
	switch arch {
	case "arm64":
		return "aarch64-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	case "386":
		return "i386-linux-gnu"
	case "riscv64":
		return "riscv64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

// ldConfDirs reads an ld.so.conf file with its include lines.
func ldConfDirs(f rootFS, file string, depth int) []string {
	data, err := f.read(file)
	if err != nil || depth > 4 {
		return nil
	}
	var dirs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "include "); ok {
			pattern := strings.TrimSpace(rest)
			if !path.IsAbs(pattern) {
				pattern = path.Join(path.Dir(file), pattern)
			}
			for _, inc := range f.glob(pattern) {
				dirs = append(dirs, ldConfDirs(f, inc, depth+1)...)
			}
			continue
		}
		if line != "" {
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// find returns where the libraries matching name (a file name or a glob)
// are, in search order, as paths on the probed machine.
func (s *libSearch) find(name string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] && s.f.exists(p) {
			seen[p] = true
			out = append(out, p)
		}
	}
	inDir := func(d string) {
		names, ok := s.listed[d]
		if !ok {
			if fh, err := os.Open(s.f.path(d)); err == nil {
				names, _ = fh.Readdirnames(-1)
				fh.Close()
				sort.Strings(names)
			}
			s.listed[d] = names
		}
		for _, n := range names {
			if ok, _ := path.Match(name, n); ok {
				add(path.Join(d, n))
			}
		}
	}
	for _, d := range s.envDirs {
		inDir(d)
	}
	for _, e := range s.cache {
		if ok, _ := path.Match(name, e.name); ok {
			add(e.path)
		}
	}
	for _, d := range s.dirs {
		inDir(d)
	}
	return out
}
