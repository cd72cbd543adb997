package timing

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestMarkRecordsPhasesInOrder(t *testing.T) {
	r := New()
	ctx := With(context.Background(), r)
	Mark(ctx, "build")
	Mark(ctx, "start")
	got := r.Phases()
	if len(got) != 2 || got[0].Name != "build" || got[1].Name != "start" || got[0].Took < 0 || got[1].Took < 0 {
		t.Fatalf("phases = %+v", got)
	}
	var out bytes.Buffer
	r.Write(&out)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "-----> timing build ") || !strings.HasPrefix(lines[2], "-----> timing total ") {
		t.Errorf("timeline = %q", out.String())
	}
}

func TestMarkWithoutRecorderDoesNothing(t *testing.T) {
	Mark(context.Background(), "build") // no recorder: no panic
	var r *Recorder
	r.Mark("x")
	var out bytes.Buffer
	r.Write(&out)
	if out.Len() != 0 {
		t.Errorf("a nil recorder wrote %q", out.String())
	}
}
