// Package escape holds the one escaping function of each output sink:
// workflow commands, markdown (job summaries, comments, issue bodies),
// terminals, SARIF text and JSON. Every string that comes from an image is
// attacker controlled; every format calls the function of its sink on
// every such string. It is a leaf: it imports nothing of this module.
package escape

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// WorkflowData escapes s for the data (message) part of a GitHub Actions
// workflow command ("::error ...::DATA"): % as %25, CR as %0D, LF as %0A.
//
// The runner decodes exactly these three sequences (ActionCommand.cs,
// _escapeDataMappings in github.com/actions/runner), so the escaping is
// lossless: the annotation shows s. The runner splits its input into lines on
// CR and LF only, so the escaped text can never end the command or start a
// new one. Use it for ::add-mask:: as well, where the value must survive
// unchanged.
func WorkflowData(s string) string { return workflowData.Replace(s) }

var (
	workflowData     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	workflowProperty = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// WorkflowProperty escapes s for a property value of a GitHub Actions
// workflow command ("::error file=VALUE,title=VALUE::..."): as WorkflowData,
// and also : as %3A and , as %2C, since "::" ends the properties and ","
// separates them (ActionCommand.cs, _escapePropertyMappings).
func WorkflowProperty(s string) string { return workflowProperty.Replace(s) }

// maxCellBytes caps what MarkdownCell writes for one value, so that a single
// hostile value cannot fill the job summary.
const maxCellBytes = 2048

// wordJoiner follows every @ in markdown: it is invisible, allows no line
// break, and is not a character of a GitHub user name, so "@org/team" can
// never become a mention.
const wordJoiner = '\u2060'

// markdownPunct are the ASCII characters escaped with a backslash in
// markdown: everything that could open inline structure (code spans,
// emphasis, strikethrough, links, images, footnotes, math) or a block when a
// value starts a line (headings, list items), the table cell separator, and
// the backslash itself. CommonMark allows a backslash before any ASCII
// punctuation, so each renders as the character itself.
const markdownPunct = "\\`*_{}[]()#+-!|~$^"

// MarkdownCell escapes s for GitHub-flavoured markdown, as the text of a
// table cell or inline text after fixed text on a line. The result renders
// as s, never as structure:
//
//   - markdown punctuation (markdownPunct) gets a backslash;
//   - <, > and & become HTML entities, so no raw HTML, comment, autolink
//     in angle brackets or entity of the input survives;
//   - line breaks (CR, LF, CRLF, NEL, U+2028, U+2029) become <br>, and tabs
//     a space, so a value never ends a table row;
//   - other control and invisible format characters (ANSI escapes, bidi
//     overrides, zero-width characters) and invalid UTF-8 are shown as
//     \uXXXX (invalid bytes as \ufffd), as TerminalSafe shows them;
//   - @ and # are followed by a word joiner (U+2060), so no @mention
//     notifies and no #12 links an issue;
//   - the result is capped at maxCellBytes and then ends in "…".
//
// Bare URLs stay visible text; GitHub may still autolink them, which shows
// the URL itself and so hides nothing.
func MarkdownCell(s string) string {
	var b strings.Builder
	const ellipsis = "…"
	room := maxCellBytes - len(ellipsis)
	add := func(piece string) bool {
		if b.Len()+len(piece) > room {
			b.WriteString(ellipsis)
			return false
		}
		b.WriteString(piece)
		return true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = `\\ufffd`
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			piece = "<br>"
		case r == '\n' || r == '\u0085' || r == '\u2028' || r == '\u2029':
			piece = "<br>"
		case r == '\t':
			piece = " "
		case r == '&':
			piece = "&amp;"
		case r == '<':
			piece = "&lt;"
		case r == '>':
			piece = "&gt;"
		case r == '@':
			piece = "@" + string(wordJoiner)
		case r == '#':
			// "#12" or "owner/repo#12" would link (and notify) an issue.
			piece = `\#` + string(wordJoiner)
		case r < utf8.RuneSelf && strings.IndexByte(markdownPunct, byte(r)) >= 0:
			piece = `\` + string(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			piece = fmt.Sprintf(`\\u%04x`, r)
		default:
			piece = s[i : i+size]
		}
		if !add(piece) {
			break
		}
		i += size
	}
	return b.String()
}

// SARIFText prepares untrusted text for a plain-text SARIF message
// (message.text); encoding/json does the JSON escaping. Control and
// invisible format characters are shown as \uXXXX (newlines and tabs stay),
// and when the text contains "](" , which could form an embedded link
// ("[text](destination)", SARIF 2.1.0 §3.11.6) that a viewer renders as a
// link, every [, ] and \ gets a backslash as that section specifies for
// literal brackets. Text that could form no link is left as it is, so
// consumers that do not implement §3.11.6 (most) show it unchanged.
// Markdown SARIF fields take MarkdownCell instead.
func SARIFText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	links := strings.Contains(s, "](")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\ufffd`)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		case links && (r == '[' || r == ']' || r == '\\'):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Display makes untrusted text safe to show in an annotation: control and
// invisible format characters (ANSI escapes, bidi overrides) and invalid
// UTF-8 are shown as \uXXXX, line breaks are kept (WorkflowData carries
// them), and the text is capped at max bytes, ending in "…".
func Display(s string, max int) string {
	var b strings.Builder
	const ellipsis = "…"
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = `\ufffd`
		case r == '\n' || r == '\t':
			piece = string(r)
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			piece = "\n"
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			piece = fmt.Sprintf(`\u%04x`, r)
		default:
			piece = s[i : i+size]
		}
		if b.Len()+len(piece) > max-len(ellipsis) {
			b.WriteString(ellipsis)
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// Quote quotes untrusted s for a message, in Go syntax (control, format and
// other unprintable characters escaped), cut to its first max runes,
// followed by "…" when it was cut.
func Quote(s string, max int) string {
	n := 0
	for i := range s {
		if n == max {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

// Clip cuts s to at most max bytes on a rune boundary, ending in "…" when
// it was cut.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// jsonInvisible reports a rune that encoding/json writes raw but a
// terminal or viewer acts on or hides: C1 controls (U+0085), format
// characters (the U+202E bidi override, zero-width joiners) and the line
// and paragraph separators.
func jsonInvisible(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// JSONInvisible rewrites the runes of JSON text that jsonInvisible
// names as \u escapes (surrogate pairs above U+FFFF). Outside strings JSON
// holds only ASCII, so the rewrite never changes the document's meaning.
func JSONInvisible(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError && jsonInvisible(r) {
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// Terminal escapes control characters (newlines, ANSI escapes) and
// invisible format characters in untrusted text for display on a terminal.
func Terminal(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarkdownCode shows s as a code span when it consists only of characters
// that are plain inside one (image references, digests, rule IDs, label
// keys, paths, JSON pointers), else as escaped text (MarkdownCell): a code
// span shows backslashes and entities literally, so it cannot carry
// escaped text, and a backtick or | would end it or the table cell.
func MarkdownCode(s string) string {
	if s == "" || len(s) > 256 {
		return MarkdownCell(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._-:/+=~,@", c) >= 0
		if !ok {
			return MarkdownCell(s)
		}
	}
	return "`" + s + "`"
}

// Plural says "1 error", "2 warnings".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// MarkdownPlace says, as markdown, what in the image a finding is about:
// "label `x`", "path `y`", "at `z`" (JSON pointer), leaving out empty ones.
func MarkdownPlace(label, path, pointer string) []string {
	var parts []string
	for _, p := range []struct{ what, v string }{{"label ", label}, {"path ", path}, {"at ", pointer}} {
		if p.v != "" {
			parts = append(parts, p.what+MarkdownCode(p.v))
		}
	}
	return parts
}
