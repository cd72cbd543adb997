package paasd

import (
	"fmt"
	"strings"
	"testing"
)

func TestLogWatchFindsListeningAcrossWrites(t *testing.T) {
	w := newLogWatch()
	rec := `{"time":"t","level":"INFO","msg":"listening","ssh":"127.0.0.1:2222","http":"127.0.0.1:8080"}` + "\n"
	for _, chunk := range []string{"not json\n{\"msg\":\"start", "ing\"}\n", rec[:17], rec[17:], rec} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case got := <-w.listening:
		if got.SSH != "127.0.0.1:2222" || got.HTTP != "127.0.0.1:8080" || got.HTTPS != "" {
			t.Errorf("listening = %+v", got)
		}
	default:
		t.Fatal("no listening record reported")
	}
	select {
	case got := <-w.listening:
		t.Errorf("a second record reported: %+v", got)
	default:
	}
}

func TestLogWatchKeepsLastLines(t *testing.T) {
	w := newLogWatch()
	for i := range keptLines + 5 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	fmt.Fprint(w, "unfinished")
	lines := strings.Split(w.tail(), "\n")
	if len(lines) != keptLines || lines[0] != "line 5" || lines[len(lines)-1] != fmt.Sprintf("line %d", keptLines+4) {
		t.Errorf("tail = %q", lines)
	}
}
