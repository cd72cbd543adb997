package addons

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redisConn is a connection to a redis service logged in as default.
type redisConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRedis(t *testing.T, svc Service, password string) *redisConn {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort(svc.Host, strconv.Itoa(svc.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &redisConn{c: c, r: bufio.NewReader(c)}
	if got, err := rc.do("AUTH", "default", password); err != nil || got != "+OK" {
		t.Fatalf("AUTH: %q, %v", got, err)
	}
	return rc
}

// do sends a command and returns the first line of the reply.
func (rc *redisConn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := rc.r.ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestExecRedisRotationClosesJustTheOldConnections: removing the old
// password closes every connection made before the new one was added,
// even one made a moment before, and none made after.
func TestExecRedisRotationClosesJustTheOldConnections(t *testing.T) {
	needEngine(t, Redis)
	env := newExecT(t)
	ctx := context.Background()
	svc, pw := env.create(t, "rd5", Redis)
	old := dialRedis(t, svc, pw)
	pw2 := NewPassword()
	if err := env.e.AddCredential(ctx, "rd5", "default", pw2); err != nil {
		t.Fatal(err)
	}
	fresh := dialRedis(t, svc, pw2)
	if err := env.e.RemoveCredential(ctx, "rd5", "default", pw); err != nil {
		t.Fatal(err)
	}
	if got, err := old.do("PING"); err == nil {
		t.Errorf("the connection made with the old password still answers: %q", got)
	}
	if got, err := fresh.do("PING"); err != nil || got != "+PONG" {
		t.Errorf("the connection made with the new password: %q, %v", got, err)
	}
}
