package cross

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArm64ImageioUnderQemu cross-compiles internal/imageio's tests for
// arm64 against the arm64 libjpeg-turbo and libheif from Debian's
// multiarch (make deps-arm64) and runs them under qemu (-short): scaled
// JPEG decoding, HEIC and AVIF through the dlopened libheif, orientation.
func TestArm64ImageioUnderQemu(t *testing.T) {
	needArm64(t)
	needWorkingQemu(t, sysroot)
	for _, lib := range []string{"/usr/lib/aarch64-linux-gnu/libturbojpeg.so", "/usr/lib/aarch64-linux-gnu/libheif.so.1"} {
		if _, err := os.Stat(lib); err != nil {
			t.Skipf("skipping: %s missing (arm64 libturbojpeg0-dev, libheif-dev: make deps-arm64)", lib)
		}
	}
	bin, err := filepath.Abs(filepath.Join(root, "build/cross/linux_arm64/imageio.test"))
	if err != nil {
		t.Fatal(err)
	}
	goTestCPkg(t, bin, []string{"CGO_ENABLED=1", "GOARCH=arm64", "CC=" + crossCC}, "./internal/imageio")
	out := runTestsIn(t, "./internal/imageio", "arm64 (qemu)", []string{qemu, "-L", sysroot, bin, "-test.short", "-test.v"})
	for _, test := range []string{"TestScaledJPEGDecode", "TestDecodeHEIF", "TestDecodeOrientation", "TestEncodeComment"} {
		if !strings.Contains(out, "--- PASS: "+test+" ") {
			t.Errorf("arm64: %s did not pass:\n%s", test, summary(out))
		}
	}
	t.Logf("arm64 imageio results:\n%s", summary(out))
}
