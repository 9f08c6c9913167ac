package checks

import (
	"fmt"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hostMetadata declares one host binary per OS at the given paths ("" leaves
// the OS out).
func hostMetadata(darwin, windows, linux string) string {
	var entries string
	for _, e := range []struct{ goos, path string }{{"darwin", darwin}, {"windows", windows}, {"linux", linux}} {
		if e.path == "" {
			continue
		}
		if entries != "" {
			entries += ", "
		}
		entries += fmt.Sprintf("%q: [{\"path\": %q}]", e.goos, e.path)
	}
	return `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
		"host": {"binaries": [{` + entries + `}]}}`
}

// hostFiles are a host layer: metadata, icon, UI and the given files.
func hostFiles(metadata string, bins ...imagetest.File) []imagetest.File {
	files := []imagetest.File{
		{Path: "metadata.json", Body: metadata},
		{Path: "docker.svg", Body: "<svg/>"},
		imagetest.Dir("ui"),
		{Path: "ui/index.html", Body: "<html></html>"},
	}
	return append(files, bins...)
}

// hostIndex is an amd64 and an arm64 variant with the standard host
// binary paths (/darwin/tool, /windows/tool.exe, /linux/tool), each
// variant's files given by arch.
func hostIndex(t *testing.T, metadata string, files func(arch string) []imagetest.File) v1.ImageIndex {
	t.Helper()
	return variantsIndex(t,
		variant{platform: "linux/amd64", layers: layers(hostFiles(metadata, files("amd64")...))},
		variant{platform: "linux/arm64", layers: layers(hostFiles(metadata, files("arm64")...))})
}

// toolFiles are the three standard host binaries with the given bodies.
func toolFiles(darwin, windows, linux string) []imagetest.File {
	return []imagetest.File{
		imagetest.Dir("darwin"), {Path: "darwin/tool", Body: darwin, Mode: 0o755},
		imagetest.Dir("windows"), {Path: "windows/tool.exe", Body: windows, Mode: 0o755},
		imagetest.Dir("linux"), {Path: "linux/tool", Body: linux, Mode: 0o755},
	}
}

func TestHostWindows(t *testing.T) {
	t.Parallel()
	windows := func(msg string) Finding {
		return Finding{Rule: "host/windows", Severity: Error, Path: MetadataPath, Pointer: "/host/binaries", Message: msg}
	}
	scripts := func(string) []imagetest.File {
		return toolFiles("#!/bin/sh\n", "MZ", "#!/bin/sh\n")
	}
	runPlatformsCases(t, hostWindows, []platformsCase{
		{name: "every OS", idx: hostIndex(t, hostMetadata("/darwin/tool", "/windows/tool.exe", "/linux/tool"), scripts)},
		{name: "windows only", idx: hostIndex(t, hostMetadata("", "/windows/tool.exe", ""), scripts)},
		{name: "no host binaries", idx: hostIndex(t, `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}}}`, scripts)},
		{name: "empty host binaries", idx: hostIndex(t, `{"icon": "docker.svg", "host": {"binaries": []}}`, scripts)},
		{
			name: "windows in another entry",
			idx: hostIndex(t, `{"icon": "docker.svg", "host": {"binaries": [{"darwin": [{"path": "/darwin/tool"}]}, {"windows": [{"path": "/windows/tool.exe"}]}]}}`,
				scripts),
		},
		{
			name: "darwin and linux but not windows",
			idx:  hostIndex(t, hostMetadata("/darwin/tool", "", "/linux/tool"), scripts),
			want: []Finding{windows("host binaries are declared for darwin and linux but not for windows")},
		},
		{
			name: "darwin only",
			idx:  hostIndex(t, hostMetadata("/darwin/tool", "", ""), scripts),
			want: []Finding{windows("host binaries are declared for darwin but not for windows")},
		},
		{
			name: "an empty windows list",
			idx:  hostIndex(t, `{"icon": "docker.svg", "host": {"binaries": [{"darwin": [{"path": "/darwin/tool"}], "windows": []}]}}`, scripts),
			want: []Finding{windows("host binaries are declared for darwin but not for windows")},
		},
	})
}

func TestHostBinaryFormat(t *testing.T) {
	t.Parallel()
	bins := pluginBinaries(t)
	std := hostMetadata("/darwin/tool", "/windows/tool.exe", "/linux/tool")
	native := func(arch string) []imagetest.File {
		return toolFiles(bins["darwin/"+arch], bins["windows/"+arch], bins["linux/"+arch])
	}
	format := func(goos, path, pointer, msg string) Finding {
		return Finding{Rule: "host/binary-format", Severity: Error, Path: path, Pointer: pointer,
			Message: fmt.Sprintf("%s host binary %q is %s", goos, path, msg)}
	}
	const winPtr, darwinPtr, linuxPtr = "/host/binaries/0/windows/0/path", "/host/binaries/0/darwin/0/path", "/host/binaries/0/linux/0/path"
	runPlatformsCases(t, hostBinaryFormat, []platformsCase{
		{name: "real binaries for each OS", idx: hostIndex(t, std, native)},
		{
			name: "a universal Mach-O",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(string(imagetest.UniversalMachO(t, []byte(bins["darwin/amd64"]), []byte(bins["darwin/arm64"]))), bins["windows/"+arch], bins["linux/"+arch])
			}),
		},
		{
			name: "scripts for darwin and linux, a batch file for windows",
			idx: hostIndex(t, hostMetadata("/darwin/tool", "/windows/tool.CMD", "/linux/tool"), func(string) []imagetest.File {
				return append(toolFiles("#!/usr/bin/env bash\necho hi\n", "", "#!/bin/sh\necho hi\n"), imagetest.File{Path: "windows/tool.CMD", Body: "@echo off\r\n"})
			}),
		},
		{
			name: "a .exe that is really ELF",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], bins["linux/"+arch], bins["linux/"+arch])
			}),
			want: []Finding{
				{Rule: "host/binary-format", Severity: Error, Platform: "linux/amd64", Path: "/windows/tool.exe", Pointer: winPtr,
					Message: `windows host binary "/windows/tool.exe" is an ELF 64-bit x86-64, not a PE executable`},
				{Rule: "host/binary-format", Severity: Error, Platform: "linux/arm64", Path: "/windows/tool.exe", Pointer: winPtr,
					Message: `windows host binary "/windows/tool.exe" is an ELF 64-bit AArch64, not a PE executable`},
			},
		},
		{
			name: "a darwin binary that is a text file",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles("TODO: build the macOS binary\n", bins["windows/"+arch], bins["linux/"+arch])
			}),
			want: []Finding{format("darwin", "/darwin/tool", darwinPtr, "a text file, not a Mach-O executable or a script")},
		},
		{
			name: "a darwin binary that is ELF, a linux one that is Mach-O",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["linux/amd64"], bins["windows/"+arch], bins["darwin/amd64"])
			}),
			want: []Finding{
				format("darwin", "/darwin/tool", darwinPtr, "an ELF 64-bit x86-64, not a Mach-O executable or a script"),
				format("linux", "/linux/tool", linuxPtr, "a Mach-O 64-bit x86-64, not an ELF executable or a script"),
			},
		},
		{
			name: "a windows binary that is a shell script",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], "#!/bin/sh\necho hi\n", bins["linux/"+arch])
			}),
			want: []Finding{format("windows", "/windows/tool.exe", winPtr, "a script (/bin/sh), not a PE executable")},
		},
		{
			// A file cut short after the ELF magic still is ELF: the
			// rule judges the format, not whether the file is whole.
			name: "empty and binary junk",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles("", "MZ\x00\x01", bins["linux/"+arch][:8])
			}),
			want: []Finding{
				format("darwin", "/darwin/tool", darwinPtr, "an empty file, not a Mach-O executable or a script"),
				format("windows", "/windows/tool.exe", winPtr, "an MS-DOS executable, header truncated, not a PE executable"),
			},
		},
		{
			name: "data",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], "\x00\x01\x02\x03", bins["linux/"+arch])
			}),
			want: []Finding{format("windows", "/windows/tool.exe", winPtr, "data, not a PE executable")},
		},
		{
			name: "a missing binary: metadata/files reports it",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], bins["windows/"+arch], bins["linux/"+arch])[:4]
			}),
		},
		{
			name: "wrong in arm64 only",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				if arch == "arm64" {
					return toolFiles(bins["darwin/arm64"], bins["linux/arm64"], bins["linux/arm64"])
				}
				return native(arch)
			}),
			want: []Finding{{Rule: "host/binary-format", Severity: Error, Platform: "linux/arm64", Path: "/windows/tool.exe", Pointer: winPtr,
				Message: `windows host binary "/windows/tool.exe" is an ELF 64-bit AArch64, not a PE executable`}},
		},
	})
}

func TestHostBinaryArch(t *testing.T) {
	t.Parallel()
	bins := pluginBinaries(t)
	std := hostMetadata("/darwin/tool", "/windows/tool.exe", "/linux/tool")
	native := func(arch string) []imagetest.File {
		return toolFiles(bins["darwin/"+arch], bins["windows/"+arch], bins["linux/"+arch])
	}
	archFinding := func(platform, goos, path, pointer, detail, goarch string) Finding {
		return Finding{Rule: "host/binary-arch", Severity: Warning, Platform: platform, Path: path, Pointer: pointer,
			Message: fmt.Sprintf("%s host binary %q is %s, not built for %s", goos, path, detail, goarch)}
	}
	emulated := func(path, pointer string) Finding {
		return Finding{Rule: "host/binary-arch", Severity: Notice, Platform: "linux/arm64", Path: path, Pointer: pointer,
			Message: fmt.Sprintf("windows host binary %q is a PE32+ x86-64 (console), not built for arm64: Windows 11 on Arm runs it under x64 emulation (Windows 10 on Arm cannot); ship an arm64 build for native speed", path)}
	}
	// both ships every OS's binary for both CPUs, as tool-amd and tool-arm.
	both := `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
		"host": {"binaries": [{"darwin": [{"path": "/darwin/tool-amd"}, {"path": "/darwin/tool-arm"}],
		"windows": [{"path": "/windows/tool-amd.exe"}, {"path": "/windows/tool-arm.exe"}],
		"linux": [{"path": "/linux/tool-amd"}, {"path": "/linux/tool-arm"}]}]}}`
	bothFiles := []imagetest.File{imagetest.Dir("darwin"), imagetest.Dir("windows"), imagetest.Dir("linux")}
	for _, goos := range []string{"darwin", "windows", "linux"} {
		ext := map[string]string{"windows": ".exe"}[goos]
		bothFiles = append(bothFiles,
			imagetest.File{Path: goos + "/tool-amd" + ext, Body: bins[goos+"/amd64"], Mode: 0o755},
			imagetest.File{Path: goos + "/tool-arm" + ext, Body: bins[goos+"/arm64"], Mode: 0o755})
	}
	universal := string(imagetest.UniversalMachO(t, []byte(bins["darwin/amd64"]), []byte(bins["darwin/arm64"])))
	runPlatformsCases(t, hostBinaryArch, []platformsCase{
		{name: "each variant's binaries built for it", idx: hostIndex(t, std, native)},
		{
			name: "a universal Mach-O matches both",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(universal, bins["windows/"+arch], bins["linux/"+arch])
			}),
		},
		{
			name: "a darwin/amd64 binary in the arm64 variant",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/amd64"], bins["windows/"+arch], bins["linux/"+arch])
			}),
			want: []Finding{archFinding("linux/arm64", "darwin", "/darwin/tool", "/host/binaries/0/darwin/0/path", "a Mach-O 64-bit x86-64", "arm64")},
		},
		{
			name: "amd64 binaries everywhere",
			idx:  hostIndex(t, std, func(string) []imagetest.File { return native("amd64") }),
			want: []Finding{
				archFinding("linux/arm64", "darwin", "/darwin/tool", "/host/binaries/0/darwin/0/path", "a Mach-O 64-bit x86-64", "arm64"),
				archFinding("linux/arm64", "linux", "/linux/tool", "/host/binaries/0/linux/0/path", "an ELF 64-bit x86-64", "arm64"),
				emulated("/windows/tool.exe", "/host/binaries/0/windows/0/path"),
			},
		},
		{
			name: "an arm64 exe in the amd64 variant is not emulated",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], bins["windows/arm64"], bins["linux/"+arch])
			}),
			want: []Finding{archFinding("linux/amd64", "windows", "/windows/tool.exe", "/host/binaries/0/windows/0/path", "a PE32+ ARM64 (console)", "amd64")},
		},
		{
			name: "both CPUs of an OS shipped in each variant",
			idx: variantsIndex(t,
				variant{platform: "linux/amd64", layers: layers(hostFiles(both, bothFiles...))},
				variant{platform: "linux/arm64", layers: layers(hostFiles(both, bothFiles...))}),
		},
		{
			name: "both CPUs of darwin, but one CPU of linux",
			idx: variantsIndex(t,
				variant{platform: "linux/amd64", layers: layers(hostFiles(both, bothFiles...))},
				variant{platform: "linux/arm64", layers: layers(hostFiles(both, append(bothFiles[:len(bothFiles)-1:len(bothFiles)-1],
					imagetest.File{Path: "linux/tool-arm", Body: bins["linux/amd64"], Mode: 0o755})...))}),
			want: []Finding{
				archFinding("linux/arm64", "linux", "/linux/tool-amd", "/host/binaries/0/linux/0/path", "an ELF 64-bit x86-64", "arm64"),
				archFinding("linux/arm64", "linux", "/linux/tool-arm", "/host/binaries/0/linux/1/path", "an ELF 64-bit x86-64", "arm64"),
			},
		},
		{
			name: "scripts and unknown formats have no CPU",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles("#!/bin/sh\n", "not a binary", "#!/bin/sh\n")
			}),
		},
		{
			name: "a wrong format is host/binary-format's, a wrong CPU still counts",
			idx: hostIndex(t, std, func(arch string) []imagetest.File {
				return toolFiles(bins["darwin/"+arch], bins["linux/amd64"], bins["linux/"+arch])
			}),
			want: []Finding{archFinding("linux/arm64", "windows", "/windows/tool.exe", "/host/binaries/0/windows/0/path", "an ELF 64-bit x86-64", "arm64")},
		},
		{
			name: "a 32-bit arm variant",
			idx: variantsIndex(t,
				variant{platform: "linux/arm/v7", layers: layers(hostFiles(std, toolFiles(universal, bins["windows/arm64"], bins["linux/arm"])...))}),
			want: []Finding{
				archFinding("linux/arm/v7", "darwin", "/darwin/tool", "/host/binaries/0/darwin/0/path", "a Mach-O universal (x86-64, arm64)", "arm"),
				archFinding("linux/arm/v7", "windows", "/windows/tool.exe", "/host/binaries/0/windows/0/path", "a PE32+ ARM64 (console)", "arm"),
			},
		},
	})
}
