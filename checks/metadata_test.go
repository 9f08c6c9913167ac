package checks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/xeipuuv/gojsonschema"
)

// metadataIndex builds a linux/amd64 + linux/arm64 index with plugin labels
// whose variants have the given layers, bottom first, each a list of files.
func metadataIndex(t *testing.T, amd64, arm64 [][]imagetest.File) v1.ImageIndex {
	t.Helper()
	var imgs []v1.Image
	for _, p := range []struct {
		arch   string
		layers [][]imagetest.File
	}{{"amd64", amd64}, {"arm64", arm64}} {
		var layers []v1.Layer
		for _, files := range p.layers {
			layers = append(layers, imagetest.Layer(t, files...))
		}
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: p.arch, Labels: imagetest.PluginLabels(), Layers: layers}))
	}
	return imagetest.Index(t, imgs...)
}

// layers is a shorthand for a list of layers.
func layers(ls ...[]imagetest.File) [][]imagetest.File { return ls }

// metadataFile is a regular /metadata.json with body.
func metadataFile(body string) imagetest.File {
	return imagetest.File{Path: "metadata.json", Body: body}
}

// withMetadata is PluginMetadata with old replaced by new (which must occur).
func withMetadata(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(imagetest.PluginMetadata, old) {
		t.Fatalf("PluginMetadata does not contain %q", old)
	}
	return strings.Replace(imagetest.PluginMetadata, old, new, 1)
}

// schemaFinding is a metadata/schema finding of every platform.
func schemaFinding(pointer, message string) Finding {
	return Finding{Rule: "metadata/schema", Severity: Error, Path: MetadataPath, Pointer: pointer, Message: message}
}

func TestMetadataRules(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	large := `{"icon": "` + strings.Repeat("x", 2<<20) + `"}`
	compact := `{"icon":"docker.svg","ui":{"dashboard-tab":{"title":"My Plugin","root":"/ui","src":"index.html",` +
		`"backend":{"socket":"backend.sock"}}},"vm":{"image":"${DESKTOP_PLUGIN_IMAGE}"},"host":{"binaries":[{` +
		`"darwin":[{"path":"/darwin/tool"}],"windows":[{"path":"/windows/tool.cmd"}],"linux":[{"path":"/linux/tool"}]}]}}`
	plugin := imagetest.PluginFiles(imagetest.PluginMetadata)
	same := func(files ...imagetest.File) v1.ImageIndex {
		return metadataIndex(t, layers(files), layers(files))
	}
	for _, tc := range []struct {
		name string
		idx  v1.ImageIndex
		opts Options
		want []Finding
	}{
		{
			name: "valid metadata",
			idx:  twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), imagetest.PluginMetadata),
		},
		{
			name: "missing",
			idx:  same(imagetest.File{Path: "docker.svg", Body: "<svg/>"}),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json does not exist (all platforms)"}},
		},
		{
			name: "deleted by a whiteout in an upper layer",
			idx: metadataIndex(t,
				layers(plugin, []imagetest.File{imagetest.Whiteout("metadata.json")}),
				layers(plugin, []imagetest.File{imagetest.Whiteout("metadata.json")})),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json does not exist (all platforms)"}},
		},
		{
			name: "hidden by an opaque root",
			idx: metadataIndex(t,
				layers(plugin, []imagetest.File{imagetest.Opaque("/"), {Path: "other.json", Body: "{}"}}),
				layers(plugin, []imagetest.File{imagetest.Opaque("/"), {Path: "other.json", Body: "{}"}})),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json does not exist (all platforms)"}},
		},
		{
			name: "a directory",
			idx:  same(imagetest.Dir("metadata.json"), imagetest.File{Path: "metadata.json/ui.json", Body: "{}"}),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json is a directory, not a regular file (all platforms)"}},
		},
		{
			name: "a symlink to another file",
			idx: same(imagetest.Symlink("metadata.json", "plugin/../plugin/meta.json"), imagetest.Dir("plugin"),
				imagetest.File{Path: "plugin/meta.json", Body: imagetest.PluginMetadata}),
		},
		{
			name: "a symlink loop",
			idx:  same(imagetest.Symlink("metadata.json", "a.json"), imagetest.Symlink("a.json", "metadata.json")),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json cannot be resolved: too many levels of symbolic links (all platforms)"}},
		},
		{
			name: "a dangling symlink",
			idx:  same(imagetest.Symlink("metadata.json", "../../nowhere.json")),
			want: []Finding{{Rule: "metadata/present", Severity: Error, Path: MetadataPath,
				Message: "/metadata.json is a symbolic link to /nowhere.json, which does not exist (all platforms)"}},
		},
		{
			name: "missing in one platform",
			idx:  metadataIndex(t, layers(plugin), layers([]imagetest.File{{Path: "docker.svg", Body: "<svg/>"}})),
			want: []Finding{
				{Rule: "metadata/consistent", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
					Message: "metadata.json is missing in linux/arm64 but present in linux/amd64"},
				{Rule: "metadata/present", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
					Message: "/metadata.json does not exist"},
			},
		},
		{
			name: "not JSON",
			idx:  same(metadataFile(`{"icon": "docker.svg",}`)),
			want: []Finding{schemaFinding("",
				"metadata.json is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 23)")},
		},
		{
			name: "empty file",
			idx:  same(metadataFile("")),
			want: []Finding{schemaFinding("", "metadata.json is not valid JSON: unexpected end of JSON input (at byte 0)")},
		},
		{
			name: "200,000 levels of nesting",
			idx:  same(metadataFile(deep)),
			want: []Finding{schemaFinding("", "metadata.json is nested too deeply: more than 256 levels")},
		},
		{
			name: "2 MiB",
			idx:  same(metadataFile(large)),
			want: []Finding{schemaFinding("", "metadata.json is too large: 2097164 bytes, above the 1048576 byte limit")},
		},
		{
			name: "not an object",
			idx:  same(metadataFile(`["icon"]`)),
			want: []Finding{schemaFinding("", "metadata.json: must be an object, not an array")},
		},
		{
			name: "missing ui src",
			idx:  same(metadataFile(withMetadata(t, `"src": "index.html",`, ``))),
			want: []Finding{schemaFinding("/ui/dashboard-tab", `ui.dashboard-tab: "src" is required`)},
		},
		{
			name: "empty ui root",
			idx:  same(metadataFile(withMetadata(t, `"root": "/ui"`, `"root": ""`))),
			want: []Finding{schemaFinding("/ui/dashboard-tab/root", "ui.dashboard-tab.root: must not be empty")},
		},
		{
			name: "vm with both image and composefile",
			idx: same(metadataFile(withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`,
				`"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}", "composefile": "compose.yaml"}`))),
			want: []Finding{schemaFinding("/vm", `vm: "image" and "composefile" exclude each other: keep one`)},
		},
		{
			name: "vm with neither image nor composefile",
			idx: same(metadataFile(withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`,
				`"vm": {"exposes": {"socket": "backend.sock"}}`))),
			want: []Finding{schemaFinding("/vm", `vm: "image" or "composefile" is required`)},
		},
		{
			name: "binaries path not a string",
			idx: same(metadataFile(withMetadata(t, `"windows": [{"path": "/windows/tool.cmd"}]`,
				`"windows": [{"path": "/windows/tool.cmd"}, {"path": 42}]`))),
			want: []Finding{schemaFinding("/host/binaries/0/windows/1/path",
				"host.binaries[0].windows[1].path: must be a string, not an integer")},
		},
		{
			name: "unknown key hosts",
			idx:  same(metadataFile(withMetadata(t, `"host":`, `"hosts":`))),
			want: []Finding{schemaFinding("/hosts", `metadata.json: unknown key "hosts" (did you mean "host"?)`)},
		},
		{
			name: "unknown key with a dot, a slash and a tilde",
			idx:  same(metadataFile(withMetadata(t, `"dashboard-tab": {`, `"dash.board/tab~": {}, "dashboard-tab": {`))),
			want: []Finding{schemaFinding("/ui/dash.board~1tab~0", `ui: unknown key "dash.board/tab~"`)},
		},
		{
			name: "undocumented backend transport",
			idx:  same(metadataFile(withMetadata(t, `"backend": {"socket": "backend.sock"}`, `"backend": {"tcp": "9000"}`))),
			want: []Finding{schemaFinding("/ui/dashboard-tab/backend/tcp", `ui.dashboard-tab.backend: unknown key "tcp"`)},
		},
		{
			name: "obsolete keys",
			idx: same(metadataFile(withMetadata(t, `"icon":`,
				`"desktop-plugin-version": "1.0.0-beta.1", "name": "Disk Usage", "provider": "Acme Tools", "icon":`))),
			want: []Finding{
				{Rule: "metadata/obsolete", Severity: Warning, Path: MetadataPath, Pointer: "/desktop-plugin-version",
					Message: `"desktop-plugin-version" is obsolete: the com.docker.desktop.plugin.api.version label says which Docker Desktop API versions the plugin needs`},
				{Rule: "metadata/obsolete", Severity: Warning, Path: MetadataPath, Pointer: "/name",
					Message: `"name" is obsolete: Docker Desktop names the plugin after the org.opencontainers.image.title label`},
				{Rule: "metadata/obsolete", Severity: Warning, Path: MetadataPath, Pointer: "/provider",
					Message: `"provider" is obsolete: Docker Desktop names the publisher after the org.opencontainers.image.vendor label`},
			},
		},
		{
			name: "different values between platforms",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata)}),
				layers([]imagetest.File{metadataFile(withMetadata(t, `"title": "My Plugin"`, `"title": "My Plugin (arm)"`))})),
			want: []Finding{{Rule: "metadata/consistent", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
				Pointer: "/ui/dashboard-tab/title",
				Message: `metadata.json of linux/arm64 differs from linux/amd64 at /ui/dashboard-tab/title: "My Plugin (arm)" in linux/arm64, "My Plugin" in linux/amd64`}},
		},
		{
			name: "a key only in one platform",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(withMetadata(t, `"icon": "docker.svg",`, ``))}),
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata)})),
			want: []Finding{{Rule: "metadata/consistent", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
				Pointer: "/icon",
				Message: `metadata.json of linux/arm64 differs from linux/amd64 at /icon: "docker.svg" in linux/arm64, absent in linux/amd64`}},
		},
		{
			name: "equal values with different white space",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata)}),
				layers([]imagetest.File{metadataFile(compact)})),
		},
		{
			name: "schema problem in one platform",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(withMetadata(t, `"src": "index.html",`, ``))}),
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata)})),
			want: []Finding{
				{Rule: "metadata/consistent", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
					Pointer: "/ui/dashboard-tab/src",
					Message: `metadata.json of linux/arm64 differs from linux/amd64 at /ui/dashboard-tab/src: "index.html" in linux/arm64, absent in linux/amd64`},
				{Rule: "metadata/schema", Severity: Error, Platform: "linux/amd64", Path: MetadataPath,
					Pointer: "/ui/dashboard-tab", Message: `ui.dashboard-tab: "src" is required`},
			},
		},
		{
			name: "the same schema problem with different white space",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(withMetadata(t, `"host":`, `"hosts":`))}),
				layers([]imagetest.File{metadataFile(strings.Replace(compact, `"host":`, `"hosts":`, 1))})),
			want: []Finding{schemaFinding("/hosts", `metadata.json: unknown key "hosts" (did you mean "host"?)`)},
		},
		{
			name: "JSON in one platform only",
			idx: metadataIndex(t,
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata)}),
				layers([]imagetest.File{metadataFile(imagetest.PluginMetadata + "}")})),
			want: []Finding{
				{Rule: "metadata/consistent", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
					Message: "metadata.json of linux/arm64 differs from linux/amd64 (not both are JSON)"},
				{Rule: "metadata/schema", Severity: Error, Platform: "linux/arm64", Path: MetadataPath,
					Message: "metadata.json is not valid JSON: invalid character '}' after top-level value (at byte 436)"},
			},
		},
		{
			name: "obsolete keys under the extension profile",
			opts: Options{Profile: ProfileExtension},
			idx: same(metadataFile(withMetadata(t, `"icon":`,
				`"name": "Disk Usage", "provider": "Acme Tools", "icon":`))),
			want: []Finding{
				{Rule: "metadata/obsolete", Severity: Error, Path: MetadataPath, Pointer: "/name",
					Message: `"name" is obsolete and docker extension validate refuses it ("Additional property name is not allowed"): Docker Desktop names the plugin after the org.opencontainers.image.title label`},
				{Rule: "metadata/obsolete", Severity: Error, Path: MetadataPath, Pointer: "/provider",
					Message: `"provider" is obsolete and docker extension validate refuses it ("Additional property provider is not allowed"): Docker Desktop names the publisher after the org.opencontainers.image.vendor label`},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := runRules(t, tc.idx, tc.opts, metadataRules...)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckMetadataSchemaCapsProblems(t *testing.T) {
	t.Parallel()
	obj := map[string]any{}
	for i := range 150 {
		obj[strings.Repeat("k", i+10)] = true
	}
	problems, err := checkMetadataSchema(obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != metadataProblemsMax+1 {
		t.Fatalf("got %d problems, want %d", len(problems), metadataProblemsMax+1)
	}
	if want := "metadata.json has 50 more problems"; problems[metadataProblemsMax].Message != want {
		t.Errorf("last problem %q, want %q", problems[metadataProblemsMax].Message, want)
	}
}

func TestContextTokens(t *testing.T) {
	t.Parallel()
	root := gojsonschema.NewJsonContext("(root)", nil)
	for _, tc := range []struct {
		name    string
		context *gojsonschema.JsonContext
		want    string
	}{
		{"root", root, ""},
		{"nested", gojsonschema.NewJsonContext("src", gojsonschema.NewJsonContext("dashboard-tab", gojsonschema.NewJsonContext("ui", root))), "/ui/dashboard-tab/src"},
		{"dots", gojsonschema.NewJsonContext("c.d", gojsonschema.NewJsonContext("a.b", root)), "/a.b/c.d"},
		{"slash and tilde", gojsonschema.NewJsonContext("~x/y", root), "/~0x~1y"},
		{"index", gojsonschema.NewJsonContext("0", gojsonschema.NewJsonContext("binaries", root)), "/binaries/0"},
		{"empty key", gojsonschema.NewJsonContext("", root), "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := jsonPointer(contextTokens(tc.context)); got != tc.want {
				t.Errorf("jsonPointer(contextTokens()) = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMetadataLocation(t *testing.T) {
	t.Parallel()
	doc, err := ParseJSON([]byte(`{"host": {"binaries": [{"windows": [{}, {"path": 1}]}]}, "a.b": {"0": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		tokens []string
		want   string
	}{
		{"root", nil, "metadata.json"},
		{"array indices", []string{"host", "binaries", "0", "windows", "1", "path"}, "host.binaries[0].windows[1].path"},
		{"keys that are not identifiers", []string{"a.b", "0"}, `["a.b"]["0"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := metadataLocation(doc, tc.tokens); got != tc.want {
				t.Errorf("metadataLocation() = %q, want %q", got, tc.want)
			}
		})
	}
}

// corpusMetadataExpected are the findings (rule and pointer) of every corpus
// folder whose metadata.json is not clean, each confirmed by reading the
// file against the documented format.
var corpusMetadataExpected = map[string][]string{
	// Plugin-era keys; Docker's own validator rejects "name" and "provider".
	"aquasecurity__trivy-docker-extension":               {"metadata/obsolete /name", "metadata/obsolete /provider"},
	"aquasecurity__trivy-docker-extension__hist-3841c99": {"metadata/obsolete /name", "metadata/obsolete /provider"},
	"docker__extensions-sdk__plugin-era__swimmingwhale": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
	"docker__extensions-sdk__plugin-era__tailscale": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
	// The Windows entry carries an install script ({"command", "requiresAdmin"}),
	// which the documented format (a binary is {"path"}) does not have:
	// Docker Desktop copies the path and never runs the script.
	"docker__extensions-sdk__plugin-era__telepresence": {
		"metadata/schema /host/binaries/0/windows/1/install",
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name"},
	"docker__extensions-sdk__plugin-era__vm-ui-plugin": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
	"docker__extensions-sdk__plugin-era__volumes-share": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
	// A TCP port as the UI's backend ({"tcp": "9000"}), from before the
	// extensions SDK: the UI reaches its backend through the socket of
	// vm.exposes (ui.dashboard-tab.backend only knows "socket"), and the
	// docs recommend sockets over ports to avoid collisions.
	"portainer__docker-extension": {
		"metadata/schema /ui/dashboard-tab/backend/tcp", "metadata/obsolete /name", "metadata/obsolete /provider"},
	"portainer__docker-extension__initial": {
		"metadata/schema /ui/dashboard-tab/backend/tcp", "metadata/obsolete /name", "metadata/obsolete /provider"},
	"jfrog__jfrog-docker-desktop-extension":                   {"metadata/obsolete /name", "metadata/obsolete /provider"},
	"rancher-sandbox__epinio-desktop-extension__hist-4f7a1ad": {"metadata/obsolete /name", "metadata/obsolete /provider"},
	"tailscale__docker-extension__hist-f09dfea": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
	"tailscale__docker-extension__transitional-08712c9": {
		"metadata/obsolete /desktop-plugin-version", "metadata/obsolete /name", "metadata/obsolete /provider"},
}

func TestCorpusMetadata(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "shared", "corpus")
	files, err := filepath.Glob(filepath.Join(dir, "*", "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no corpus at %s: skipping the real-world metadata.json files", dir)
	}
	got := map[string][]string{}
	for _, file := range files {
		folder := filepath.Base(filepath.Dir(file))
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		idx := twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), string(body))
		for _, f := range runRules(t, idx, Options{}, metadataRules...) {
			got[folder] = append(got[folder], f.Rule+" "+f.Pointer)
			if f.Platform != "" {
				t.Errorf("%s: %s finding for platform %s, want one for all platforms: %s", folder, f.Rule, f.Platform, f.Message)
			}
			t.Logf("%s: %s %s: %s", folder, f.Rule, f.Pointer, f.Message)
		}
	}
	for _, fs := range got {
		slices.Sort(fs)
	}
	want := map[string][]string{}
	for folder, fs := range corpusMetadataExpected {
		want[folder] = slices.Sorted(slices.Values(fs))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("corpus findings mismatch (-want +got):\n%s", diff)
	}
}
