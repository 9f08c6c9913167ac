package source

import (
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// position is a place in the Dockerfile: a 1-based line and a 1-based
// column in characters (0 when not known).
type position struct {
	line, column int
}

// keyPositions finds where each key of a LABEL (or ENV) instruction on
// lines start..end is written. The parser joins continuation lines and
// keeps no columns, so each raw key is looked for, in order, after the
// instruction's keyword and the previous key and value; a key not found
// (split across lines, say) gets the instruction's first line.
func (b *build) keyPositions(start, end int, kvs instructions.KeyValuePairs) []position {
	out := make([]position, len(kvs))
	l, col := start, b.afterKeyword(start)
	for i, kv := range kvs {
		out[i] = position{line: start}
		fl, fc, ok := b.findKey(l, col, end, kv)
		if !ok {
			continue
		}
		text := b.lines[fl-1]
		out[i] = position{line: fl, column: utf8.RuneCountInString(text[:fc]) + 1}
		l, col = fl, fc+len(kv.Key)
		if rest := text[col:]; !kv.NoDelim && strings.HasPrefix(rest, "="+kv.Value) {
			col += 1 + len(kv.Value)
		}
	}
	return out
}

// afterKeyword returns the byte offset just after the instruction keyword
// on line l.
func (b *build) afterKeyword(l int) int {
	if l < 1 || l > len(b.lines) {
		return 0
	}
	text := b.lines[l-1]
	i := len(text) - len(strings.TrimLeft(text, " \t"))
	for i < len(text) && text[i] != ' ' && text[i] != '\t' {
		i++
	}
	return i
}

// findKey looks for kv's raw key from line l, byte col, to line end: the
// key as a whole word, followed by = (or, in the legacy form, a blank).
// Comment lines inside the instruction are skipped.
func (b *build) findKey(l, col, end int, kv instructions.KeyValuePair) (int, int, bool) {
	if kv.Key == "" {
		return 0, 0, false
	}
	for ; l <= end && l >= 1 && l <= len(b.lines); l, col = l+1, 0 {
		text := b.lines[l-1]
		if col > len(text) || (col == 0 && strings.HasPrefix(strings.TrimLeft(text, " \t"), "#")) {
			continue
		}
		for from := col; from < len(text); {
			j := strings.Index(text[from:], kv.Key)
			if j < 0 {
				break
			}
			j += from
			if isKeyAt(text, j, kv) {
				return l, j, true
			}
			from = j + 1
		}
	}
	return 0, 0, false
}

// isKeyAt says whether kv's key at text[j:] stands alone: after a blank
// (or the line's start) and before = (or, in the legacy form, a blank or
// the line's end).
func isKeyAt(text string, j int, kv instructions.KeyValuePair) bool {
	if j > 0 && text[j-1] != ' ' && text[j-1] != '\t' {
		return false
	}
	after := text[j+len(kv.Key):]
	if !kv.NoDelim {
		return strings.HasPrefix(after, "=")
	}
	return after == "" || after[0] == ' ' || after[0] == '\t'
}
