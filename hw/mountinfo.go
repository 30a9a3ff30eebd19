package hw

import (
	"bufio"
	"bytes"
	"path"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	root, point, fstype, source, superOpts string
}

func parseMountinfo(data []byte) []mount {
	var ms []mount
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 2 {
			continue
		}
		m := mount{root: unescape(a[3]), point: unescape(a[4]), fstype: b[0], source: unescape(b[1])}
		if len(b) > 2 {
			m.superOpts = b[2]
		}
		ms = append(ms, m)
	}
	return ms
}

// unescape undoes the octal escapes (\040 for space) of mountinfo fields.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf returns the mount holding the absolute, clean path p: the last
// mounted of those with the longest mount point that is a prefix of p.
func mountOf(ms []mount, p string) (mount, bool) {
	p = path.Clean(p)
	best, found := mount{}, false
	for _, m := range ms {
		if !under(p, m.point) {
			continue
		}
		if !found || len(m.point) >= len(best.point) {
			best, found = m, true
		}
	}
	return best, found
}

// under reports whether p is dir or below it.
func under(p, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
