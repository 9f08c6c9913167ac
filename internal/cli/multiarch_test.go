package cli

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// multiArchTargets are the real binaries the multi-arch tests put in
// images: a backend and host binaries for every OS, per architecture.
var multiArchTargets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// multiArchBinaries returns the real binaries of multiArchTargets as file
// bodies, compiled once per test process.
func multiArchBinaries(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for target, b := range imagetest.GoBinaries(t, multiArchTargets...) {
		out[target] = string(b)
	}
	return out
}

// multiArchMetadata is a plugin with a UI, the plugin image in the VM and
// host binaries for every OS.
const multiArchMetadata = `{
  "icon": "docker.svg",
  "ui": {"dashboard-tab": {"title": "Disk Usage", "root": "/ui", "src": "index.html", "backend": {"socket": "backend.sock"}}},
  "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"},
  "host": {"binaries": [{
    "darwin": [{"path": "/darwin/tool"}],
    "windows": [{"path": "/windows/tool.exe"}],
    "linux": [{"path": "/linux/tool"}]
  }]}
}
`

// maVariant is one platform image of a multi-arch test plugin: a base
// layer, a backend layer, the plugin's top layer and any layers above.
type maVariant struct {
	// arch is what the index announces (linux/ARCH); config, when set,
	// is the architecture the config says instead.
	arch, config         string
	entrypoint, cmd, env []string
	base                 []imagetest.File
	backend              []imagetest.File
	// top is the plugin's layer, by path.
	top   map[string]imagetest.File
	upper [][]imagetest.File
}

// goodVariant is a correct variant for arch: its backend and host binaries
// are the real binaries for arch.
func goodVariant(bins map[string]string, arch string) *maVariant {
	v := &maVariant{
		arch:       arch,
		entrypoint: []string{"/backend/service"},
		base:       []imagetest.File{imagetest.Dir("bin"), {Path: "bin/busybox", Body: "base of " + arch}},
		backend:    []imagetest.File{imagetest.Dir("backend"), {Path: "backend/service", Body: bins["linux/"+arch], Mode: 0o755}},
		top:        map[string]imagetest.File{},
	}
	for _, f := range []imagetest.File{
		{Path: "metadata.json", Body: multiArchMetadata},
		{Path: "docker.svg", Body: "<svg/>"},
		imagetest.Dir("ui"),
		{Path: "ui/index.html", Body: "<html></html>"},
		imagetest.Dir("darwin"), {Path: "darwin/tool", Body: bins["darwin/"+arch], Mode: 0o755},
		imagetest.Dir("windows"), {Path: "windows/tool.exe", Body: bins["windows/"+arch], Mode: 0o755},
		imagetest.Dir("linux"), {Path: "linux/tool", Body: bins["linux/"+arch], Mode: 0o755},
	} {
		v.top[f.Path] = f
	}
	return v
}

// set puts files into the top layer, replacing those at the same paths.
func (v *maVariant) set(files ...imagetest.File) *maVariant {
	for _, f := range files {
		v.top[f.Path] = f
	}
	return v
}

// del removes paths from the top layer.
func (v *maVariant) del(paths ...string) *maVariant {
	for _, p := range paths {
		delete(v.top, p)
	}
	return v
}

// editMetadata replaces old (which must occur) in the top layer's metadata.
func (v *maVariant) editMetadata(t testing.TB, old, new string) *maVariant {
	t.Helper()
	m := v.top["metadata.json"]
	if !strings.Contains(m.Body, old) {
		t.Fatalf("metadata does not contain %q", old)
	}
	m.Body = strings.Replace(m.Body, old, new, 1)
	v.top["metadata.json"] = m
	return v
}

// image builds the variant's image.
func (v *maVariant) image(t testing.TB) v1.Image {
	t.Helper()
	paths := slices.Sorted(maps.Keys(v.top))
	top := make([]imagetest.File, 0, len(paths))
	for _, p := range paths {
		top = append(top, v.top[p])
	}
	ls := []v1.Layer{imagetest.CompressedLayer(t, v.base...), imagetest.CompressedLayer(t, v.backend...), imagetest.CompressedLayer(t, top...)}
	for _, files := range v.upper {
		ls = append(ls, imagetest.CompressedLayer(t, files...))
	}
	arch := v.arch
	if v.config != "" {
		arch = v.config
	}
	return imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: imagetest.PluginLabels(),
		Entrypoint: v.entrypoint, Cmd: v.cmd, Env: v.env, Layers: ls})
}

// maIndex builds an index of the variants, each announced as linux/ARCH.
func maIndex(t testing.TB, vs ...*maVariant) v1.ImageIndex {
	t.Helper()
	idx := imagetest.Index(t)
	for _, v := range vs {
		idx = imagetest.WithPlatform(idx, v.image(t), v1.Platform{OS: "linux", Architecture: v.arch})
	}
	return idx
}

// findingKeys lists a report's findings as "RULE PLATFORM" ("RULE" for a
// finding of every platform), sorted.
func findingKeys(rep jsonReport) []string {
	out := []string{}
	for _, f := range rep.Findings {
		out = append(out, strings.TrimSpace(f.Rule+" "+f.Platform))
	}
	sort.Strings(out)
	return out
}

func TestMultiArchEndToEnd(t *testing.T) {
	t.Parallel()
	bins := multiArchBinaries(t)
	good := func(arch string) *maVariant { return goodVariant(bins, arch) }
	// x86Backend is an arm64 variant whose backend is the linux/amd64 binary.
	x86Backend := func() *maVariant {
		v := good("arm64")
		v.backend = []imagetest.File{imagetest.Dir("backend"), {Path: "backend/service", Body: bins["linux/amd64"], Mode: 0o755}}
		return v
	}
	universal := string(imagetest.UniversalMachO(t, []byte(bins["darwin/amd64"]), []byte(bins["darwin/arm64"])))
	withCompose := func(v *maVariant, compose string) *maVariant {
		return v.editMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`, `"vm": {"composefile": "docker-compose.yaml"}`).
			set(imagetest.File{Path: "docker-compose.yaml", Body: compose})
	}

	for _, tc := range []struct {
		name string
		// image returns what is pushed: an index or a single image.
		image func(t *testing.T) remote.Taggable
		want  []string
		code  int
		// platforms is how many platforms the report lists.
		platforms int
		// args are extra flags.
		args []string
	}{
		{
			name:  "correct: each variant's binaries built for it",
			image: func(t *testing.T) remote.Taggable { return maIndex(t, good("amd64"), good("arm64")) },
		},
		{
			name:      "a single-platform image",
			image:     func(t *testing.T) remote.Taggable { return good("amd64").image(t) },
			want:      []string{"platforms/required"},
			code:      1,
			platforms: 1,
		},
		{
			name:      "a single-platform image checked for its platform alone",
			image:     func(t *testing.T) remote.Taggable { return good("amd64").image(t) },
			args:      []string{"--platforms", "linux/amd64"},
			platforms: 1,
		},
		{
			name:      "an index missing arm64",
			image:     func(t *testing.T) remote.Taggable { return maIndex(t, good("amd64")) },
			want:      []string{"platforms/required"},
			code:      1,
			platforms: 1,
		},
		{
			name: "a config that lies about its architecture",
			image: func(t *testing.T) remote.Taggable {
				v := good("arm64")
				v.config = "amd64"
				return maIndex(t, good("amd64"), v)
			},
			want: []string{"platforms/config linux/arm64"},
			code: 1,
		},
		{
			name: "the amd64 image pushed as arm64",
			image: func(t *testing.T) remote.Taggable {
				v := good("amd64")
				v.arch, v.config = "arm64", "amd64"
				return maIndex(t, good("amd64"), v)
			},
			want: []string{
				"host/binary-arch linux/arm64", "host/binary-arch linux/arm64", "host/binary-arch linux/arm64",
				"platforms/binary-arch linux/arm64", "platforms/config linux/arm64",
			},
			code: 1,
		},
		{
			name:  "an arm64 variant with an x86-64 backend",
			image: func(t *testing.T) remote.Taggable { return maIndex(t, good("amd64"), x86Backend()) },
			want:  []string{"platforms/binary-arch linux/arm64"},
			code:  1,
		},
		{
			name: "the entrypoint found through PATH",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), x86Backend()
				for _, v := range []*maVariant{a, b} {
					v.entrypoint, v.env = []string{"service"}, []string{"PATH=/usr/local/bin:/backend"}
				}
				return maIndex(t, a, b)
			},
			want: []string{"platforms/binary-arch linux/arm64"},
			code: 1,
		},
		{
			name: "the entrypoint found through a symlink",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), good("arm64")
				for _, v := range []*maVariant{a, b} {
					v.entrypoint = []string{"/usr/local/bin/service"}
					v.backend = []imagetest.File{
						imagetest.Dir("backend"), {Path: "backend/service-real", Body: bins["linux/amd64"], Mode: 0o755},
						imagetest.Dir("usr"), imagetest.Dir("usr/local"), imagetest.Dir("usr/local/bin"),
						imagetest.Symlink("usr/local/bin/service", "/backend/service-real"),
					}
				}
				return maIndex(t, a, b)
			},
			want: []string{"platforms/binary-arch linux/arm64"},
			code: 1,
		},
		{
			name: "a shell-form command",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), x86Backend()
				for _, v := range []*maVariant{a, b} {
					v.entrypoint, v.cmd = nil, []string{"/bin/sh", "-c", "/backend/service --flag"}
				}
				return maIndex(t, a, b)
			},
			want: []string{"platforms/binary-arch linux/arm64"},
			code: 1,
		},
		{
			name: "a script entrypoint is fine",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), good("arm64")
				for _, v := range []*maVariant{a, b} {
					v.backend = []imagetest.File{imagetest.Dir("backend"), {Path: "backend/service", Body: "#!/bin/sh\nexec /backend/service-bin \"$@\"\n", Mode: 0o755},
						{Path: "backend/service-bin", Body: bins["linux/amd64"], Mode: 0o755}}
				}
				return maIndex(t, a, b)
			},
		},
		{
			name: "a UI-only plugin's wrong-arch entrypoint is never run",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), x86Backend()
				for _, v := range []*maVariant{a, b} {
					v.editMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"},`, "")
				}
				return maIndex(t, a, b)
			},
		},
		{
			name: "a windows .exe that is really ELF",
			image: func(t *testing.T) remote.Taggable {
				return maIndex(t,
					good("amd64").set(imagetest.File{Path: "windows/tool.exe", Body: bins["linux/amd64"], Mode: 0o755}),
					good("arm64").set(imagetest.File{Path: "windows/tool.exe", Body: bins["linux/arm64"], Mode: 0o755}))
			},
			// The message names each variant's ELF, so the findings stay apart.
			want: []string{"host/binary-format linux/amd64", "host/binary-format linux/arm64"},
			code: 1,
		},
		{
			name: "a darwin binary that is a text file",
			image: func(t *testing.T) remote.Taggable {
				text := imagetest.File{Path: "darwin/tool", Body: "TODO: build for macOS\n", Mode: 0o755}
				return maIndex(t, good("amd64").set(text), good("arm64").set(text))
			},
			want: []string{"host/binary-format"},
			code: 1,
		},
		{
			name: "a windows path metadata names but no layer ships",
			image: func(t *testing.T) remote.Taggable {
				return maIndex(t, good("amd64").del("windows", "windows/tool.exe"), good("arm64").del("windows", "windows/tool.exe"))
			},
			want: []string{"metadata/files"},
			code: 1,
		},
		{
			name: "a windows binary missing from arm64 only",
			image: func(t *testing.T) remote.Taggable {
				return maIndex(t, good("amd64"), good("arm64").del("windows/tool.exe"))
			},
			want: []string{"metadata/files linux/arm64"},
			code: 1,
		},
		{
			name: "a UI folder emptied by an opaque whiteout in a later layer",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), good("arm64")
				for _, v := range []*maVariant{a, b} {
					v.upper = [][]imagetest.File{{imagetest.Dir("ui"), imagetest.Opaque("ui"), {Path: "ui/README", Body: "moved to /web"}}}
				}
				return maIndex(t, a, b)
			},
			want: []string{"metadata/files"},
			code: 1,
		},
		{
			name: "a symlink under the UI root",
			image: func(t *testing.T) remote.Taggable {
				link := imagetest.Symlink("ui/latest.html", "index.html")
				return maIndex(t, good("amd64").set(link), good("arm64").set(link))
			},
			want: []string{"metadata/symlink"},
			code: 1,
		},
		{
			name: "a compose file with build: and no image, beside one that runs the plugin image",
			image: func(t *testing.T) remote.Taggable {
				compose := "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    build:\n      context: .\n  ui:\n    build: ./ui\n"
				return maIndex(t, withCompose(good("amd64"), compose), withCompose(x86Backend(), compose))
			},
			want: []string{"platforms/binary-arch linux/arm64", "vm/compose"},
			code: 1,
		},
		{
			name: "a correct compose file that runs the plugin image",
			image: func(t *testing.T) remote.Taggable {
				compose := "services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n"
				return maIndex(t, withCompose(good("amd64"), compose), withCompose(good("arm64"), compose))
			},
		},
		{
			name: "host binaries declared but none for windows",
			image: func(t *testing.T) remote.Taggable {
				a, b := good("amd64"), good("arm64")
				for _, v := range []*maVariant{a, b} {
					v.editMetadata(t, `"windows": [{"path": "/windows/tool.exe"}],`, "")
				}
				return maIndex(t, a, b)
			},
			want: []string{"host/windows"},
			code: 1,
		},
		{
			name: "a darwin/amd64 host binary in the arm64 variant (a warning)",
			image: func(t *testing.T) remote.Taggable {
				return maIndex(t, good("amd64"), good("arm64").set(imagetest.File{Path: "darwin/tool", Body: bins["darwin/amd64"], Mode: 0o755}))
			},
			want: []string{"host/binary-arch linux/arm64"},
		},
		{
			name: "a universal Mach-O passes both",
			image: func(t *testing.T) remote.Taggable {
				u := imagetest.File{Path: "darwin/tool", Body: universal, Mode: 0o755}
				return maIndex(t, good("amd64").set(u), good("arm64").set(u))
			},
		},
		{
			name: "attestation entries in the index are ignored",
			image: func(t *testing.T) remote.Taggable {
				idx := maIndex(t, good("amd64"), good("arm64"))
				m, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range m.Manifests {
					idx = imagetest.WithAttestation(t, idx, d.Digest)
				}
				return idx
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := imagetest.Registry(t)
			ref := host + "/acme/plugin:1.0.0"
			imagetest.Push(t, ref, tc.image(t))
			r := runCLI(t, "", append(append([]string{"--format", "json"}, tc.args...), ref)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:%s\nstderr:%s", r.code, tc.code, r.stdout, r.stderr)
			}
			rep := decode(t, r.stdout)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if diff := cmp.Diff(want, findingKeys(rep)); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s\nreport:\n%s", diff, r.stdout)
			}
			platforms := tc.platforms
			if platforms == 0 {
				platforms = 2
			}
			if len(rep.Platforms) != platforms {
				t.Errorf("report lists %d platforms %+v, want %d", len(rep.Platforms), rep.Platforms, platforms)
			}
		})
	}
}

// blobLog is registry middleware that counts what each blob GET sent.
type blobLog struct {
	mu    sync.Mutex
	gets  map[string]int   // digest -> GETs
	sent  map[string]int64 // "METHOD PATH" -> body bytes
	order []string
}

func newBlobLog() *blobLog {
	return &blobLog{gets: map[string]int{}, sent: map[string]int64{}}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Flush passes flushes on.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (l *blobLog) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		key := r.Method + " " + r.URL.Path
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.sent[key]; !ok {
			l.order = append(l.order, key)
		}
		l.sent[key] += cw.n
		if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 && r.Method == http.MethodGet {
			l.gets[r.URL.Path[i+len("/blobs/"):]]++
		}
	})
}

func (l *blobLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.gets)
	clear(l.sent)
	l.order = nil
}

// costPlugin is what the cost test and benchmark check: two variants with
// an incompressible base layer of baseSize bytes each, a backend layer with
// the real linux binary, and a top layer with metadata, UI and the real
// host binaries for every OS.
func costPlugin(tb testing.TB, baseSize int) v1.ImageIndex {
	tb.Helper()
	bins := multiArchBinaries(tb)
	var vs []*maVariant
	for _, arch := range []string{"amd64", "arm64"} {
		v := goodVariant(bins, arch)
		v.base = []imagetest.File{imagetest.Dir("bin"), {Path: "bin/busybox", Body: string(imagetest.Incompressible(baseSize, arch))}}
		vs = append(vs, v)
	}
	return maIndex(tb, vs...)
}

// imageCost is what DESIGN section 4 counts for an index, from the
// actual blob sizes.
type imageCost struct {
	// minimum: index, manifests, configs, and per variant the layers from
	// the top down to the deepest one holding a wanted file, each blob once.
	minimum int64
	// full is a pull: index, manifests and every blob once.
	full int64
	// base are the digests of the layers below the wanted ones.
	base []string
	// sizes are the sizes of the configs and layers, by digest.
	sizes map[v1.Hash]int64
}

// costOf computes the cost model of idx, whose variants hold wanted files
// in their top `wanted` layers.
func costOf(tb testing.TB, idx v1.ImageIndex, wanted int) imageCost {
	tb.Helper()
	var c imageCost
	raw, err := idx.RawManifest()
	if err != nil {
		tb.Fatal(err)
	}
	c.minimum, c.full = int64(len(raw)), int64(len(raw))
	m, err := idx.IndexManifest()
	if err != nil {
		tb.Fatal(err)
	}
	minBlobs, allBlobs := map[v1.Hash]int64{}, map[v1.Hash]int64{}
	for _, d := range m.Manifests {
		c.minimum += d.Size
		c.full += d.Size
		img, err := idx.Image(d.Digest)
		if err != nil {
			tb.Fatal(err)
		}
		man, err := img.Manifest()
		if err != nil {
			tb.Fatal(err)
		}
		minBlobs[man.Config.Digest], allBlobs[man.Config.Digest] = man.Config.Size, man.Config.Size
		for i, l := range man.Layers {
			allBlobs[l.Digest] = l.Size
			if i >= len(man.Layers)-wanted {
				minBlobs[l.Digest] = l.Size
			} else {
				c.base = append(c.base, l.Digest.Hex)
			}
		}
	}
	for _, n := range minBlobs {
		c.minimum += n
	}
	for _, n := range allBlobs {
		c.full += n
	}
	c.sizes = allBlobs
	return c
}

// tagListSize is the size of the registry's tag list of repo: the tag
// pages DESIGN section 4 adds to the minimum.
func tagListSize(tb testing.TB, host, repo string) int64 {
	tb.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/tags/list")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// runJSON runs the CLI with a JSON report and returns it.
func runJSON(tb testing.TB, args ...string) (jsonReport, result) {
	tb.Helper()
	home := tb.TempDir()
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--format", "json"}, args...), getenv, strings.NewReader(""), &out, &errb)
	r := result{code, out.String(), errb.String()}
	var rep jsonReport
	if err := jsonUnmarshal(r.stdout, &rep); err != nil {
		tb.Fatalf("decoding JSON report: %v\nstdout:%s\nstderr:%s", err, r.stdout, r.stderr)
	}
	return rep, r
}

func TestMultiArchCost(t *testing.T) {
	t.Parallel()
	const baseSize = 4 << 20 // per architecture, incompressible
	log := newBlobLog()
	host := imagetest.RegistryWith(t, log.middleware)
	idx := costPlugin(t, baseSize)
	ref := host + "/acme/plugin:1.0.0"
	imagetest.Push(t, ref, idx)
	cost := costOf(t, idx, 2) // the backend layer (entrypoint) and the top layer
	cost.minimum += tagListSize(t, host, "acme/plugin")
	log.reset()

	rep, r := runJSON(t, ref)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	got := rep.Stats.Bytes
	t.Logf("read %d bytes in %d requests; minimum (DESIGN section 4) %d bytes, ratio %.3f; full pull %d bytes, ratio %.3f",
		got, rep.Stats.Requests, cost.minimum, float64(got)/float64(cost.minimum), cost.full, float64(got)/float64(cost.full))
	log.mu.Lock() // a cooled request's handler may still be writing
	for _, k := range log.order {
		t.Logf("  %-110s %9d bytes", k, log.sent[k])
	}
	log.mu.Unlock()
	if float64(got) > 1.10*float64(cost.minimum) {
		t.Errorf("read %d bytes, more than 10%% above the minimum %d", got, cost.minimum)
	}
	for d, n := range log.gets {
		if n > 1 {
			t.Errorf("blob %s fetched %d times, want once", d, n)
		}
	}
	for _, d := range cost.base {
		if log.gets["sha256:"+d] > 0 {
			t.Errorf("base layer sha256:%s was fetched: it holds no wanted file", d)
		}
	}
}

// TestMultiArchCostPATH checks that an entrypoint found in the first PATH
// directory costs no base layer: later PATH entries are not looked up.
func TestMultiArchCostPATH(t *testing.T) {
	t.Parallel()
	const baseSize = 1 << 20
	bins := multiArchBinaries(t)
	log := newBlobLog()
	host := imagetest.RegistryWith(t, log.middleware)
	var vs []*maVariant
	for _, arch := range []string{"amd64", "arm64"} {
		v := goodVariant(bins, arch)
		v.base = []imagetest.File{imagetest.Dir("bin"), {Path: "bin/busybox", Body: string(imagetest.Incompressible(baseSize, arch))}}
		v.entrypoint, v.env = []string{"service"}, []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
		v.backend = []imagetest.File{imagetest.Dir("usr"), imagetest.Dir("usr/local"), imagetest.Dir("usr/local/bin"),
			{Path: "usr/local/bin/service", Body: bins["linux/"+arch], Mode: 0o755}}
		vs = append(vs, v)
	}
	idx := maIndex(t, vs...)
	ref := host + "/acme/plugin:1.0.0"
	imagetest.Push(t, ref, idx)
	cost := costOf(t, idx, 2)
	log.reset()

	rep, r := runJSON(t, ref)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	for _, d := range cost.base {
		if log.gets["sha256:"+d] > 0 {
			t.Errorf("base layer sha256:%s was fetched: the entrypoint is found in the first PATH directory", d)
		}
	}
	t.Logf("read %d bytes; minimum %d", rep.Stats.Bytes, cost.minimum)
}

// BenchmarkMultiArchCost measures what checking a two-platform plugin with
// real host binaries and large base layers costs through run: bytes per
// run, and bytes as a multiple of DESIGN section 4's minimum and of a full
// pull.
func BenchmarkMultiArchCost(b *testing.B) {
	const baseSize = 32 << 20 // per architecture, incompressible
	host := imagetest.Registry(b)
	idx := costPlugin(b, baseSize)
	ref := host + "/acme/plugin:1.0.0"
	imagetest.Push(b, ref, idx)
	cost := costOf(b, idx, 2)
	cost.minimum += tagListSize(b, host, "acme/plugin")

	var bytes, requests int64
	b.ResetTimer()
	for range b.N {
		rep, r := runJSON(b, ref)
		if r.code != 0 {
			b.Fatalf("exit %d, want 0\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
		}
		bytes += rep.Stats.Bytes
		requests += rep.Stats.Requests
	}
	n := float64(b.N)
	b.ReportMetric(float64(bytes)/n, "bytes/op")
	b.ReportMetric(float64(requests)/n, "requests/op")
	b.ReportMetric(float64(bytes)/n/float64(cost.minimum), "x-minimum")
	b.ReportMetric(float64(bytes)/n/float64(cost.full), "x-full-pull")
	b.ReportMetric(float64(cost.minimum), "minimum-bytes")
	b.ReportMetric(float64(cost.full), "full-pull-bytes")
}
