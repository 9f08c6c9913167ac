package image

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pluginLayout writes a single-platform plugin image as an OCI layout and
// returns its directory, the image and its manifest.
func pluginLayout(t *testing.T) (string, v1.Image, *v1.Manifest) {
	t.Helper()
	img := pluginImage(t, "amd64", "Layout")
	dir := filepath.Join(t.TempDir(), "layout")
	imagetest.WriteImageLayout(t, dir, img, "")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return dir, img, m
}

// TestLocalSourcesRefuseSpecialFiles: a named pipe (or a directory, or a
// device) where a file belongs is refused, naming it, instead of blocking
// past any deadline.
func TestLocalSourcesRefuseSpecialFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// make returns the source and the pipes in it.
		make func(t *testing.T) (src string, fifos []string)
		// files is set when Open succeeds and Files must fail.
		files bool
		want  []string
	}{
		{name: "index.json is a pipe", make: func(t *testing.T) (string, []string) {
			dir, _, _ := pluginLayout(t)
			p := filepath.Join(dir, "index.json")
			mkfifo(t, p)
			return "oci:" + dir, []string{p}
		}, want: []string{"index.json is a named pipe (FIFO), not a regular file"}},
		{name: "manifest blob is a pipe", make: func(t *testing.T) (string, []string) {
			dir, img, _ := pluginLayout(t)
			d, _ := img.Digest()
			p := blobFile(dir, d)
			mkfifo(t, p)
			return "oci:" + dir, []string{p}
		}, want: []string{"blobs/sha256/", "named pipe (FIFO), not a regular file"}},
		{name: "config blob is a directory", make: func(t *testing.T) (string, []string) {
			dir, _, m := pluginLayout(t)
			p := blobFile(dir, m.Config.Digest)
			os.Remove(p)
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return "oci:" + dir, nil
		}, want: []string{"blobs/sha256/", "is a directory, not a regular file"}},
		{name: "layer blob is a pipe", make: func(t *testing.T) (string, []string) {
			dir, _, m := pluginLayout(t)
			p := blobFile(dir, m.Layers[len(m.Layers)-1].Digest)
			mkfifo(t, p)
			return "oci:" + dir, []string{p}
		}, files: true, want: []string{"blobs/sha256/", "named pipe (FIFO), not a regular file"}},
		{name: "oci archive is a pipe", make: func(t *testing.T) (string, []string) {
			p := filepath.Join(t.TempDir(), "plugin.tar")
			mkfifo(t, p)
			return "oci-archive:" + p, []string{p}
		}, want: []string{"plugin.tar is a named pipe (FIFO), not a regular file"}},
		{name: "docker archive is a pipe", make: func(t *testing.T) (string, []string) {
			p := filepath.Join(t.TempDir(), "docker.tar")
			mkfifo(t, p)
			return "docker-archive:" + p, []string{p}
		}, want: []string{"docker.tar is a named pipe (FIFO), not a regular file"}},
		{name: "oci archive is a directory", make: func(t *testing.T) (string, []string) {
			p := filepath.Join(t.TempDir(), "dir.tar")
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
			return "oci-archive:" + p, nil
		}, want: []string{"dir.tar is a directory, not a regular file"}},
		{name: "docker archive is a device", make: func(t *testing.T) (string, []string) {
			return "docker-archive:" + os.DevNull, nil
		}, want: []string{os.DevNull + " is a character device, not a regular file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, fifos := tt.make(t)
			var err error
			noHang(t, fifos, func() {
				var img *Image
				img, err = Open(context.Background(), src, Options{TempDir: t.TempDir()})
				if err != nil || !tt.files {
					if err == nil {
						img.Close()
						t.Errorf("Open(%q) succeeded, want an error", src)
					}
					return
				}
				defer img.Close()
				if err == nil {
					_, err = img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
				}
			})
			if err == nil {
				t.Fatalf("reading %s succeeded, want an error", src)
			}
			t.Logf("error: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// digestOfImage returns an image's digest.
func digestOfImage(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// secret is the content of a host file outside every source: no error may
// quote it, no read may return it.
const secret = "Zebra:x:0:0:secret host file"

// hostFile writes a file with body outside any layout and returns its path.
func hostFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "host-file")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLayoutStaysInside: an oci: layout is read through os.Root: a symlink
// that leads out of it is an error, never a read of a host file, and a file
// that is not the JSON it should be is described, not quoted.
func TestLayoutStaysInside(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, dir string, m *v1.Manifest)
		files  bool // Open succeeds; Files must fail
		want   []string
	}{
		{name: "index.json links to a host file", change: func(t *testing.T, dir string, _ *v1.Manifest) {
			p := filepath.Join(dir, "index.json")
			os.Remove(p)
			if err := os.Symlink(hostFile(t, secret), p); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index.json", "leads out of the layout"}},
		{name: "index.json links to a host copy of itself", change: func(t *testing.T, dir string, _ *v1.Manifest) {
			p := filepath.Join(dir, "index.json")
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(p)
			if err := os.Symlink(hostFile(t, string(raw)), p); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index.json", "leads out of the layout"}},
		{name: "index.json is not JSON", change: func(t *testing.T, dir string, _ *v1.Manifest) {
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(secret), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index.json is not valid JSON (syntax error at byte 1)"}},
		{name: "index.json is not an object", change: func(t *testing.T, dir string, _ *v1.Manifest) {
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`["`+secret+`"]`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index.json is not a JSON object"}},
		{name: "index.json has a bad digest", change: func(t *testing.T, dir string, _ *v1.Manifest) {
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"manifests":[{"digest":"`+secret+`"}]}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"index.json holds an invalid value"}},
		{name: "layer blob links to a host copy of itself", change: func(t *testing.T, dir string, m *v1.Manifest) {
			p := blobFile(dir, m.Layers[len(m.Layers)-1].Digest)
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(p)
			if err := os.Symlink(hostFile(t, string(raw)), p); err != nil {
				t.Fatal(err)
			}
		}, files: true, want: []string{"blobs/sha256/", "leads out of the layout"}},
		{name: "blobs directory links out", change: func(t *testing.T, dir string, m *v1.Manifest) {
			out := filepath.Join(t.TempDir(), "blobs")
			if err := os.Rename(filepath.Join(dir, "blobs"), out); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(out, filepath.Join(dir, "blobs")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"blobs/sha256/", "leads out of the layout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, _, m := pluginLayout(t)
			tt.change(t, dir, m)
			src := "oci:" + dir
			var err error
			if !tt.files {
				err = openFails(t, src, tt.want...)
			} else {
				img := openSource(t, src, Options{})
				_, err = img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
				if err == nil {
					t.Fatalf("Files() succeeded, want an error")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Files() error %q does not say %q", err, w)
					}
				}
			}
			t.Logf("error: %v", err)
			if strings.Contains(err.Error(), "Zebra") || strings.Contains(err.Error(), "'Z'") {
				t.Errorf("error %q quotes the file's content", err)
			}
		})
	}
}

// TestLayoutSymlinksInside: symlinks that stay inside the layout (and a
// layout reached through a symlink) are read as before.
func TestLayoutSymlinksInside(t *testing.T) {
	t.Parallel()
	dir, _, m := pluginLayout(t)
	top := m.Layers[len(m.Layers)-1].Digest
	if err := os.Rename(blobFile(dir, top), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../moved", blobFile(dir, top)); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	img := openSource(t, "oci:"+link, Options{})
	files, err := img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
		t.Errorf("metadata.json = %q, want the plugin's", got)
	}
}

// TestArchiveMembersStayInside: a symlink member of oci-archive: or
// docker-archive: leads to another member or to nothing, never to a host
// file; one that leads to a member is followed.
func TestArchiveMembersStayInside(t *testing.T) {
	t.Parallel()
	dir, img, m := pluginLayout(t)
	top := "blobs/sha256/" + m.Layers[len(m.Layers)-1].Digest.Hex
	manifest := "blobs/sha256/" + digestOfImage(t, img).Hex
	host := hostFile(t, "")
	hostIndex, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, hostIndex, 0o644); err != nil {
		t.Fatal(err)
	}
	climb := strings.Repeat("../", 16) + strings.TrimPrefix(host, "/")

	layer := imagetest.TarBytes(t, imagetest.PluginFiles(imagetest.PluginMetadata)...)
	tests := []struct {
		name  string
		write func(t *testing.T, file string) string // returns the source
		want  []string                               // nil: reads metadata.json
	}{
		{name: "index.json links to a host file", write: func(t *testing.T, file string) string {
			writeTar(t, file, layoutMembers(t, dir, map[string]string{"index.json": host})...)
			return "oci-archive:" + file
		}, want: []string{"index.json is a symlink to " + `"` + host + `"` + ", outside the archive"}},
		{name: "manifest climbs out to a host file", write: func(t *testing.T, file string) string {
			writeTar(t, file, layoutMembers(t, dir, map[string]string{manifest: climb})...)
			return "oci-archive:" + file
		}, want: []string{manifest + " is a symlink", "outside the archive"}},
		{name: "index.json is a pipe member", write: func(t *testing.T, file string) string {
			members := layoutMembers(t, dir, nil)
			for i := range members {
				if members[i].name == "index.json" {
					members[i] = member{name: "index.json", typ: tar.TypeFifo}
				}
			}
			writeTar(t, file, members...)
			return "oci-archive:" + file
		}, want: []string{"index.json is a named pipe (FIFO), not a regular file"}},
		{name: "blob links to a member", write: func(t *testing.T, file string) string {
			members := layoutMembers(t, dir, nil)
			for i := range members {
				if members[i].name == top {
					members = append(members, member{name: "elsewhere/layer", body: members[i].body})
					members[i] = member{name: top, typ: tar.TypeSymlink, link: "../../elsewhere/layer"}
				}
			}
			writeTar(t, file, members...)
			return "oci-archive:" + file
		}},
		{name: "blob is a hard link to a member", write: func(t *testing.T, file string) string {
			members := layoutMembers(t, dir, nil)
			for i := range members {
				if members[i].name == top {
					members = append([]member{{name: "elsewhere/layer", body: members[i].body}}, members...)
					members[i+1] = member{name: top, typ: tar.TypeLink, link: "elsewhere/layer"}
				}
			}
			writeTar(t, file, members...)
			return "oci-archive:" + file
		}},
		{name: "docker save layer links to an earlier one", write: func(t *testing.T, file string) string {
			legacyArchive(t, file, imagetest.PluginLabels(), [][]byte{layer, layer}, nil)
			return "docker-archive:" + file
		}},
		{name: "docker save layer links to a host file", write: func(t *testing.T, file string) string {
			legacyArchive(t, file, imagetest.PluginLabels(), [][]byte{layer}, func(ms []member) []member {
				ms[0] = member{name: ms[0].name, typ: tar.TypeSymlink, link: climb}
				return ms
			})
			return "docker-archive:" + file
		}, want: []string{"lists layer", "is a symlink", "outside the archive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.write(t, filepath.Join(t.TempDir(), "archive.tar"))
			if tt.want != nil {
				openFails(t, src, tt.want...)
				return
			}
			img := openSource(t, src, Options{})
			files, err := img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
				t.Errorf("metadata.json = %q, want the plugin's", got)
			}
		})
	}
}
