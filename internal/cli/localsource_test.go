package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeTarball writes a legacy docker-archive (manifest.json only) with
// go-containerregistry, one image per reference: a tag is a RepoTags entry,
// a digest reference an untagged image (RepoTags []).
func writeTarball(t *testing.T, file string, refs map[string]v1.Image) {
	t.Helper()
	m := map[name.Reference]v1.Image{}
	for s, img := range refs {
		ref, err := name.ParseReference(s)
		if err != nil {
			t.Fatal(err)
		}
		m[ref] = img
	}
	if err := tarball.MultiRefWriteToFile(file, m); err != nil {
		t.Fatal(err)
	}
}

func imageDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// localPlugin returns a two-platform plugin, its linux/amd64 image, and a
// linux/arm64 image of another plugin.
func localPlugin(t *testing.T) (v1.ImageIndex, v1.Image, v1.Image) {
	t.Helper()
	idx := imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, 4096)
	img, err := idx.Image(mustDigest(t, idx, 0))
	if err != nil {
		t.Fatal(err)
	}
	other := imagetest.Image(t, imagetest.Spec{Arch: "arm64", Labels: imagetest.PluginLabels(), Layers: []v1.Layer{
		imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...)}})
	return idx, img, other
}

// TestEndToEndReleaseFromLocalName: without --release, a local source is
// checked as the release its name gives, as a registry tag is: the ref name
// of a layout's entry (a plain tag or a whole reference) and the tag of a
// docker archive's image, however the image is picked.
func TestEndToEndReleaseFromLocalName(t *testing.T) {
	t.Parallel()
	idx, img, other := localPlugin(t)
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }

	imagetest.WriteLayout(t, path("tag"), idx, "1.2.0")                             // buildx, skopeo oci:DIR:1.2.0
	imagetest.WriteLayout(t, path("reference"), idx, "docker.io/acme/plugin:1.2.0") // skopeo oci:DIR:docker.io/acme/plugin:1.2.0
	imagetest.WriteLayout(t, path("unnamed"), idx, "")
	archiveDir := path("archive-layout")
	imagetest.WriteLayout(t, archiveDir, idx, "1.2.0")
	imagetest.TarDir(t, archiveDir, path("oci.tar"))
	imagetest.WriteDockerArchive(t, path("legacy.tar"), img, "acme/plugin:1.2.0")
	imagetest.WriteDockerSaveArchive(t, path("docker25.tar"), map[string]v1.ImageIndex{
		"docker.io/acme/plugin:1.2.0": idx, "docker.io/acme/plugin:latest": idx})
	writeTarball(t, path("several.tar"), map[string]v1.Image{"acme/plugin:1.2.0": img, "acme/plugin:1.3.0": other})
	writeTarball(t, path("untagged.tar"), map[string]v1.Image{"acme/plugin@" + imageDigest(t, img): img})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"layout by its ref name", []string{"oci:" + path("tag") + ":1.2.0"}, "1.2.0"},
		{"layout of one named image", []string{"oci:" + path("tag")}, "1.2.0"},
		{"layout by index", []string{"oci:" + path("tag") + ":@0"}, "1.2.0"},
		{"layout named by a whole reference", []string{"oci:" + path("reference")}, "1.2.0"},
		{"layout picked by a whole reference", []string{"oci:" + path("reference") + ":docker.io/acme/plugin:1.2.0"}, "1.2.0"},
		{"layout without a name", []string{"oci:" + path("unnamed")}, ""},
		{"oci archive by its ref name", []string{"oci-archive:" + path("oci.tar") + ":1.2.0"}, "1.2.0"},
		{"oci archive of one named image", []string{"oci-archive:" + path("oci.tar")}, "1.2.0"},
		{"docker archive by tag", []string{"docker-archive:" + path("legacy.tar") + ":acme/plugin:1.2.0"}, "1.2.0"},
		{"docker archive of one tagged image", []string{"docker-archive:" + path("legacy.tar")}, "1.2.0"},
		{"docker archive by index", []string{"docker-archive:" + path("legacy.tar") + ":@0"}, "1.2.0"},
		{"Docker 25 archive, latest gives way", []string{"docker-archive:" + path("docker25.tar")}, "1.2.0"},
		{"Docker 25 archive by tag", []string{"docker-archive:" + path("docker25.tar") + ":acme/plugin:1.2.0"}, "1.2.0"},
		{"Docker 25 archive by latest", []string{"docker-archive:" + path("docker25.tar") + ":acme/plugin:latest"}, "latest"},
		{"Docker 25 archive by index", []string{"docker-archive:" + path("docker25.tar") + ":@0"}, "1.2.0"},
		{"archive of several, the second", []string{"docker-archive:" + path("several.tar") + ":@1"}, "1.3.0"},
		{"untagged image", []string{"docker-archive:" + path("untagged.tar")}, ""},
		{"--release wins", []string{"--release", "2.0.0", "oci:" + path("tag") + ":1.2.0"}, "2.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", append([]string{"--format", "json"}, tc.args...)...)
			if r.code == 2 {
				t.Fatalf("exit 2: %s", r.stderr)
			}
			if rep := decode(t, r.stdout); rep.Release != tc.want {
				t.Errorf("release = %q, want %q", rep.Release, tc.want)
			}
		})
	}
}

// TestEndToEndArchiveOfSeveralImages: with no tag or @N, an archive of
// several images (podman save -m) is an error that lists them, and each is
// then checked by its @N, an untagged one too.
func TestEndToEndArchiveOfSeveralImages(t *testing.T) {
	t.Parallel()
	_, img, untagged := localPlugin(t)
	file := filepath.Join(t.TempDir(), "saved.tar")
	// manifest.json lists the untagged image first (RepoTags sort first).
	writeTarball(t, file, map[string]v1.Image{"acme/plugin:1.2.0": img, "acme/plugin@" + imageDigest(t, untagged): untagged})

	r := runCLI(t, "", "--format", "json", "docker-archive:"+file)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"holds 2 images", `@0 untagged, @1 "acme/plugin:1.2.0"`, "docker-archive:FILE:@N"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr = %q, want it to say %q", r.stderr, want)
		}
	}
	for _, tc := range []struct {
		index, platform, release string
	}{
		{"@0", "linux/arm64", ""},
		{"@1", "linux/amd64", "1.2.0"},
	} {
		r := runCLI(t, "", "--format", "json", "docker-archive:"+file+":"+tc.index)
		if r.code == 2 {
			t.Fatalf("%s: exit 2: %s", tc.index, r.stderr)
		}
		rep := decode(t, r.stdout)
		if len(rep.Platforms) != 1 || rep.Platforms[0].Platform != tc.platform || rep.Release != tc.release {
			t.Errorf("%s: platforms %+v, release %q; want %s, %q", tc.index, rep.Platforms, rep.Release, tc.platform, tc.release)
		}
	}
}

// TestEndToEndMissingImage: a missing tag and a missing repository are
// told apart, in plain words.
func TestEndToEndMissingImage(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	idx := imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, 1024)
	imagetest.Push(t, host+"/acme/plugin:1.1.0", idx)
	for _, tc := range []struct {
		name, ref string
		want      []string
	}{
		{"missing tag", host + "/acme/plugin:1.2.0", []string{"not found on registry " + host,
			"the repository acme/plugin exists, but has no tag 1.2.0 (its tags include 1.1.0)"}},
		{"missing repository", host + "/acme/nope:1.2.0", []string{"not found on registry " + host,
			"there is no repository acme/nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tc.ref)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr = %q, want it to say %q", r.stderr, want)
				}
			}
			if strings.Contains(r.stderr, "HEAD responses") || strings.Contains(r.stderr, "status code") {
				t.Errorf("stderr = %q shows go-containerregistry's text", r.stderr)
			}
		})
	}
}
