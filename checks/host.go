package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/desktop-plugin-check/image"
)

var hostRules = []*Rule{hostWindows, hostBinaryFormat, hostBinaryArch}

var hostWindows = &Rule{
	ReadsFiles: true,
	ID:         "host/windows",
	Title:      "Host binaries include Windows",
	Severity:   Error,
	Help: `Docker Desktop copies a plugin's host binaries onto the user's machine. When metadata.json
declares host binaries but none for ` + "`windows`" + `, the plugin's UI calls a binary that does not exist
for every Windows user.

Ship a Windows build in the same image and declare it:

` + "```json\n\"host\": {\"binaries\": [{\"windows\": [{\"path\": \"/windows/tool.exe\"}], \"darwin\": [{\"path\": \"/darwin/tool\"}], \"linux\": [{\"path\": \"/linux/tool\"}]}]}\n```",
	Run: func(ctx context.Context, p *Pass) error {
		return forEachPluginVariant(ctx, p, func(platform string, pf *PluginFiles) {
			if pf.Spec == nil || len(pf.Spec.Binaries) == 0 {
				return
			}
			for _, b := range pf.Spec.Binaries {
				if b.OS == "windows" {
					return
				}
			}
			p.Report(Finding{Platform: platform, Pointer: "/host/binaries", Path: MetadataPath,
				Message: "host binaries are declared for " + strings.Join(binaryOSes(pf.Spec), " and ") + " but not for windows"})
		})
	},
}

func binaryOSes(s *Spec) []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range s.Binaries {
		if !seen[b.OS] {
			seen[b.OS] = true
			out = append(out, b.OS)
		}
	}
	return out
}

// hostBinaries calls fn for every declared host binary that exists as a
// regular file, with its identified format.
func hostBinaries(ctx context.Context, p *Pass, fn func(v *image.Variant, b SpecBinary, f *image.File, info BinaryInfo)) error {
	for _, v := range p.Target.Variants() {
		pf, err := p.Target.PluginFiles(ctx, v)
		if err != nil {
			return err
		}
		if pf.Spec == nil {
			continue
		}
		for _, b := range pf.Spec.Binaries {
			f := pf.Files[b.Path]
			if !f.Exists() || f.Kind != image.Regular {
				continue // metadata/files reports it
			}
			fn(v, b, f, IdentifyBinary(f.Data))
		}
	}
	return nil
}

var hostBinaryFormat = &Rule{
	ReadsFiles: true,
	ID:         "host/binary-format",
	Title:      "Each host binary is an executable for its OS",
	Severity:   Error,
	Help: `Host binaries run on the user's machine: Windows needs a PE executable (` + "`.exe`" + `, or a ` + "`.cmd`" + `/` + "`.bat`" + `/` + "`.ps1`" + `
script), macOS a Mach-O binary (a universal one is fine) or a script with a shebang, Linux an ELF
binary or a script. A Linux binary copied under the Windows path, or a placeholder text file,
fails only on users' machines.

Cross-compile each OS's binary in the Dockerfile, e.g. ` + "`GOOS=windows GOARCH=amd64 go build -o /windows/tool.exe`" + `.`,
	Run: func(ctx context.Context, p *Pass) error {
		return hostBinaries(ctx, p, func(v *image.Variant, b SpecBinary, f *image.File, info BinaryInfo) {
			ok := false
			switch b.OS {
			case "windows":
				ok = info.Format == BinaryPE || isWindowsScript(b.Path)
			case "darwin":
				ok = info.Format == BinaryMachO || info.Format == BinaryScript
			case "linux":
				ok = info.Format == BinaryELF || info.Format == BinaryScript
			}
			if !ok {
				p.Report(Finding{Platform: v.PlatformString(), Path: b.Path, Pointer: b.Pointer,
					Message: fmt.Sprintf("%s host binary %s is %s, not %s", b.OS, quoteMetadata(b.Path), describeBinary(info), expectedFormat(b.OS))})
			}
		})
	},
}

// isWindowsScript reports paths Windows runs through an interpreter.
func isWindowsScript(p string) bool {
	l := strings.ToLower(p)
	for _, ext := range []string{".cmd", ".bat", ".ps1"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// describeBinary names what a file is, with its article: "an ELF 64-bit
// x86-64", "a Mach-O ...", "a text file", "an empty file".
func describeBinary(info BinaryInfo) string {
	switch d := info.Detail; {
	case d == "":
		return "an unknown format"
	case d == "empty":
		return "an empty file"
	case d == "data":
		return "data"
	case strings.HasPrefix(d, "ELF") || strings.HasPrefix(d, "MS-DOS") || strings.ContainsRune("AEIOUaeiou", rune(d[0])):
		return "an " + d
	default:
		return "a " + d
	}
}

func expectedFormat(goos string) string {
	switch goos {
	case "windows":
		return "a PE executable"
	case "darwin":
		return "a Mach-O executable or a script"
	}
	return "an ELF executable or a script"
}

var hostBinaryArch = &Rule{
	ReadsFiles: true,
	ID:         "host/binary-arch",
	Title:      "Each host binary matches its variant's CPU",
	Severity:   Warning,
	Help: `Docker Desktop takes the host binaries from the variant that matches the user's machine: the
arm64 variant's macOS binary runs on Apple silicon, the amd64 variant's on Intel. A binary for
the other CPU runs under emulation at best (Rosetta on macOS) and not at all on Linux.

Windows on Arm is the exception: Windows 11 on Arm runs x64 programs under emulation ("Windows 11
on Arm supports emulation of both x86 and x64 apps",
https://learn.microsoft.com/en-us/windows/arm/apps-on-arm-x86-emulation), so an x86-64 ` + "`.exe`" + ` in
the linux/arm64 variant is only a notice (it runs, more slowly; Windows 10 on Arm cannot run it).
A Windows binary missing from that variant is an error of metadata/files.

A variant that ships binaries for both CPUs of an OS (` + "`/darwin/tool-arm64`" + ` beside
` + "`/darwin/tool-amd64`" + `, as several published extensions do) is fine: the extension picks one itself.

Build host binaries for ` + "`$TARGETARCH`" + `, or ship a universal Mach-O for macOS.`,
	Run: func(ctx context.Context, p *Pass) error {
		for _, v := range p.Target.Variants() {
			pf, err := p.Target.PluginFiles(ctx, v)
			if err != nil {
				return err
			}
			if pf.Spec != nil {
				reportHostArchs(p, v, pf)
			}
		}
		return nil
	},
}

// reportHostArchs reports the host binaries of one variant built for
// another CPU, unless the variant also ships one for its own CPU for the
// same OS.
func reportHostArchs(p *Pass, v *image.Variant, pf *PluginFiles) {
	want := GOARCHOfPlatform(v.Platform.Architecture, v.Platform.Variant)
	type bin struct {
		b    SpecBinary
		info BinaryInfo
	}
	var wrong []bin
	native := map[string]bool{}
	for _, b := range pf.Spec.Binaries {
		f := pf.Files[b.Path]
		if !f.Exists() || f.Kind != image.Regular {
			continue // metadata/files reports it
		}
		info := IdentifyBinary(f.Data)
		switch {
		case len(info.Archs) == 0 || info.Format == BinaryScript:
		case info.Matches(want):
			native[b.OS] = true
		default:
			wrong = append(wrong, bin{b, info})
		}
	}
	for _, w := range wrong {
		if native[w.b.OS] {
			continue // both CPUs shipped for this OS
		}
		f := Finding{Platform: v.PlatformString(), Path: w.b.Path, Pointer: w.b.Pointer,
			Message: fmt.Sprintf("%s host binary %s is %s, not built for %s", w.b.OS, quoteMetadata(w.b.Path), describeBinary(w.info), want)}
		if w.b.OS == "windows" && w.info.Format == BinaryPE && want == "arm64" && w.info.Matches("amd64") {
			f.Severity = Notice
			f.Message += ": Windows 11 on Arm runs it under x64 emulation (Windows 10 on Arm cannot); ship an arm64 build for native speed"
		}
		p.Report(f)
	}
}
