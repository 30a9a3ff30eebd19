// Package fsmagic names Linux filesystems by their statfs(2) magic number
// (linux/magic.h) and says which ones inotify cannot fully watch: network
// filesystems, where changes made on other machines raise no event, and
// FUSE, where the daemon behind the mount decides.
package fsmagic

import "strings"

// names maps statfs f_type values to filesystem names.
var names = map[int64]string{
	0xEF53: "ext4", 0x01021994: "tmpfs", 0x858458F6: "ramfs", 0x9123683E: "btrfs",
	0x58465342: "xfs", 0xF2F52010: "f2fs", 0x4D44: "vfat", 0x2011BAB0: "exfat",
	0x5346544E: "ntfs", 0x73717368: "squashfs", 0x794C7630: "overlay", 0x2FC12FC1: "zfs",
	0x24051905: "ubifs", 0x28CD3D45: "cramfs", 0x9FA0: "proc", 0x62656572: "sysfs",
	0x6969: "nfs", 0x517B: "smb", 0xFF534D42: "cifs", 0xFE534D42: "smb2",
	0x65735546: "fuse", 0x01021997: "9p", 0x564C: "ncp", 0x6B414653: "afs",
	0x5346414F: "afs", 0x00C36400: "ceph", 0x47504653: "gpfs", 0x19830326: "fhgfs",
	0x013111A8: "ibrix", 0x0BD00BD0: "lustre",
}

// network are filesystem types served by another machine, by statfs name
// or by mount type (/proc/self/mountinfo; FUSE subtypes without "fuse.").
var network = map[string]bool{
	"nfs": true, "nfs4": true, "smb": true, "cifs": true, "smb2": true, "smb3": true, "smbfs": true,
	"9p": true, "ncp": true, "afs": true, "ceph": true, "glusterfs": true, "gpfs": true,
	"fhgfs": true, "beegfs": true, "ibrix": true, "lustre": true, "sshfs": true, "davfs": true,
}

// Name returns the name of the filesystem with statfs magic number magic,
// or "" when it is not one this package knows.
func Name(magic int64) string { return names[magic] }

// Network reports whether the filesystem type (a Name, or a mount type such
// as "nfs4" or "fuse.sshfs") is served by another machine.
func Network(fstype string) bool {
	return network[fstype] || network[strings.TrimPrefix(fstype, "fuse.")]
}

// Remote reports whether inotify may miss changes on the filesystem type:
// a network filesystem or any FUSE mount.
func Remote(fstype string) bool {
	base, _, _ := strings.Cut(fstype, ".") // fuse.sshfs -> fuse
	return Network(fstype) || base == "fuse" || base == "fuseblk"
}
