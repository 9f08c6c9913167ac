package checks

import (
	"fmt"
	"slices"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// without returns files minus those at the given paths.
func without(files []imagetest.File, paths ...string) []imagetest.File {
	return slices.DeleteFunc(slices.Clone(files), func(f imagetest.File) bool { return slices.Contains(paths, f.Path) })
}

// with returns files plus more.
func with(files []imagetest.File, more ...imagetest.File) []imagetest.File {
	return append(slices.Clone(files), more...)
}

// filesCase is a test of a files rule against a two-platform image.
type filesCase struct {
	name string
	idx  v1.ImageIndex
	want []Finding
	// gap, when set, says why the rule cannot yet find what want lists:
	// the case is skipped with that message.
	gap string
}

func runFilesCases(t *testing.T, rule *Rule, cases []filesCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.gap != "" {
				t.Skip(tc.gap)
			}
			got := runRules(t, tc.idx, Options{}, rule)
			want := tc.want
			if want == nil {
				want = []Finding{}
			}
			SortFindings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// both is an index whose two variants have the same layers.
func both(t *testing.T, ls ...[]imagetest.File) v1.ImageIndex {
	t.Helper()
	return metadataIndex(t, ls, ls)
}

func TestMetadataFiles(t *testing.T) {
	t.Parallel()
	plugin := imagetest.PluginFiles(imagetest.PluginMetadata)
	files := func(platform, path, pointer, format string, args ...any) Finding {
		return Finding{Rule: "metadata/files", Severity: Error, Platform: platform, Path: path, Pointer: pointer, Message: fmt.Sprintf(format, args...)}
	}
	withCompose := withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`, `"vm": {"composefile": "docker-compose.yaml"}`)
	runFilesCases(t, metadataFiles, []filesCase{
		{name: "every file present", idx: both(t, plugin)},
		{
			name: "files spread over layers",
			idx: both(t, []imagetest.File{imagetest.Dir("ui"), {Path: "ui/index.html", Body: "<html/>"}},
				without(plugin, "ui", "ui/index.html"), []imagetest.File{{Path: "unrelated", Body: "x"}}),
		},
		{name: "no metadata.json", idx: both(t, without(plugin, "metadata.json"))},
		{name: "metadata.json not JSON", idx: both(t, with(without(plugin, "metadata.json"), metadataFile("{")))},
		{
			name: "icon missing",
			idx:  both(t, without(plugin, "docker.svg")),
			want: []Finding{files("", "/docker.svg", "/icon", `icon "/docker.svg" is not in the image`)},
		},
		{
			name: "icon a directory",
			idx:  both(t, with(without(plugin, "docker.svg"), imagetest.Dir("docker.svg"))),
			want: []Finding{files("", "/docker.svg", "/icon", `icon "/docker.svg" is a directory, not a file`)},
		},
		{
			name: "icon a symlink loop",
			idx:  both(t, with(without(plugin, "docker.svg"), imagetest.Symlink("docker.svg", "icon.svg"), imagetest.Symlink("icon.svg", "docker.svg"))),
			want: []Finding{files("", "/docker.svg", "/icon", `icon "/docker.svg" cannot be resolved: too many levels of symbolic links`)},
		},
		{
			name: "icon a symlink to a file",
			idx:  both(t, with(without(plugin, "docker.svg"), imagetest.Symlink("docker.svg", "assets/icon.svg"), imagetest.Dir("assets"), imagetest.File{Path: "assets/icon.svg", Body: "<svg/>"})),
		},
		{
			name: "icon a URL",
			idx:  both(t, with(without(plugin, "docker.svg", "metadata.json"), metadataFile(withMetadata(t, `"icon": "docker.svg"`, `"icon": "https://acme.example/icon.svg"`)))),
		},
		{
			name: "UI folder missing",
			idx:  both(t, without(plugin, "ui", "ui/index.html")),
			want: []Finding{
				files("", "/ui", "/ui/dashboard-tab/root", `UI root of "dashboard-tab" "/ui" is not in the image`),
				files("", "/ui/index.html", "/ui/dashboard-tab/src", `UI entry point of "dashboard-tab" "/ui/index.html" is not in the image`),
			},
		},
		{
			name: "UI root a file",
			idx:  both(t, with(without(plugin, "ui", "ui/index.html"), imagetest.File{Path: "ui", Body: "<html/>"})),
			want: []Finding{
				files("", "/ui", "/ui/dashboard-tab/root", `UI root of "dashboard-tab" "/ui" is a file, not a directory`),
				files("", "/ui/index.html", "/ui/dashboard-tab/src", `UI entry point of "dashboard-tab" "/ui/index.html" is not in the image`),
			},
		},
		{
			name: "UI folder emptied by an opaque whiteout in a later layer",
			idx:  both(t, plugin, []imagetest.File{imagetest.Dir("ui"), imagetest.Opaque("ui"), {Path: "ui/readme.txt", Body: "moved"}}),
			want: []Finding{files("", "/ui/index.html", "/ui/dashboard-tab/src", `UI entry point of "dashboard-tab" "/ui/index.html" is not in the image`)},
		},
		{
			name: "UI folder deleted by a whiteout in a later layer",
			idx:  both(t, plugin, []imagetest.File{imagetest.Whiteout("ui")}),
			want: []Finding{
				files("", "/ui", "/ui/dashboard-tab/root", `UI root of "dashboard-tab" "/ui" is not in the image`),
				files("", "/ui/index.html", "/ui/dashboard-tab/src", `UI entry point of "dashboard-tab" "/ui/index.html" is not in the image`),
			},
		},
		{
			name: "UI entry point deleted in arm64 only",
			idx:  metadataIndex(t, layers(plugin), layers(plugin, []imagetest.File{imagetest.Whiteout("ui/index.html")})),
			want: []Finding{files("linux/arm64", "/ui/index.html", "/ui/dashboard-tab/src", `UI entry point of "dashboard-tab" "/ui/index.html" is not in the image`)},
		},
		{
			name: "UI root reached through a symlink: metadata/symlink reports it",
			idx: both(t, with(without(plugin, "ui", "ui/index.html"), imagetest.Symlink("ui", "app/dist"), imagetest.Dir("app"), imagetest.Dir("app/dist"),
				imagetest.File{Path: "app/dist/index.html", Body: "<html/>"})),
		},
		{
			name: "src with a query, absolute under the root",
			idx: both(t, with(without(plugin, "metadata.json"),
				metadataFile(withMetadata(t, `"src": "index.html"`, `"src": "/index.html?v0.4.0#/home"`)))),
		},
		{
			name: "windows binary missing in arm64",
			idx:  metadataIndex(t, layers(plugin), layers(without(plugin, "windows/tool.cmd"))),
			want: []Finding{files("linux/arm64", "/windows/tool.cmd", "/host/binaries/0/windows/0/path", `windows host binary "/windows/tool.cmd" is not in the image`)},
		},
		{
			name: "a windows path no layer ships",
			idx:  both(t, without(plugin, "windows", "windows/tool.cmd")),
			want: []Finding{files("", "/windows/tool.cmd", "/host/binaries/0/windows/0/path", `windows host binary "/windows/tool.cmd" is not in the image`)},
		},
		{
			name: "a host binary that is a directory",
			idx:  both(t, with(without(plugin, "linux/tool"), imagetest.Dir("linux/tool"))),
			want: []Finding{files("", "/linux/tool", "/host/binaries/0/linux/0/path", `linux host binary "/linux/tool" is a directory, not a file`)},
		},
		{
			name: "compose file missing",
			idx:  both(t, with(without(plugin, "metadata.json"), metadataFile(withCompose))),
			want: []Finding{files("", "/docker-compose.yaml", "/vm/composefile", `compose file "/docker-compose.yaml" is not in the image`)},
		},
		{
			name: "compose file present",
			idx: both(t, with(without(plugin, "metadata.json"), metadataFile(withCompose),
				imagetest.File{Path: "docker-compose.yaml", Body: "services:\n  b:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n"})),
		},
	})
}

func TestMetadataSymlink(t *testing.T) {
	t.Parallel()
	plugin := imagetest.PluginFiles(imagetest.PluginMetadata)
	symlink := func(platform, path, target string) Finding {
		return Finding{Rule: "metadata/symlink", Severity: Error, Platform: platform, Path: path, Pointer: "/ui/dashboard-tab/root",
			Message: fmt.Sprintf("symlink %q (to %q) under the UI root", path, target)}
	}
	many := []imagetest.File{imagetest.Dir("ui/bin")}
	var manyWant []Finding
	for i := range maxSymlinkFindings + 3 {
		p := fmt.Sprintf("ui/bin/tool%02d", i)
		many = append(many, imagetest.Symlink(p, "../lib/tool.js"))
		if i < maxSymlinkFindings {
			manyWant = append(manyWant, symlink("", "/"+p, "../lib/tool.js"))
		}
	}
	manyWant = append(manyWant, Finding{Rule: "metadata/symlink", Severity: Error, Path: "/ui", Pointer: "/ui/dashboard-tab/root",
		Message: `3 more symlinks under the UI root "/ui"`})
	runFilesCases(t, metadataSymlink, []filesCase{
		{name: "no symlinks", idx: both(t, plugin)},
		{name: "symlinks outside the UI root", idx: both(t, with(plugin, imagetest.Symlink("darwin/tool2", "tool"), imagetest.Symlink("latest", "ui")))},
		{name: "no UI folder: metadata/files reports it", idx: both(t, without(plugin, "ui", "ui/index.html"))},
		{name: "no metadata.json", idx: both(t, with(without(plugin, "metadata.json"), imagetest.Symlink("ui/x", "index.html")))},
		{
			name: "a symlink under the UI root",
			idx:  both(t, with(plugin, imagetest.Dir("ui/assets"), imagetest.File{Path: "ui/assets/main.js", Body: "1"}, imagetest.Symlink("ui/assets/latest.js", "main.js"))),
			want: []Finding{symlink("", "/ui/assets/latest.js", "main.js")},
		},
		{
			name: "a dangling symlink under the UI root",
			idx:  both(t, with(plugin, imagetest.Symlink("ui/node_modules", "/app/node_modules"))),
			want: []Finding{symlink("", "/ui/node_modules", "/app/node_modules")},
		},
		{
			name: "a symlink in arm64 only",
			idx:  metadataIndex(t, layers(plugin), layers(plugin, []imagetest.File{imagetest.Symlink("ui/index2.html", "index.html")})),
			want: []Finding{symlink("linux/arm64", "/ui/index2.html", "index.html")},
		},
		{
			name: "a symlink deleted by a later layer",
			idx:  both(t, with(plugin, imagetest.Symlink("ui/index2.html", "index.html")), []imagetest.File{imagetest.Whiteout("ui/index2.html")}),
		},
		{
			name: "a symlink hidden by an opaque UI folder",
			idx: both(t, with(plugin, imagetest.Symlink("ui/index2.html", "index.html")),
				[]imagetest.File{imagetest.Dir("ui"), imagetest.Opaque("ui"), {Path: "ui/index.html", Body: "<html/>"}}),
		},
		{
			name: "a symlink added by a later layer",
			idx:  both(t, plugin, []imagetest.File{imagetest.Symlink("ui/index2.html", "index.html")}),
			want: []Finding{symlink("", "/ui/index2.html", "index.html")},
		},
		{
			name: "a symlink below a UI folder a later layer adds to",
			idx: both(t, with(plugin, imagetest.Symlink("ui/index2.html", "index.html")),
				[]imagetest.File{imagetest.Dir("ui"), {Path: "ui/extra.html", Body: "<html/>"}}),
			want: []Finding{symlink("", "/ui/index2.html", "index.html")},
			gap: "image.Want.Tree lists a directory only from the layers down to the topmost one holding the directory " +
				"itself: a symlink that a lower layer put under /ui is not seen once a later layer writes into /ui",
		},
		{
			name: "the UI root reached through a symlink",
			idx: both(t, with(without(plugin, "ui", "ui/index.html"), imagetest.Symlink("ui", "app/dist"), imagetest.Dir("app"), imagetest.Dir("app/dist"),
				imagetest.File{Path: "app/dist/index.html", Body: "<html/>"})),
			want: []Finding{{Rule: "metadata/symlink", Severity: Error, Path: "/ui", Pointer: "/ui/dashboard-tab/root",
				Message: `UI root "/ui" is reached through a symlink (to "/app/dist")`}},
		},
		{
			name: "more symlinks than are listed",
			idx:  both(t, with(plugin, many...)),
			want: manyWant,
		},
	})
}
