package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"paas"
	"paas/catalog"
)

// stdinFile handles the commands that read a file on the server's stdin:
// `config:set --file .env` (or a .env piped in with no KEY=VALUE), and
// `git:from-archive [FILE]` (or the archive piped in). It returns the
// reader to send on ssh's stdin, nil to keep the client's, and the
// arguments left for the server. A reader it returns that is an
// io.Closer is the caller's to close.
func stdinFile(c catalog.Command, args []string, stdinIsTerminal bool) (io.Reader, []string, error) {
	switch c.Name {
	case "config:set":
		return configSetFile(c, args, stdinIsTerminal)
	case "git:from-archive":
		return archiveFile(args, stdinIsTerminal)
	}
	return nil, args, nil
}

// configSetFile reads `config:set --file FILE`: the file goes on stdin
// and the server reads it as a .env file. With no KEY=VALUE and no
// --file, a .env must be piped in.
func configSetFile(c catalog.Command, args []string, stdinIsTerminal bool) (io.Reader, []string, error) {
	const use = "usage: paas config:set KEY=VALUE... (or --file .env, or < .env)"
	i := slices.IndexFunc(args, func(a string) bool { return a == "--file" || strings.HasPrefix(a, "--file=") })
	if i < 0 {
		if operands(c, args) == 0 && stdinIsTerminal {
			return nil, nil, errors.New(use)
		}
		return nil, args, nil
	}
	name, given := strings.CutPrefix(args[i], "--file=")
	rest := slices.Delete(slices.Clone(args), i, i+1)
	if !given {
		if i+1 >= len(args) {
			return nil, nil, errors.New("--file needs a file name: paas config:set --file .env")
		}
		name = args[i+1]
		rest = slices.Delete(slices.Clone(args), i, i+2)
	}
	if operands(c, rest) != 0 {
		return nil, nil, errors.New("--file takes no KEY=VALUE too: put them in the file, or set them with another config:set")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, paas.MaxDotenv+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > paas.MaxDotenv {
		return nil, nil, fmt.Errorf("%s is larger than %d KiB", name, paas.MaxDotenv>>10)
	}
	// Parsed here too, so that a mistake is shown before anything is sent.
	if _, err := paas.ParseDotenv(string(data)); err != nil {
		msg, _ := paas.UserMessage(err)
		return nil, nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(msg, ".env "))
	}
	return strings.NewReader(string(data)), rest, nil
}

// archiveFile reads `git:from-archive [FILE]`: the tarball goes on stdin,
// streamed from FILE, or piped in (never read from a terminal).
func archiveFile(args []string, stdinIsTerminal bool) (io.Reader, []string, error) {
	const use = "git:from-archive reads a tar or tar.gz archive: paas git:from-archive FILE (or < FILE)"
	files := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return strings.HasPrefix(a, "-") })
	switch len(files) {
	case 0:
		if stdinIsTerminal {
			return nil, nil, errors.New(use)
		}
		return nil, args, nil
	case 1:
	default:
		return nil, nil, errors.New(use)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return nil, nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a file: %s", files[0], use)
	}
	rest := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == files[0] })
	return f, rest, nil
}
