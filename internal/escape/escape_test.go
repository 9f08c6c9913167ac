package escape

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
	"github.com/google/go-cmp/cmp"
)

func TestWorkflowEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, data, property string
	}{
		{"plain", "plain", "plain", "plain"},
		{"percent first", "%0A", "%250A", "%250A"},
		{"newlines", "a\r\nb\nc", "a%0D%0Ab%0Ac", "a%0D%0Ab%0Ac"},
		{"command separator", "::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
		{"property separator", "a,b=c", "a,b=c", "a%2Cb=c"},
		{"other bytes pass", "\x1b[31m\xff|`<", "\x1b[31m\xff|`<", "\x1b[31m\xff|`<"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := []string{WorkflowData(tt.in), WorkflowProperty(tt.in)}
			if diff := cmp.Diff([]string{tt.data, tt.property}, got); diff != "" {
				t.Errorf("WorkflowData, WorkflowProperty mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWorkflowEscapingHostile(t *testing.T) {
	t.Parallel()
	for _, s := range escapetest.Hostile {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			checkWorkflowCommand(t, "Dockerfile", s, s)
		})
	}
}

// checkWorkflowCommand checks that an annotation with the file, title and
// message is one line that the runner reads back as written.
func checkWorkflowCommand(t *testing.T, file, title, msg string) {
	t.Helper()
	line := "::error file=" + WorkflowProperty(file) + ",title=" + WorkflowProperty(title) + "::" + WorkflowData(msg)
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("command %q spans lines", line)
	}
	cmd, props, data, ok := escapetest.ParseWorkflowCommand(line)
	if !ok || cmd != "error" {
		t.Fatalf("command %q parses as %q, %v", line, cmd, ok)
	}
	if data != msg {
		t.Errorf("command %q carries %q, want %q", line, data, msg)
	}
	for k := range props {
		if k != "file" && k != "title" {
			t.Errorf("command %q has the injected property %q", line, k)
		}
	}
	for k, v := range map[string]string{"file": file, "title": title} {
		if v == "" || v[0] == '=' || strings.TrimSpace(v) != v {
			continue // the runner drops or trims such values
		}
		if props[k] != v {
			t.Errorf("command %q has %s=%q, want %q", line, k, props[k], v)
		}
	}
}

func FuzzEscapeWorkflowCommand(f *testing.F) {
	for _, s := range escapetest.Hostile {
		f.Add("Dockerfile", s, s)
	}
	f.Add("a:b,c", "t%3A", "%0D%0A")
	f.Fuzz(func(t *testing.T, file, title, msg string) {
		checkWorkflowCommand(t, file, title, msg)
	})
}

func TestMarkdownCell(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", "plain text, with: punctuation.", "plain text, with: punctuation."},
		{"table pipe", "a | b", `a \| b`},
		{"backslash", `a\b`, `a\\b`},
		{"code", "`x`", "\\`x\\`"},
		{"html", "<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"},
		{"comment", "<!-- x -->", `&lt;\!\-\- x \-\-&gt;`},
		{"image", "![a](u)", `\!\[a\]\(u\)`},
		{"emphasis and math", "*a* _b_ ~c~ $d$", `\*a\* \_b\_ \~c\~ \$d\$`},
		{"heading and list", "# h\n- l\n+ m", "\\#\u2060 h<br>\\- l<br>\\+ m"},
		{"line breaks", "a\r\nb\rc\nd\u2028e", "a<br>b<br>c<br>d<br>e"},
		{"tab", "a\tb", "a b"},
		{"mention", "@octocat", "@\u2060octocat"},
		{"ANSI escape", "\x1b[31m", `\\u001b\[31m`},
		{"bidi override", "\u202e", `\\u202e`},
		{"invalid UTF-8", "a\xffb", `a\\ufffdb`},
		{"workflow command", "::error::x", "::error::x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, MarkdownCell(tt.in)); diff != "" {
				t.Errorf("MarkdownCell(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestMarkdownCellCapsLength(t *testing.T) {
	t.Parallel()
	for _, in := range []string{strings.Repeat("a", 10000), strings.Repeat("<", 10000), strings.Repeat("é\n", 5000), strings.Repeat("\x01", 5000)} {
		got := MarkdownCell(in)
		if len(got) > maxCellBytes || !strings.HasSuffix(got, "…") {
			t.Errorf("MarkdownCell(%.10q...) is %d bytes, ending %q; want at most %d ending in …", in, len(got), got[len(got)-8:], maxCellBytes)
		}
		checkMarkdownCell(t, in, got)
	}
}

func TestMarkdownCellHostile(t *testing.T) {
	t.Parallel()
	for _, s := range escapetest.Hostile {
		checkMarkdownCell(t, s, MarkdownCell(s))
	}
}

// checkMarkdownCell checks that out, MarkdownCell(in), is inert markdown:
// one line, no raw HTML, every markdown punctuation character escaped, every
// @ and # broken, no control or invisible characters, at most maxCellBytes; and
// that it reads back as in where nothing had to be replaced.
func checkMarkdownCell(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("MarkdownCell(%q) = %q is not UTF-8", in, out)
	}
	if len(out) > maxCellBytes {
		t.Fatalf("MarkdownCell(%q) is %d bytes, more than %d", in, len(out), maxCellBytes)
	}
	var back strings.Builder
	for i := 0; i < len(out); {
		rest := out[i:]
		switch c := out[i]; {
		case c == '\\':
			if len(rest) < 2 || !strings.ContainsRune(markdownPunct, rune(rest[1])) {
				t.Fatalf("MarkdownCell(%q) = %q has a stray backslash at %d", in, out, i)
			}
			back.WriteByte(rest[1])
			i += 2
			if rest[1] == '#' {
				if !strings.HasPrefix(rest[2:], "\u2060") {
					t.Fatalf("MarkdownCell(%q) = %q has a # that can link an issue at %d", in, out, i-2)
				}
				i += len("\u2060")
			}
			continue
		case c == '&':
			ok := false
			for ent, ch := range map[string]string{"&amp;": "&", "&lt;": "<", "&gt;": ">"} {
				if strings.HasPrefix(rest, ent) {
					back.WriteString(ch)
					i += len(ent)
					ok = true
					break
				}
			}
			if !ok {
				t.Fatalf("MarkdownCell(%q) = %q has a raw & at %d", in, out, i)
			}
			continue
		case c == '<':
			if !strings.HasPrefix(rest, "<br>") {
				t.Fatalf("MarkdownCell(%q) = %q has raw HTML at %d", in, out, i)
			}
			back.WriteString("\n")
			i += 4
			continue
		case c == '>' || c < utf8.RuneSelf && strings.IndexByte(markdownPunct, c) >= 0:
			t.Fatalf("MarkdownCell(%q) = %q has an unescaped %q at %d", in, out, c, i)
		case c == '@':
			if !strings.HasPrefix(rest, "@\u2060") {
				t.Fatalf("MarkdownCell(%q) = %q has a mention at %d", in, out, i)
			}
			back.WriteString("@")
			i += len("@\u2060")
			continue
		}
		r, size := utf8.DecodeRuneInString(rest)
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("MarkdownCell(%q) = %q keeps %U", in, out, r)
		}
		back.WriteRune(r)
		i += size
	}
	// Where nothing was replaced or cut, the text reads back as the input.
	plain := utf8.ValidString(in) && !strings.HasSuffix(out, "…") && !strings.ContainsFunc(in, func(r rune) bool {
		return r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == '\u0085')
	})
	if plain && back.String() != in {
		t.Errorf("MarkdownCell(%q) = %q reads back as %q", in, out, back.String())
	}
}

func FuzzEscapeMarkdownCell(f *testing.F) {
	for _, s := range escapetest.Hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := MarkdownCell(s)
		checkMarkdownCell(t, s, out)
		// In a table row the value is one cell.
		row := "| a | " + out + " | b |"
		if n := escapetest.UnescapedPipes(row); n != 4 {
			t.Fatalf("row %q has %d cell separators, want 4", row, n)
		}
	})
}

func TestSARIFText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"plain", `label "a" is [1, 2] {x}`, `label "a" is [1, 2] {x}`},
		{"embedded link", "see [here](https://evil.example) a\\b", `see \[here\](https://evil.example) a\\b`},
		{"control characters", "a\x1b[0m\u202e\nb\tc", `a\u001b[0m\u202e` + "\nb\tc"},
		{"invalid UTF-8", "\xff", `\ufffd`},
		{"CR", "a\rb", `a\u000db`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, SARIFText(tt.in)); diff != "" {
				t.Errorf("SARIFText(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzEscapeSARIFText(f *testing.F) {
	for _, s := range escapetest.Hostile {
		f.Add(s)
	}
	f.Add("[a](1) [b\\](2)")
	f.Fuzz(func(t *testing.T, s string) {
		out := SARIFText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("SARIFText(%q) = %q is not UTF-8", s, out)
		}
		for i := 0; i < len(out); i++ {
			switch c := out[i]; {
			case c == '\\':
				i++ // an escaped character (or a literal backslash)
			case c == ']' && i+1 < len(out) && out[i+1] == '(':
				t.Fatalf("SARIFText(%q) = %q has an embedded link at %d", s, out, i)
			case c < 0x20 && c != '\n' && c != '\t', c == 0x7f:
				t.Fatalf("SARIFText(%q) = %q keeps control character %q", s, out, c)
			}
		}
	})
}

func TestDisplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"newlines kept, CR folded", "a\r\nb\rc\n", 100, "a\nb\nc\n"},
		{"controls shown", "\x1b[1m\u200b\xff", 100, `\u001b[1m\u200b\ufffd`},
		{"capped", "abcdefghij", 8, "abcde…"},
		{"capped between runes", "ééééé", 7, "éé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Display(tt.in, tt.max)); diff != "" {
				t.Errorf("Display(%q, %d) mismatch (-want +got):\n%s", tt.in, tt.max, diff)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 80, `"plain"`},
		{"a\nb\x1b[31m", 80, `"a\nb\x1b[31m"`},
		{"bidi\u202eevil", 80, `"bidi\u202eevil"`},
		{"ééééé", 3, `"ééé"…`}, // runes, never a cut inside one
		{"abc", 3, `"abc"`},
	} {
		if got := Quote(tc.in, tc.max); got != tc.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", tc.in, tc.max, got, tc.want)
		}
	}
}
