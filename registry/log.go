package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// The distribution handler logs through logrus' standard logger, the
// only one it lets a user of the library set. Its warnings and errors
// go to the slog logger of the last registry made (at debug level when
// they are about a client's request, not the server); its per-request
// info lines are dropped.
var (
	logOnce sync.Once
	logTo   atomic.Pointer[slog.Logger]
)

// routeLogs sends the handler's logs to log.
func routeLogs(log *slog.Logger) {
	logTo.Store(log)
	logOnce.Do(func() {
		std := logrus.StandardLogger()
		std.SetOutput(io.Discard)
		std.SetLevel(logrus.WarnLevel)
		std.AddHook(slogHook{})
	})
}

type slogHook struct{}

func (slogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (slogHook) Fire(e *logrus.Entry) error {
	log := logTo.Load()
	if log == nil {
		return nil
	}
	level := slog.LevelWarn
	if e.Level <= logrus.ErrorLevel {
		level = slog.LevelError
	}
	// A client's mistakes and the authentication challenge every
	// docker login and push starts with are no server trouble.
	if status, ok := e.Data["http.response.status"].(int); ok && status < 500 || strings.HasPrefix(e.Message, "error authorizing context") {
		level = slog.LevelDebug
	}
	args := []any{"component", "registry"}
	for _, k := range []string{"http.request.method", "http.request.uri", "http.request.remoteaddr", "http.response.status", "err.code", "err.detail"} {
		if v, ok := e.Data[k]; ok {
			args = append(args, k, fmt.Sprint(v))
		}
	}
	log.Log(context.Background(), level, e.Message, args...)
	return nil
}
