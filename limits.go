package paas

import (
	"math"
	"strconv"
	"strings"
)

// Bounds of what ps:set accepts.
const (
	minMemory = 4 << 20 // 4 MiB: the engine refuses less
	maxMemory = 1 << 40 // 1 TiB
	maxCPUs   = 256.0
)

// ParseMemory reads a memory size: a whole number of bytes, or with a
// k, m or g suffix (powers of 1024, either case, an optional trailing b).
// "0" means no limit.
func ParseMemory(s string) (int64, error) {
	bad := Errorf("invalid memory %q: use a size such as 512m or 1g (0 for no limit)", s)
	t := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "b"), "B"))
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1<<10, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1<<20, strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult, t = 1<<30, strings.TrimSuffix(t, "g")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || t != strconv.FormatInt(n, 10) || n > maxMemory/mult {
		return 0, bad
	}
	v := n * mult
	if v != 0 && v < minMemory {
		return 0, Errorf("invalid memory %q: at least 4m", s)
	}
	return v, nil
}

// FormatMemory shows a size the way ParseMemory reads it.
func FormatMemory(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "g"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// ParseCPUs reads a CPU limit in cores, such as 0.5 or 2. "0" means no
// limit.
func ParseCPUs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > maxCPUs || strings.ContainsAny(s, "eExXpP_") {
		return 0, Errorf("invalid cpus %q: use a number of cores such as 0.5 or 2 (0 for no limit)", s)
	}
	if v != 0 && v < 0.01 {
		return 0, Errorf("invalid cpus %q: at least 0.01", s)
	}
	return v, nil
}
