package gateway

import (
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// tableWidth is the width every table fits: a terminal's 80 columns.
const tableWidth = 80

// tableGap is the space between two columns.
const tableGap = "  "

// table is a listing's rows under a header row, written with its columns
// aligned and fitted to tableWidth: while a row is wider, the last column
// (a command, a description: the longest text) narrows, down to
// lastColumn; then the widest column that may still narrow loses a
// character at a time. A cell wider than its column is cut with "…".
// Columns marked keep (a fingerprint, a state: a value that is useless
// cut) never narrow.
type table struct {
	header []string
	keep   []bool
	rows   [][]string
}

// newTable starts a table with the given column names.
func newTable(header ...string) *table {
	return &table{header: header, keep: make([]bool, len(header))}
}

// keepWhole marks the columns named never to be cut.
func (t *table) keepWhole(names ...string) *table {
	for i, h := range t.header {
		for _, n := range names {
			if h == n {
				t.keep[i] = true
			}
		}
	}
	return t
}

// row adds a row; missing cells are empty. A newline in a cell is shown
// as \n, so a row stays one line.
func (t *table) row(cells ...string) {
	r := make([]string, len(t.header))
	for i := range r {
		if i < len(cells) {
			r[i] = strings.ReplaceAll(cells[i], "\n", `\n`)
		}
	}
	t.rows = append(t.rows, r)
}

// write writes the header row then the rows.
func (t *table) write(w io.Writer) error {
	widths := t.fit()
	var b strings.Builder
	for _, r := range append([][]string{t.header}, t.rows...) {
		line := make([]string, len(r))
		for i, cell := range r {
			cell = cut(cell, widths[i])
			if i < len(r)-1 {
				cell += strings.Repeat(" ", widths[i]-textWidth(cell))
			}
			line[i] = cell
		}
		b.WriteString(strings.TrimRight(strings.Join(line, tableGap), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fit returns the columns' widths: each its widest cell's, then narrowed
// until a row fits tableWidth or no column may narrow further. A column
// narrows no further than its header, nor than minColumn.
func (t *table) fit() []int {
	const minColumn, lastColumn = 8, 24
	n := len(t.header)
	widths := make([]int, n)
	floor := make([]int, n)
	for i, h := range t.header {
		widths[i] = textWidth(h)
		floor[i] = max(widths[i], minColumn)
	}
	for _, r := range t.rows {
		for i, cell := range r {
			widths[i] = max(widths[i], textWidth(cell))
		}
	}
	total := len(tableGap) * (n - 1)
	for _, w := range widths {
		total += w
	}
	last := n - 1
	if lastFloor := max(floor[last], lastColumn); !t.keep[last] && total > tableWidth && widths[last] > lastFloor {
		cut := min(total-tableWidth, widths[last]-lastFloor)
		widths[last] -= cut
		total -= cut
	}
	for total > tableWidth {
		widest := -1
		for i := range widths {
			if !t.keep[i] && widths[i] > floor[i] && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
		total--
	}
	return widths
}

// cut shortens s to n columns, its end replaced by "…" when cut.
func cut(s string, n int) string {
	if textWidth(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := runeWidth(r)
		if used+rw > n-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	b.WriteString("…")
	return b.String()
}

// textWidth is how many terminal columns s takes: East Asian wide and
// full-width characters take two.
func textWidth(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	if r < utf8.RuneSelf {
		return 1
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
