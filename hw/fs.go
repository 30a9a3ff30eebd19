package hw

import (
	"fmt"
	"path/filepath"
	"strings"
)

// magics maps statfs f_type values to filesystem names (linux/magic.h).
var magics = map[int64]string{
	0xEF53: "ext4", 0x01021994: "tmpfs", 0x858458f6: "ramfs", 0x9123683E: "btrfs",
	0x58465342: "xfs", 0xF2F52010: "f2fs", 0x4d44: "vfat", 0x2011BAB0: "exfat",
	0x5346544e: "ntfs", 0x73717368: "squashfs", 0x794c7630: "overlay", 0x2fc12fc1: "zfs",
	0x6969: "nfs", 0xFF534D42: "cifs", 0xFE534D42: "smb2", 0x65735546: "fuse",
	0x01021997: "9p", 0x564c: "ncp", 0x6B414653: "afs", 0x00C36400: "ceph",
	0x47504653: "gpfs", 0x19830326: "fhgfs", 0x24051905: "ubifs", 0x28cd3d45: "cramfs",
	0x9fa0: "proc", 0x62656572: "sysfs",
}

// networkFS are served by another machine: inotify sees only local changes.
var networkFS = map[string]bool{
	"nfs": true, "nfs4": true, "cifs": true, "smb2": true, "smb3": true, "smbfs": true,
	"9p": true, "ncp": true, "afs": true, "ceph": true, "glusterfs": true, "gpfs": true,
	"fhgfs": true, "beegfs": true, "lustre": true, "sshfs": true, "davfs": true,
}

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
			if name, ok := magics[magic]; ok && (fsi.Type == "" || !sameFamily(fsi.Type, name)) {
				fsi.Type = name
			}
		} else if problem == nil {
			problem = err
		}
	}
	base := strings.SplitN(fsi.Type, ".", 2)[0] // fuse.sshfs -> fuse
	fsi.Network = networkFS[fsi.Type] || networkFS[base] || networkFS[strings.TrimPrefix(fsi.Type, "fuse.")]
	fsi.Events = fsi.Type != "" && !fsi.Network && base != "fuse" && base != "fuseblk"
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
