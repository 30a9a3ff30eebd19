package watch

import "strings"

// Ignored reports whether a file name is never input: hidden files (".*"),
// editor and download temp names ("~*", "*.tmp", "*.part", "*.filepart").
func Ignored(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return true
	}
	lower := strings.ToLower(name)
	for _, suffix := range []string{".tmp", ".part", ".filepart", ".crdownload", ".swp"} {
		if strings.HasSuffix(lower, suffix) {
			return true
		}
	}
	return false
}
