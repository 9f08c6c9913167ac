package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/desktop-plugin-check/image"
)

var platformRules = []*Rule{platformsRequired, platformsConfig, platformsBinaryArch}

var platformsRequired = &Rule{
	ID:       "platforms/required",
	Title:    "The image is a multi-platform index with every required platform",
	Severity: Error,
	Help: `Docker Desktop runs on Intel and Apple silicon Macs, Windows and Linux: it installs the image
variant for the machine's architecture. A single-platform image, or an index without
` + "`linux/arm64`" + `, cannot be installed (or runs under emulation) for part of your users.

Build and push every platform at once:

` + "```sh\ndocker buildx build --platform linux/amd64,linux/arm64 --push -t acme/my-plugin:1.2.3 .\n```" + `

` + "`docker save`" + ` and ` + "`podman save`" + ` archives hold one platform: to check one on purpose, pass
` + "`--platforms`" + ` naming exactly that platform (` + "`--platforms linux/amd64`" + `); the other platforms still need
checking in the multi-platform build.`,
	Run: func(ctx context.Context, p *Pass) error {
		t := p.Target
		required := t.Options.Platforms
		if len(required) == 0 {
			required = DefaultPlatforms
		}
		if !t.Image.IsIndex {
			// docker save and podman save hold one platform: checking that
			// one on purpose (--platforms naming exactly it) is fine.
			if len(required) == 1 && hasPlatform(t.Image.Variants, required[0]) {
				return nil
			}
			p.Report(Finding{Message: fmt.Sprintf("the image is a single-platform image (%s), not a multi-platform index with %s; "+
				"check the multi-platform build instead (oci-archive: from docker buildx build --platform %s --output type=oci,dest=plugin.tar, or the pushed index), "+
				"or pass --platforms %s to check this platform alone",
				t.Image.Variants[0].PlatformString(), strings.Join(required, ", "), strings.Join(required, ","), t.Image.Variants[0].PlatformString())})
			return nil
		}
		for _, want := range required {
			if !hasPlatform(t.Image.Variants, want) {
				p.Report(Finding{Message: fmt.Sprintf("the index has no %s image (it has %s)", want, platformList(t.Image.Variants))})
			}
		}
		return nil
	},
}

// hasPlatform reports whether a variant matches "os/arch[/variant]"; a
// wanted platform without a variant matches any variant of the arch.
func hasPlatform(vs []*image.Variant, want string) bool {
	parts := strings.SplitN(want, "/", 3)
	for _, v := range vs {
		if v.Platform.OS != parts[0] || len(parts) < 2 || v.Platform.Architecture != parts[1] {
			continue
		}
		if len(parts) == 3 && strings.TrimPrefix(v.Platform.Variant, "v") != strings.TrimPrefix(parts[2], "v") {
			continue
		}
		return true
	}
	return false
}

func platformList(vs []*image.Variant) string {
	var ps []string
	for _, v := range vs {
		ps = append(ps, v.PlatformString())
	}
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, ", ")
}

var platformsConfig = &Rule{
	ID:       "platforms/config",
	Title:    "Each variant's config agrees with its index entry about its platform",
	Severity: Error,
	Help: `The index announces each variant's platform; Docker (and Desktop) pick a variant by that entry but
run what its config says. A config whose os/architecture differs from its index entry usually
means an image built for one platform was pushed under another (a manual ` + "`docker manifest`" + `
mistake, or a build stage that ignored ` + "`--platform`" + `).

Rebuild with ` + "`docker buildx build --platform ...`" + ` and let buildx write the index.`,
	Run: func(ctx context.Context, p *Pass) error {
		if !p.Target.Image.IsIndex {
			return nil
		}
		for _, v := range p.Target.Variants() {
			cf, err := v.Config(ctx)
			if err != nil {
				return err
			}
			var diffs []string
			if cf.OS != v.Platform.OS {
				diffs = append(diffs, fmt.Sprintf("os %q", cf.OS))
			}
			if cf.Architecture != v.Platform.Architecture {
				diffs = append(diffs, fmt.Sprintf("architecture %q", cf.Architecture))
			}
			if v.Platform.Variant != "" && cf.Variant != "" && strings.TrimPrefix(cf.Variant, "v") != strings.TrimPrefix(v.Platform.Variant, "v") {
				diffs = append(diffs, fmt.Sprintf("variant %q", cf.Variant))
			}
			if len(diffs) > 0 {
				p.Report(Finding{Platform: v.PlatformString(), Message: fmt.Sprintf("the index announces %s but the config says %s",
					v.PlatformString(), strings.Join(diffs, ", "))})
			}
		}
		return nil
	},
}

var platformsBinaryArch = &Rule{
	ReadsFiles: true,
	ID:         "platforms/binary-arch",
	Title:      "The backend's entrypoint binary is built for its platform",
	Severity:   Error,
	Help: `When the plugin's own image runs in the Desktop VM (` + "`vm.image`" + ` is ` + "`${DESKTOP_PLUGIN_IMAGE}`" + `,
or the compose file runs it), the entrypoint of each variant runs natively on that architecture.
An arm64 variant that carries an x86-64 backend fails to start on Apple silicon (or crawls under
emulation).

Build the backend for ` + "`$TARGETARCH`" + ` in the Dockerfile:

` + "```dockerfile\nFROM --platform=$BUILDPLATFORM golang:1.22 AS backend\nARG TARGETOS TARGETARCH\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /service ./cmd/service\n```",
	Run: func(ctx context.Context, p *Pass) error {
		for _, v := range p.Target.Variants() {
			pf, err := p.Target.PluginFiles(ctx, v)
			if err != nil {
				return err
			}
			ep := pf.Entrypoint
			if ep == nil {
				continue
			}
			if ep.File == nil {
				p.Report(Finding{Platform: v.PlatformString(), Pointer: "/vm",
					Message: fmt.Sprintf("the VM runs the plugin image, but its entrypoint %s is not in the image (looked at %s)",
						quoteMetadata(ep.Command), strings.Join(quoteAll(ep.Searched, 5), ", "))})
				continue
			}
			info := IdentifyBinary(ep.File.Data)
			if info.Format != BinaryELF || len(info.Archs) == 0 {
				continue // a script, or not a Linux executable: nothing to compare
			}
			want := GOARCHOfPlatform(v.Platform.Architecture, v.Platform.Variant)
			if !info.Matches(want) {
				p.Report(Finding{Platform: v.PlatformString(), Path: ep.File.Resolved,
					Message: fmt.Sprintf("entrypoint %s (%s) is %s, not built for %s", quoteMetadata(ep.Command),
						quoteMetadata(ep.File.Resolved), info.Detail, v.PlatformString())})
			}
		}
		return nil
	},
}

// quoteAll quotes up to max values for a message.
func quoteAll(vs []string, max int) []string {
	var out []string
	for i, v := range vs {
		if i == max {
			out = append(out, fmt.Sprintf("and %d more", len(vs)-max))
			break
		}
		out = append(out, quoteMetadata(v))
	}
	return out
}
