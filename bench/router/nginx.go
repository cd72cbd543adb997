package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nginxConfig is nginx's configuration for one target: a server on listen
// proxying to backend. With keepalive the upstream keeps up to 256 idle
// HTTP/1.1 connections; without, nginx opens an HTTP/1.0 connection to the
// backend per request, as the default templates of Dokku and CapRover do.
// Both keep client connections open for as many requests as wrk sends
// (nginx's default closes them after 1000) and log nothing. With
// paasHeaders nginx also sends the request headers paas's router sends
// and Dokku's template does not: X-Forwarded-Host, an X-Request-Id of its
// own making and Via, so that both do the same work for the app.
func nginxConfig(dir, listen, backend string, keepalive, paasHeaders bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\nmaster_process on;\nworker_processes auto;\n")
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, "pid %s;\nerror_log %s warn;\n", filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))
	b.WriteString("events { worker_connections 4096; }\n")
	b.WriteString("http {\n  access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 120s;\n")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s;\n", t, filepath.Join(dir, t))
	}
	fmt.Fprintf(&b, "  upstream app {\n    server %s;\n", backend)
	if keepalive {
		b.WriteString("    keepalive 256;\n    keepalive_requests 1000000;\n")
	}
	b.WriteString("  }\n")
	fmt.Fprintf(&b, "  server {\n    listen %s;\n    location / {\n      proxy_pass http://app;\n", listen)
	if keepalive {
		b.WriteString("      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n")
	}
	b.WriteString(`      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Request-Start $msec;
`)
	if paasHeaders {
		b.WriteString(`      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Request-Id $request_id;
      proxy_set_header Via "1.1 paas";
`)
	}
	b.WriteString(`    }
  }
}
`)
	return b.String()
}

// startNginx runs nginx in the foreground with its configuration in a
// directory of its own under root.
func startNginx(root, name, backend string, keepalive, paasHeaders bool) (*proc, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(dir, listen, backend, keepalive, paasHeaders)), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return startListening(name, exec.Command("nginx", "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")), listen)
}
