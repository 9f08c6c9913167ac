package image

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func labelsWithTitle(title string) map[string]string {
	l := imagetest.PluginLabels()
	l["org.opencontainers.image.title"] = title
	return l
}

// pluginImage is one platform of a small plugin whose title is title.
func pluginImage(t *testing.T, arch, title string) v1.Image {
	t.Helper()
	return imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: labelsWithTitle(title), Layers: []v1.Layer{
		imagetest.Layer(t, imagetest.Dir("bin"), imagetest.File{Path: "bin/sh", Body: "base " + arch}),
		imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...),
	}})
}

func pluginIndex(t *testing.T, title string) v1.ImageIndex {
	t.Helper()
	return imagetest.Index(t, pluginImage(t, "amd64", title), pluginImage(t, "arm64", title))
}

func TestOpenSources(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	idx := pluginIndex(t, "Index")
	idxDigest := imagetest.Push(t, host+"/acme/plugin:1.0.0", idx)
	imagetest.Push(t, host+"/acme/single:1.0.0", pluginImage(t, "arm64", "Single"))

	withAtt := idx
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		withAtt = imagetest.WithAttestation(t, withAtt, d.Digest)
	}
	imagetest.Push(t, host+"/acme/attested:1.0.0", withAtt)

	dir := t.TempDir()
	buildx := filepath.Join(dir, "buildx")
	imagetest.WriteLayout(t, buildx, idx, "")
	single := filepath.Join(dir, "single")
	imagetest.WriteImageLayout(t, single, pluginImage(t, "arm64", "Single"), "")
	flat := filepath.Join(dir, "flat")
	if _, err := layout.Write(flat, withAtt); err != nil { // index.json is the index itself
		t.Fatal(err)
	}
	colon := filepath.Join(dir, "with:colon")
	imagetest.WriteLayout(t, colon, idx, "")

	named := filepath.Join(dir, "named")
	p, err := layout.Write(named, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if err := p.AppendIndex(pluginIndex(t, "Named "+v), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": v})); err != nil {
			t.Fatal(err)
		}
	}
	ociArchive := filepath.Join(dir, "plugin.tar")
	imagetest.WriteOCIArchive(t, ociArchive, withAtt)
	// skopeo copy ... oci:DIR:docker.io/acme/plugin:1.2.0 names the entry
	// by the whole reference.
	fullName := filepath.Join(dir, "full-name")
	imagetest.WriteLayout(t, fullName, idx, "docker.io/acme/plugin:1.2.0")
	namedArchive := filepath.Join(dir, "named.tar")
	imagetest.TarDir(t, named, namedArchive)

	dockerArchive := filepath.Join(dir, "docker.tar")
	imagetest.WriteDockerArchive(t, dockerArchive, pluginImage(t, "amd64", "Docker"), "acme/plugin:1.0.0")
	multiArchive := filepath.Join(dir, "multi.tar")
	refs := map[name.Reference]v1.Image{}
	for _, tag := range []string{"acme/plugin:1.0.0", "acme/plugin:2.0.0", "registry.example/other:3"} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = pluginImage(t, "arm64", "Docker "+tag)
	}
	if err := tarball.MultiRefWriteToFile(multiArchive, refs); err != nil {
		t.Fatal(err)
	}

	type variantView struct {
		Platform string
		Title    string
		Metadata string
	}
	type imageView struct {
		IsIndex    bool
		Repository string
		Tag        string
		Skipped    int
		Variants   []variantView
	}
	both := func(title string) []variantView {
		return []variantView{
			{Platform: "linux/amd64", Title: title, Metadata: imagetest.PluginMetadata},
			{Platform: "linux/arm64", Title: title, Metadata: imagetest.PluginMetadata},
		}
	}
	tests := []struct {
		name string
		src  string
		want imageView
	}{
		{name: "registry index", src: host + "/acme/plugin:1.0.0",
			want: imageView{IsIndex: true, Repository: host + "/acme/plugin", Tag: "1.0.0", Variants: both("Index")}},
		{name: "registry digest", src: host + "/acme/plugin@" + idxDigest.String(),
			want: imageView{IsIndex: true, Repository: host + "/acme/plugin", Variants: both("Index")}},
		{name: "registry single image", src: host + "/acme/single:1.0.0",
			want: imageView{Repository: host + "/acme/single", Tag: "1.0.0",
				Variants: []variantView{{Platform: "linux/arm64", Title: "Single", Metadata: imagetest.PluginMetadata}}}},
		{name: "registry index with attestations", src: host + "/acme/attested:1.0.0",
			want: imageView{IsIndex: true, Repository: host + "/acme/attested", Tag: "1.0.0", Skipped: 2, Variants: both("Index")}},
		{name: "oci layout from buildx", src: "oci:" + buildx,
			want: imageView{IsIndex: true, Variants: both("Index")}},
		{name: "oci layout whose index.json is the index", src: "oci:" + flat,
			want: imageView{IsIndex: true, Skipped: 2, Variants: both("Index")}},
		{name: "oci layout of one image", src: "oci:" + single,
			want: imageView{Variants: []variantView{{Platform: "linux/arm64", Title: "Single", Metadata: imagetest.PluginMetadata}}}},
		{name: "oci layout with colon in directory name", src: "oci:" + colon,
			want: imageView{IsIndex: true, Variants: both("Index")}},
		{name: "oci layout ref name", src: "oci:" + named + ":2.0.0",
			want: imageView{IsIndex: true, Tag: "2.0.0", Variants: both("Named 2.0.0")}},
		{name: "oci layout index", src: "oci:" + named + ":@1",
			want: imageView{IsIndex: true, Tag: "2.0.0", Variants: both("Named 2.0.0")}},
		{name: "oci layout ref name in directory with colon", src: "oci:" + colon + ":",
			want: imageView{IsIndex: true, Variants: both("Index")}},
		{name: "oci layout named by a whole reference", src: "oci:" + fullName,
			want: imageView{IsIndex: true, Tag: "1.2.0", Variants: both("Index")}},
		{name: "oci layout picked by a whole reference", src: "oci:" + fullName + ":docker.io/acme/plugin:1.2.0",
			want: imageView{IsIndex: true, Tag: "1.2.0", Variants: both("Index")}},
		{name: "oci archive ref name", src: "oci-archive:" + namedArchive + ":1.0.0",
			want: imageView{IsIndex: true, Tag: "1.0.0", Variants: both("Named 1.0.0")}},
		{name: "oci archive index", src: "oci-archive:" + namedArchive + ":@1",
			want: imageView{IsIndex: true, Tag: "2.0.0", Variants: both("Named 2.0.0")}},
		{name: "oci archive", src: "oci-archive:" + ociArchive,
			want: imageView{IsIndex: true, Skipped: 2, Variants: both("Index")}},
		{name: "docker archive", src: "docker-archive:" + dockerArchive,
			want: imageView{Tag: "1.0.0", Variants: []variantView{{Platform: "linux/amd64", Title: "Docker", Metadata: imagetest.PluginMetadata}}}},
		{name: "docker archive tag", src: "docker-archive:" + multiArchive + ":acme/plugin:2.0.0",
			want: imageView{Tag: "2.0.0", Variants: []variantView{{Platform: "linux/arm64", Title: "Docker acme/plugin:2.0.0", Metadata: imagetest.PluginMetadata}}}},
		{name: "docker archive fully qualified tag", src: "docker-archive:" + multiArchive + ":docker.io/acme/plugin:1.0.0",
			want: imageView{Tag: "1.0.0", Variants: []variantView{{Platform: "linux/arm64", Title: "Docker acme/plugin:1.0.0", Metadata: imagetest.PluginMetadata}}}},
		{name: "docker archive other registry", src: "docker-archive:" + multiArchive + ":registry.example/other:3",
			want: imageView{Tag: "3", Variants: []variantView{{Platform: "linux/arm64", Title: "Docker registry.example/other:3", Metadata: imagetest.PluginMetadata}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			img := openSource(t, tt.src, Options{})
			got := imageView{IsIndex: img.IsIndex, Repository: img.Repository, Tag: img.Tag, Skipped: len(img.Skipped)}
			for _, v := range img.Variants {
				labels, err := v.Labels(ctx)
				if err != nil {
					t.Fatalf("Labels(%s): %v", v.PlatformString(), err)
				}
				files, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
				if err != nil {
					t.Fatalf("Files(%s): %v", v.PlatformString(), err)
				}
				got.Variants = append(got.Variants, variantView{Platform: v.PlatformString(),
					Title: labels["org.opencontainers.image.title"], Metadata: string(files["/metadata.json"].Data)})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
			if img.Digest.Hex == "" {
				t.Errorf("Open(%q).Digest is empty", tt.src)
			}
			for _, d := range img.Skipped {
				if !isAttestation(d) {
					t.Errorf("Skipped holds %v, which is not an attestation", d.Platform)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/plugin:1.0.0", pluginIndex(t, "Index"))
	refused := imagetest.RegistryWith(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		})
	})
	closed := imagetest.ClosedAddr(t)

	dir := t.TempDir()
	notLayout := filepath.Join(dir, "empty")
	if err := os.Mkdir(notLayout, 0o755); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(dir, "layout")
	imagetest.WriteLayout(t, layoutDir, pluginIndex(t, "Index"), "1.0.0")
	archive := filepath.Join(dir, "plugin.tar")
	imagetest.WriteOCIArchive(t, archive, pluginIndex(t, "Index"))
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	gzipped := filepath.Join(dir, "plugin.tar.gz")
	if err := os.WriteFile(gzipped, imagetest.Gzip(t, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerArchive := filepath.Join(dir, "docker.tar")
	imagetest.WriteDockerArchive(t, dockerArchive, pluginImage(t, "amd64", "Docker"), "acme/plugin:1.0.0")
	multiArchive := filepath.Join(dir, "multi.tar")
	refs := map[name.Reference]v1.Image{}
	for _, tag := range []string{"acme/plugin:1.0.0", "acme/plugin:2.0.0"} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = pluginImage(t, "arm64", tag)
	}
	if err := tarball.MultiRefWriteToFile(multiArchive, refs); err != nil {
		t.Fatal(err)
	}
	twoNames := filepath.Join(dir, "two-names")
	p, err := layout.Write(twoNames, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", ""} {
		var opts []layout.Option
		if v != "" {
			opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": v}))
		}
		if err := p.AppendIndex(pluginIndex(t, "Named "+v), opts...); err != nil {
			t.Fatal(err)
		}
	}
	notTar := filepath.Join(dir, "not.tar")
	if err := os.WriteFile(notTar, []byte(strings.Repeat("not a tar file\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		src  string
		// want are substrings of the message.
		want []string
		is   error
	}{
		{name: "missing directory", src: "oci:" + filepath.Join(dir, "nope"), want: []string{"opening OCI layout", filepath.Join(dir, "nope")}},
		{name: "directory without index.json", src: "oci:" + notLayout, want: []string{notLayout, "no index.json"}},
		{name: "file given as oci directory", src: "oci:" + archive, want: []string{"not a directory", "oci-archive:"}},
		{name: "gzip archive", src: "oci-archive:" + gzipped, want: []string{gzipped, "compressed"}},
		{name: "gzip docker archive", src: "docker-archive:" + gzipped, want: []string{gzipped, "compressed"}},
		{name: "missing archive", src: "oci-archive:" + filepath.Join(dir, "nope.tar"), want: []string{"nope.tar"}},
		{name: "not a tar", src: "oci-archive:" + notTar, want: []string{notTar}},
		{name: "unknown ref name", src: "oci:" + layoutDir + ":9.9.9", want: []string{layoutDir, `"9.9.9"`, `holds @0 "1.0.0"`}},
		{name: "layout index past the end", src: "oci:" + layoutDir + ":@1", want: []string{layoutDir, "no image @1", `holds 1 (@0 "1.0.0")`}},
		{name: "layout index not a number", src: "oci:" + layoutDir + ":@x", want: []string{`"@x" is not an image index`}},
		{name: "layout of several images", src: "oci:" + twoNames, want: []string{twoNames, "holds 2 images",
			`@0 "1.0.0", @1 (no name)`, "oci:PATH:REF", "oci:PATH:@N"}},
		{name: "oci archive index past the end", src: "oci-archive:" + archive + ":@3", want: []string{archive, "no image @3"}},
		{name: "unknown docker archive tag", src: "docker-archive:" + dockerArchive + ":acme/plugin:9.9.9", want: []string{dockerArchive, "acme/plugin:9.9.9"}},
		{name: "docker archive of several images", src: "docker-archive:" + multiArchive, want: []string{multiArchive, "holds 2 images", "docker-archive:FILE:TAG"}},
		{name: "nonexistent tag", src: host + "/acme/plugin:9.9.9", want: []string{host, "9.9.9", "not found"}, is: ErrNotFound},
		{name: "nonexistent repository", src: host + "/acme/nope:1.0.0", want: []string{host, "acme/nope", "not found"}, is: ErrNotFound},
		{name: "registry refuses", src: refused + "/acme/plugin:1.0.0", want: []string{"registry " + refused, "refused access", "401"}},
		{name: "unreachable registry", src: closed + "/acme/plugin:1.0.0", want: []string{"registry " + closed, "unreachable"}},
		{name: "unparseable reference", src: "Acme/Plugin:1.0.0!", want: []string{"parsing image reference", `"Acme/Plugin:1.0.0!"`}},
		{name: "empty reference", src: "", want: []string{"parsing image reference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := openFails(t, tt.src, tt.want...)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Open(%q) error %v is not %v", tt.src, err, tt.is)
			}
		})
	}
}

func TestSplitRefName(t *testing.T) {
	t.Parallel()
	exists := map[string]bool{"/d": true, "/d/with:colon": true, "/f.tar": true, `C:\x`: true}
	tests := []struct {
		name, in  string
		path, ref string
	}{
		{name: "path only", in: "/d", path: "/d"},
		{name: "path and ref", in: "/d:1.0.0", path: "/d", ref: "1.0.0"},
		{name: "ref with slash and colon", in: "/f.tar:acme/plugin:1.0.0", path: "/f.tar", ref: "acme/plugin:1.0.0"},
		{name: "directory with colon", in: "/d/with:colon", path: "/d/with:colon"},
		{name: "directory with colon and ref", in: "/d/with:colon:2", path: "/d/with:colon", ref: "2"},
		{name: "windows drive", in: `C:\x`, path: `C:\x`},
		{name: "windows drive and ref", in: `C:\x:1`, path: `C:\x`, ref: "1"},
		{name: "missing path splits at first colon", in: "/nope:a:b", path: "/nope", ref: "a:b"},
		{name: "missing path without colon", in: "/nope", path: "/nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path, ref := splitRefName(tt.in, func(p string) bool { return exists[p] })
			if path != tt.path || ref != tt.ref {
				t.Errorf("splitRefName(%q) = %q, %q; want %q, %q", tt.in, path, ref, tt.path, tt.ref)
			}
		})
	}
}

func TestSavedTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "plain tag", in: "1.2.0", want: "1.2.0"},
		{name: "short reference", in: "acme/plugin:1.2.0", want: "1.2.0"},
		{name: "full reference", in: "docker.io/acme/plugin:1.2.0", want: "1.2.0"},
		{name: "registry with port", in: "localhost:5000/acme/plugin:1.2.0", want: "1.2.0"},
		{name: "registry with port, no tag", in: "localhost:5000/acme/plugin"},
		{name: "repository without tag", in: "acme/plugin"},
		{name: "by digest", in: "acme/plugin@sha256:" + strings.Repeat("a", 64)},
		{name: "tag and digest", in: "acme/plugin:1.2.0@sha256:" + strings.Repeat("a", 64)},
		{name: "not a tag", in: "acme/plugin:1.2.0!"},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := savedTag(tt.in); got != tt.want {
				t.Errorf("savedTag(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReleaseTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{name: "none"},
		{name: "one", in: []string{"1.2.0"}, want: "1.2.0"},
		{name: "latest alone", in: []string{"latest"}, want: "latest"},
		{name: "latest gives way", in: []string{"latest", "1.2.0"}, want: "1.2.0"},
		{name: "latest gives way after", in: []string{"1.2.0", "latest"}, want: "1.2.0"},
		{name: "the same twice", in: []string{"1.2.0", "1.2.0"}, want: "1.2.0"},
		{name: "an untagged name", in: []string{"", "1.2.0"}, want: "1.2.0"},
		{name: "two versions are no answer", in: []string{"1.2.0", "1.3.0"}},
		{name: "two versions and latest", in: []string{"1.2.0", "latest", "1.3.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := releaseTag(tt.in); got != tt.want {
				t.Errorf("releaseTag(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
