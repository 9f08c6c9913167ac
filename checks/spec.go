package checks

import (
	"context"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/desktop-plugin-check/image"
)

// PluginImageVar is what metadata.json and compose files write for the
// plugin's own image; Docker Desktop substitutes it.
const PluginImageVar = "${DESKTOP_PLUGIN_IMAGE}"

// Caps on what one metadata.json (or config) can make the check look at;
// real extensions have one or two UIs, and a few host binaries per OS.
const (
	maxSpecUIs      = 16
	maxSpecBinaries = 64
	maxPathEntries  = 64
)

// Spec is the typed view of a metadata.json: the paths and images it names,
// each with the JSON pointer it came from. Values of the wrong type are
// left out (metadata/schema reports them). At most maxSpecUIs UIs and
// maxSpecBinaries host binaries are kept; Omitted counts the rest.
type Spec struct {
	Icon     *SpecPath
	UIs      []SpecUI
	VMImage  string
	Compose  *SpecPath
	Binaries []SpecBinary
	// OmittedUIs and OmittedBinaries count entries beyond the caps.
	OmittedUIs, OmittedBinaries int
}

// SpecPath is a path metadata.json names.
type SpecPath struct {
	// Path is the absolute path inside the image.
	Path string
	// Pointer is the JSON pointer of the value.
	Pointer string
}

// SpecUI is one UI entry (ui.dashboard-tab and the like).
type SpecUI struct {
	Name string
	Root SpecPath
	Src  *SpecPath
}

// SpecBinary is one host binary for one OS.
type SpecBinary struct {
	OS string
	SpecPath
}

// ParseSpec extracts the typed view from a parsed metadata.json.
func ParseSpec(doc any) *Spec {
	s := &Spec{}
	m, _ := doc.(map[string]any)
	if icon, ok := m["icon"].(string); ok && strings.TrimSpace(icon) != "" && !isURL(icon) {
		s.Icon = &SpecPath{Path: imagePath("/", icon), Pointer: "/icon"}
	}
	if ui, ok := m["ui"].(map[string]any); ok {
		names := make([]string, 0, len(ui))
		for k := range ui {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			tab, ok := ui[name].(map[string]any)
			if !ok {
				continue
			}
			root, ok := tab["root"].(string)
			if !ok || strings.TrimSpace(root) == "" {
				continue
			}
			if len(s.UIs) == maxSpecUIs {
				s.OmittedUIs++
				continue
			}
			ptr := "/ui/" + escapePointerToken(name)
			u := SpecUI{Name: name, Root: SpecPath{Path: imagePath("/", root), Pointer: ptr + "/root"}}
			if src, ok := tab["src"].(string); ok && strings.TrimSpace(src) != "" {
				// src may carry a query or fragment (index.html#/route).
				if i := strings.IndexAny(src, "?#"); i >= 0 {
					src = src[:i]
				}
				// src is served from the UI root even when it starts with
				// "/" (layer5io/kanvas-docker-extension: root "/ui", src
				// "/index.html", the page at /ui/index.html).
				u.Src = &SpecPath{Path: imagePath(u.Root.Path, strings.TrimLeft(src, "/")), Pointer: ptr + "/src"}
			}
			s.UIs = append(s.UIs, u)
		}
	}
	if vm, ok := m["vm"].(map[string]any); ok {
		s.VMImage, _ = vm["image"].(string)
		if cf, ok := vm["composefile"].(string); ok && strings.TrimSpace(cf) != "" {
			s.Compose = &SpecPath{Path: imagePath("/", cf), Pointer: "/vm/composefile"}
		}
	}
	if host, ok := m["host"].(map[string]any); ok {
		bins, _ := host["binaries"].([]any)
		for i, b := range bins {
			byOS, ok := b.(map[string]any)
			if !ok {
				continue
			}
			for _, goos := range []string{"darwin", "linux", "windows"} {
				list, _ := byOS[goos].([]any)
				for j, e := range list {
					entry, _ := e.(map[string]any)
					p, ok := entry["path"].(string)
					if !ok || strings.TrimSpace(p) == "" {
						continue
					}
					if len(s.Binaries) == maxSpecBinaries {
						s.OmittedBinaries++
						continue
					}
					s.Binaries = append(s.Binaries, SpecBinary{OS: goos, SpecPath: SpecPath{
						Path:    imagePath("/", p),
						Pointer: "/host/binaries/" + strconv.Itoa(i) + "/" + goos + "/" + strconv.Itoa(j) + "/path",
					}})
				}
			}
		}
	}
	return s
}

// isURL reports an http(s) URL; the scheme is case-insensitive (RFC 3986).
func isURL(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// imagePath resolves p against dir inside the image root.
func imagePath(dir, p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Clean(path.Join("/", dir, p))
}

// UsesPluginImage reports whether the VM runs the plugin's own image.
func (s *Spec) UsesPluginImage() bool { return strings.TrimSpace(s.VMImage) == PluginImageVar }

// PluginFiles is what a variant's merged file system holds at the paths
// metadata.json names, and the compose file and entrypoint they lead to.
type PluginFiles struct {
	// Spec is the typed metadata (nil when metadata.json is absent or not JSON).
	Spec *Spec
	// Files maps absolute paths to what the file system holds there.
	Files map[string]*image.File
	// Entrypoint is the plugin image's entrypoint binary when the VM runs
	// the plugin's own image, else nil.
	Entrypoint *Entrypoint
}

// Entrypoint is the resolved program the plugin's image runs.
type Entrypoint struct {
	// Command is the program as the config names it.
	Command string
	// File is what it resolved to (after PATH and symlinks); nil if not found.
	File *image.File
	// Searched lists the paths tried.
	Searched []string
}

type filesOnce struct {
	once sync.Once
	pf   *PluginFiles
	err  error
}

// pluginWantMax caps compose files; binaries are read to their headers.
func (t *Target) wantsOf(spec *Spec) []image.Want {
	var ws []image.Want
	add := func(w image.Want) { ws = append(ws, w) }
	if spec.Icon != nil {
		add(image.Want{Path: spec.Icon.Path})
	}
	for _, u := range spec.UIs {
		add(image.Want{Path: u.Root.Path, Tree: true})
		if u.Src != nil {
			add(image.Want{Path: u.Src.Path})
		}
	}
	if spec.Compose != nil {
		add(image.Want{Path: spec.Compose.Path, Max: t.Options.MetadataMax + 1})
	}
	for _, b := range spec.Binaries {
		add(image.Want{Path: b.Path, Max: BinaryHeaderSize})
	}
	return dedupeWants(ws)
}

func dedupeWants(ws []image.Want) []image.Want {
	byPath := map[string]int{}
	var out []image.Want
	for _, w := range ws {
		w.Path = path.Clean("/" + w.Path)
		if i, ok := byPath[w.Path]; ok {
			if w.Max > out[i].Max {
				out[i].Max = w.Max
			}
			out[i].Tree = out[i].Tree || w.Tree
			continue
		}
		byPath[w.Path] = len(out)
		out = append(out, w)
	}
	return out
}

// PluginFiles reads, once per variant, the files metadata.json names, the
// compose file, and the entrypoint binary when the VM runs the plugin image.
func (t *Target) PluginFiles(ctx context.Context, v *image.Variant) (*PluginFiles, error) {
	t.mu.Lock()
	fo, ok := t.files[v]
	if !ok {
		fo = &filesOnce{}
		t.files[v] = fo
	}
	t.mu.Unlock()
	fo.once.Do(func() { fo.pf, fo.err = t.readPluginFiles(ctx, v) })
	return fo.pf, fo.err
}

func (t *Target) readPluginFiles(ctx context.Context, v *image.Variant) (*PluginFiles, error) {
	pf := &PluginFiles{Files: map[string]*image.File{}}
	m, err := t.Metadata(ctx, v)
	if err != nil {
		return nil, err
	}
	if m.Value == nil {
		return pf, nil
	}
	pf.Spec = ParseSpec(m.Value)
	wants := t.wantsOf(pf.Spec)
	if pf.Spec.UsesPluginImage() {
		// Look for the entrypoint's first candidate in the same pass, so
		// the layers are not scanned a second time for it.
		if ep, err := entrypointOf(ctx, v); err == nil && ep != nil && len(ep.Searched) > 0 {
			wants = dedupeWants(append(wants, image.Want{Path: ep.Searched[0], Max: BinaryHeaderSize}))
		}
	}
	if len(wants) > 0 {
		files, err := v.Files(ctx, wants...)
		if err != nil {
			return nil, err
		}
		pf.Files = files
	}
	runsPlugin := pf.Spec.UsesPluginImage()
	if !runsPlugin && pf.Spec.Compose != nil {
		if f := pf.Files[pf.Spec.Compose.Path]; f.Exists() && f.Kind == image.Regular && !f.Truncated {
			runsPlugin = composeRunsPluginImage(f.Data)
		}
	}
	if runsPlugin {
		ep, err := t.entrypoint(ctx, v)
		if err != nil {
			return nil, err
		}
		pf.Entrypoint = ep
	}
	return pf, nil
}

// defaultPath is the PATH a container gets when its config sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// entrypoint resolves the program the variant's config runs: the first word
// of Entrypoint, else of Cmd; for a shell form ("/bin/sh -c 'prog ...'") the
// program the script starts. Bare names are looked up in the config's PATH.
func (t *Target) entrypoint(ctx context.Context, v *image.Variant) (*Entrypoint, error) {
	ep, err := entrypointOf(ctx, v)
	if err != nil || ep == nil {
		return ep, err
	}
	// One PATH entry at a time: asking for later entries once an earlier
	// one holds the program would read every layer to prove them missing.
	// Layers already read are answered from the scan cache.
	seen := map[string]bool{}
	for _, p := range ep.Searched {
		if seen[p] {
			continue
		}
		seen[p] = true
		files, err := v.Files(ctx, image.Want{Path: p, Max: BinaryHeaderSize})
		if err != nil {
			return nil, err
		}
		if f := files[p]; f.Exists() && f.Kind == image.Regular {
			ep.File = f
			break
		}
	}
	return ep, nil
}

// entrypointOf is the program the variant's config runs and the paths it
// may be at, in the order they are tried; nil when the config runs nothing.
func entrypointOf(ctx context.Context, v *image.Variant) (*Entrypoint, error) {
	cf, err := v.Config(ctx)
	if err != nil {
		return nil, err
	}
	argv := append(append([]string{}, cf.Config.Entrypoint...), cf.Config.Cmd...)
	if len(argv) == 0 {
		return nil, nil
	}
	cmd := argv[0]
	if (path.Base(cmd) == "sh" || path.Base(cmd) == "bash") && len(argv) >= 3 && argv[1] == "-c" {
		f := strings.Fields(argv[2])
		if len(f) > 1 && f[0] == "exec" { // "exec prog ...", the usual way to run prog as PID 1
			f = f[1:]
		}
		if len(f) > 0 && !strings.ContainsAny(f[0], "$`|&;<>()") {
			cmd = f[0]
		}
	}
	ep := &Entrypoint{Command: cmd}
	if strings.Contains(cmd, "/") {
		ep.Searched = []string{imagePath(orDefault(cf.Config.WorkingDir, "/"), cmd)}
	} else {
		pathVar := defaultPath
		for _, e := range cf.Config.Env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				pathVar = v
			}
		}
		for _, dir := range strings.Split(pathVar, ":") {
			if len(ep.Searched) == maxPathEntries {
				break // a hostile PATH: the first entries are what a shell tries in practice
			}
			if dir != "" {
				ep.Searched = append(ep.Searched, imagePath("/", path.Join(dir, cmd)))
			}
		}
	}
	return ep, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
