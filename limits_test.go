package paas

import "testing"

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512m": 512 << 20, "1g": 1 << 30, "1G": 1 << 30, "64mb": 64 << 20, "8388608": 8 << 20, "4096k": 4 << 20} {
		got, err := ParseMemory(in)
		if err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
		if want != 0 {
			if back, _ := ParseMemory(FormatMemory(want)); back != want {
				t.Errorf("FormatMemory(%d) = %q does not read back", want, FormatMemory(want))
			}
		}
	}
	for _, bad := range []string{"", "-1m", "1.5g", "m", "1t", "1 m", "0x10", "+5m", "1k", "99999999999g"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) accepted", bad)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "0.5": 0.5, "2": 2} {
		if got, err := ParseCPUs(in); err != nil || got != want {
			t.Errorf("ParseCPUs(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1", "NaN", "Inf", "1e3", "0x1p1", "abc", "0.001", "1000"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q) accepted", bad)
		}
	}
}

func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"512m", "1g", "0", "-1", "1.5g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMemory(s)
		if err != nil {
			return
		}
		if n < 0 || n > maxMemory || (n != 0 && n < minMemory) {
			t.Fatalf("ParseMemory(%q) = %d", s, n)
		}
		if back, err := ParseMemory(FormatMemory(n)); err != nil || back != n {
			t.Fatalf("%d does not round-trip: %q", n, FormatMemory(n))
		}
	})
}
