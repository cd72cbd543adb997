package builder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"paas"
	"paas/buildpacks"
)

// processTypes is the Procfile's process types when the tree has a
// Procfile: it is the whole truth, and the default process types the
// buildpacks' bin/release name are not used. Without a Procfile they are
// those defaults, later buildpacks overriding earlier ones.
func (b *Builder) processTypes(ctx context.Context, st *buildState, bps []buildpack) (map[string]string, error) {
	fmt.Fprintln(st.out, "-----> Discovering process types")
	defaults := make(map[string]string)
	for _, bp := range bps {
		script := filepath.Join(bp.dir, "bin", "release")
		if !hasFile(bp.dir, "bin/release") {
			continue
		}
		out := &limitedBuffer{max: 1 << 20}
		x := st.x
		err := x.run(ctx, command{argv: []string{x.path(script), x.path(st.slug)}, dir: x.path(st.slug), env: st.env, stdout: out, stderr: st.out})
		if err != nil {
			var pe *paas.Error
			if ctx.Err() != nil || errors.As(err, &pe) {
				return nil, err
			}
			return nil, &paas.Error{Msg: fmt.Sprintf("buildpack %s failed: bin/release %s", bp.ref, exitText(err)), Err: err}
		}
		types, err := buildpacks.ParseRelease(out.buf.Bytes())
		if err != nil {
			return nil, &paas.Error{Msg: fmt.Sprintf("buildpack %s: bad bin/release output: %s", bp.ref, err), Err: err}
		}
		maps.Copy(defaults, types)
	}

	procfile, err := readProcfile(st.root)
	if err != nil {
		return nil, err
	}
	if procfile != nil {
		fmt.Fprintf(st.out, "       Procfile declares types -> %s\n", typeList(procfile))
	}
	types := defaults
	if procfile != nil {
		types = procfile
		var unused []string
		for _, t := range slices.Sorted(maps.Keys(defaults)) {
			if _, ok := procfile[t]; !ok {
				unused = append(unused, t)
			}
		}
		if len(unused) > 0 {
			fmt.Fprintf(st.out, "       Default types for buildpack not in the Procfile, not used -> %s\n", strings.Join(unused, ", "))
		}
	} else if len(defaults) > 0 {
		fmt.Fprintf(st.out, "       Default types for buildpack -> %s\n", typeList(defaults))
	}
	if len(types) == 0 {
		return nil, paas.Errorf("no process types: add a Procfile declaring at least one, e.g. \"web: ./server\"")
	}
	return types, nil
}

// readProcfile parses the tree's Procfile; it returns nil without one.
func readProcfile(root *os.Root) (map[string]string, error) {
	data, err := root.ReadFile("Procfile")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &paas.Error{Msg: "cannot read Procfile", Err: err}
	}
	return buildpacks.ParseProcfile(data)
}

func typeList(m map[string]string) string {
	if len(m) == 0 {
		return "(none)"
	}
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// humanSize formats n bytes the way slug sizes are shown: 512B, 3.4K, 1.2M.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, s := range []string{"K", "M", "G", "T"} {
		f /= unit
		if f < unit || s == "T" {
			return fmt.Sprintf("%.1f%s", f, s)
		}
	}
	return ""
}
