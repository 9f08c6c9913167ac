package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// composeFile is what the merged file system returns for a compose file.
func composeFile(body string) *image.File {
	return &image.File{Path: "/docker-compose.yaml", Resolved: "/docker-compose.yaml", Kind: image.Regular,
		Size: int64(len(body)), Data: []byte(body)}
}

// misspelt is composeProblems' message for a misspelling of the variable.
func misspelt(s string, line int) string {
	return fmt.Sprintf("%q (line %d) is not ${DESKTOP_PLUGIN_IMAGE}: Docker Desktop substitutes only that exact spelling", s, line)
}

// usesBuild is composeProblems' message for a service with build:.
func usesBuild(service string, line int) string {
	return fmt.Sprintf("service %q uses build: (line %d) and names no image: Docker Desktop cannot build on users' machines; push the image and name it with image:", service, line)
}

func TestComposeProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		body string
		max  int64
		want []string
	}{
		{
			name: "plugin image",
			body: "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n",
		},
		{
			name: "plugin image and another service",
			body: "version: \"3\"\nservices:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n  db:\n    image: postgres:16\n    environment:\n      - IMAGE=${DESKTOP_PLUGIN_IMAGE}\n",
		},
		{
			name: "build beside an image (Compose pulls the image)",
			body: "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    build:\n      context: .\n",
		},
		{
			name: "build without image",
			body: "services:\n  backend:\n    build: .\n",
			want: []string{usesBuild("backend", 3)},
		},
		{
			name: "build pulled in by a merge key",
			body: "x-common: &common\n  build: .\nservices:\n  backend:\n    <<: *common\n",
			want: []string{usesBuild("backend", 2)},
		},
		{
			name: "build from a merge key beside an image",
			body: "x-common: &common\n  build: .\nservices:\n  backend:\n    <<: *common\n    image: ${DESKTOP_PLUGIN_IMAGE}\n",
		},
		{
			name: "image pulled in by a merge key",
			body: "x-common: &common\n  image: ${DESKTOP_PLUGIN_IMAGE}\nservices:\n  backend:\n    <<: [*common]\n",
		},
		{
			name: "services through an alias",
			body: "x-services: &s\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\nservices: *s\n",
		},
		{
			name: "a service through an alias",
			body: "x-backend: &b\n  image: ${DESKTOP_PLUGIN_IMAGE}\nservices:\n  backend: *b\n",
		},
		{
			name: "not YAML",
			body: "services:\n  backend: [\n",
			want: []string{"compose file is not valid YAML: line 2: did not find expected node content"},
		},
		{
			name: "tabs for indentation",
			body: "services:\n\tbackend:\n\t\timage: x\n",
			want: []string{"compose file is not valid YAML: line 2: found character that cannot start any token"},
		},
		{
			name: "empty",
			body: "",
			want: []string{"compose file is not a YAML mapping with services"},
		},
		{
			name: "a list",
			body: "- services\n",
			want: []string{"compose file is not a YAML mapping with services"},
		},
		{
			name: "no services",
			body: "version: \"3\"\n",
			want: []string{"compose file defines no services"},
		},
		{
			name: "empty services",
			body: "services: {}\n",
			want: []string{"compose file defines no services"},
		},
		{
			name: "services a list",
			body: "services:\n  - backend\n",
			want: []string{"compose file defines no services"},
		},
		{
			name: "a service that is not a mapping",
			body: "services:\n  backend: ${DESKTOP_PLUGIN_IMAGE}\n",
			want: []string{`service "backend" (line 2) is not a mapping`},
		},
		{
			name: "a service without image",
			body: "services:\n  backend:\n    command: [serve]\n",
			want: []string{`service "backend" (line 2) has no image`},
		},
		{
			name: "$DESKTOP_PLUGIN_IMAGE",
			body: "services:\n  backend:\n    image: $DESKTOP_PLUGIN_IMAGE\n",
			want: []string{misspelt("$DESKTOP_PLUGIN_IMAGE", 3)},
		},
		{
			name: "${DESKTOP_EXTENSION_IMAGE}",
			body: "services:\n  backend:\n    image: ${DESKTOP_EXTENSION_IMAGE}\n",
			want: []string{misspelt("${DESKTOP_EXTENSION_IMAGE}", 3)},
		},
		{
			name: "${desktop_plugin_image}",
			body: "services:\n  backend:\n    image: \"${desktop_plugin_image}\"\n",
			want: []string{misspelt("${desktop_plugin_image}", 3)},
		},
		{
			name: "missing dollar",
			body: "services:\n  backend:\n    image: {DESKTOP_PLUGIN_IMAGE}\n  other:\n    image: postgres\n    environment: [\"A={DESKTOP_PLUGIN_IMAGE}\"]\n",
			// {DESKTOP_PLUGIN_IMAGE} unquoted is a YAML flow mapping: its
			// key is the scalar, on line 3.
			want: []string{misspelt("{DESKTOP_PLUGIN_IMAGE}", 3), misspelt("{DESKTOP_PLUGIN_IMAGE}", 6)},
		},
		{
			name: "dashes and parentheses",
			body: "services:\n  backend:\n    image: ${DESKTOP-PLUGIN-IMAGE}\n    command: [\"$(DESKTOP_PLUGIN_IMAGE)\"]\n",
			want: []string{misspelt("$(DESKTOP_PLUGIN_IMAGE)", 4), misspelt("${DESKTOP-PLUGIN-IMAGE}", 3)},
		},
		{
			name: "bare names are not references",
			body: "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    environment:\n      DESKTOP_PLUGIN_IMAGE: ${DESKTOP_PLUGIN_IMAGE}\n" +
				"    volumes: [\"desktop-extension-images:/data\"]\n  db:\n    image: acme/desktop-extension-image-cache:1\n",
		},
		{
			name: "the same misspelling twice is reported once",
			body: "services:\n  a:\n    image: $DESKTOP_PLUGIN_IMAGE\n  b:\n    image: $DESKTOP_PLUGIN_IMAGE\n",
			want: []string{misspelt("$DESKTOP_PLUGIN_IMAGE", 3)},
		},
		{
			name: "an image that is not a string",
			body: "services:\n  a:\n    image: [redis]\n",
			want: []string{`service "a": image (line 3) is not a string`},
		},
		{
			name: "a bare name as the image",
			body: "services:\n  backend:\n    image: DESKTOP_PLUGIN_IMAGE\n",
			want: []string{misspelt("DESKTOP_PLUGIN_IMAGE", 3)},
		},
		{
			name: "comments do not count",
			body: "# image: $DESKTOP_PLUGIN_IMAGE\nservices:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE} # not $DESKTOP_EXTENSION_IMAGE\n",
		},
		{
			name: "build and misspelling together, sorted",
			body: "services:\n  ui:\n    build: ./ui\n  backend:\n    image: $DESKTOP_PLUGIN_IMAGE\n",
			want: []string{misspelt("$DESKTOP_PLUGIN_IMAGE", 5), usesBuild("ui", 3)},
		},
		{
			name: "too large",
			body: "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n",
			max:  16,
			want: []string{"compose file is 56 bytes, above the 16 byte limit"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			max := tc.max
			if max == 0 {
				max = DefaultMetadataMax
			}
			got := composeProblems(composeFile(tc.body), max)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("composeProblems() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposeRunsPluginImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		body string
		want bool
	}{
		{"plugin image", "services:\n  b:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n", true},
		{"plugin image in a second service", "services:\n  a:\n    image: redis\n  b:\n    image: \"${DESKTOP_PLUGIN_IMAGE}\"\n", true},
		{"through a merge key", "x: &x\n  image: ${DESKTOP_PLUGIN_IMAGE}\nservices:\n  b:\n    <<: *x\n", true},
		{"other images only", "services:\n  a:\n    image: redis\n", false},
		{"misspelt", "services:\n  a:\n    image: $DESKTOP_PLUGIN_IMAGE\n", false},
		{"only in the environment", "services:\n  a:\n    image: redis\n    environment: [\"X=${DESKTOP_PLUGIN_IMAGE}\"]\n", false},
		{"not YAML", "services: [", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := composeRunsPluginImage([]byte(tc.body)); got != tc.want {
				t.Errorf("composeRunsPluginImage(%q) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// aliasBomb is a "billion laughs" compose file: nine levels of nine
// aliases, 9^9 (387 million) scalars when expanded, placed at where.
func aliasBomb(where string) string {
	var b strings.Builder
	b.WriteString(`x-a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString("x-" + n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ",") + "]\n")
		prev = n
	}
	b.WriteString(where)
	return b.String()
}

// mergeBomb is a "billion laughs" of merge keys: nine levels of mappings,
// each merging the one below 30 times (30^8 paths to the bottom), looked
// up for a key none sets.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("x-a: &a {environment: {A: lol}}\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString("x-" + n + ": &" + n + " {<<: [" + strings.TrimSuffix(strings.Repeat("*"+prev+",", 30), ",") + "]}\n")
		prev = n
	}
	b.WriteString("services:\n  b:\n    <<: *i\n")
	return b.String()
}

// TestComposeAliasBomb is not parallel: it measures the memory it
// allocates, which other tests running at once would blur.
func TestComposeAliasBomb(t *testing.T) {
	for _, tc := range []struct {
		name  string
		where string
	}{
		{"in a service's environment", "services:\n  b:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    environment: *i\n"},
		{"as the image", "services:\n  b:\n    image: *i\n"},
		{"as the services", "services: *i\n"},
		{"as a service", "services:\n  b: *i\n"},
		{"merged into a service", "services:\n  b:\n    <<: *i\n    image: ${DESKTOP_PLUGIN_IMAGE}\n"},
		{"merge keys", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := aliasBomb(tc.where)
			if tc.where == "" {
				body = mergeBomb()
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			done := make(chan []string, 1)
			go func() {
				probs := composeProblems(composeFile(body), DefaultMetadataMax)
				composeRunsPluginImage([]byte(body))
				done <- probs
			}()
			select {
			case probs := <-done:
				t.Logf("findings: %q", probs)
			case <-time.After(30 * time.Second):
				t.Fatal("composeProblems still running after 30s: aliases are expanded")
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("allocated %d MiB for a %d byte compose file: aliases are expanded", alloc>>20, len(body))
			}
		})
	}
}

// corpusDir holds real-world plugin sources (see its README).
const corpusDir = "../../shared/corpus"

// TestComposeCorpus runs composeProblems on every compose file of the
// corpus. Only layer5io__kanvas-docker-extension's current compose file
// has a problem: its meshery-proxy service keeps the developer's build:
// section (its earlier commit, hist-7cb9177, ran ${DESKTOP_PLUGIN_IMAGE}).
func TestComposeCorpus(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join(corpusDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, d := range dirs {
		for _, name := range []string{"docker-compose.yaml", "docker-compose.yml"} {
			if _, err := os.Stat(filepath.Join(d, name)); err == nil {
				files = append(files, filepath.Join(d, name))
			}
		}
	}
	if len(files) == 0 {
		t.Skipf("no compose files under %s: the corpus is absent", corpusDir)
	}
	got := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if probs := composeProblems(composeFile(string(raw)), DefaultMetadataMax); len(probs) > 0 {
			got[filepath.Base(filepath.Dir(f))] = probs
		}
	}
	// layer5io kanvas has build: beside image: (Compose pulls the image):
	// not a problem.
	want := map[string][]string{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("composeProblems() over %d corpus files mismatch (-want +got):\n%s", len(files), diff)
	}
}

// composeIndex builds a two-platform plugin index whose metadata names
// compose, with the compose file's body in every variant.
func composeIndex(t *testing.T, metadata, compose string) v1.ImageIndex {
	t.Helper()
	files := append(imagetest.PluginFiles(metadata), imagetest.File{Path: "docker-compose.yaml", Body: compose})
	return metadataIndex(t, layers(files), layers(files))
}

func TestVMCompose(t *testing.T) {
	t.Parallel()
	withCompose := withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`, `"vm": {"composefile": "docker-compose.yaml"}`)
	compose := func(msg string) Finding {
		return Finding{Rule: "vm/compose", Severity: Error, Path: "/docker-compose.yaml", Pointer: "/vm/composefile", Message: msg}
	}
	for _, tc := range []struct {
		name string
		idx  v1.ImageIndex
		want []Finding
	}{
		{
			name: "a good compose file",
			idx:  composeIndex(t, withCompose, "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n"),
		},
		{
			name: "no compose file named",
			idx:  composeIndex(t, imagetest.PluginMetadata, "services: ["),
		},
		{
			name: "build beside an image",
			idx:  composeIndex(t, withCompose, "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    build: .\n"),
		},
		{
			name: "build without an image",
			idx:  composeIndex(t, withCompose, "services:\n  backend:\n    build: .\n"),
			want: []Finding{compose(usesBuild("backend", 3))},
		},
		{
			name: "not YAML",
			idx:  composeIndex(t, withCompose, "services: ["),
			want: []Finding{compose("compose file is not valid YAML: line 1: did not find expected node content")},
		},
		{
			name: "missing: metadata/files reports it",
			idx:  metadataIndex(t, layers(imagetest.PluginFiles(withCompose)), layers(imagetest.PluginFiles(withCompose))),
		},
		{
			name: "a directory: metadata/files reports it",
			idx: metadataIndex(t, layers(append(imagetest.PluginFiles(withCompose), imagetest.Dir("docker-compose.yaml"))),
				layers(append(imagetest.PluginFiles(withCompose), imagetest.Dir("docker-compose.yaml")))),
		},
		{
			name: "differs between platforms",
			idx: metadataIndex(t,
				layers(append(imagetest.PluginFiles(withCompose), imagetest.File{Path: "docker-compose.yaml", Body: "services:\n  b:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n"})),
				layers(append(imagetest.PluginFiles(withCompose), imagetest.File{Path: "docker-compose.yaml", Body: "services:\n  b:\n    image: $DESKTOP_PLUGIN_IMAGE\n"}))),
			want: []Finding{{Rule: "vm/compose", Severity: Error, Platform: "linux/arm64", Path: "/docker-compose.yaml", Pointer: "/vm/composefile",
				Message: misspelt("$DESKTOP_PLUGIN_IMAGE", 3)}},
		},
		{
			name: "through a symlink",
			idx: metadataIndex(t,
				layers(append(imagetest.PluginFiles(withCompose), imagetest.Symlink("docker-compose.yaml", "compose/prod.yaml"), imagetest.Dir("compose"),
					imagetest.File{Path: "compose/prod.yaml", Body: "services:\n  b:\n    build: .\n"})),
				layers(append(imagetest.PluginFiles(withCompose), imagetest.Symlink("docker-compose.yaml", "compose/prod.yaml"), imagetest.Dir("compose"),
					imagetest.File{Path: "compose/prod.yaml", Body: "services:\n  b:\n    build: .\n"}))),
			want: []Finding{compose(usesBuild("b", 3))},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runRules(t, tc.idx, Options{}, vmCompose)
			want := tc.want
			if want == nil {
				want = []Finding{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVMComposeTooLarge(t *testing.T) {
	t.Parallel()
	withCompose := withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`, `"vm": {"composefile": "docker-compose.yaml"}`)
	body := "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n" + strings.Repeat("# padding\n", 400)
	got := runRules(t, composeIndex(t, withCompose, body), Options{MetadataMax: 2048}, vmCompose)
	want := []Finding{{Rule: "vm/compose", Severity: Error, Path: "/docker-compose.yaml", Pointer: "/vm/composefile",
		Message: fmt.Sprintf("compose file is %d bytes, above the 2048 byte limit", len(body))}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Run() mismatch (-want +got):\n%s", diff)
	}
}
