// Package mallinfo reports how many bytes the C heap (glibc malloc) has
// handed out, for leak tests of C libraries: unlike the resident set size it
// is exact, and it stays meaningful under qemu-user, whose own memory use
// inflates the RSS of emulated programs.
package mallinfo

// #include <malloc.h>
// static long long animed_malloc_in_use(void) {
//   struct mallinfo2 m = mallinfo2();
//   return (long long)(m.uordblks + m.hblkhd);
// }
import "C"

// InUse returns the bytes currently allocated by malloc in all arenas,
// including chunks served by mmap.
func InUse() int64 { return int64(C.animed_malloc_in_use()) }
