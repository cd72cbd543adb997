package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"paas/access"
	"paas/logs"
)

// Live pages use server-sent events: an app's log as it grows, and the
// build output of pushes as they happen. A stream sends a comment as a
// heartbeat every heartbeat, and then checks again that the session, its
// key and the user's access still stand; when one does not, the stream
// ends. The browser's EventSource reconnects by itself; a log event's id
// is the line's sequence number, so a reconnect (Last-Event-ID) resumes
// after the last line it saw when the history still holds it.

// heartbeat is how often a stream sends a comment and checks access.
var heartbeat = 10 * time.Second

// streamHistory is how many lines a log stream reads back to resume.
const streamHistory = 1000

// maxStreams bounds the event streams one session has open at once.
const maxStreams = 16

// openStream counts a stream of session id; false when it has too many.
func (h *Handler) openStream(id string) bool {
	h.streamMu.Lock()
	defer h.streamMu.Unlock()
	if h.streams[id] >= maxStreams {
		return false
	}
	h.streams[id]++
	return true
}

func (h *Handler) closeStream(id string) {
	h.streamMu.Lock()
	defer h.streamMu.Unlock()
	if h.streams[id]--; h.streams[id] <= 0 {
		delete(h.streams, id)
	}
}

// admitStream checks a stream request: the user may read the app, and
// the session has room for one more stream. It answers when not.
func (h *Handler) admitStream(w http.ResponseWriter, r *http.Request, s *session, app string) bool {
	if err := h.allow(s.u, access.Read, app); err != nil {
		h.failErr(w, r, s, app, err)
		return false
	}
	if !h.openStream(s.id) {
		http.Error(w, "too many live pages open", http.StatusTooManyRequests)
		return false
	}
	return true
}

// sse writes server-sent events.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	// Reconnect after three seconds when the connection drops.
	fmt.Fprint(w, "retry: 3000\n\n")
	s.flush()
	return s
}

func (s *sse) flush() error { return s.rc.Flush() }

// event writes one event: id may be "", data one line.
func (s *sse) event(name, id string, data []byte) error {
	var b bytes.Buffer
	if name != "" {
		fmt.Fprintf(&b, "event: %s\n", name)
	}
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return s.flush()
}

func (s *sse) comment(c string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", c); err != nil {
		return err
	}
	return s.flush()
}

// stillAllowed checks again what withSession and the page checked: the
// session is live, its key is its user's, and the user may read app. A
// store that cannot be read is no answer: err is set, and the stream
// ends without saying it is over, so that the browser comes back.
func (h *Handler) stillAllowed(s *session, app string) (bool, error) {
	cur, ok, err := h.auth.lookup(s.id)
	if !ok || err != nil {
		return false, err
	}
	u, _, ok := h.keyUser(cur.fingerprint, cur.user)
	if !ok {
		h.auth.end(s.id)
		return false, nil
	}
	return h.allow(u, access.Read, app) == nil, nil
}

// recheck is a stream's check at each heartbeat: false ends the stream,
// with an "end" event when the session or the access is gone.
func (h *Handler) recheck(out *sse, s *session, app string) bool {
	ok, err := h.stillAllowed(s, app)
	if err != nil {
		return false
	}
	if !ok {
		out.event("end", "", []byte("signed out or access removed"))
		return false
	}
	return out.comment("heartbeat") == nil
}

// lineWriter hands each complete line written to it to send.
type lineWriter struct {
	buf  []byte
	send func([]byte) error
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := bytes.Clone(lw.buf[:i])
		lw.buf = lw.buf[i+1:]
		if err := lw.send(line); err != nil {
			return 0, err
		}
	}
}

// logStream follows the app's log: lines after the one the page showed
// (?after=SEQ) or the browser saw last (Last-Event-ID), then new ones.
func (h *Handler) logStream(w http.ResponseWriter, r *http.Request, s *session) {
	app := r.PathValue("app")
	if !h.admitStream(w, r, s, app) {
		return
	}
	defer h.closeStream(s.id)
	after, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	if after == 0 {
		after, _ = strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	lines := make(chan []byte)
	errc := make(chan error, 1)
	go func() {
		lw := &lineWriter{send: func(l []byte) error {
			select {
			case lines <- l:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		errc <- h.cfg.Platform.Logs(ctx, app, logs.Query{N: streamHistory, Follow: true}, logs.Format{JSON: true}, lw)
	}()
	out := startSSE(w)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case l := <-lines:
			var ll logLine
			if json.Unmarshal(l, &ll) != nil {
				continue
			}
			id := ""
			if ll.Seq != 0 {
				if ll.Seq <= after {
					continue
				}
				after = ll.Seq
				id = strconv.FormatUint(ll.Seq, 10)
			}
			if out.event("line", id, l) != nil {
				return
			}
		case <-tick.C:
			if !h.recheck(out, s, app) {
				return
			}
		case <-h.closing:
			return
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				h.log.Warn("dashboard log stream ended", "app", app, "err", err)
			}
			return
		case <-ctx.Done():
			return
		}
	}
}

// deployStream sends the build output of the app's pushes as it is
// written.
func (h *Handler) deployStream(w http.ResponseWriter, r *http.Request, s *session) {
	app := r.PathValue("app")
	if h.cfg.Progress == nil {
		if err := h.allow(s.u, access.Read, app); err != nil {
			h.failErr(w, r, s, app, err)
			return
		}
		http.Error(w, "no deploy progress on this server", http.StatusNotFound)
		return
	}
	if !h.admitStream(w, r, s, app) {
		return
	}
	defer h.closeStream(s.id)
	events, unsubscribe := h.cfg.Progress.subscribe(app)
	defer unsubscribe()
	out := startSSE(w)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e := <-events:
			if out.event(e.kind, "", []byte(e.text)) != nil {
				return
			}
		case <-tick.C:
			if !h.recheck(out, s, app) {
				return
			}
		case <-h.closing:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// Progress carries the build output of pushes, per app, to the
// dashboard's subscribers as it is written. A subscriber that does not
// keep up misses lines; the push never waits for it.
type Progress struct {
	mu   sync.Mutex
	subs map[string]map[chan progressEvent]struct{}
}

type progressEvent struct {
	kind string // "start", "line", "end"
	text string
}

// NewProgress returns an empty Progress.
func NewProgress() *Progress {
	return &Progress{subs: map[string]map[chan progressEvent]struct{}{}}
}

func (p *Progress) subscribe(app string) (<-chan progressEvent, func()) {
	c := make(chan progressEvent, 256)
	p.mu.Lock()
	if p.subs[app] == nil {
		p.subs[app] = map[chan progressEvent]struct{}{}
	}
	p.subs[app][c] = struct{}{}
	p.mu.Unlock()
	return c, func() {
		p.mu.Lock()
		delete(p.subs[app], c)
		if len(p.subs[app]) == 0 {
			delete(p.subs, app)
		}
		p.mu.Unlock()
	}
}

func (p *Progress) publish(app string, e progressEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.subs[app] {
		select {
		case c <- e:
		default:
		}
	}
}

// Push returns a writer that writes to out and publishes each line of
// the app's push, and done, which ends the push with its outcome.
func (p *Progress) Push(app, commit string, out io.Writer) (w io.Writer, done func(err error)) {
	p.publish(app, progressEvent{kind: "start", text: "push of " + commit[:min(len(commit), 12)]})
	lw := &lineWriter{send: func(l []byte) error {
		p.publish(app, progressEvent{kind: "line", text: string(bytes.TrimRight(l, "\r"))})
		return nil
	}}
	var mu sync.Mutex
	tee := writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		lw.Write(b)
		mu.Unlock()
		return out.Write(b)
	})
	return tee, func(err error) {
		mu.Lock()
		if len(lw.buf) > 0 {
			lw.send(lw.buf)
			lw.buf = nil
		}
		mu.Unlock()
		outcome := "deployed"
		if err != nil {
			outcome = "failed"
		}
		p.publish(app, progressEvent{kind: "end", text: outcome})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
