package gitfetch

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"paas"
	"paas/buildpacks"
)

// Command is the paasd subcommand that runs Main.
const Command = "buildpack:fetch"

// SourceCommand is the paasd subcommand that runs SourceMain.
const SourceCommand = "source:fetch"

// AllowLoopbackFlag is Main's test-only flag for Options.AllowLoopback.
const AllowLoopbackFlag = "--allow-loopback"

// Main is `paasd buildpack:fetch [--allow-loopback] URL[#REF] DEST`: it
// fetches a git buildpack into DEST and prints the commit. On failure it
// exits 1 with two lines on stderr: the first for the pusher (nothing of
// the host in it), the second, the whole error, for the operator's log.
func Main(args []string, stdout, stderr io.Writer) int {
	return runMain(Command, Options{}, args, stdout, stderr)
}

// SourceMain is `paasd source:fetch [--allow-loopback] URL[#REF] DEST`:
// Main for an app's source (git:sync), under the same rules and limits,
// leaving the commit with its history in the repository DEST/.git as
// refs/paas/fetched, its files not written out.
func SourceMain(args []string, stdout, stderr io.Writer) int {
	return runMain(SourceCommand, Options{NoCheckout: true, History: true, Fetched: "git:sync sources"}, args, stdout, stderr)
}

func runMain(command string, opt Options, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == AllowLoopbackFlag {
		opt.AllowLoopback = true
		args = args[1:]
	}
	if len(args) != 2 {
		fmt.Fprintf(stderr, "usage: paasd %s [%s] URL[#REF] DEST\n", command, AllowLoopbackFlag)
		return 2
	}
	ref, err := buildpacks.ParseRef(args[0], nil)
	if err != nil || ref.Kind != buildpacks.GitRef {
		msg, _ := paas.UserMessage(err)
		if err == nil {
			msg = "not a git buildpack"
		}
		fmt.Fprintf(stderr, "%s\n%s\n", msg, msg)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	h, err := Fetch(ctx, ref.URL, ref.Rev, args[1], opt)
	if err != nil {
		msg, _ := paas.UserMessage(err)
		detail := err.Error()
		if pe, ok := err.(*paas.Error); ok && pe.Err != nil {
			detail = pe.Err.Error()
		}
		fmt.Fprintf(stderr, "%s\n%s\n", oneLine(msg), oneLine(detail))
		return 1
	}
	fmt.Fprintf(stdout, "Fetched commit %s\n", h)
	return 0
}

// oneLine keeps s to one printable line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Exit runs Main with the process's own streams when args name the
// subcommand, and exits; otherwise it returns. Test binaries call it from
// TestMain, so tests can run themselves as the fetch command.
func Exit(args []string) {
	if len(args) > 1 && args[1] == Command {
		os.Exit(Main(args[2:], os.Stdout, os.Stderr))
	}
	if len(args) > 1 && args[1] == SourceCommand {
		os.Exit(SourceMain(args[2:], os.Stdout, os.Stderr))
	}
}
