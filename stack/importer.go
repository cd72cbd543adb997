package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"paas"
)

// imageChanges are the Dockerfile-style settings given to the imported
// root.
var imageChanges = []string{
	"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"ENV LANG=C.UTF-8",
	"WORKDIR /app",
	`CMD ["bash"]`,
	"LABEL " + LabelKey + "=" + Suite,
	"LABEL " + LabelUser + "=" + User,
}

// importRoot streams a tar of root into the engine as ref and returns the
// image's size in bytes.
func importRoot(ctx context.Context, cli *client.Client, root, ref string, out io.Writer) (int64, error) {
	pr, pw := io.Pipe()
	sent := &countingReader{r: pr}
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(writeTree(pw, root))
	}()
	// Whatever ends the import, the writer stops too before the root is
	// removed.
	defer func() {
		pr.CloseWithError(errors.New("import ended"))
		<-written
	}()

	stop := every(10*time.Second, func() {
		fmt.Fprintf(out, "       sent %d MB\n", sent.n.Load()>>20)
	})
	body, err := cli.ImageImport(ctx, image.ImportSource{Source: sent, SourceName: "-"}, ref,
		image.ImportOptions{Changes: imageChanges, Message: "paas stack " + Suite})
	if err == nil {
		err = readImportMessages(body)
		body.Close()
	}
	stop()
	if err != nil {
		return 0, fmt.Errorf("importing the stack root as %s: %w", ref, err)
	}
	fmt.Fprintf(out, "       sent %d MB\n", sent.n.Load()>>20)
	info, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("inspecting the imported stack %s: %w", ref, err)
	}
	return info.Size, nil
}

// importMessage is one JSON object of the engine's import response.
type importMessage struct {
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readImportMessages reads the engine's response to an import to its end
// and returns the error it reports, if any.
func readImportMessages(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m importMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's response: %w", err)
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			return &paas.Error{Msg: "the engine refused the stack image: " + msg}
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// every calls f every d until the returned function is called.
func every(d time.Duration, f func()) (stop func()) {
	t := time.NewTicker(d)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-t.C:
				f()
			case <-quit:
				return
			}
		}
	}()
	return func() {
		t.Stop()
		close(quit)
		<-done
	}
}
