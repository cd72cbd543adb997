package gateway

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	gossh "golang.org/x/crypto/ssh"

	"paas"
	"paas/access"
)

// Users, keys and who may act on an app: keys, keys:add, keys:remove,
// whoami, access, access:add, access:remove, apps:transfer.

// maxKeyInput bounds what keys:add reads from stdin.
const maxKeyInput = 16 << 10

func cmdWhoami(s *Server, r *request, _ string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("whoami"))
	}
	role := paas.User{Admin: r.user.admin}.Role()
	if asJSON {
		return writeJSON(r, whoamiJSON{User: r.user.name, Role: role, Key: jsonString(r.key)})
	}
	w := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "user:\t%s\n", r.user.name)
	fmt.Fprintf(w, "role:\t%s\n", role)
	if r.key != "" {
		fmt.Fprintf(w, "key:\t%s\n", r.key)
	}
	return w.Flush()
}

// cmdKeys lists keys: every user's for an admin, the user's own
// otherwise.
func cmdKeys(s *Server, r *request, _ string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("keys"))
	}
	of := r.user.name
	roles := map[string]string{r.user.name: paas.User{Admin: r.user.admin}.Role()}
	if r.user.admin {
		of = ""
		users, err := s.cfg.Platform.Users(r.ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			roles[u.Name] = u.Role()
		}
	}
	keys, err := s.cfg.Platform.KeysOf(r.ctx, of)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return emptyListing(r, asJSON, "no keys")
	}
	if asJSON {
		list := make([]keyJSON, 0, len(keys))
		for _, k := range keys {
			list = append(list, keyJSON{
				User: k.User, Role: jsonString(roles[k.User]), Type: jsonString(keyType(k)), Fingerprint: k.Fingerprint,
				Name: jsonString(k.Name), AddedAt: jsonTime(k.AddedAt), AddedBy: jsonString(k.AddedBy), ThisKey: k.Fingerprint == r.key,
			})
		}
		return writeJSON(r, list)
	}
	// The type, when and by whom each was added are in keys --json: a
	// fingerprint leaves little of 80 columns. "*" marks the session's key.
	t := newTable("", "USER", "ROLE", "FINGERPRINT", "NAME").keepWhole("FINGERPRINT")
	for _, k := range keys {
		mark := ""
		if k.Fingerprint == r.key {
			mark = "*"
		}
		t.row(mark, printable(k.User), orDash(roles[k.User]), k.Fingerprint, orDash(printable(k.Name)))
	}
	return t.write(r.stdout)
}

// keyType is the algorithm of a key's authorized_keys line.
func keyType(k paas.Key) string {
	if f := strings.Fields(k.PublicKey); len(f) > 0 {
		return printable(f[0])
	}
	return "-"
}

// cmdKeysAdd adds the public key on stdin to USER, creating the user (a
// member, or an admin with --admin) when new.
func cmdKeysAdd(s *Server, r *request, _ string, args []string) error {
	c := lookupCommand("keys:add")
	fl, rest, err := parseFlags(args, map[string]bool{"--admin": false})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(c)
	}
	name := rest[0]
	if err := paas.ValidateUserName(name); err != nil {
		return err
	}
	_, admin := fl["--admin"]
	k, err := readPublicKey(r.stdin)
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.AddKey(r.ctx, name, admin, k, r.by); err != nil {
		return err
	}
	role := "member"
	if u, _, ok := s.cfg.Platform.User(k.Fingerprint); ok {
		role = u.Role()
	}
	fmt.Fprintf(r.stdout, "Added %s key %s to %s (%s)\n", keyType(k), k.Fingerprint, name, role)
	return nil
}

// readPublicKey reads the one public key, in authorized_keys format, that
// keys:add is given on stdin.
func readPublicKey(stdin io.Reader) (paas.Key, error) {
	data, err := io.ReadAll(io.LimitReader(stdin, maxKeyInput+1))
	if err != nil {
		return paas.Key{}, fmt.Errorf("reading the key: %w", err)
	}
	if len(data) > maxKeyInput {
		return paas.Key{}, paas.Errorf("stdin holds more than %d KiB: not a public key", maxKeyInput>>10)
	}
	var lines [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			lines = append(lines, line)
		}
	}
	switch len(lines) {
	case 0:
		return paas.Key{}, paas.Errorf("no public key on stdin: keys:add USER < key.pub")
	case 1:
	default:
		return paas.Key{}, paas.Errorf("%d lines on stdin: give one public key per keys:add", len(lines))
	}
	pk, comment, options, _, err := gossh.ParseAuthorizedKey(lines[0])
	if err != nil {
		return paas.Key{}, paas.Errorf("not a public key in authorized_keys format (ssh-ed25519 AAAA... comment)")
	}
	if err := CheckKeyOptions(options); err != nil {
		return paas.Key{}, paas.Errorf("%v", err)
	}
	if _, ok := pk.(*gossh.Certificate); ok {
		return paas.Key{}, paas.Errorf("certificates are not supported: give the public key itself")
	}
	return paas.Key{
		Name:        strings.TrimSpace(comment),
		Fingerprint: gossh.FingerprintSHA256(pk),
		PublicKey:   string(bytes.TrimSpace(gossh.MarshalAuthorizedKey(pk))),
		Options:     options,
	}, nil
}

// cmdKeysRemove removes one key of USER, or all of them and the user. An
// admin may remove anyone's; a user may remove their own. The removed
// keys' connections are closed at once: this session's once it has
// answered.
func cmdKeysRemove(s *Server, r *request, _ string, args []string) error {
	if len(args) < 1 || len(args) > 2 || strings.HasPrefix(args[0], "-") {
		return usageError(lookupCommand("keys:remove"))
	}
	name, fp := args[0], ""
	if err := paas.ValidateUserName(name); err != nil {
		return err
	}
	if len(args) == 2 {
		fp = args[1]
		if err := validateFingerprint(fp); err != nil {
			return err
		}
	}
	if name != r.user.name {
		if err := s.allow(r.user, access.Admin, object{}); err != nil {
			return err
		}
	}
	removed, err := s.cfg.Platform.RemoveKey(r.ctx, name, fp)
	if err != nil {
		return err
	}
	fps := make([]string, 0, len(removed))
	for _, k := range removed {
		fps = append(fps, k.Fingerprint)
		if r.conn != nil && k.Fingerprint == r.conn.key {
			r.closeConn = true
		}
	}
	closed := s.guard.closeKey(r.conn, fps...)
	for _, k := range removed {
		fmt.Fprintf(r.stdout, "Removed key %s of %s\n", k.Fingerprint, name)
	}
	if fp == "" {
		fmt.Fprintf(r.stdout, "Removed user %s\n", name)
	}
	if closed > 0 {
		fmt.Fprintf(r.stdout, "Closed %d open connection(s) of the removed key(s)\n", closed)
	}
	return nil
}

// validateFingerprint accepts a SHA256 fingerprint as ssh-keygen -l
// prints it.
func validateFingerprint(fp string) error {
	h, ok := strings.CutPrefix(fp, "SHA256:")
	valid := ok && len(h) == 43
	for i := 0; valid && i < len(h); i++ {
		c := h[i]
		valid = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/'
	}
	if !valid {
		return paas.Errorf("invalid fingerprint %q: use SHA256:... as keys lists it", fp)
	}
	return nil
}

func cmdAccess(s *Server, r *request, app string, args []string) error {
	_, rest, asJSON, err := listFlags(args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(lookupCommand("access"))
	}
	owner, collaborators, err := s.cfg.Platform.AppAccess(r.ctx, app)
	if err != nil {
		return err
	}
	list := []accessJSON{}
	if owner != "" {
		list = append(list, accessJSON{User: owner, Role: access.Owner.String()})
	}
	for _, c := range collaborators {
		list = append(list, accessJSON{User: c, Role: access.Collaborator.String()})
	}
	if len(list) == 0 {
		return emptyListing(r, asJSON, app+" has no owner or collaborators: only admins may act on it")
	}
	if asJSON {
		return writeJSON(r, list)
	}
	t := newTable("USER", "ROLE")
	for _, u := range list {
		t.row(printable(u.User), u.Role)
	}
	return t.write(r.stdout)
}

// appAndUser reads the USER operand of access:add, access:remove and
// apps:transfer.
func appAndUser(c *command, args []string) (string, error) {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return "", usageError(c)
	}
	if err := paas.ValidateUserName(args[0]); err != nil {
		return "", err
	}
	return args[0], nil
}

func cmdAccessAdd(s *Server, r *request, app string, args []string) error {
	name, err := appAndUser(lookupCommand("access:add"), args)
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.AddCollaborator(r.ctx, app, name, r.by); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "Gave %s access to %s as a collaborator\n", name, app)
	return nil
}

func cmdAccessRemove(s *Server, r *request, app string, args []string) error {
	name, err := appAndUser(lookupCommand("access:remove"), args)
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.RemoveCollaborator(r.ctx, app, name, r.by); err != nil {
		return err
	}
	n := s.live.recheck(s, app, r.live)
	fmt.Fprintf(r.stdout, "Removed the access of %s to %s\n", name, app)
	if n > 0 {
		fmt.Fprintf(r.stdout, "Ended %d running command(s) of %s on %s\n", n, name, app)
	}
	return nil
}

func cmdAppsTransfer(s *Server, r *request, app string, args []string) error {
	name, err := appAndUser(lookupCommand("apps:transfer"), args)
	if err != nil {
		return err
	}
	if err := s.cfg.Platform.TransferApp(r.ctx, app, name, r.by); err != nil {
		return err
	}
	s.live.recheck(s, app, r.live)
	fmt.Fprintf(r.stdout, "Transferred %s to %s; the previous owner stays on as a collaborator\n", app, name)
	return nil
}
