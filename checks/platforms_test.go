package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// pluginBinaryTargets are the real binaries the platform and host tests
// put in images.
var pluginBinaryTargets = []string{
	"linux/amd64", "linux/arm64", "linux/arm",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

// pluginBinaries returns the real binaries of pluginBinaryTargets, built
// once per test process (imagetest caches them) and as strings for
// imagetest.File bodies.
func pluginBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for target, b := range imagetest.GoBinaries(t, pluginBinaryTargets...) {
		out[target] = string(b)
	}
	return out
}

// variant describes one platform image of a test index.
type variant struct {
	// platform is what the index announces ("linux/arm/v7").
	platform string
	// config overrides the platform the config says, when set.
	config               string
	entrypoint, cmd, env []string
	workdir              string
	layers               [][]imagetest.File
}

// splitPlatform reads "os/arch[/variant]".
func splitPlatform(t *testing.T, p string) v1.Platform {
	t.Helper()
	parts := strings.SplitN(p, "/", 3)
	if len(parts) < 2 {
		t.Fatalf("platform %q is not os/arch[/variant]", p)
	}
	pl := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) > 2 {
		pl.Variant = parts[2]
	}
	return pl
}

// variantImage builds the image of v.
func variantImage(t *testing.T, v variant) v1.Image {
	t.Helper()
	cp := v.config
	if cp == "" {
		cp = v.platform
	}
	pl := splitPlatform(t, cp)
	var ls []v1.Layer
	for _, files := range v.layers {
		ls = append(ls, imagetest.Layer(t, files...))
	}
	img := imagetest.Image(t, imagetest.Spec{OS: pl.OS, Arch: pl.Architecture, Variant: pl.Variant, Labels: imagetest.PluginLabels(),
		Entrypoint: v.entrypoint, Cmd: v.cmd, Env: v.env, Layers: ls})
	if v.workdir != "" {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.Config.WorkingDir = v.workdir
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// variantsIndex builds an index of the variants, each announced with its
// platform (whatever its config says).
func variantsIndex(t *testing.T, vs ...variant) v1.ImageIndex {
	t.Helper()
	idx := imagetest.Index(t)
	for _, v := range vs {
		idx = imagetest.WithPlatform(idx, variantImage(t, v), splitPlatform(t, v.platform))
	}
	return idx
}

// runRulesImage runs rules against a single-platform image.
func runRulesImage(t *testing.T, img v1.Image, opts Options, rules ...*Rule) []Finding {
	t.Helper()
	dir := t.TempDir()
	imagetest.WriteImageLayout(t, dir, img, "")
	ctx := context.Background()
	opened, err := image.Open(ctx, "oci:"+dir, image.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("opening test image: %v", err)
	}
	t.Cleanup(func() { opened.Close() })
	target, err := NewTarget(ctx, opened, opts)
	if err != nil {
		t.Fatalf("NewTarget: %v", err)
	}
	res, err := Run(ctx, target, rules, Config{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res.Findings
}

// platformsCase is a test of a rule against an index (or, with single, a
// single-platform image).
type platformsCase struct {
	name   string
	idx    v1.ImageIndex
	single v1.Image
	opts   Options
	want   []Finding
}

func runPlatformsCases(t *testing.T, rule *Rule, cases []platformsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []Finding
			if tc.single != nil {
				got = runRulesImage(t, tc.single, tc.opts, rule)
			} else {
				got = runRules(t, tc.idx, tc.opts, rule)
			}
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

// pluginLayer is the top layer of a plugin with metadata.
func pluginLayer(metadata string) []imagetest.File { return imagetest.PluginFiles(metadata) }

func TestPlatformsRequired(t *testing.T) {
	t.Parallel()
	top := pluginLayer(imagetest.PluginMetadata)
	v := func(platform string) variant { return variant{platform: platform, layers: layers(top)} }
	required := func(msg string) Finding {
		return Finding{Rule: "platforms/required", Severity: Error, Message: msg}
	}
	withAttestations := func() v1.ImageIndex {
		idx := variantsIndex(t, v("linux/amd64"))
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		return imagetest.WithAttestation(t, idx, m.Manifests[0].Digest)
	}
	runPlatformsCases(t, platformsRequired, []platformsCase{
		{name: "amd64 and arm64", idx: variantsIndex(t, v("linux/amd64"), v("linux/arm64"))},
		{name: "arm64 first and more platforms", idx: variantsIndex(t, v("linux/arm64"), v("linux/arm/v7"), v("linux/amd64"), v("linux/s390x"))},
		{
			name:   "a single-platform image",
			single: variantImage(t, v("linux/amd64")),
			want: []Finding{required("the image is a single-platform image (linux/amd64), not a multi-platform index with linux/amd64, linux/arm64; " +
				"check the multi-platform build instead (oci-archive: from docker buildx build --platform linux/amd64,linux/arm64 --output type=oci,dest=plugin.tar, or the pushed index), " +
				"or pass --platforms linux/amd64 to check this platform alone")},
		},
		{
			name:   "a single-platform image checked for exactly its platform",
			single: variantImage(t, v("linux/arm64")),
			opts:   Options{Platforms: []string{"linux/arm64"}},
		},
		{
			name:   "a single-platform image checked for another platform",
			single: variantImage(t, v("linux/arm64")),
			opts:   Options{Platforms: []string{"linux/amd64"}},
			want: []Finding{required("the image is a single-platform image (linux/arm64), not a multi-platform index with linux/amd64; " +
				"check the multi-platform build instead (oci-archive: from docker buildx build --platform linux/amd64 --output type=oci,dest=plugin.tar, or the pushed index), " +
				"or pass --platforms linux/arm64 to check this platform alone")},
		},
		{
			name: "an index missing arm64",
			idx:  variantsIndex(t, v("linux/amd64")),
			want: []Finding{required("the index has no linux/arm64 image (it has linux/amd64)")},
		},
		{
			name: "an index missing both",
			idx:  variantsIndex(t, v("linux/arm/v7"), v("windows/amd64")),
			want: []Finding{
				required("the index has no linux/amd64 image (it has linux/arm/v7, windows/amd64)"),
				required("the index has no linux/arm64 image (it has linux/arm/v7, windows/amd64)"),
			},
		},
		{
			name: "attestations are not platforms",
			idx:  withAttestations(),
			want: []Finding{required("the index has no linux/arm64 image (it has linux/amd64)")},
		},
		{
			name: "required platforms with variants",
			idx:  variantsIndex(t, v("linux/amd64"), v("linux/arm/7"), v("linux/arm64/v8")),
			opts: Options{Platforms: []string{"linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/arm/v6"}},
			want: []Finding{required("the index has no linux/arm/v6 image (it has linux/amd64, linux/arm/7, linux/arm64/v8)")},
		},
		{
			name: "a required platform without variant matches any",
			idx:  variantsIndex(t, v("linux/amd64"), v("linux/arm64/v8")),
		},
	})
}

func TestPlatformsConfig(t *testing.T) {
	t.Parallel()
	top := pluginLayer(imagetest.PluginMetadata)
	config := func(platform, msg string) Finding {
		return Finding{Rule: "platforms/config", Severity: Error, Platform: platform, Message: msg}
	}
	runPlatformsCases(t, platformsConfig, []platformsCase{
		{
			name: "configs agree",
			idx:  variantsIndex(t, variant{platform: "linux/amd64", layers: layers(top)}, variant{platform: "linux/arm64", layers: layers(top)}),
		},
		{
			name: "a config that lies about its architecture",
			idx: variantsIndex(t, variant{platform: "linux/amd64", layers: layers(top)},
				variant{platform: "linux/arm64", config: "linux/amd64", layers: layers(top)}),
			want: []Finding{config("linux/arm64", `the index announces linux/arm64 but the config says architecture "amd64"`)},
		},
		{
			name: "both lie",
			idx: variantsIndex(t, variant{platform: "linux/amd64", config: "linux/arm64", layers: layers(top)},
				variant{platform: "linux/arm64", config: "windows/amd64", layers: layers(top)}),
			want: []Finding{
				config("linux/amd64", `the index announces linux/amd64 but the config says architecture "arm64"`),
				config("linux/arm64", `the index announces linux/arm64 but the config says os "windows", architecture "amd64"`),
			},
		},
		{
			name: "an arm variant that differs",
			idx:  variantsIndex(t, variant{platform: "linux/arm/v7", config: "linux/arm/v6", layers: layers(top)}),
			want: []Finding{config("linux/arm/v7", `the index announces linux/arm/v7 but the config says variant "v6"`)},
		},
		{
			name: "variant spelt with and without v, or left out of the config",
			idx: variantsIndex(t, variant{platform: "linux/arm/v7", config: "linux/arm/7", layers: layers(top)},
				variant{platform: "linux/arm64/v8", config: "linux/arm64", layers: layers(top)}),
		},
		{
			name:   "a single-platform image has no index to disagree with",
			single: variantImage(t, variant{platform: "linux/arm64", layers: layers(top)}),
		},
	})
}

func TestPlatformsBinaryArch(t *testing.T) {
	t.Parallel()
	bins := pluginBinaries(t)
	top := pluginLayer(imagetest.PluginMetadata)
	uiOnly := pluginLayer(`{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}}}`)
	otherImage := pluginLayer(withMetadata(t, `"image": "${DESKTOP_PLUGIN_IMAGE}"`, `"image": "acme/backend:1.0.0"`))
	composeTop := func(compose string) []imagetest.File {
		return append(pluginLayer(withMetadata(t, `"vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}`, `"vm": {"composefile": "docker-compose.yaml"}`)),
			imagetest.File{Path: "docker-compose.yaml", Body: compose})
	}
	backend := func(body string) []imagetest.File {
		return []imagetest.File{imagetest.Dir("backend"), {Path: "backend/service", Body: body, Mode: 0o755}}
	}
	// pair is an amd64 and an arm64 variant with the given backend
	// binaries under /backend/service, running it with ep.
	pair := func(amd64, arm64 string, top []imagetest.File, ep ...string) v1.ImageIndex {
		return variantsIndex(t,
			variant{platform: "linux/amd64", entrypoint: ep, layers: layers(backend(amd64), top)},
			variant{platform: "linux/arm64", entrypoint: ep, layers: layers(backend(arm64), top)})
	}
	arch := func(platform, command, resolved, detail string) Finding {
		return Finding{Rule: "platforms/binary-arch", Severity: Error, Platform: platform, Path: resolved,
			Message: fmt.Sprintf("entrypoint %q (%q) is %s, not built for %s", command, resolved, detail, platform)}
	}
	x86 := "ELF 64-bit x86-64"
	runPlatformsCases(t, platformsBinaryArch, []platformsCase{
		{name: "each built for its platform", idx: pair(bins["linux/amd64"], bins["linux/arm64"], top, "/backend/service")},
		{
			name: "an arm64 variant with an x86-64 backend",
			idx:  pair(bins["linux/amd64"], bins["linux/amd64"], top, "/backend/service"),
			want: []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
		{
			name: "both the wrong way round",
			idx:  pair(bins["linux/arm64"], bins["linux/amd64"], top, "/backend/service"),
			want: []Finding{
				arch("linux/amd64", "/backend/service", "/backend/service", "ELF 64-bit AArch64"),
				arch("linux/arm64", "/backend/service", "/backend/service", x86),
			},
		},
		{
			name: "the same wrong binary everywhere",
			idx:  pair(bins["linux/arm"], bins["linux/arm"], top, "/backend/service"),
			want: []Finding{
				arch("linux/amd64", "/backend/service", "/backend/service", "ELF 32-bit ARM"),
				arch("linux/arm64", "/backend/service", "/backend/service", "ELF 32-bit ARM"),
			},
		},
		{
			name: "a 32-bit arm variant",
			idx: variantsIndex(t,
				variant{platform: "linux/arm/v7", entrypoint: []string{"/backend/service"}, layers: layers(backend(bins["linux/arm"]), top)},
				variant{platform: "linux/arm64/v8", entrypoint: []string{"/backend/service"}, layers: layers(backend(bins["linux/arm"]), top)}),
			want: []Finding{arch("linux/arm64/v8", "/backend/service", "/backend/service", "ELF 32-bit ARM")},
		},
		{
			name: "found through PATH",
			idx: variantsIndex(t,
				variant{platform: "linux/amd64", entrypoint: []string{"service"}, env: []string{"PATH=/usr/local/bin:/backend"}, layers: layers(backend(bins["linux/amd64"]), top)},
				variant{platform: "linux/arm64", entrypoint: []string{"service"}, env: []string{"PATH=/usr/local/bin:/backend"}, layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{arch("linux/arm64", "service", "/backend/service", x86)},
		},
		{
			name: "the first match in PATH wins",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"service"}, env: []string{"HOME=/root", "PATH=/opt/bin::/backend"},
					layers: layers(backend(bins["linux/amd64"]), []imagetest.File{imagetest.Dir("opt"), imagetest.Dir("opt/bin"), {Path: "opt/bin/service", Body: bins["linux/arm64"]}}, top)}),
		},
		{
			name: "a hostile PATH of 20,000 entries is searched only in its first 64",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"service"},
					env:    []string{"PATH=" + strings.Repeat("/nowhere:", 20000) + "/backend"},
					layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{{Rule: "platforms/binary-arch", Severity: Error, Platform: "linux/arm64", Pointer: "/vm",
				Message: `the VM runs the plugin image, but its entrypoint "service" is not in the image (looked at "/nowhere/service", "/nowhere/service", "/nowhere/service", "/nowhere/service", "/nowhere/service", and 59 more)`}},
		},
		{
			name: "the default PATH",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"service"},
					layers: layers([]imagetest.File{imagetest.Dir("usr"), imagetest.Dir("usr/bin"), {Path: "usr/bin/service", Body: bins["linux/amd64"]}}, top)}),
			want: []Finding{arch("linux/arm64", "service", "/usr/bin/service", x86)},
		},
		{
			name: "a directory in PATH before the binary",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"service"}, env: []string{"PATH=/opt:/backend"},
					layers: layers(backend(bins["linux/amd64"]), []imagetest.File{imagetest.Dir("opt"), imagetest.Dir("opt/service")}, top)}),
			want: []Finding{arch("linux/arm64", "service", "/backend/service", x86)},
		},
		{
			name: "found through a symlink",
			idx: variantsIndex(t,
				variant{platform: "linux/amd64", entrypoint: []string{"/usr/local/bin/service"},
					layers: layers([]imagetest.File{imagetest.Dir("backend"), {Path: "backend/service-real", Body: bins["linux/amd64"]},
						imagetest.Dir("usr"), imagetest.Dir("usr/local"), imagetest.Dir("usr/local/bin"), imagetest.Symlink("usr/local/bin/service", "../../../backend/service-real")}, top)},
				variant{platform: "linux/arm64", entrypoint: []string{"/usr/local/bin/service"},
					layers: layers([]imagetest.File{imagetest.Dir("backend"), {Path: "backend/service-real", Body: bins["linux/amd64"]},
						imagetest.Dir("usr"), imagetest.Dir("usr/local"), imagetest.Dir("usr/local/bin"), imagetest.Symlink("usr/local/bin/service", "/backend/service-real")}, top)}),
			want: []Finding{arch("linux/arm64", "/usr/local/bin/service", "/backend/service-real", x86)},
		},
		{
			name: "relative to the working directory",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"./service"}, workdir: "/backend", layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{arch("linux/arm64", "./service", "/backend/service", x86)},
		},
		{
			name: "the command when there is no entrypoint",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", cmd: []string{"/backend/service", "--port", "8080"}, layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
		{
			name: "a shell-form command",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", cmd: []string{"/bin/sh", "-c", "/backend/service --flag"}, layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
		{
			name: "a shell-form command with exec",
			idx: variantsIndex(t,
				variant{platform: "linux/arm64", entrypoint: []string{"/bin/sh", "-c", "exec /backend/service --flag"}, layers: layers(backend(bins["linux/amd64"]), top)}),
			want: []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
		{
			name: "a script is fine",
			idx:  pair("#!/bin/sh\nexec /backend/service-bin \"$@\"\n", "#!/usr/bin/env node\nrequire('./main.js')\n", top, "/backend/service"),
		},
		{
			name: "a UI-only plugin's entrypoint is never run",
			idx:  pair(bins["linux/arm64"], bins["linux/amd64"], uiOnly, "/backend/service"),
		},
		{
			name: "the VM runs another image",
			idx:  pair(bins["linux/arm64"], bins["linux/amd64"], otherImage, "/backend/service"),
		},
		{
			name: "the compose file runs the plugin image",
			idx:  pair(bins["linux/amd64"], bins["linux/amd64"], composeTop("services:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n    build: .\n"), "/backend/service"),
			want: []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
		{
			name: "the compose file runs other images only",
			idx:  pair(bins["linux/amd64"], bins["linux/amd64"], composeTop("services:\n  backend:\n    image: acme/backend:1\n"), "/backend/service"),
		},
		{
			name: "no entrypoint nor command",
			idx:  pair(bins["linux/amd64"], bins["linux/amd64"], top),
		},
		{
			name: "an entrypoint that is not in the image",
			idx:  pair(bins["linux/amd64"], bins["linux/amd64"], top, "/backend/missing"),
			want: []Finding{{Rule: "platforms/binary-arch", Severity: Error, Pointer: "/vm",
				Message: `the VM runs the plugin image, but its entrypoint "/backend/missing" is not in the image (looked at "/backend/missing")`}},
		},
		{
			name: "a Windows binary as the entrypoint is not compared",
			idx:  pair(bins["windows/amd64"], bins["windows/amd64"], top, "/backend/service"),
		},
		{
			name:   "a single-platform image",
			single: variantImage(t, variant{platform: "linux/arm64", entrypoint: []string{"/backend/service"}, layers: layers(backend(bins["linux/amd64"]), top)}),
			want:   []Finding{arch("linux/arm64", "/backend/service", "/backend/service", x86)},
		},
	})
}
