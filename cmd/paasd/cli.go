package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"paas"
	"paas/builder/agent"
	"paas/builder/gitfetch"
	"paas/gateway"
)

// Main runs paasd with args (without the program name) and returns the
// exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "":
		cfg, err := loadConfig(args, getenv, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		if err := serve(ctx, cfg, stdout); err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 1
		}
		return 0
	case "hook":
		return gateway.RunHook(stdin, stdout, stderr, os.Environ())
	case gitfetch.Command:
		// Run by builds, in their confinement, to fetch a git buildpack.
		return gitfetch.Main(args, stdout, stderr)
	case agent.Command:
		// The first process of a build container, run as the build's
		// user: it runs the build's steps.
		return agent.Main(args, stdin, stdout, stderr)
	case gitfetch.SourceCommand:
		// Run by git:sync to fetch an app's source from a git URL.
		return gitfetch.SourceMain(args, stdout, stderr)
	case "keys:add", "keys":
		cfg, err := loadConfig(nil, getenv, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 2
		}
		return keysCommand(cfg, cmd, args, stdin, stdout, stderr)
	case "stack:build":
		cfg, err := loadConfig(nil, getenv, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 2
		}
		return stackCommand(cfg, args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "paasd %s\n", paas.Version)
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "paasd: unknown command %q (try paasd help)\n", cmd)
		return 2
	}
}

const usage = `usage:
  paasd [flags]           run the server (configured by PAAS_* env vars; flags override)
  paasd keys:add NAME     add the public key read from stdin, as an admin
  paasd keys              list the keys
  paasd stack:build [--force]
                          build the stack image (PAAS_STACK_IMAGE) from Debian bookworm
  paasd version           print the version
  paasd -h                list the flags
`
