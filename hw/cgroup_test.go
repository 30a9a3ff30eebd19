package hw

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// writeTree writes files (path: content) below a new temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	return root
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		target := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Containers and odd hosts, beside the board fixtures.
func TestCgroupVariants(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Cgroup
	}{{
		name: "v2 container with its own cgroup namespace",
		files: map[string]string{
			"proc/self/cgroup":              "0::/\n",
			"proc/self/mountinfo":           "30 25 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/cpu.max":         "50000 100000\n",
			"sys/fs/cgroup/memory.max":      "268435456\n",
			"sys/devices/system/cpu/online": "0-15\n",
		},
		want: Cgroup{Version: 2, Path: "/", CPUQuota: 0.5, MemoryMaxBytes: 256 << 20, CPUs: 1},
	}, {
		name: "v2 container without a namespace: the mount root is the container's cgroup",
		files: map[string]string{
			"proc/self/cgroup":                    "0::/system.slice/docker-abc.scope\n",
			"proc/self/mountinfo":                 "30 25 0:26 /system.slice/docker-abc.scope /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/cpu.max":               "300000 100000\n",
			"sys/fs/cgroup/cpuset.cpus.effective": "2-3\n",
			"sys/devices/system/cpu/online":       "0-7\n",
		},
		want: Cgroup{Version: 2, Path: "/system.slice/docker-abc.scope", CPUQuota: 3, CPUSet: "2-3", CPUs: 2},
	}, {
		name: "v1 without limits",
		files: map[string]string{
			"proc/self/cgroup": "4:cpu,cpuacct:/user.slice\n3:memory:/user.slice\n",
			"sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us":  "-1\n",
			"sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us": "100000\n",
			"sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes":  "9223372036854771712\n",
			"sys/devices/system/cpu/online":                          "0-3\n",
		},
		want: Cgroup{Version: 1, Path: "/user.slice", CPUs: 4},
	}, {
		name:  "no cgroups at all",
		files: map[string]string{"sys/devices/system/cpu/online": "0\n"},
		want:  Cgroup{CPUs: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Probe(context.Background(), Options{Root: writeTree(t, tt.files), Arch: "arm64"})
			if r.Cgroup != tt.want {
				t.Errorf("cgroup = %+v, want %+v", r.Cgroup, tt.want)
			}
		})
	}
}
