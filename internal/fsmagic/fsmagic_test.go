package fsmagic

import "testing"

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		magic           int64
		name            string
		network, remote bool
	}{
		{0xEF53, "ext4", false, false},
		{0x01021994, "tmpfs", false, false},
		{0x6969, "nfs", true, true},
		{0x517B, "smb", true, true},
		{0xFF534D42, "cifs", true, true},
		{0xFE534D42, "smb2", true, true},
		{0x65735546, "fuse", false, true},
		{0x5346414F, "afs", true, true},
		{0x6B414653, "afs", true, true},
		{0x12345678, "", false, false},
	} {
		name := Name(tt.magic)
		if name != tt.name || Network(name) != tt.network || Remote(name) != tt.remote {
			t.Errorf("%#x: %q network %v remote %v; want %q %v %v", tt.magic, name, Network(name), Remote(name),
				tt.name, tt.network, tt.remote)
		}
	}
}

func TestMountTypes(t *testing.T) {
	for _, tt := range []struct {
		fstype          string
		network, remote bool
	}{
		{"nfs4", true, true},
		{"fuse.sshfs", true, true},
		{"fuse.rclone", false, true},
		{"fuseblk", false, true},
		{"ext4", false, false},
		{"overlay", false, false},
		{"", false, false},
	} {
		if Network(tt.fstype) != tt.network || Remote(tt.fstype) != tt.remote {
			t.Errorf("%q: network %v remote %v, want %v %v", tt.fstype, Network(tt.fstype), Remote(tt.fstype), tt.network, tt.remote)
		}
	}
}
