package builder

import (
	"fmt"
	"os"
	"path/filepath"

	"paas"
)

// passThrough names the host variables a compile may see: proxies, Go
// module settings and CA locations. Nothing else of the server's
// environment reaches a build.
var passThrough = []string{
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "no_proxy",
	"GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOFLAGS",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
}

// defaultPath is used when the server itself has no PATH.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// buildEnv returns the environment of detect, compile and release: PATH,
// HOME, LANG, STACK, SOURCE_VERSION, PAAS_BUILD_RUNTIME (exec here,
// docker in a build container), the pass-through variables that are set
// on the host and PAAS_STATIC_SERVER.
func (b *Builder) buildEnv(home, commit string) []string {
	p := os.Getenv("PATH")
	if p == "" {
		p = defaultPath
	}
	env := []string{
		"PATH=" + p,
		"HOME=" + home,
		"LANG=C.UTF-8",
		"STACK=paas-bookworm",
		"SOURCE_VERSION=" + commit,
		// Tells a buildpack its tools are the host's, not the stack's.
		"PAAS_BUILD_RUNTIME=exec",
	}
	for _, k := range passThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if b.cfg.StaticServer != "" {
		env = append(env, "PAAS_STATIC_SERVER="+b.cfg.StaticServer)
	}
	return env
}

// writeEnvDir writes config as a Heroku ENV_DIR: one file per variable,
// named after it and holding its value.
func writeEnvDir(dir string, config map[string]string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making env dir: %w", err)
	}
	for k, v := range config {
		if err := paas.ValidateConfigKey(k); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			return fmt.Errorf("writing env dir: %w", err)
		}
	}
	return nil
}

// containerPassThrough names the host variables a build container step
// may see. CA locations are left out: they name host files, and the stack
// image carries the host's CA bundle.
var containerPassThrough = []string{
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
	"http_proxy", "https_proxy", "no_proxy",
	"GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOFLAGS",
}

// containerEnv is buildEnv as a build container sees it: the stack's PATH,
// HOME in the cache volume and the static server at its mount point.
func (b *Builder) containerEnv(commit string, static bool) []string {
	env := []string{
		"PATH=" + stackPath,
		"HOME=" + viewCache + "/home",
		"LANG=C.UTF-8",
		"STACK=paas-bookworm",
		"SOURCE_VERSION=" + commit,
		"PAAS_BUILD_RUNTIME=docker",
	}
	for _, k := range containerPassThrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if static {
		env = append(env, "PAAS_STATIC_SERVER="+viewStatic)
	}
	return env
}
