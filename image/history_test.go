package image

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestRunCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, createdBy, want string
		ok                    bool
	}{
		{"buildkit", "RUN /bin/sh -c apk add curl # buildkit", "apk add curl", true},
		{"buildkit with build args", "RUN |1 V=2 /bin/sh -c make # buildkit", "make", true},
		{"buildkit exec form", "RUN /bin/build -o /opt # buildkit", "/bin/build -o /opt", true},
		{"kaniko", "RUN make all", "make all", true},
		{"classic", "/bin/sh -c apk add curl", "apk add curl", true},
		{"classic with build args", "|2 A=1 B=x y /bin/sh -c make", "make", true},
		{"classic copy", "/bin/sh -c #(nop) COPY file:0123abcd in / ", "", false},
		{"classic copy, two spaces", "/bin/sh -c #(nop)  COPY dir:abc in /ui ", "", false},
		{"buildkit copy", "COPY metadata.json . # buildkit", "", false},
		{"buildkit add", "ADD rootfs.tar.gz / # buildkit", "", false},
		{"none", "", "", false},
		{"other tool", "crane append", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := runCommand(tc.createdBy)
			if got != tc.want || ok != tc.ok {
				t.Errorf("runCommand(%q) = %q, %v, want %q, %v", tc.createdBy, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPassesOver(t *testing.T) {
	t.Parallel()
	paths := []string{"/metadata.json", "/ui/index.html", "/linux/tool"}
	for _, tc := range []struct {
		cmd  string
		want bool
	}{
		{"apk add --no-cache build-base", true}, // "ui" inside "build" is no word
		{"echo {} > /metadata.json", false},
		{"cp -r dist ui", false},
		{"mkdir -p /linux && curl -o /linux/kubectl https://dl", false},
		{"make tools && strip /opt/toolbox", true},
		{"go build -o /usr/bin/tool .", false},
	} {
		if got := passesOver(tc.cmd, paths); got != tc.want {
			t.Errorf("passesOver(%q) = %v, want %v", tc.cmd, got, tc.want)
		}
	}
}

// historyImage is a linux/amd64 image of runs small layers made by RUN
// steps over a COPY layer holding metadata.json, with below more RUN
// layers under it. steps, when set, replace the RUN steps' commands.
func historyImage(t *testing.T, above, below int, history bool, cmd func(i int) string) (v1.Image, []v1.Hash, []int64) {
	t.Helper()
	if cmd == nil {
		cmd = func(i int) string { return fmt.Sprintf("RUN /bin/sh -c make l%02d # buildkit", i) }
	}
	var layers []v1.Layer
	var steps []string
	add := func(l v1.Layer, step string) {
		layers = append(layers, l)
		steps = append(steps, step)
	}
	for i := range below {
		add(imagetest.Layer(t, imagetest.File{Path: fmt.Sprintf("opt/b%02d", i), Body: string(imagetest.Incompressible(16<<10, fmt.Sprint("b", i)))}), cmd(100+i))
	}
	add(imagetest.Layer(t, imagetest.File{Path: "metadata.json", Body: `{}`}), "COPY metadata.json / # buildkit")
	for i := range above {
		add(imagetest.Layer(t, imagetest.File{Path: fmt.Sprintf("opt/a%02d", i), Body: string(imagetest.Incompressible(16<<10, fmt.Sprint("a", i)))}), cmd(i))
	}
	spec := imagetest.Spec{Layers: layers}
	if history {
		spec.History = steps
	}
	if cmd != nil && cmd(-1) == "short" {
		// A history that does not say which step made which layer.
		spec.History = steps[1:]
	}
	img := imagetest.Image(t, spec)
	var digests []v1.Hash
	var sizes []int64
	for _, l := range layers {
		digests = append(digests, digestOf(t, l))
		sizes = append(sizes, sizeOf(t, l))
	}
	return img, digests, sizes
}

// gatedRegistry holds every layer blob response until want of them are
// asked for at once (or five seconds pass, so that a serial reader still
// ends), and records which layers were asked for and how many at most
// were in flight together.
type gatedRegistry struct {
	want     int
	mu       sync.Mutex
	inFlight int
	most     int
	asked    map[string]int
	release  chan struct{}
	layers   map[string]bool
	released bool
}

func (g *gatedRegistry) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := strings.LastIndex(r.URL.Path, "/")
		d := r.URL.Path[i+1:]
		g.mu.Lock()
		layer := r.Method == http.MethodGet && g.layers[d]
		if layer {
			g.asked[d]++
			g.inFlight++
			g.most = max(g.most, g.inFlight)
			if g.inFlight >= g.want && !g.released {
				g.released = true
				close(g.release)
			}
		}
		g.mu.Unlock()
		if layer {
			select {
			case <-g.release:
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			defer func() {
				g.mu.Lock()
				g.inFlight--
				g.mu.Unlock()
			}()
		}
		h.ServeHTTP(w, r)
	})
}

// TestHistorySendsRequestsAhead: the layers the history says RUN steps
// made are passed over, so the requests for all of them, down to the
// COPY layer that holds metadata.json, are in flight at once; nothing
// below it is asked for beyond the guesses' budget (10% of what was
// read), and nothing twice. Without a history, the reads guess only.
func TestHistorySendsRequestsAhead(t *testing.T) {
	t.Parallel()
	const above, below = 12, 6
	for _, tc := range []struct {
		name      string
		history   bool
		cmd       func(int) string
		mostLeast int // at least this many layer requests in flight at once
		mostMost  int // at most
	}{
		{name: "history", history: true, mostLeast: above + 1, mostMost: above + 1 + maxGuessed},
		{name: "no history", history: false, mostLeast: 1, mostMost: 1 + maxGuessed},
		{name: "a history of fewer entries than layers", history: false, cmd: func(i int) string {
			if i == -1 {
				return "short"
			}
			return fmt.Sprintf("RUN /bin/sh -c make l%02d # buildkit", i)
		}, mostLeast: 1, mostMost: 1 + maxGuessed},
		{name: "a RUN step names the wanted file", history: true, cmd: func(i int) string {
			if i == above-4 {
				return "RUN /bin/sh -c echo {} > /metadata.json # buildkit"
			}
			return fmt.Sprintf("RUN /bin/sh -c make l%02d # buildkit", i)
		}, mostLeast: 4, mostMost: 4 + 1 + maxGuessed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, digests, sizes := historyImage(t, above, below, tc.history, tc.cmd)
			g := &gatedRegistry{want: tc.mostLeast, asked: map[string]int{}, release: make(chan struct{}), layers: map[string]bool{}}
			for _, d := range digests {
				g.layers[d.String()] = true
			}
			host := imagetest.RegistryWith(t, g.middleware)
			ref := host + "/acme/p:1.0.0"
			imagetest.Push(t, ref, img)
			im := openSource(t, ref, Options{})
			vs := im.Variants
			if _, err := vs[0].Config(context.Background()); err != nil {
				t.Fatal(err)
			}
			files, err := vs[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 10})
			if err != nil {
				t.Fatal(err)
			}
			if !files["/metadata.json"].Exists() {
				t.Fatal("metadata.json not found")
			}
			im.scans.sending.Wait() // every request sent ahead has arrived
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.most < tc.mostLeast || g.most > tc.mostMost {
				t.Errorf("at most %d layer requests in flight at once, want %d to %d", g.most, tc.mostLeast, tc.mostMost)
			}
			var unread, read int64
			for i, d := range digests {
				n := g.asked[d.String()]
				switch {
				case n > 1:
					t.Errorf("layer %d asked for %d times", i+1, n)
				case i < below:
					unread += int64(n) * sizes[i]
				case n != 1:
					t.Errorf("layer %d (the metadata's or above) asked for %d times, want 1", i+1, n)
				default:
					read += sizes[i]
				}
			}
			if limit := int64(warmBudget * float64(read)); unread > limit {
				t.Errorf("layers below the metadata asked for: %d bytes, want at most %d (10%% of the %d read)", unread, limit, read)
			}
		})
	}
}

// TestWrongHintsAreNotSentAgain: a RUN step that writes the plugin's files
// without naming them (here metadata.json, unpacked from an archive) makes
// the hints wrong: the requests sent ahead for the layers below are closed
// unread. Later questions about the same layers do not send them again.
func TestWrongHintsAreNotSentAgain(t *testing.T) {
	t.Parallel()
	const below = 10
	var layers []v1.Layer
	var steps []string
	for i := range below {
		layers = append(layers, imagetest.Layer(t, imagetest.File{Path: fmt.Sprintf("opt/b%02d", i), Body: string(imagetest.Incompressible(16<<10, fmt.Sprint("b", i)))}))
		steps = append(steps, fmt.Sprintf("RUN /bin/sh -c make b%02d # buildkit", i))
	}
	layers = append(layers, imagetest.Layer(t, imagetest.File{Path: "metadata.json", Body: `{}`}, imagetest.File{Path: "docker.svg", Body: strings.Repeat("<svg/>", 1000)}))
	steps = append(steps, "RUN /bin/sh -c tar -xf plugin.tar -C / # buildkit")
	g := &gatedRegistry{want: 1, asked: map[string]int{}, release: make(chan struct{}), layers: map[string]bool{}}
	for _, l := range layers {
		g.layers[digestOf(t, l).String()] = true
	}
	host := imagetest.RegistryWith(t, g.middleware)
	ref := host + "/acme/p:1.0.0"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: layers, History: steps}))
	im := openSource(t, ref, Options{})
	v := im.Variants[0]
	if _, err := v.Config(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each question reads the top layer again (more of docker.svg).
	for _, w := range []Want{{Path: "/metadata.json", Max: 1 << 10}, {Path: "/docker.svg", Max: 16}, {Path: "/docker.svg", Max: 1 << 10}, {Path: "/docker.svg", Max: 8 << 10}} {
		if _, err := v.Files(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	// Every request sent ahead has reached the registry.
	im.scans.sending.Wait()
	im.scans.mu.Lock()
	wasted := im.scans.hintWasted
	im.scans.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, l := range layers {
		if n := g.asked[digestOf(t, l).String()]; n > 1 {
			t.Errorf("layer %d asked for %d times over four questions, want at most once", i+1, n)
		}
	}
	if wasted <= 0 || wasted > maxHinted {
		t.Errorf("bytes of wrong hints = %d, want above 0 (they were wrong) and at most %d", wasted, maxHinted)
	}
}
