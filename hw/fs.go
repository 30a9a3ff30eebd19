package hw

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/animed/animed/internal/fsmagic"
)

func probeWatch(f rootFS, o Options) (func(*Report), error) {
	p := o.WatchDir
	if f.live {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("watch folder %s: %w", p, err)
		}
		p = abs
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
	} else if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("watch folder %s: need an absolute path under a fixture root", p)
	}
	fsi := Filesystem{Path: p}
	var problem error
	if mi, err := f.read("/proc/self/mountinfo"); err == nil {
		if m, ok := mountOf(parseMountinfo(mi), p); ok {
			fsi.MountPoint, fsi.Type, fsi.Source = m.point, m.fstype, m.source
		}
	} else {
		problem = err
	}
	if f.live {
		// statfs names the filesystem even where mountinfo is hidden.
		if magic, err := statfsMagic(existingParent(p)); err == nil {
			fsi.Magic = fmt.Sprintf("%#x", magic)
			if name := fsmagic.Name(magic); name != "" && (fsi.Type == "" || !sameFamily(fsi.Type, name)) {
				fsi.Type = name
			}
		} else if problem == nil {
			problem = err
		}
	}
	fsi.Network = fsmagic.Network(fsi.Type)
	fsi.Events = fsi.Type != "" && !fsmagic.Remote(fsi.Type)
	return func(r *Report) { r.Watch = &fsi }, problem
}

// sameFamily reports whether the mountinfo type and the statfs name agree
// (statfs cannot tell ext2/3/4 or nfs/nfs4 apart, and FUSE has subtypes).
func sameFamily(mountType, magicName string) bool {
	switch magicName {
	case "ext4":
		return strings.HasPrefix(mountType, "ext")
	case "nfs":
		return strings.HasPrefix(mountType, "nfs")
	case "fuse":
		return strings.HasPrefix(mountType, "fuse")
	case "smb2", "cifs":
		return mountType == "cifs" || strings.HasPrefix(mountType, "smb")
	}
	return mountType == magicName
}

// existingParent returns p or its nearest existing parent: the watch
// folder may not exist yet.
func existingParent(p string) string {
	for {
		if _, err := statfsMagic(p); err == nil || p == "/" || p == "." {
			return p
		}
		p = filepath.Dir(p)
	}
}
