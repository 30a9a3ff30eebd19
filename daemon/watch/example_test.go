package watch_test

import (
	"fmt"

	"github.com/animed/animed/daemon/watch"
)

func ExampleIgnored() {
	for _, name := range []string{"IMG_0042.JPG", ".IMG_0042.JPG.sb-1234", "IMG_0042.JPG.part", "~$draft.png"} {
		fmt.Println(name, watch.Ignored(name))
	}
	// Output:
	// IMG_0042.JPG false
	// .IMG_0042.JPG.sb-1234 true
	// IMG_0042.JPG.part true
	// ~$draft.png true
}
