package imagetest

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/source"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// CorpusBinaryTargets are the goos/goarch programs CorpusIndex puts in
// its images: the backend and base binaries (linux) and the host binaries
// of every OS, for both architectures.
var CorpusBinaryTargets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// CorpusIndex builds the two-platform index (linux/amd64, linux/arm64)
// that `docker buildx build` of a folder of ../shared/corpus (a plugin's
// Dockerfile and metadata.json, and its compose file when there is one)
// would push, as far as the checks can see it:
//
//   - the config's labels are the final stage's, from source.ParseDockerfile
//     for that platform (ARG defaults; TARGETARCH is the variant's);
//     Entrypoint, Cmd, Env and WorkingDir are the final stage's too;
//   - a base layer (unless the final stage is FROM scratch) holds /bin/sh,
//     a real linux binary of the variant's architecture;
//   - a backend layer holds the program the config runs (the first word of
//     a shell form), a real linux binary of the variant's architecture;
//   - the top layer holds /metadata.json, verbatim, and every file it
//     names: the icon, each UI root and page, the compose file (the
//     folder's, when it has one), and the host binaries, real programs of
//     the variant's architecture for their OS (PE for windows .exe,
//     Mach-O for darwin, ELF for linux); .sh, .cmd, .bat and .ps1 are
//     scripts.
func CorpusIndex(t testing.TB, dir string) v1.ImageIndex {
	t.Helper()
	bins := GoBinaries(t, CorpusBinaryTargets...)
	dockerfile := readCorpusFile(t, dir, "Dockerfile")
	metadata := readCorpusFile(t, dir, "metadata.json")
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		imgs = append(imgs, corpusVariant(t, dir, arch, dockerfile, metadata, bins))
	}
	return Index(t, imgs...)
}

func readCorpusFile(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	return b
}

// corpusVariant builds the linux/arch image of a corpus folder.
func corpusVariant(t testing.TB, dir, arch string, dockerfile, metadata []byte, bins map[string][]byte) v1.Image {
	t.Helper()
	df, err := source.ParseDockerfile(bytes.NewReader(dockerfile), source.DockerfileOptions{
		Platform: "linux/" + arch, BuildPlatform: "linux/amd64",
	})
	if err != nil {
		t.Fatalf("parsing %s/Dockerfile: %v", dir, err)
	}
	final := df.Final()
	elf := string(bins["linux/"+arch])
	var layers []v1.Layer
	if !fromScratch(df) {
		layers = append(layers, CompressedLayer(t, withParents(map[string]File{
			"bin/sh": {Path: "bin/sh", Body: elf, Mode: 0o755},
		})...))
	}
	if p := corpusProgram(final); p != "" {
		layers = append(layers, CompressedLayer(t, withParents(map[string]File{
			p: {Path: p, Body: elf, Mode: 0o755},
		})...))
	}
	top := corpusPluginFiles(t, dir, metadata, arch, bins)
	layers = append(layers, CompressedLayer(t, withParents(top)...))
	labels := map[string]string{}
	for k, l := range df.Labels {
		labels[k] = l.Value
	}
	img := Image(t, Spec{Arch: arch, Labels: labels, Entrypoint: final.Entrypoint, Cmd: final.Cmd, Env: final.Env, Layers: layers})
	return withWorkDir(t, img, final.WorkDir)
}

// fromScratch says whether the final stage, through the stages it is
// built FROM, starts from an empty image.
func fromScratch(df *source.Dockerfile) bool {
	s := df.Final()
	for s.BaseStage >= 0 {
		s = df.Stages[s.BaseStage]
	}
	return s.Base == "scratch"
}

// withWorkDir sets the config's working directory.
func withWorkDir(t testing.TB, img v1.Image, dir string) v1.Image {
	t.Helper()
	if dir == "" || dir == "/" {
		return img
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	c.WorkingDir = dir
	out, err := mutate.Config(img, c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// corpusProgram returns the path, relative to the image root, of the
// program a stage's config runs: the first word of Entrypoint, else Cmd,
// or of the script of a shell form ("" for a word with shell syntax). A
// bare name is put in /bin, on every PATH.
func corpusProgram(s *source.Stage) string {
	argv := append(slices.Clone(s.Entrypoint), s.Cmd...)
	if len(argv) == 0 {
		return ""
	}
	prog := argv[0]
	if b := path.Base(prog); (b == "sh" || b == "bash") && len(argv) >= 3 && argv[1] == "-c" {
		f := strings.Fields(argv[2])
		if len(f) > 1 && f[0] == "exec" {
			f = f[1:]
		}
		if len(f) == 0 || strings.ContainsAny(f[0], "$`|&;<>()=") {
			return ""
		}
		prog = f[0]
	}
	switch {
	case !strings.Contains(prog, "/"):
		prog = path.Join("/bin", prog)
	case !path.IsAbs(prog):
		prog = path.Join(s.WorkDir, prog)
	}
	return strings.TrimPrefix(path.Clean(prog), "/")
}

// corpusPluginFiles returns the top layer's files by path: metadata.json
// and every file it names.
func corpusPluginFiles(t testing.TB, dir string, metadata []byte, arch string, bins map[string][]byte) map[string]File {
	t.Helper()
	files := map[string]File{"metadata.json": {Path: "metadata.json", Body: string(metadata)}}
	add := func(p, body string, mode int64) {
		p = strings.TrimPrefix(path.Clean("/"+p), "/")
		if p != "" && p != "metadata.json" {
			files[p] = File{Path: p, Body: body, Mode: mode}
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(metadata, &doc); err != nil {
		t.Logf("%s/metadata.json is not a JSON object (%v): the image holds it alone", dir, err)
		return files
	}
	if icon, ok := doc["icon"].(string); ok && icon != "" && !strings.Contains(icon, "://") {
		add(icon, iconBody(icon), 0)
	}
	for _, tab := range objects(doc["ui"]) {
		root, _ := tab["root"].(string)
		src, _ := tab["src"].(string)
		if src, _, _ = strings.Cut(src, "#"); root != "" && src != "" {
			src, _, _ = strings.Cut(src, "?")
			add(path.Join("/", root, strings.TrimLeft(src, "/")), "<!DOCTYPE html><html><body>UI</body></html>\n", 0)
		}
	}
	if vm, ok := doc["vm"].(map[string]any); ok {
		if cf, ok := vm["composefile"].(string); ok && cf != "" {
			if body, ok := corpusCompose(dir, cf); ok {
				add(cf, body, 0)
			}
		}
	}
	for goos, p := range hostBinaries(doc) {
		for _, bin := range p {
			add(bin, hostBinary(goos, arch, bin, bins), 0o755)
		}
	}
	return files
}

// objects returns the values of a JSON object that are objects.
func objects(v any) []map[string]any {
	m, _ := v.(map[string]any)
	var out []map[string]any
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if o, ok := m[k].(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// hostBinaries returns the host.binaries paths of metadata.json by OS.
func hostBinaries(doc map[string]any) map[string][]string {
	out := map[string][]string{}
	host, _ := doc["host"].(map[string]any)
	list, _ := host["binaries"].([]any)
	for _, entry := range list {
		byOS, _ := entry.(map[string]any)
		for _, goos := range []string{"darwin", "linux", "windows"} {
			bins, _ := byOS[goos].([]any)
			for _, b := range bins {
				m, _ := b.(map[string]any)
				if p, ok := m["path"].(string); ok && p != "" {
					out[goos] = append(out[goos], p)
				}
			}
		}
	}
	return out
}

// corpusCompose returns the folder's compose file for the path metadata
// names: the file of that name, else the folder's only docker-compose.y*ml
// (the corpus keeps a compose file under a name of its own when the
// repository's differs).
func corpusCompose(dir, name string) (string, bool) {
	if b, err := os.ReadFile(filepath.Join(dir, path.Base(name))); err == nil {
		return string(b), true
	}
	for _, n := range []string{"docker-compose.yaml", "docker-compose.yml"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			return string(b), true
		}
	}
	return "", false
}

// iconBody returns an icon file of the format its name says.
func iconBody(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	case ".jpg", ".jpeg":
		return "\xff\xd8\xff\xe0\x00\x10JFIF\x00"
	}
	return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>` + "\n"
}

// hostBinary returns the body of a host binary for goos in the linux/arch
// variant: a script for a script's extension, else the real program.
func hostBinary(goos, arch, name string, bins map[string][]byte) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".sh":
		return "#!/bin/sh\nexec echo hi \"$@\"\n"
	case ".cmd", ".bat":
		return "@echo off\r\necho hi\r\n"
	case ".ps1":
		return "Write-Output hi\r\n"
	}
	return string(bins[goos+"/"+arch])
}

// withParents returns the files sorted by path, with a directory entry for
// every parent; a path that is also a parent of another is a directory.
func withParents(files map[string]File) []File {
	dirs := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	all := map[string]File{}
	for p, f := range files {
		if !dirs[p] {
			all[p] = f
		}
	}
	for d := range dirs {
		all[d] = Dir(d)
	}
	out := make([]File, 0, len(all))
	for _, p := range slices.Sorted(maps.Keys(all)) {
		out = append(out, all[p])
	}
	return out
}
