package source

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestGluedQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, raw string
		escape    rune
		want      int
	}{
		{"JSON in double quotes", `"[{"alt": "Home"}]"`, '\\', 3},
		{"JSON in single quotes", `'[{"alt": "Home"}]'`, '\\', -1},
		{"escaped inner quotes", `"[{\"alt\": \"Home\"}]"`, '\\', -1},
		{"escaped with the backtick escape", "\"[{`\"alt`\": `\"Home`\"}]\"", '`', -1},
		{"a backslash is no escape under the backtick", `"a\"b"c"`, '`', 3},
		{"HTML attribute", `"<a href="https://x">x</a>"`, '\\', 9},
		{"a variable glued after a quote, nothing after", `"${A}"-suffix`, '\\', -1},
		{"plain", `"My extension"`, '\\', -1},
		{"unquoted", `value`, '\\', -1},
		{"single quote inside double quotes", `"it's fine"`, '\\', -1},
		{"two quoted parts glued", `"a""b"`, '\\', 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := GluedQuote(tc.raw, tc.escape); got != tc.want {
				t.Errorf("GluedQuote(%s) = %d, want %d", tc.raw, got, tc.want)
			}
		})
	}
}

func TestValuePosition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dockerfile, key string
		// at is the text at the position wanted, found in RawValue.
		at                   string
		wantLine, wantColumn int
	}{
		{"one line", "FROM scratch\nLABEL a=\"x\" b=\"[{\"alt\": 1}]\"\n", "b", `"alt`, 2, 18},
		{"continued, with a comment line between", "FROM scratch\nLABEL a=1 \\\n# a comment\n    b=\"one \\\n  [{\"alt\": 1}]\"\n", "b",
			`"alt`, 5, 5},
		{"escape directive", "# escape=`\nFROM scratch\nLABEL b=\"one `\n\n  [{\"alt\": 1}]\"\n", "b", `"alt`, 5, 5},
		{"characters before, in runes", "FROM scratch\nLABEL é=1 b=\"ü[{\"x\": 1}]\"\n", "b", `"x`, 2, 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			df, err := ParseDockerfile(strings.NewReader(tc.dockerfile), DockerfileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			l := df.Labels[tc.key]
			if l == nil {
				t.Fatalf("no label %q in %v", tc.key, df.Labels)
			}
			off := strings.Index(l.RawValue, tc.at)
			if off < 0 {
				t.Fatalf("%q not in the raw value %q", tc.at, l.RawValue)
			}
			line, col := df.ValuePosition(l, off)
			if line != tc.wantLine || col != tc.wantColumn {
				t.Errorf("ValuePosition = %d:%d, want %d:%d", line, col, tc.wantLine, tc.wantColumn)
			}
		})
	}
}

// FuzzLintReading reads arbitrary Dockerfiles as the lint does: finding
// glued quotes, placing every byte of every label value, and following the
// copies of paths must not panic, and every place must be in the file.
func FuzzLintReading(f *testing.F) {
	for _, seed := range []string{
		"FROM scratch\nLABEL a=\"[{\"alt\": 1}]\" b='x'\n",
		"# escape=`\nFROM scratch\nLABEL b=\"one `\n# c\n  [{\"alt\": 1}]\"\n",
		"FROM scratch\nLABEL a=1 \\\n\n    b=\"x\"y\"z\"\n",
		"FROM alpine AS b\nRUN x\nFROM scratch\nCOPY --from=b / /\nCOPY <<EOF /metadata.json\n{}\nEOF\nADD https://x/y.exe /w/\nCOPY ui* /ui/\n",
		"FROM scratch\nLABEL é=\"ü\"\"\"\n",
	} {
		f.Add(seed, "/metadata.json")
	}
	context := fstest.MapFS{"metadata.json": {Data: []byte("{}")}, "ui/index.html": {}, "docker.svg": {}}
	f.Fuzz(func(t *testing.T, text, p string) {
		df, err := ParseDockerfile(strings.NewReader(text), DockerfileOptions{})
		if err != nil {
			return
		}
		lines := strings.Count(text, "\n") + 1
		for k, l := range df.Labels {
			if off := GluedQuote(l.RawValue, df.EscapeToken); off >= len(l.RawValue) || off < -1 {
				t.Fatalf("GluedQuote(%q) = %d, outside the value", l.RawValue, off)
			}
			for _, off := range []int{0, len(l.RawValue) / 2, len(l.RawValue) - 1, GluedQuote(l.RawValue, df.EscapeToken)} {
				line, col := df.ValuePosition(l, off)
				if line < 1 || line > lines || col < 0 {
					t.Fatalf("label %q: ValuePosition(%d) = %d:%d, outside the file's %d lines", k, off, line, col, lines)
				}
			}
		}
		o := df.Origin(p, context)
		if o.Kind < Absent || o.Kind > Copied || (o.Kind == Copied) != (o.Copy != nil) {
			t.Fatalf("Origin(%q) = %+v", p, o)
		}
		for _, c := range o.Candidates {
			if c.Line < 1 || c.Line > lines {
				t.Errorf("candidate %+v outside the file's %d lines", c, lines)
			}
		}
	})
}
