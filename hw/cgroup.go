package hw

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

func probeCgroup(f rootFS, o Options) (func(*Report), error) {
	self, err := f.read("/proc/self/cgroup")
	if err != nil {
		return nil, notExist(err)
	}
	mi, _ := f.read("/proc/self/mountinfo")
	mounts := parseMountinfo(mi)

	// controller -> path; "" is the v2 unified hierarchy.
	paths := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(self))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			paths[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}

	var cg Cgroup
	if p, ok := paths[""]; ok && len(paths) == 1 { // pure v2 (hybrid systems keep limits in v1)
		cg.Version, cg.Path = 2, p
		dir, top := cgroupDir(mounts, "cgroup2", "", "/sys/fs/cgroup", p)
		cg.CPUQuota = walkMin(f, dir, top, func(d string) float64 {
			s, err := f.readString(d + "/cpu.max")
			if err != nil {
				return 0
			}
			q, per, _ := strings.Cut(s, " ")
			return quota(q, per)
		})
		cg.MemoryMaxBytes = uint64(walkMin(f, dir, top, func(d string) float64 {
			return memLimit(f, d+"/memory.max")
		}))
		cg.CPUSet, _ = f.readString(dir + "/cpuset.cpus.effective")
		return func(r *Report) { r.Cgroup = cg }, nil
	}
	if len(paths) == 0 {
		return func(r *Report) { r.Cgroup = cg }, nil
	}
	cg.Version = 1
	if p, ok := paths["cpu"]; ok {
		cg.Path = p
		dir, top := cgroupDir(mounts, "cgroup", "cpu", "/sys/fs/cgroup/cpu", p)
		cg.CPUQuota = walkMin(f, dir, top, func(d string) float64 {
			q, err1 := f.readString(d + "/cpu.cfs_quota_us")
			per, err2 := f.readString(d + "/cpu.cfs_period_us")
			if err1 != nil || err2 != nil {
				return 0
			}
			return quota(q, per)
		})
	}
	if p, ok := paths["memory"]; ok {
		if cg.Path == "" {
			cg.Path = p
		}
		dir, _ := cgroupDir(mounts, "cgroup", "memory", "/sys/fs/cgroup/memory", p)
		cg.MemoryMaxBytes = uint64(memLimit(f, dir+"/memory.limit_in_bytes"))
	}
	if p, ok := paths["cpuset"]; ok {
		dir, _ := cgroupDir(mounts, "cgroup", "cpuset", "/sys/fs/cgroup/cpuset", p)
		if s, err := f.readString(dir + "/cpuset.effective_cpus"); err == nil {
			cg.CPUSet = s
		} else if s, err := f.readString(dir + "/cpuset.cpus"); err == nil {
			cg.CPUSet = s
		}
	}
	return func(r *Report) { r.Cgroup = cg }, nil
}

// cgroupDir maps a cgroup path to its folder: below the mount of the
// hierarchy (found in mountinfo, else fallback), minus the mount's root
// (non-"/" inside containers). top is the mount point.
func cgroupDir(ms []mount, fstype, controller, fallback, p string) (dir, top string) {
	for _, m := range ms {
		if m.fstype != fstype {
			continue
		}
		if controller != "" && !hasOpt(m.superOpts, controller) {
			continue
		}
		rel := p
		if m.root != "/" && under(p, m.root) {
			rel = strings.TrimPrefix(p, m.root)
		}
		return path.Join(m.point, rel), m.point
	}
	return path.Join(fallback, p), fallback
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// walkMin applies limit to dir and each parent up to top and returns the
// smallest positive result (0 when none limits).
func walkMin(f rootFS, dir, top string, limit func(string) float64) float64 {
	best := 0.0
	for d := dir; ; d = path.Dir(d) {
		if v := limit(d); v > 0 && (best == 0 || v < best) {
			best = v
		}
		if d == top || d == "/" || !under(d, top) {
			break
		}
	}
	return best
}

// quota turns cpu.max or cfs_quota/period into CPUs; 0 means unlimited.
func quota(q, period string) float64 {
	if q == "max" || strings.HasPrefix(q, "-") {
		return 0
	}
	qv, err1 := strconv.ParseFloat(q, 64)
	pv, err2 := strconv.ParseFloat(strings.TrimSpace(period), 64)
	if err1 != nil || err2 != nil || qv <= 0 || pv <= 0 {
		return 0
	}
	return qv / pv
}

// memLimit reads a memory limit file; "max" and the v1 "no limit" value
// (close to 2^63) give 0.
func memLimit(f rootFS, p string) float64 {
	s, err := f.readString(p)
	if err != nil || s == "max" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v >= 1<<62 {
		return 0
	}
	return float64(v)
}

// effectiveCPUs is how many threads the process can keep busy.
func effectiveCPUs(online int, cg Cgroup) int {
	n := online
	if cg.CPUSet != "" {
		if c, err := countCPUList(cg.CPUSet); err == nil && c > 0 && (n == 0 || c < n) {
			n = c
		}
	}
	if cg.CPUQuota > 0 {
		if q := int(math.Ceil(cg.CPUQuota - 1e-9)); n == 0 || q < n {
			n = q
		}
	}
	if n < 1 {
		n = 1
	}
	return n
}

func (c Cgroup) String() string {
	if c.Version == 0 {
		return "none"
	}
	s := fmt.Sprintf("v%d %s", c.Version, c.Path)
	if c.CPUQuota > 0 {
		s += fmt.Sprintf(", cpu quota %.2f", c.CPUQuota)
	}
	if c.CPUSet != "" {
		s += ", cpuset " + c.CPUSet
	}
	if c.MemoryMaxBytes > 0 {
		s += ", memory max " + bytesHuman(c.MemoryMaxBytes)
	}
	return s
}
