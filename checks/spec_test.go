package checks

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		doc  string
		want *Spec
	}{
		{name: "not an object", doc: `["icon", "docker.svg"]`, want: &Spec{}},
		{name: "a string", doc: `"docker.svg"`, want: &Spec{}},
		{name: "null", doc: `null`, want: &Spec{}},
		{name: "empty object", doc: `{}`, want: &Spec{}},
		{
			name: "the test plugin",
			doc: `{"icon": "docker.svg",
				"ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
				"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"},
				"host": {"binaries": [{"darwin": [{"path": "/darwin/tool"}], "windows": [{"path": "/windows/tool.exe"}], "linux": [{"path": "/linux/tool"}]}]}}`,
			want: &Spec{
				Icon:    &SpecPath{Path: "/docker.svg", Pointer: "/icon"},
				UIs:     []SpecUI{{Name: "dashboard-tab", Root: SpecPath{Path: "/ui", Pointer: "/ui/dashboard-tab/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/dashboard-tab/src"}}},
				VMImage: "${DESKTOP_PLUGIN_IMAGE}",
				Binaries: []SpecBinary{
					{OS: "darwin", SpecPath: SpecPath{Path: "/darwin/tool", Pointer: "/host/binaries/0/darwin/0/path"}},
					{OS: "linux", SpecPath: SpecPath{Path: "/linux/tool", Pointer: "/host/binaries/0/linux/0/path"}},
					{OS: "windows", SpecPath: SpecPath{Path: "/windows/tool.exe", Pointer: "/host/binaries/0/windows/0/path"}},
				},
			},
		},
		{
			name: "values of the wrong type are left out",
			doc: `{"icon": 3, "ui": {"dashboard-tab": "index.html", "other": {"root": 7, "src": "index.html"},
				"third": {"root": "/ui", "src": false}},
				"vm": {"image": 1, "composefile": ["docker-compose.yaml"]},
				"host": {"binaries": [{"darwin": {"path": "/darwin/tool"}, "linux": ["/linux/tool", {"path": 5}, {"path": null}, {}], "windows": "x.exe"}, "y", null]}}`,
			want: &Spec{UIs: []SpecUI{{Name: "third", Root: SpecPath{Path: "/ui", Pointer: "/ui/third/root"}}}},
		},
		{
			name: "ui, vm and host of the wrong type",
			doc:  `{"ui": ["dashboard-tab"], "vm": "${DESKTOP_PLUGIN_IMAGE}", "host": {"binaries": {"windows": [{"path": "/x.exe"}]}}}`,
			want: &Spec{},
		},
		{
			name: "blank strings are left out",
			doc: `{"icon": "  ", "ui": {"dashboard-tab": {"root": "", "src": "index.html"}, "t": {"root": "ui", "src": " "}},
				"vm": {"composefile": "\t"}, "host": {"binaries": [{"linux": [{"path": ""}]}]}}`,
			want: &Spec{UIs: []SpecUI{{Name: "t", Root: SpecPath{Path: "/ui", Pointer: "/ui/t/root"}}}},
		},
		{
			name: "URL icons name no file",
			doc:  `{"icon": "https://acme.example/icon.svg", "ui": {"a": {"root": "/ui"}}}`,
			want: &Spec{UIs: []SpecUI{{Name: "a", Root: SpecPath{Path: "/ui", Pointer: "/ui/a/root"}}}},
		},
		{
			name: "plain http URL icon",
			doc:  `{"icon": "http://acme.example/icon.svg"}`,
			want: &Spec{},
		},
		{
			name: "URL scheme in capitals",
			doc:  `{"icon": "HTTPS://acme.example/icon.svg"}`,
			want: &Spec{},
		},
		{
			name: "relative and absolute paths resolve inside the root",
			doc: `{"icon": "./img/../docker.svg", "ui": {"a": {"root": "ui/", "src": "./pages/../index.html"}, "b": {"root": "/srv/../../web", "src": "../../etc/passwd"}},
				"vm": {"composefile": "compose/../docker-compose.yaml"},
				"host": {"binaries": [{"linux": [{"path": "linux/tool"}, {"path": "../../linux//tool2"}]}]}}`,
			want: &Spec{
				Icon: &SpecPath{Path: "/docker.svg", Pointer: "/icon"},
				UIs: []SpecUI{
					{Name: "a", Root: SpecPath{Path: "/ui", Pointer: "/ui/a/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/a/src"}},
					{Name: "b", Root: SpecPath{Path: "/web", Pointer: "/ui/b/root"}, Src: &SpecPath{Path: "/etc/passwd", Pointer: "/ui/b/src"}},
				},
				Compose: &SpecPath{Path: "/docker-compose.yaml", Pointer: "/vm/composefile"},
				Binaries: []SpecBinary{
					{OS: "linux", SpecPath: SpecPath{Path: "/linux/tool", Pointer: "/host/binaries/0/linux/0/path"}},
					{OS: "linux", SpecPath: SpecPath{Path: "/linux/tool2", Pointer: "/host/binaries/0/linux/1/path"}},
				},
			},
		},
		{
			// layer5io/kanvas-docker-extension ships root "/ui", src
			// "/index.html" and its page at /ui/index.html: Docker
			// Desktop serves src from the UI root, leading slash or not.
			name: "absolute src is under the UI root",
			doc:  `{"ui": {"dashboard-tab": {"root": "/ui", "src": "/index.html"}, "root": {"root": "/", "src": "/ui/index.html"}}}`,
			want: &Spec{UIs: []SpecUI{
				{Name: "dashboard-tab", Root: SpecPath{Path: "/ui", Pointer: "/ui/dashboard-tab/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/dashboard-tab/src"}},
				{Name: "root", Root: SpecPath{Path: "/", Pointer: "/ui/root/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/root/src"}},
			}},
		},
		{
			name: "src with a query or a fragment",
			doc: `{"ui": {"a": {"root": "/ui", "src": "index.html?v0.4.0"}, "b": {"root": "/ui", "src": "index.html#/route?x=1"},
				"c": {"root": "/ui", "src": "app/main.html?a=1#top"}}}`,
			want: &Spec{UIs: []SpecUI{
				{Name: "a", Root: SpecPath{Path: "/ui", Pointer: "/ui/a/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/a/src"}},
				{Name: "b", Root: SpecPath{Path: "/ui", Pointer: "/ui/b/root"}, Src: &SpecPath{Path: "/ui/index.html", Pointer: "/ui/b/src"}},
				{Name: "c", Root: SpecPath{Path: "/ui", Pointer: "/ui/c/root"}, Src: &SpecPath{Path: "/ui/app/main.html", Pointer: "/ui/c/src"}},
			}},
		},
		{
			name: "UI names needing pointer escaping, sorted",
			doc:  `{"ui": {"tab/one": {"root": "/a"}, "m~n": {"root": "/b"}, "~/": {"root": "/c"}, "": {"root": "/d"}}}`,
			want: &Spec{UIs: []SpecUI{
				{Name: "", Root: SpecPath{Path: "/d", Pointer: "/ui//root"}},
				{Name: "m~n", Root: SpecPath{Path: "/b", Pointer: "/ui/m~0n/root"}},
				{Name: "tab/one", Root: SpecPath{Path: "/a", Pointer: "/ui/tab~1one/root"}},
				{Name: "~/", Root: SpecPath{Path: "/c", Pointer: "/ui/~0~1/root"}},
			}},
		},
		{
			name: "several binary entries and several paths per OS",
			doc:  `{"host": {"binaries": [{"windows": [{"path": "/w/a.exe"}, {"path": "/w/b.exe"}]}, {"darwin": [{"path": "/d/a"}], "freebsd": [{"path": "/f/a"}]}]}}`,
			want: &Spec{Binaries: []SpecBinary{
				{OS: "windows", SpecPath: SpecPath{Path: "/w/a.exe", Pointer: "/host/binaries/0/windows/0/path"}},
				{OS: "windows", SpecPath: SpecPath{Path: "/w/b.exe", Pointer: "/host/binaries/0/windows/1/path"}},
				{OS: "darwin", SpecPath: SpecPath{Path: "/d/a", Pointer: "/host/binaries/1/darwin/0/path"}},
			}},
		},
		{
			name: "compose file and image",
			doc:  `{"vm": {"composefile": "docker-compose.yaml", "image": "acme/backend:1"}}`,
			want: &Spec{VMImage: "acme/backend:1", Compose: &SpecPath{Path: "/docker-compose.yaml", Pointer: "/vm/composefile"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := ParseJSON([]byte(tc.doc))
			if err != nil {
				t.Fatalf("ParseJSON: %v", err)
			}
			if diff := cmp.Diff(tc.want, ParseSpec(doc)); diff != "" {
				t.Errorf("ParseSpec() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpecNil(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(&Spec{}, ParseSpec(nil)); diff != "" {
		t.Errorf("ParseSpec(nil) mismatch (-want +got):\n%s", diff)
	}
}

func TestSpecUsesPluginImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		image string
		want  bool
	}{
		{"exact", "${DESKTOP_PLUGIN_IMAGE}", true},
		{"surrounded by blanks", "  ${DESKTOP_PLUGIN_IMAGE}\n", true},
		{"empty", "", false},
		{"another image", "acme/backend:1.0.0", false},
		{"without braces", "$DESKTOP_PLUGIN_IMAGE", false},
		{"extension spelling", "${DESKTOP_EXTENSION_IMAGE}", false},
		{"lower case", "${desktop_plugin_image}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := (&Spec{VMImage: tc.image}).UsesPluginImage(); got != tc.want {
				t.Errorf("UsesPluginImage() with vm.image %q = %v, want %v", tc.image, got, tc.want)
			}
		})
	}
}
