package paas

import (
	"regexp"
	"strings"
)

var (
	appNameRe   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)
	configKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	procTypeRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
)

// ValidateAppName returns a user-facing error when name is not a valid app
// name: a lower-case letter, then up to 29 lower-case letters, digits or
// dashes.
func ValidateAppName(name string) error {
	if !appNameRe.MatchString(name) {
		return Errorf("invalid app name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	return nil
}

// ValidateUserName returns a user-facing error when name is not a valid
// user name; user names follow the rule of app names.
func ValidateUserName(name string) error {
	if !appNameRe.MatchString(name) {
		return Errorf("invalid user name %q: use a lower-case letter followed by up to 29 lower-case letters, digits or dashes", name)
	}
	return nil
}

// UserNameFrom makes a valid user name of a free-form label, such as a
// key's comment ("Alice@laptop" becomes "alice-laptop"): lower-cased,
// every run of other characters a dash, starting with a letter ("u"
// prepended when not), at most 30 characters; "admin" when nothing is
// left.
func UserNameFrom(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(label) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	name := b.String()
	if name == "" {
		return "admin"
	}
	if name[0] < 'a' || name[0] > 'z' {
		name = "u" + name
	}
	if len(name) > 30 {
		name = strings.TrimRight(name[:30], "-")
	}
	return name
}

// ValidateConfigKey returns a user-facing error when key is not a valid
// config variable name.
func ValidateConfigKey(key string) error {
	if !configKeyRe.MatchString(key) {
		return Errorf("invalid config key %q: use letters, digits and underscores, not starting with a digit", key)
	}
	return nil
}

// ValidateProcessType returns a user-facing error when t is not a valid
// process type name.
func ValidateProcessType(t string) error {
	if !procTypeRe.MatchString(t) {
		return Errorf("invalid process type %q", t)
	}
	return nil
}

// ParseAssignment splits "KEY=VALUE" into its key and value. The value is
// taken literally: it may contain '=', spaces, newlines or "$(...)", none of
// which is ever evaluated.
func ParseAssignment(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", Errorf("invalid assignment %q: expected KEY=VALUE", s)
	}
	if err := ValidateConfigKey(k); err != nil {
		return "", "", err
	}
	return k, v, nil
}

// reservedAppNames are names no new app may take: their APP.DOMAIN is
// the platform's own (the web dashboard's, and the one it falls back to).
var reservedAppNames = []string{"dashboard", "paas-dashboard"}

// ValidateNewAppName is ValidateAppName for a name a new app is to take
// (apps:create, a first push, apps:rename): reserved names are refused.
// An existing app of such a name keeps it.
func ValidateNewAppName(name string) error {
	if err := ValidateAppName(name); err != nil {
		return err
	}
	for _, r := range reservedAppNames {
		if name == r {
			return Errorf("app name %q is reserved for the platform: choose another", name)
		}
	}
	return nil
}
