// Command paasd is the platform server: the SSH gateway, the builder, the
// runtime supervisor and the HTTP router in one process. Subcommands:
//
//	paasd                   run the server until SIGTERM/SIGINT
//	paasd keys:add NAME     add the public key on stdin as an admin
//	paasd keys              list keys
//	paasd stack:build       build the stack image with debootstrap
//	paasd hook              the git pre-receive hook (run by git)
//	paasd buildpack:fetch   fetch a git buildpack (run by builds)
//	paasd version           print the version
package main

import (
	"os"
	"path/filepath"

	"paas/static"
)

func main() {
	if filepath.Base(os.Args[0]) == "paas-static" {
		os.Exit(static.Main(os.Args[1:]))
	}
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
