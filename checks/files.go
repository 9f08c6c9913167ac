package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/desktop-plugin-check/image"
)

// filesRules check the files metadata.json names, in every variant.
var filesRules = []*Rule{metadataFiles, metadataSymlink}

var metadataFiles = &Rule{
	ReadsFiles: true,
	ID:         "metadata/files",
	Title:      "Every path metadata.json names exists in every platform",
	Severity:   Error,
	Help: `Docker Desktop installs a plugin from the variant for the user's machine and copies the files
that metadata.json names out of it: the icon, the UI root and its entry point, the compose file,
and the host binaries. A path that a variant lacks (a ` + "`COPY`" + ` left out of one stage, a later layer
that deleted it, an ` + "`--platform`" + `-specific build step) breaks the install on that platform only.

Check the Dockerfile's final stage copies every path for every platform, e.g.

` + "```dockerfile\nCOPY metadata.json docker.svg /\nCOPY ui /ui\nCOPY --from=build /out/windows/tool.exe /windows/tool.exe\n```",
	Run: func(ctx context.Context, p *Pass) error {
		return forEachPluginVariant(ctx, p, func(platform string, pf *PluginFiles) {
			if pf.Spec == nil {
				return
			}
			check := func(sp *SpecPath, what string, want image.Kind) {
				if sp == nil {
					return
				}
				f := pf.Files[sp.Path]
				switch {
				case f == nil:
				case !f.Exists() && f.Problem != "":
					p.Report(Finding{Platform: platform, Path: sp.Path, Pointer: sp.Pointer,
						Message: fmt.Sprintf("%s %s cannot be resolved: %s", what, quoteMetadata(sp.Path), f.Problem)})
				case !f.Exists():
					p.Report(Finding{Platform: platform, Path: sp.Path, Pointer: sp.Pointer,
						Message: fmt.Sprintf("%s %s is not in the image", what, quoteMetadata(sp.Path))})
				case f.Kind != want:
					p.Report(Finding{Platform: platform, Path: sp.Path, Pointer: sp.Pointer,
						Message: fmt.Sprintf("%s %s is a %s, not a %s", what, quoteMetadata(sp.Path), f.Kind, want)})
				}
			}
			if n := pf.Spec.OmittedUIs; n > 0 {
				p.Report(Finding{Platform: platform, Path: MetadataPath, Pointer: "/ui", Severity: Warning,
					Message: fmt.Sprintf("metadata.json names %d UIs; the first %d (by name) are checked, the other %d are not", maxSpecUIs+n, maxSpecUIs, n)})
			}
			if n := pf.Spec.OmittedBinaries; n > 0 {
				p.Report(Finding{Platform: platform, Path: MetadataPath, Pointer: "/host/binaries", Severity: Warning,
					Message: fmt.Sprintf("metadata.json names %d host binaries; the first %d are checked, the other %d are not", maxSpecBinaries+n, maxSpecBinaries, n)})
			}
			check(pf.Spec.Icon, "icon", image.Regular)
			for _, u := range pf.Spec.UIs {
				root := u.Root
				check(&root, "UI root of "+quoteMetadata(u.Name), image.Dir)
				if u.Src != nil && !strings.HasPrefix(u.Src.Path, strings.TrimSuffix(root.Path, "/")+"/") {
					p.Report(Finding{Platform: platform, Path: u.Src.Path, Pointer: u.Src.Pointer,
						Message: fmt.Sprintf("UI entry point of %s resolves to %s, outside its UI root %s: Desktop serves only the root",
							quoteMetadata(u.Name), quoteMetadata(u.Src.Path), quoteMetadata(root.Path))})
					continue
				}
				check(u.Src, "UI entry point of "+quoteMetadata(u.Name), image.Regular)
			}
			check(pf.Spec.Compose, "compose file", image.Regular)
			for _, b := range pf.Spec.Binaries {
				b := b
				check(&b.SpecPath, b.OS+" host binary", image.Regular)
			}
		})
	},
}

// maxSymlinkFindings bounds metadata/symlink findings per UI root.
const maxSymlinkFindings = 20

var metadataSymlink = &Rule{
	ReadsFiles: true,
	ID:         "metadata/symlink",
	Title:      "No symlinks under the UI root",
	Severity:   Error,
	Help: `Docker Desktop for Windows fails to install a plugin whose UI folder contains a symbolic link
(front-end build tools leave them, e.g. in ` + "`node_modules/.bin`" + `). Copy only the built files:

` + "```dockerfile\nCOPY --from=client-builder /app/client/dist /ui\n```",
	Run: func(ctx context.Context, p *Pass) error {
		return forEachPluginVariant(ctx, p, func(platform string, pf *PluginFiles) {
			if pf.Spec == nil {
				return
			}
			for _, u := range pf.Spec.UIs {
				f := pf.Files[u.Root.Path]
				if !f.Exists() {
					continue
				}
				if f.Resolved != f.Path {
					p.Report(Finding{Platform: platform, Path: u.Root.Path, Pointer: u.Root.Pointer,
						Message: fmt.Sprintf("UI root %s is reached through a symlink (to %s)", quoteMetadata(u.Root.Path), quoteMetadata(f.Resolved))})
				}
				n := 0
				for _, e := range f.Tree {
					if e.Kind != image.Symlink {
						continue
					}
					n++
					if n > maxSymlinkFindings {
						continue
					}
					p.Report(Finding{Platform: platform, Path: e.Path, Pointer: u.Root.Pointer,
						Message: fmt.Sprintf("symlink %s (to %s) under the UI root", quoteMetadata(e.Path), quoteMetadata(e.Linkname))})
				}
				if n > maxSymlinkFindings {
					p.Report(Finding{Platform: platform, Path: u.Root.Path, Pointer: u.Root.Pointer,
						Message: fmt.Sprintf("%d more symlinks under the UI root %s", n-maxSymlinkFindings, quoteMetadata(u.Root.Path))})
				}
				if f.TreeTruncated {
					// A bound of the check, not a defect: a warning, so that
					// a clean listing is never claimed for what was not seen.
					p.Report(Finding{Platform: platform, Path: u.Root.Path, Pointer: u.Root.Pointer, Severity: Warning,
						Message: fmt.Sprintf("UI root %s holds more than %d entries (or %d MiB of names): the listing was cut short, and symlinks beyond it were not looked for; a UI root is normally a built front end of a few hundred files",
							quoteMetadata(u.Root.Path), image.MaxTreeEntries, image.MaxTreeNameBytes>>20)})
				}
			}
		})
	},
}
