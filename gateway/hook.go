package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RunHook is the whole body of the hook program (`paasd hook`): git runs it
// as the pre-receive hook with the pushed "OLD NEW REF" lines on stdin. It
// hands them to paasd over the socket named by PAAS_HOOK_SOCKET, copies
// whatever paasd sends back to stderr as it arrives (git shows it to the
// pusher as "remote:" lines) and returns the exit status paasd decided.
func RunHook(stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "paas: "+format+"\n", args...)
		return 1
	}
	env := envMap(environ)
	sock, token := env["PAAS_HOOK_SOCKET"], env["PAAS_HOOK_TOKEN"]
	if sock == "" || token == "" {
		return fail("hook: PAAS_HOOK_SOCKET and PAAS_HOOK_TOKEN are not set; this hook is run by paasd's git receive-pack")
	}
	req := hookRequest{Token: token, Env: map[string]string{}}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			req.Refs = append(req.Refs, line)
		}
	}
	if err := sc.Err(); err != nil {
		return fail("hook: reading refs: %v", err)
	}
	if n, err := strconv.Atoi(env["GIT_PUSH_OPTION_COUNT"]); err == nil {
		for i := 0; i < n && i < 32; i++ {
			req.Options = append(req.Options, env["GIT_PUSH_OPTION_"+strconv.Itoa(i)])
		}
	}
	cwd, _ := os.Getwd()
	for _, k := range hookEnvVars {
		v, ok := env[k]
		if !ok {
			continue
		}
		req.Env[k] = absPathList(v, cwd)
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return fail("hook: %v", err)
	}
	conn, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		return fail("cannot reach paasd: %v", err)
	}
	defer conn.Close()
	if err := writeFrame(conn, frameRequest, payload); err != nil {
		return fail("cannot reach paasd: %v", err)
	}
	for {
		typ, data, err := readFrame(conn, maxOutputFrame)
		if err != nil {
			return fail("lost connection to paasd: %v", err)
		}
		switch typ {
		case frameOutput:
			stderr.Write(data)
			if f, ok := stderr.(interface{ Flush() error }); ok {
				f.Flush()
			}
		case frameExit:
			if len(data) != 1 {
				return fail("hook protocol: bad exit frame")
			}
			return int(data[0])
		default:
			return fail("hook protocol: unexpected frame %q", typ)
		}
	}
}

// absPathList makes every entry of a colon-separated path list absolute,
// relative to dir.
func absPathList(v, dir string) string {
	if v == "" || dir == "" {
		return v
	}
	parts := strings.Split(v, string(os.PathListSeparator))
	for i, p := range parts {
		if p != "" && !filepath.IsAbs(p) {
			parts[i] = filepath.Join(dir, p)
		}
	}
	return strings.Join(parts, string(os.PathListSeparator))
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
