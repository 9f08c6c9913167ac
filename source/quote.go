package source

import (
	"strings"
	"unicode/utf8"
)

// GluedQuote finds, in a LABEL value as written (Label.RawValue), a quoted
// part that a word follows with no blank between, with another quote
// after that word: what a quote meant to be inside the value does when it
// ends the quoted value early, as in "[{"alt": "A"}]", which the build
// reads as [{alt: A}]. It returns the byte offset in raw of the quote that
// ended the part, or -1. escape is the Dockerfile's escape character.
func GluedQuote(raw string, escape rune) int {
	var quote rune // the open quote, 0 outside quotes
	for i := 0; i < len(raw); {
		r, w := utf8.DecodeRuneInString(raw[i:])
		switch {
		case r == escape && quote != '\'':
			// The escape keeps the next character (not in single quotes).
			i += w
			if i < len(raw) {
				_, w = utf8.DecodeRuneInString(raw[i:])
			}
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case r == quote:
			quote = 0
			rest := raw[i+w:]
			if rest != "" && rest[0] != ' ' && rest[0] != '\t' && strings.ContainsAny(rest, `"'`) {
				return i
			}
		}
		i += w
	}
	return -1
}

// ValuePosition is the line and column (1-based, in characters) of the byte
// at offset in l's RawValue, following the value across continuation lines
// from its key; the key's line and column 0 when the value cannot be
// followed there (a key the reader could not place, say).
func (d *Dockerfile) ValuePosition(l *Label, offset int) (int, int) {
	if l.Column <= 0 || l.Line < 1 || l.Line > len(d.lines) || offset < 0 || offset >= len(l.RawValue) {
		return l.Line, 0
	}
	line, text := l.Line, d.lines[l.Line-1]
	j := byteOffset(text, l.Column-1)
	if !strings.HasPrefix(text[j:], l.RawKey) {
		return l.Line, 0
	}
	j += len(l.RawKey)
	switch {
	case strings.HasPrefix(text[j:], "="):
		j++
	default: // the legacy form: LABEL key value
		j += len(text[j:]) - len(strings.TrimLeft(text[j:], " \t"))
	}
	raw := l.RawValue
	for i := 0; i < offset; {
		if j < len(text) && text[j] == raw[i] {
			i, j = i+1, j+1
			continue
		}
		next, ok := d.continuation(line, text[j:])
		if !ok {
			return l.Line, 0
		}
		line, text, j = next, d.lines[next-1], 0
	}
	if j >= len(text) || text[j] != raw[offset] {
		return l.Line, 0
	}
	return line, utf8.RuneCountInString(text[:j]) + 1
}

// continuation returns the line that continues line, whose text from the
// reader's place on is rest: rest must be the escape character and blanks
// only; comment and blank lines in between are skipped, as the parser
// skips them.
func (d *Dockerfile) continuation(line int, rest string) (int, bool) {
	esc := string(d.EscapeToken)
	if strings.TrimRight(strings.TrimPrefix(rest, esc), " \t") != "" || !strings.HasPrefix(rest, esc) {
		return 0, false
	}
	for n := line + 1; n <= len(d.lines); n++ {
		t := strings.TrimSpace(d.lines[n-1])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		return n, true
	}
	return 0, false
}

// byteOffset is the byte offset of the rune at index runes of s.
func byteOffset(s string, runes int) int {
	for i := range s {
		if runes == 0 {
			return i
		}
		runes--
	}
	return len(s)
}
