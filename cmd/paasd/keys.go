package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"

	"paas"
	"paas/store"
)

// keysCommand runs the keys:add and keys admin subcommands against the
// store. paasd holds the store's file lock while it runs, so these work
// while the server is stopped.
func keysCommand(cfg config, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if cmd == "keys:add" && len(args) != 1 {
		fmt.Fprintln(stderr, "paasd: usage: paasd keys:add NAME < key.pub")
		return 2
	}
	if cmd == "keys" && len(args) != 0 {
		fmt.Fprintln(stderr, "paasd: usage: paasd keys")
		return 2
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "paas.db"))
	if err != nil {
		fmt.Fprintf(stderr, "paasd: %v (is paasd running? stop it first)\n", err)
		return 1
	}
	defer st.Close()
	if cmd == "keys" {
		keys, err := st.Keys()
		if err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 1
		}
		for _, k := range keys {
			fmt.Fprintf(stdout, "%s\t%s\n", k.Name, k.Fingerprint)
		}
		return 0
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		fmt.Fprintf(stderr, "paasd: reading key: %v\n", err)
		return 1
	}
	keys, err := parseAuthorizedKeys(data, args[0])
	if err != nil || len(keys) == 0 {
		fmt.Fprintln(stderr, "paasd: no valid public key on stdin")
		return 1
	}
	for _, k := range keys {
		if err := st.PutKey(k); err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Added key %s %s\n", k.Name, k.Fingerprint)
	}
	return 0
}

// parseAuthorizedKeys reads keys in authorized_keys format. Each key is
// named name, or its comment when name is empty.
func parseAuthorizedKeys(data []byte, name string) ([]paas.Key, error) {
	var keys []paas.Key
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pk, comment, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("parsing key: %w", err)
		}
		n := name
		if n == "" {
			n = comment
		}
		if n == "" {
			n = "admin"
		}
		keys = append(keys, paas.Key{
			Name:        n,
			Fingerprint: gossh.FingerprintSHA256(pk),
			PublicKey:   string(bytes.TrimSpace(gossh.MarshalAuthorizedKey(pk))),
			Admin:       true,
		})
	}
	return keys, sc.Err()
}

// loadAuthorizedKeysFile adds the keys of an authorized_keys file.
func loadAuthorizedKeysFile(st *store.Store, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	keys, err := parseAuthorizedKeys(data, "")
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := st.PutKey(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
