package builder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/tailscale/hujson"

	"paas"
)

// maxAppJSON bounds the app.json a build reads.
const maxAppJSON = 1 << 20

// maxQuantity bounds the instance count app.json's formation may ask for.
const maxQuantity = 100

// ProcessFormation is one process type's entry of app.json's formation:
// its initial instance count and memory limit.
type ProcessFormation struct {
	Quantity int   // initial count; -1 when the entry gives none
	Memory   int64 // memory limit in bytes from its size; 0 when none
}

// manifest is what the platform takes from an app.json.
type manifest struct {
	Healthchecks []paas.Healthcheck
	Formation    map[string]ProcessFormation
	Postdeploy   string
}

// appJSON is the part of an app.json the platform reads.
type appJSON struct {
	Healthchecks map[string][]paas.Healthcheck `json:"healthchecks"`
	Formation    map[string]struct {
		Quantity *int   `json:"quantity"`
		Size     string `json:"size"`
	} `json:"formation"`
	Scripts map[string]json.RawMessage `json:"scripts"`
}

// usedKeys are the top-level app.json keys the platform reads.
var usedKeys = []string{"formation", "healthchecks", "scripts"}

// ignoredKeys are app.json keys of Heroku's and Dokku's schemas the
// platform knows and does not use.
var ignoredKeys = []string{
	"name", "description", "repository", "website", "logo", "keywords",
	"env", "addons", "buildpacks", "stack", "image", "success_url",
	"environments", "cron",
}

// herokuSizes maps Heroku's dyno sizes to their memory.
var herokuSizes = map[string]int64{
	"free":          512 << 20,
	"eco":           512 << 20,
	"hobby":         512 << 20,
	"basic":         512 << 20,
	"standard-1x":   512 << 20,
	"standard-2x":   1 << 30,
	"performance-m": 2560 << 20,
	"performance-l": 14 << 30,
	"private-s":     1 << 30,
	"private-m":     2560 << 20,
	"private-l":     14 << 30,
	"shield-s":      1 << 30,
	"shield-m":      2560 << 20,
	"shield-l":      14 << 30,
}

// readAppJSON reads the app.json at the root of the tree, JSON with
// comments and trailing commas as Dokku reads it, and writes one line to
// out for each thing in it the platform ignores. It returns the zero
// manifest when there is no app.json.
func readAppJSON(root *os.Root, out io.Writer) (manifest, error) {
	var m manifest
	f, err := root.Open("app.json")
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, &paas.Error{Msg: "cannot read app.json", Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAppJSON+1))
	if err != nil {
		return m, &paas.Error{Msg: "cannot read app.json", Err: err}
	}
	if len(data) > maxAppJSON {
		return m, paas.Errorf("app.json is larger than %d bytes", maxAppJSON)
	}
	// Standardize blanks out comments and trailing commas in place, so
	// offsets in the standard text are offsets in the file.
	std, err := hujson.Standardize(bytes.Clone(data))
	if err != nil {
		return m, paas.Errorf("app.json is not valid JSON: %s", strings.TrimPrefix(err.Error(), "hujson: "))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(std, &top); err != nil {
		return m, jsonError(data, err)
	}
	if top == nil {
		return m, paas.Errorf("app.json must hold a JSON object")
	}
	var doc appJSON
	if err := json.Unmarshal(std, &doc); err != nil {
		return m, jsonError(data, err)
	}
	warnKeys(top, out)

	m.Healthchecks = doc.Healthchecks["web"]
	for i, c := range m.Healthchecks {
		if c.Path != "" && c.Path[0] != '/' {
			return m, paas.Errorf("app.json healthchecks.web[%d]: path %q must start with /", i, c.Path)
		}
		if c.Timeout < 0 || c.Attempts < 0 || c.Wait < 0 || c.InitialDelay < 0 || c.Attempts > 100 || c.Timeout > 600 || c.Wait > 600 || c.InitialDelay > 600 {
			return m, paas.Errorf("app.json healthchecks.web[%d]: timeout, attempts, wait and initialDelay must be small non-negative numbers", i)
		}
		if len(c.Content) > 4096 {
			return m, paas.Errorf("app.json healthchecks.web[%d]: content is longer than 4096 bytes", i)
		}
	}
	if len(m.Healthchecks) > 0 {
		fmt.Fprintf(out, "       app.json declares %d web health check(s)\n", len(m.Healthchecks))
	}
	if others := slices.Sorted(maps.Keys(doc.Healthchecks)); len(others) > 0 && !(len(others) == 1 && others[0] == "web") {
		others = slices.DeleteFunc(others, func(t string) bool { return t == "web" })
		fmt.Fprintf(out, "       app.json: health checks of %s ignored: only web instances are checked\n", strings.Join(others, ", "))
	}

	if m.Formation, err = formation(doc, out); err != nil {
		return m, err
	}
	if m.Postdeploy, err = postdeploy(doc.Scripts, out); err != nil {
		return m, err
	}
	return m, nil
}

// warnKeys writes a line naming the known keys the platform ignores and
// one naming the keys it does not know.
func warnKeys(top map[string]json.RawMessage, out io.Writer) {
	var ignored, unknown []string
	for _, k := range slices.Sorted(maps.Keys(top)) {
		switch {
		case slices.Contains(usedKeys, k):
		case slices.Contains(ignoredKeys, k):
			ignored = append(ignored, k)
		default:
			unknown = append(unknown, k)
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(out, "       app.json: ignoring %s (not used by this platform)\n", strings.Join(ignored, ", "))
	}
	if len(unknown) > 0 {
		fmt.Fprintf(out, "       warning: app.json: unknown key(s) %s ignored\n", quoteList(unknown))
	}
}

// formation checks app.json's formation entries.
func formation(doc appJSON, out io.Writer) (map[string]ProcessFormation, error) {
	if len(doc.Formation) == 0 {
		return nil, nil
	}
	f := make(map[string]ProcessFormation, len(doc.Formation))
	var unknownSizes []string
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(doc.Formation)) {
		e := doc.Formation[t]
		if err := paas.ValidateProcessType(t); err != nil {
			msg, _ := paas.UserMessage(err)
			return nil, paas.Errorf("app.json formation: %s", msg)
		}
		if t == "release" {
			return nil, paas.Errorf("app.json formation: release is the release phase, run once before each release goes live: it cannot be scaled")
		}
		pf := ProcessFormation{Quantity: -1}
		if e.Quantity != nil {
			if *e.Quantity < 0 || *e.Quantity > maxQuantity {
				return nil, paas.Errorf("app.json formation.%s.quantity: %d is not a count from 0 to %d", t, *e.Quantity, maxQuantity)
			}
			pf.Quantity = *e.Quantity
		}
		if e.Size != "" {
			mem, ok := sizeMemory(e.Size)
			if ok {
				pf.Memory = mem
			} else {
				unknownSizes = append(unknownSizes, fmt.Sprintf("%s: %q", t, e.Size))
			}
		}
		part := t
		if pf.Quantity >= 0 {
			part += fmt.Sprintf("=%d", pf.Quantity)
		}
		if pf.Memory > 0 {
			part += " memory=" + paas.FormatMemory(pf.Memory)
		}
		parts = append(parts, part)
		f[t] = pf
	}
	fmt.Fprintf(out, "       app.json formation (for the first deploy): %s\n", strings.Join(parts, ", "))
	if len(unknownSizes) > 0 {
		fmt.Fprintf(out, "       warning: app.json formation: unknown size(s) %s ignored: use a Heroku size (standard-1x, standard-2x, performance-m, ...) or a memory size such as 512m\n", strings.Join(unknownSizes, ", "))
	}
	return f, nil
}

// sizeMemory is the memory of a formation size: a Heroku dyno size, or a
// memory size as ps:set takes it (512m, 1g).
func sizeMemory(size string) (int64, bool) {
	if mem, ok := herokuSizes[strings.ToLower(size)]; ok {
		return mem, true
	}
	mem, err := paas.ParseMemory(size)
	if err != nil || mem == 0 {
		return 0, false
	}
	return mem, true
}

// postdeploy reads scripts.postdeploy: a command string, or Heroku's
// object form {"command": "..."}.
func postdeploy(scripts map[string]json.RawMessage, out io.Writer) (string, error) {
	var cmd string
	if raw, ok := scripts["postdeploy"]; ok {
		var obj struct {
			Command string `json:"command"`
		}
		if err := json.Unmarshal(raw, &cmd); err != nil {
			if err := json.Unmarshal(raw, &obj); err != nil {
				return "", paas.Errorf("app.json scripts.postdeploy: must be a command string")
			}
			cmd = obj.Command
		}
		cmd = strings.TrimSpace(cmd)
		if strings.ContainsAny(cmd, "\n\r\x00") {
			return "", paas.Errorf("app.json scripts.postdeploy: must be a command on one line")
		}
		if cmd != "" {
			fmt.Fprintf(out, "       app.json postdeploy (run after the first deploy): %s\n", cmd)
		}
	}
	var others []string
	for _, k := range slices.Sorted(maps.Keys(scripts)) {
		if k != "postdeploy" {
			others = append(others, k)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(out, "       warning: app.json: scripts %s not run: only postdeploy is\n", quoteList(others))
	}
	return cmd, nil
}

// jsonError turns an encoding/json error over the standardized text of
// data into a message naming the line and column in data.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineColumn(data, syn.Offset)
		return paas.Errorf("app.json is not valid JSON: line %d, column %d: %s", line, col, syn.Error())
	case errors.As(err, &typ):
		field, start := pathAt(data, typ.Offset)
		line, col := lineColumn(data, start)
		if field == "" {
			field = typ.Field
		}
		if field == "" {
			field = "the top level"
		}
		return paas.Errorf("app.json line %d, column %d: %s must be %s, not %s", line, col, field, article(typ.Type.Kind().String()), typ.Value)
	}
	return paas.Errorf("app.json is not valid: %v", err)
}

// pathAt names the value of data that ends at byte offset off, the way
// encoding/json reports a value of the wrong type, and returns where it
// starts: "formation.web.quantity", "healthchecks.web[0].path"; "" for
// the top level.
func pathAt(data []byte, off int64) (string, int64) {
	v, err := hujson.Parse(data)
	if err != nil {
		return "", off
	}
	var path strings.Builder
	inside := func(e hujson.Value) bool { return off > int64(e.StartOffset) && off <= int64(e.EndOffset) }
	for {
		switch t := v.Value.(type) {
		case *hujson.Object:
			for _, m := range t.Members {
				if inside(m.Value) {
					if path.Len() > 0 {
						path.WriteByte('.')
					}
					name, _ := m.Name.Value.(hujson.Literal)
					path.WriteString(name.String())
					v = m.Value
					goto next
				}
			}
		case *hujson.Array:
			for i, e := range t.Elements {
				if inside(e) {
					fmt.Fprintf(&path, "[%d]", i)
					v = e
					goto next
				}
			}
		}
		return path.String(), int64(v.StartOffset)
	next:
	}
}

// lineColumn is the 1-based line and column of byte offset off in data.
func lineColumn(data []byte, off int64) (int, int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

func article(kind string) string {
	switch kind {
	case "int", "int64", "uint", "float64":
		return "a number"
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "a list"
	case "bool":
		return "true or false"
	}
	return kind
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

// apply records what m declares in a build's result.
func (m manifest) apply(res *Result) {
	res.Healthchecks = m.Healthchecks
	res.Formation = m.Formation
	res.Postdeploy = m.Postdeploy
}
