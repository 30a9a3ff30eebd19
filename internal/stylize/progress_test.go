package stylize

import (
	"context"
	"testing"

	"github.com/animed/animed/internal/testmodel"
)

// Tiles reports each tile of a tiled photo against the photo's tile count,
// and nothing for a photo run whole.
func TestTilesProgress(t *testing.T) {
	type step struct{ done, total int }
	var steps []step
	s := newStylizer(t, testmodel.MustBuild(testmodel.Config{}), Options{MaxWholePixels: 64 * 64,
		Tiles: func(done, total int) { steps = append(steps, step{done, total}) }})
	if _, err := s.Apply(context.Background(), photo(40, 40, 1)); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 0 {
		t.Errorf("whole photo: %v, want no tile steps", steps)
	}
	if _, err := s.Apply(context.Background(), photo(300, 200, 2)); err != nil {
		t.Fatal(err)
	}
	th, tw := gridTile(200, 300, 64*64)
	n := len(tileStarts(200, th, overlap(th))) * len(tileStarts(300, tw, overlap(tw)))
	if n < 2 || len(steps) != n {
		t.Fatalf("%d steps for %d tiles", len(steps), n)
	}
	for i, st := range steps {
		if st != (step{i + 1, n}) {
			t.Errorf("step %d = %v, want %v", i, st, step{i + 1, n})
		}
	}
}
