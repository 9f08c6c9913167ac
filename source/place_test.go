package source

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusFile reads a file of the shared corpus of real plugin sources, and
// skips the test when the corpus is absent.
func corpusFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "corpus", filepath.FromSlash(rel)))
	if os.IsNotExist(err) {
		t.Skipf("corpus file %s is absent", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type located struct {
	File string
	Line int
}

// finding is what Locate is told of a finding.
type finding struct {
	Rule, Platform, Label, Pointer, Path string
}

// loc3 is src.Locate as file, line and column.
func loc3(src *Sources, label, pointer, imagePath string) (string, int, int) {
	l := src.Locate(label, pointer, imagePath)
	return l.File, l.Line, l.Column
}

func TestLocateDockerfileLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		dockerfile string
		label      string
		want       int
	}{
		{
			name:       "single line",
			dockerfile: "FROM alpine\nLABEL a.b=1\n",
			label:      "a.b", want: 2,
		},
		{
			name:       "continuation lines, key on its own line",
			dockerfile: "FROM alpine\nLABEL a=1 \\\n    b=2 \\\n    c=3\n",
			label:      "c", want: 4,
		},
		{
			name:       "blanks after the continuation backslash",
			dockerfile: "FROM alpine\nLABEL a=1 \\  \n    b=2\n",
			label:      "b", want: 3,
		},
		{
			name:       "comment and empty lines inside a continuation",
			dockerfile: "FROM alpine\nLABEL a=1 \\\n# b=0 \\\n\n    b=2\nLABEL z=1\n",
			label:      "b", want: 5,
		},
		{
			name:       "several pairs on one line",
			dockerfile: "FROM alpine\nLABEL a=1 b=2 \\\n c=3 d=4\n",
			label:      "d", want: 3,
		},
		{
			name:       "quoted key and value",
			dockerfile: "FROM alpine\nLABEL x=1 \\\n  \"com.docker.extension.changelog\"=\"a b\"\n",
			label:      "com.docker.extension.changelog", want: 3,
		},
		{
			name:       "single-quoted key",
			dockerfile: "FROM alpine\nLABEL 'a.b'='c d'\n",
			label:      "a.b", want: 2,
		},
		{
			name:       "quoted value spanning a continuation with an escaped quote",
			dockerfile: "FROM alpine\nLABEL a=\"x \\\" y \\\n z\" \\\n  b=2\n",
			label:      "b", want: 4,
		},
		{
			name:       "legacy form",
			dockerfile: "FROM alpine\nLABEL a.b some value here\n",
			label:      "a.b", want: 2,
		},
		{
			name:       "legacy form does not set the value words",
			dockerfile: "FROM alpine\nLABEL a.b some=value\nLABEL z=1\n",
			label:      "some", want: 3,
		},
		{
			name:       "lower-case instruction",
			dockerfile: "from alpine\nlabel a=1\n",
			label:      "a", want: 2,
		},
		{
			name:       "the last setting of a key wins",
			dockerfile: "FROM alpine\nLABEL a=1\nLABEL a=2\nLABEL b=3\n",
			label:      "a", want: 3,
		},
		{
			name:       "only the final stage counts",
			dockerfile: "FROM alpine AS build\nLABEL a=1\nFROM scratch\nLABEL b=2\n",
			label:      "a", want: 4,
		},
		{
			name:       "missing label: the final stage's last LABEL",
			dockerfile: "FROM alpine\nLABEL a=1 \\\n  b=2\nRUN true\nLABEL c=3 \\\n  d=4\nCOPY x y\n",
			label:      "missing", want: 5,
		},
		{
			name:       "missing label, no LABEL: the final FROM",
			dockerfile: "FROM alpine AS build\nLABEL a=1\n\nFROM scratch\nCOPY --from=build / /\n",
			label:      "a", want: 4,
		},
		{
			name:       "inherited from an earlier stage",
			dockerfile: "FROM alpine AS Base\nLABEL a=1\nFROM node AS other\nLABEL a=9\nFROM base\nLABEL b=2\n",
			label:      "a", want: 2,
		},
		{
			name:       "inherited through two stages",
			dockerfile: "FROM alpine AS one\nLABEL a=1\nFROM one AS two\nLABEL b=2\nFROM two\n",
			label:      "a", want: 2,
		},
		{
			name:       "escape directive: backtick continues lines",
			dockerfile: "# escape=`\nFROM mcr.microsoft.com/windows\nLABEL a=\"C:\\dir\\\" `\n    b=2\n",
			label:      "b", want: 4,
		},
		{
			name:       "escape directive after a syntax directive",
			dockerfile: "# syntax=docker/dockerfile:1\n#escape = `\nFROM alpine\nLABEL a=1 `\n  b=2\n",
			label:      "b", want: 5,
		},
		{
			name:       "not a directive after a comment",
			dockerfile: "# hello\n# escape=`\nFROM alpine\nLABEL a=1 \\\n  b=2\n",
			label:      "b", want: 5,
		},
		{
			name:       "heredoc bodies are skipped",
			dockerfile: "FROM alpine\nLABEL a=1\nRUN <<EOF\nFROM evil\nLABEL a=2\nEOF\nRUN <<-'END' cat\n\tLABEL b=3\n\tEND\n",
			label:      "a", want: 2,
		},
		{
			name:       "a shift is not a heredoc",
			dockerfile: "FROM alpine\nRUN echo $((1<<2))\nLABEL a=1\n",
			label:      "a", want: 3,
		},
		{
			// BuildKit refuses the file: line 1.
			name:       "an unterminated heredoc",
			dockerfile: "FROM alpine\nRUN <<EOF\nFROM scratch\nLABEL a=1\n",
			label:      "a", want: 1,
		},
		{
			name:       "CRLF line endings and a byte order mark",
			dockerfile: "\uFEFFFROM alpine\r\nLABEL a=1 \\\r\n  b=2\r\n",
			label:      "b", want: 3,
		},
		{
			name:       "no FROM at all",
			dockerfile: "LABEL a=1\n",
			label:      "a", want: 1,
		},
		{
			name:       "empty file",
			dockerfile: "",
			label:      "a", want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &Sources{DockerfilePath: "./build/Dockerfile", Dockerfile: []byte(tt.dockerfile)}
			file, line, _ := loc3(src, tt.label, "", "")
			want := located{"build/Dockerfile", tt.want}
			if diff := cmp.Diff(want, located{file, line}); diff != "" {
				t.Errorf("Locate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocateCorpusDockerfiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		dir   string
		label string
		want  int
	}{
		{"react first key", "docker__extensions-sdk__react", "org.opencontainers.image.title", 14},
		{"react key in a continuation", "docker__extensions-sdk__react", "com.docker.extension.changelog", 23},
		{"react single-quoted JSON value", "docker__extensions-sdk__react", "com.docker.extension.additional-urls", 22},
		{"react missing label", "docker__extensions-sdk__react", "com.docker.extension.categories", 14},
		{"gefyra final stage, not the first LABEL stage", "gefyrahq__gefyra-docker-desktop-extension__hist-0fcba73", "org.opencontainers.image.title", 39},
		{"gefyra blank value", "gefyrahq__gefyra-docker-desktop-extension__hist-0fcba73", "com.docker.extension.screenshots", 43},
		{"jmeter one LABEL per key after multi-line ARGs", "QAInsights__jmeter-docker-extension", "com.docker.extension.categories", 68},
		{"jmeter missing label", "QAInsights__jmeter-docker-extension", "com.docker.extension.account-info", 69},
		{"telepresence blanks after backslash", "docker__extensions-sdk__plugin-era__telepresence", "com.docker.desktop.plugin.api.version", 39},
		{"drone after heredocs", "kameshsampath__drone-desktop-docker-extension", "com.docker.extension.changelog", 57},
		{"kubescape escaped quotes in values", "kubescape__docker-desktop-extension", "com.docker.extension.categories", 66},
		{"kubescape key after a long value", "kubescape__docker-desktop-extension", "com.docker.extension.publisher-url", 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &Sources{DockerfilePath: "Dockerfile", Dockerfile: corpusFile(t, tt.dir+"/Dockerfile")}
			file, line, _ := loc3(src, tt.label, "", "")
			if diff := cmp.Diff(located{"Dockerfile", tt.want}, located{file, line}); diff != "" {
				t.Errorf("Locate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLocateCorpusLabelsOnTheirKeys checks every label key that every corpus
// Dockerfile's final stage sets: the line Locate gives holds the key.
func TestLocateCorpusLabelsOnTheirKeys(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Skip("the corpus is absent")
	}
	checked := 0
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		df, err := ParseDockerfile(bytes.NewReader(data), DockerfileOptions{})
		if err != nil {
			continue // BuildKit refuses it (three historical corpus files): line 1
		}
		for _, l := range df.Final().Labels {
			_, line, col := loc3(&Sources{DockerfilePath: "Dockerfile", Dockerfile: data}, l.Key, "", "")
			if line < 1 || line > len(lines) || !strings.Contains(strings.ReplaceAll(lines[line-1], `"`, ""), strings.Trim(l.RawKey, `"'`)) {
				t.Errorf("%s: label %q at line %d, which does not hold it", p, l.Key, line)
			}
			if col < 1 {
				t.Errorf("%s: label %q at line %d has no column", p, l.Key, line)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d labels", checked)
	}
}

func TestLocateMetadataPointer(t *testing.T) {
	t.Parallel()
	const doc = `{
  "icon": "docker.svg",
  "ui": {
    "dashboard-tab": {
      "title": "UI",
      "root": "/ui"
    }
  },
  "host": {
    "binaries": [
      {
        "darwin": [
          {"path": "/darwin/a"},
          {
            "path": "/darwin/b"
          }
        ]
      }
    ]
  },
  "a/b": {"m~n": 1},
  "dup": 1,
  "dup": {
    "x": 2
  }
}`
	tests := []struct {
		name    string
		doc     string
		pointer string
		want    int
	}{
		{"whole document", doc, "", 1},
		{"top-level key", doc, "/icon", 2},
		{"nested object", doc, "/ui/dashboard-tab", 4},
		{"nested value", doc, "/ui/dashboard-tab/root", 6},
		{"missing key: the parent object", doc, "/ui/dashboard-tab/src", 4},
		{"missing parent: the deepest ancestor", doc, "/vm/composefile", 1},
		{"array element", doc, "/host/binaries/0/darwin/1", 14},
		{"value inside an array element", doc, "/host/binaries/0/darwin/1/path", 15},
		{"inline array element", doc, "/host/binaries/0/darwin/0/path", 13},
		{"index out of range", doc, "/host/binaries/0/darwin/2", 12},
		{"dash index", doc, "/host/binaries/-", 10},
		{"leading zero index", doc, "/host/binaries/00", 10},
		{"through a scalar", doc, "/icon/x", 2},
		{"escaped tokens", doc, "/a~1b/m~0n", 21},
		{"duplicate keys: the last counts", doc, "/dup/x", 24},
		{"not a pointer", doc, "icon", 1},
		{"invalid JSON", `{"a": `, "/a", 1},
		{"invalid JSON after the target", "{\n\"a\": 1,\n\"b\": }", "/a", 2},
		{"not JSON", "\x00\xff", "/a", 1},
		{"empty", "", "/a", 1},
		{"scalar document", "\n\n42", "", 3},
		{"array document", "[\n1,\n2\n]", "/1", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &Sources{MetadataPath: "metadata.json", Metadata: []byte(tt.doc)}
			file, line, _ := loc3(src, "", tt.pointer, "/metadata.json")
			if diff := cmp.Diff(located{"metadata.json", tt.want}, located{file, line}); diff != "" {
				t.Errorf("Locate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocateCorpusMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dir     string
		pointer string
		want    int
	}{
		{"react src", "docker__extensions-sdk__react", "/ui/dashboard-tab/src", 7},
		{"react missing vm", "docker__extensions-sdk__react", "/vm", 1},
		{"trivy obsolete name", "aquasecurity__trivy-docker-extension", "/name", 2},
		{"trivy missing key under dashboard-tab", "aquasecurity__trivy-docker-extension", "/ui/dashboard-tab/backend/x", 16},
		{"calyptia windows binary", "chronosphereio__calyptia-core-docker-desktop-extension", "/host/binaries/0/windows/1/path", 26},
		{"calyptia linux binaries", "chronosphereio__calyptia-core-docker-desktop-extension", "/host/binaries/0/linux", 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &Sources{MetadataPath: "metadata.json", Metadata: corpusFile(t, tt.dir+"/metadata.json")}
			file, line, _ := loc3(src, "", tt.pointer, "")
			if diff := cmp.Diff(located{"metadata.json", tt.want}, located{file, line}); diff != "" {
				t.Errorf("Locate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocateWithoutAFile(t *testing.T) {
	t.Parallel()
	full := &Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte("FROM a\n"), MetadataPath: "metadata.json", Metadata: []byte("{}")}
	tests := []struct {
		name string
		src  *Sources
		f    finding
		want located
	}{
		{"no sources", nil, finding{Label: "a"}, located{}},
		{"neither label nor pointer", full, finding{Rule: "platforms/required", Platform: "linux/arm64"}, located{}},
		{"a path in the image that is not metadata.json", full, finding{Path: "/ui/index.html"}, located{}},
		{"metadata.json as a whole", full, finding{Path: "/metadata.json"}, located{"metadata.json", 1}},
		{"label without a Dockerfile", &Sources{DockerfilePath: "Dockerfile"}, finding{Label: "a"}, located{}},
		{"pointer without metadata.json", &Sources{MetadataPath: "metadata.json"}, finding{Pointer: "/a"}, located{}},
		{"label without a path", &Sources{Dockerfile: []byte("FROM a\n")}, finding{Label: "a"}, located{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file, line, _ := loc3(tt.src, tt.f.Label, tt.f.Pointer, tt.f.Path)
			if diff := cmp.Diff(tt.want, located{file, line}); diff != "" {
				t.Errorf("Locate() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzLocate(f *testing.F) {
	f.Add([]byte("FROM a AS b\nLABEL x=1 \\\n y=2\nFROM b\n"), []byte(`{"a":{"b":[1,{"c":2}]}}`), "x", "/a/b/1/c")
	f.Add([]byte("# escape=`\nFROM a\nLABEL \"x\"=\"`\"\" `\n y\nRUN <<E\nE\n"), []byte(`[{"`), "y", "/0/~1")
	f.Add([]byte("LABEL"), []byte("{\"a\":1e999}"), "", "/a")
	f.Fuzz(func(t *testing.T, dockerfile, metadata []byte, label, pointer string) {
		src := &Sources{DockerfilePath: "Dockerfile", Dockerfile: dockerfile, MetadataPath: "metadata.json", Metadata: metadata}
		check := func(data []byte, f finding) {
			file, line, _ := loc3(src, f.Label, f.Pointer, f.Path)
			if file == "" {
				return
			}
			if n := bytes.Count(data, []byte("\n")) + 1; line < 1 || line > n {
				t.Fatalf("Locate(%+v) = %s:%d, outside the file's %d lines", f, file, line, n)
			}
		}
		check(dockerfile, finding{Label: label})
		check(metadata, finding{Pointer: pointer})
	})
}

// TestLocateNotJSON: a finding about metadata.json as a whole that is not
// JSON points at the line where it stops being JSON.
func TestLocateNotJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, metadata string
		want           int
	}{
		{"valid", "{\n  \"icon\": \"x.svg\"\n}\n", 1},
		{"a missing comma", "{\n  \"icon\": \"x.svg\"\n  \"ui\": {}\n}\n", 3},
		{"cut short", "{\n  \"icon\": \"x.svg\",\n\n\n", 2},
		{"trailing garbage", "{}\n\nx\n", 3},
		{"a trailing comma", "{\n  \"a\": 1,\n}\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &Sources{MetadataPath: "metadata.json", Metadata: []byte(tc.metadata)}
			if got := s.Locate("", "", "/metadata.json"); got.Line != tc.want {
				t.Errorf("Locate(/metadata.json) line %d, want %d", got.Line, tc.want)
			}
		})
	}
}

// TestLocateWithOptions: labels are placed in the stage the build's
// options name, with its build arguments.
func TestLocateWithOptions(t *testing.T) {
	t.Parallel()
	df := "FROM scratch AS release\nLABEL a=1\nFROM scratch AS debug\nLABEL a=2\n"
	s := &Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte(df), Options: DockerfileOptions{Target: "release"}}
	if got := s.Locate("a", "", ""); got.Line != 2 {
		t.Errorf("Locate(a) with --target release: line %d, want 2", got.Line)
	}
	s = &Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte(df)}
	if got := s.Locate("a", "", ""); got.Line != 4 {
		t.Errorf("Locate(a) of the last stage: line %d, want 4", got.Line)
	}
}
