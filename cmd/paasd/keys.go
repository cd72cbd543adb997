package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"paas"
	"paas/gateway"
	"paas/store"
)

// keysCommand runs the keys:add and keys admin subcommands against the
// store. paasd holds the store's file lock while it runs, so these work
// while the server is stopped. keys:add NAME makes NAME an admin user
// (creating it when new) and adds the keys to it.
func keysCommand(cfg config, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if cmd == "keys:add" && len(args) != 1 {
		fmt.Fprintln(stderr, "paasd: usage: paasd keys:add USER < key.pub")
		return 2
	}
	if cmd == "keys:add" {
		if err := paas.ValidateUserName(args[0]); err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 2
		}
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
		if len(keys) == 0 {
			fmt.Fprintln(stderr, "paasd: no keys yet: add an admin's with paasd keys:add NAME < KEY.pub")
			return 0
		}
		for _, k := range keys {
			if len(k.Options) > 0 {
				fmt.Fprintf(stdout, "%s\t%s\t%s\n", k.User, k.Fingerprint, strings.Join(k.Options, ","))
				continue
			}
			fmt.Fprintf(stdout, "%s\t%s\n", k.User, k.Fingerprint)
		}
		return 0
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		fmt.Fprintf(stderr, "paasd: reading key: %v\n", err)
		return 1
	}
	keys, err := parseAuthorizedKeys(data, "stdin", args[0])
	if err != nil {
		fmt.Fprintf(stderr, "paasd: %v\n", err)
		return 1
	}
	if len(keys) == 0 {
		fmt.Fprintln(stderr, "paasd: no valid public key on stdin")
		return 1
	}
	// Every key is checked before any is added: a refused key adds none.
	for _, k := range keys {
		if old, ok, err := st.KeyByFingerprint(k.Fingerprint); err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 1
		} else if ok && old.User != args[0] {
			fmt.Fprintf(stderr, "paasd: key %s already belongs to user %s\n", k.Fingerprint, old.User)
			return 1
		}
	}
	for _, k := range keys {
		if err := st.AdmitKey(args[0], k, "paasd keys:add"); err != nil {
			fmt.Fprintf(stderr, "paasd: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Added key %s %s to admin %s\n", k.Name, k.Fingerprint, args[0])
	}
	return 0
}

// parseAuthorizedKeys reads keys in authorized_keys format from data,
// which came from source (a file name, or "stdin"). Each key is named
// name, or its comment when name is empty. A line paasd cannot honour
// fully (a bad key, or an option the gateway does not enforce) is an
// error naming source and the line.
func parseAuthorizedKeys(data []byte, source, name string) ([]paas.Key, error) {
	var keys []paas.Key
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pk, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a public key in authorized_keys format", source, n)
		}
		if err := gateway.CheckKeyOptions(options); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", source, n, err)
		}
		kn := name
		if kn == "" {
			kn = comment
		}
		if kn == "" {
			kn = "admin"
		}
		keys = append(keys, paas.Key{
			Name:        kn,
			Fingerprint: gossh.FingerprintSHA256(pk),
			PublicKey:   string(bytes.TrimSpace(gossh.MarshalAuthorizedKey(pk))),
			Options:     options,
			Admin:       true,
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	return keys, nil
}

// readAuthorizedKeysFile reads and checks the keys of an authorized_keys
// file.
func readAuthorizedKeysFile(path string) ([]paas.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseAuthorizedKeys(data, path, "")
}

// admitKeys makes the keys of PAAS_AUTHORIZED_KEYS admins: a new key is
// added to the admin user named after its comment (paas.UserNameFrom;
// "admin" for a key without one); a key already stored stays its user's,
// who becomes an admin. A key removed with keys:remove since stays
// removed, with a warning: the file does not undo a removal.
func admitKeys(log *slog.Logger, st *store.Store, keys []paas.Key) error {
	for _, k := range keys {
		err := st.AdmitListedKey(paas.UserNameFrom(k.Name), k, "PAAS_AUTHORIZED_KEYS")
		if errors.Is(err, store.ErrKeyRemoved) {
			log.Warn("PAAS_AUTHORIZED_KEYS names a key removed with keys:remove: it stays removed; take it out of the file, or add it again with keys:add",
				"fingerprint", k.Fingerprint, "name", k.Name)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// warnWithoutAdmin logs, loudly, when no admin has a key: nobody can then
// add users, and nobody at all can log in on a new server.
func warnWithoutAdmin(log *slog.Logger, st *store.Store) error {
	users, err := st.Users()
	if err != nil {
		return err
	}
	keys, err := st.Keys()
	if err != nil {
		return err
	}
	admins := map[string]bool{}
	for _, u := range users {
		admins[u.Name] = u.Admin
	}
	for _, k := range keys {
		if admins[k.User] {
			return nil
		}
	}
	log.Warn("NO ADMIN KEY: nobody can add users or keys" + noAdminHint)
	return nil
}

// noAdminHint says how to add the first admin.
const noAdminHint = "; to add one, start paasd with PAAS_AUTHORIZED_KEYS=FILE (an authorized_keys file), " +
	"or stop it and run: paasd keys:add NAME < ~/.ssh/id_ed25519.pub"
