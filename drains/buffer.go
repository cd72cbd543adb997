package drains

import (
	"sync"

	"paas/logs"
)

// lineOverhead is what a buffered line costs beyond its text, for the
// byte bound.
const lineOverhead = 128

// buffer is a drain's bounded queue of lines. push never blocks: when the
// buffer is full the oldest line is dropped and counted. It is safe for
// concurrent use.
type buffer struct {
	maxLines int
	maxBytes int
	ready    chan struct{} // holds a token while lines wait

	mu      sync.Mutex
	ring    []logs.Line // grows up to maxLines
	head    int         // index of the oldest line
	n       int         // lines held
	bytes   int
	dropped uint64 // total since the drain started
	lost    uint64 // dropped since the last take
}

func newBuffer(maxLines, maxBytes int) *buffer {
	return &buffer{maxLines: max(maxLines, 1), maxBytes: max(maxBytes, 1), ready: make(chan struct{}, 1)}
}

func lineCost(l logs.Line) int { return len(l.Text) + len(l.Proc) + len(l.App) + lineOverhead }

// push adds l, dropping the oldest lines while the buffer is over either
// bound, and returns how many it dropped.
func (b *buffer) push(l logs.Line) (dropped uint64) {
	b.mu.Lock()
	for b.n > 0 && (b.n >= b.maxLines || b.bytes+lineCost(l) > b.maxBytes) {
		b.popLocked()
		b.dropped++
		b.lost++
		dropped++
	}
	if b.n == len(b.ring) {
		b.growLocked()
	}
	b.ring[(b.head+b.n)%len(b.ring)] = l
	b.n++
	b.bytes += lineCost(l)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
	return dropped
}

// growLocked doubles the ring, up to maxLines.
func (b *buffer) growLocked() {
	size := min(max(2*len(b.ring), 64), b.maxLines)
	ring := make([]logs.Line, size)
	for i := range b.n {
		ring[i] = b.ring[(b.head+i)%len(b.ring)]
	}
	b.ring, b.head = ring, 0
}

func (b *buffer) popLocked() logs.Line {
	l := b.ring[b.head]
	b.ring[b.head] = logs.Line{}
	b.head = (b.head + 1) % len(b.ring)
	b.n--
	b.bytes -= lineCost(l)
	return l
}

// take moves up to maxLines lines (and about maxBytes, at least one line)
// into dst and returns it with the number of lines dropped since the
// previous take.
func (b *buffer) take(dst []logs.Line, maxLines, maxBytes int) ([]logs.Line, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	size := 0
	for b.n > 0 && len(dst) < maxLines {
		next := lineCost(b.ring[b.head])
		if len(dst) > 0 && size+next > maxBytes {
			break
		}
		size += next
		dst = append(dst, b.popLocked())
	}
	lost := b.lost
	b.lost = 0
	if b.n > 0 {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
	return dst, lost
}

// stats returns the lines held and the total dropped.
func (b *buffer) stats() (held int, dropped uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, b.dropped
}

// len returns the lines held.
func (b *buffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}
