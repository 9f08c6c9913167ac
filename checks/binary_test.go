package checks

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
)

// binaryTargets are the GOOS/GOARCH pairs compiled for the format tests.
var binaryTargets = []string{
	"linux/amd64", "linux/arm64", "linux/386", "linux/arm", "linux/riscv64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64", "windows/386",
}

// testBinaries returns the real binaries of binaryTargets, keyed by target.
// imagetest compiles each once per test process, two at a time, and hands
// every later caller the cached bytes.
func testBinaries(t *testing.T) map[string][]byte {
	t.Helper()
	start := time.Now()
	bins := imagetest.GoBinaries(t, binaryTargets...)
	t.Logf("%d binaries ready in %v", len(bins), time.Since(start).Round(time.Millisecond))
	return bins
}

// head is what the tool reads of a binary.
func head(b []byte) []byte { return b[:min(len(b), BinaryHeaderSize)] }

func TestIdentifyBinary(t *testing.T) {
	t.Parallel()
	bins := testBinaries(t)
	universal := imagetest.UniversalMachO(t, bins["darwin/amd64"], bins["darwin/arm64"])
	win := bins["windows/amd64"]
	lfanew := binary.LittleEndian.Uint32(win[0x3c:])
	if lfanew <= 64 {
		t.Fatalf("e_lfanew of the windows/amd64 binary = %#x, want beyond 64 for the truncation cases", lfanew)
	}
	random := make([]byte, BinaryHeaderSize)
	rng := rand.NewChaCha8([32]byte{'b', 'i', 'n'})
	_, _ = rng.Read(random)

	tests := []struct {
		name string
		data []byte // only head(data) is identified
		want BinaryInfo
	}{
		{"linux/amd64", bins["linux/amd64"], BinaryInfo{Format: BinaryELF, Archs: []string{"amd64"}, Detail: "ELF 64-bit x86-64"}},
		{"linux/arm64", bins["linux/arm64"], BinaryInfo{Format: BinaryELF, Archs: []string{"arm64"}, Detail: "ELF 64-bit AArch64"}},
		{"linux/386", bins["linux/386"], BinaryInfo{Format: BinaryELF, Archs: []string{"386"}, Detail: "ELF 32-bit Intel 80386"}},
		{"linux/arm", bins["linux/arm"], BinaryInfo{Format: BinaryELF, Archs: []string{"arm"}, Detail: "ELF 32-bit ARM"}},
		{"linux/riscv64", bins["linux/riscv64"], BinaryInfo{Format: BinaryELF, Archs: []string{"riscv64"}, Detail: "ELF 64-bit RISC-V"}},
		{"darwin/amd64", bins["darwin/amd64"], BinaryInfo{Format: BinaryMachO, Archs: []string{"amd64"}, Detail: "Mach-O 64-bit x86-64"}},
		{"darwin/arm64", bins["darwin/arm64"], BinaryInfo{Format: BinaryMachO, Archs: []string{"arm64"}, Detail: "Mach-O 64-bit arm64"}},
		{"windows/amd64", bins["windows/amd64"], BinaryInfo{Format: BinaryPE, Archs: []string{"amd64"}, Detail: "PE32+ x86-64 (console)"}},
		{"windows/arm64", bins["windows/arm64"], BinaryInfo{Format: BinaryPE, Archs: []string{"arm64"}, Detail: "PE32+ ARM64 (console)"}},
		{"windows/386", bins["windows/386"], BinaryInfo{Format: BinaryPE, Archs: []string{"386"}, Detail: "PE32 Intel 386 (console)"}},
		{"universal darwin", universal, BinaryInfo{Format: BinaryMachO, Archs: []string{"amd64", "arm64"}, Universal: true, Detail: "Mach-O universal (x86-64, arm64)"}},
		{
			// The name does not count, only the bytes.
			name: "exe that is really ELF",
			data: bins["linux/amd64"],
			want: BinaryInfo{Format: BinaryELF, Archs: []string{"amd64"}, Detail: "ELF 64-bit x86-64"},
		},
		{"shell script", []byte("#!/bin/sh\nset -e\nexec \"$@\"\n"), BinaryInfo{Format: BinaryScript, Interpreter: "/bin/sh", Detail: "script (/bin/sh)"}},
		{"shebang with argument and space", []byte("#! /bin/bash -eu\necho hi\n"), BinaryInfo{Format: BinaryScript, Interpreter: "/bin/bash", Detail: "script (/bin/bash)"}},
		{"env node", []byte("#!/usr/bin/env node\nconsole.log('hi')\n"), BinaryInfo{Format: BinaryScript, Interpreter: "/usr/bin/env node", Detail: "script (/usr/bin/env node)"}},
		{"env -S with options", []byte("#!/usr/bin/env -S -u HOME LANG=C deno run\n"), BinaryInfo{Format: BinaryScript, Interpreter: "/usr/bin/env deno", Detail: "script (/usr/bin/env deno)"}},
		{"shebang without newline", []byte("#!/bin/sh"), BinaryInfo{Format: BinaryScript, Interpreter: "/bin/sh", Detail: "script (/bin/sh)"}},
		{"CRLF shebang", []byte("#!/bin/sh\r\necho hi\r\n"), BinaryInfo{Format: BinaryScript, Interpreter: "/bin/sh", Detail: "script (/bin/sh), CRLF line terminator"}},
		{"empty shebang", []byte("#!\n"), BinaryInfo{Format: BinaryScript, Detail: "script without interpreter"}},
		{"shebang line longer than the header", append([]byte("#!/bin/"), bytes.Repeat([]byte("x"), BinaryHeaderSize)...), BinaryInfo{Format: BinaryScript, Interpreter: "/bin/" + string(bytes.Repeat([]byte("x"), BinaryHeaderSize-7)), Truncated: true, Detail: "script (/bin/" + string(bytes.Repeat([]byte("x"), BinaryHeaderSize-7)) + "), line truncated"}},
		{"text file", []byte("This is the darwin tool.\nReally.\n"), BinaryInfo{Detail: "text file"}},
		{"text cut inside a rune", []byte("caf\xc3"), BinaryInfo{Detail: "text file"}},
		{"BOM before shebang is not a script", []byte("\ufeff#!/bin/sh\n"), BinaryInfo{Detail: "text file"}},
		{"empty file", nil, BinaryInfo{Detail: "empty"}},
		{"random bytes", random, BinaryInfo{Detail: "data"}},
		{
			// e_lfanew points past the bytes given: without the PE signature
			// this is only an MS-DOS stub, so the format is not claimed.
			name: "PE truncated before the PE header",
			data: win[:64],
			want: BinaryInfo{Truncated: true, Detail: fmt.Sprintf("MS-DOS executable, PE header at %#x beyond the 64 bytes given", lfanew)},
		},
		{"PE truncated before e_lfanew", win[:0x3c], BinaryInfo{Truncated: true, Detail: "MS-DOS executable, header truncated"}},
		{"PE truncated in the file header", win[:lfanew+4+10], BinaryInfo{Format: BinaryPE, Truncated: true, Detail: "PE, file header truncated"}},
		{"PE truncated in the optional header", win[:lfanew+4+20+2], BinaryInfo{Format: BinaryPE, Archs: []string{"amd64"}, Truncated: true, Detail: "PE32+ x86-64, header truncated"}},
		{"MS-DOS stub without PE", append(bytes.Clone(win[:lfanew]), "NE\x00\x00"...), BinaryInfo{Detail: "MS-DOS executable"}},
		{"ELF truncated", bins["linux/arm64"][:16], BinaryInfo{Format: BinaryELF, Truncated: true, Detail: "ELF, header truncated"}},
		{"Mach-O truncated", bins["darwin/arm64"][:6], BinaryInfo{Format: BinaryMachO, Truncated: true, Detail: "Mach-O, header truncated"}},
		{"universal truncated", universal[:8+20+6], BinaryInfo{Format: BinaryMachO, Archs: []string{"amd64"}, Universal: true, Truncated: true, Detail: "Mach-O universal (x86-64), header truncated"}},
		{"Java class file", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x41\x00\x1d"), BinaryInfo{Detail: "Java class file (version 65.0)"}},
		{"ELF big-endian s390x", elfHeader(elf64, msb, 22), BinaryInfo{Format: BinaryELF, Archs: []string{"s390x"}, Detail: "ELF 64-bit IBM S/390"}},
		{"ELF ppc64le", elfHeader(elf64, lsb, 21), BinaryInfo{Format: BinaryELF, Archs: []string{"ppc64le"}, Detail: "ELF 64-bit PowerPC64 little-endian"}},
		{"ELF aarch64_be has no GOARCH", elfHeader(elf64, msb, 183), BinaryInfo{Format: BinaryELF, Detail: "ELF 64-bit AArch64 big-endian"}},
		{"ELF 32-bit RISC-V has no GOARCH", elfHeader(elf32, lsb, 243), BinaryInfo{Format: BinaryELF, Detail: "ELF 32-bit RISC-V"}},
		{"ELF invalid byte order", elfHeader(elf64, 7, 62), BinaryInfo{Format: BinaryELF, Detail: "ELF 64-bit, invalid byte order 7"}},
		{"Mach-O big-endian ppc", []byte("\xfe\xed\xfa\xce\x00\x00\x00\x12\x00\x00\x00\x00"), BinaryInfo{Format: BinaryMachO, Detail: "Mach-O 32-bit ppc"}},
		{"universal with x86_64h and arm64e", fatHeader(fatArch{macho.CpuAmd64, 3}, fatArch{macho.CpuAmd64, 8}, fatArch{macho.CpuArm64, 2}), BinaryInfo{Format: BinaryMachO, Archs: []string{"amd64", "arm64"}, Universal: true, Detail: "Mach-O universal (x86-64, x86-64h, arm64e)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := IdentifyBinary(head(tt.data))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("IdentifyBinary() mismatch (-want +got):\n%s", diff)
			}
			// Bytes beyond BinaryHeaderSize are ignored.
			if whole := IdentifyBinary(tt.data); !cmp.Equal(whole, got) {
				t.Errorf("IdentifyBinary(whole file) = %+v, want the same as for its header, %+v", whole, got)
			}
		})
	}
}

// TestBinaryUniversalMachOIsValid checks the helper against debug/macho's
// own reader, on the whole file.
func TestBinaryUniversalMachOIsValid(t *testing.T) {
	t.Parallel()
	bins := testBinaries(t)
	fat, err := macho.NewFatFile(bytes.NewReader(imagetest.UniversalMachO(t, bins["darwin/amd64"], bins["darwin/arm64"])))
	if err != nil {
		t.Fatalf("NewFatFile() error = %v", err)
	}
	defer fat.Close()
	var got []string
	for _, a := range fat.Arches {
		got = append(got, a.Cpu.String())
		if a.Offset%(1<<14) != 0 {
			t.Errorf("arch %v at offset %#x, want a multiple of 2^14", a.Cpu, a.Offset)
		}
	}
	if diff := cmp.Diff([]string{"CpuAmd64", "CpuArm64"}, got); diff != "" {
		t.Errorf("Arches mismatch (-want +got):\n%s", diff)
	}
}

func TestBinaryInfoMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		info   BinaryInfo
		goarch string
		want   bool
	}{
		{"same", BinaryInfo{Archs: []string{"amd64"}}, "amd64", true},
		{"other", BinaryInfo{Archs: []string{"amd64"}}, "arm64", false},
		{"universal", BinaryInfo{Archs: []string{"amd64", "arm64"}, Universal: true}, "arm64", true},
		{"arm of any variant", BinaryInfo{Archs: []string{"arm"}}, GOARCHOfPlatform("arm", "v6"), true},
		{"no archs", BinaryInfo{Format: BinaryScript}, "amd64", false},
		{"empty goarch", BinaryInfo{Archs: []string{"amd64"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.info.Matches(tt.goarch); got != tt.want {
				t.Errorf("Matches(%q) = %v, want %v", tt.goarch, got, tt.want)
			}
		})
	}
}

func TestBinaryGOARCHOfPlatform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, arch, variant, want string
	}{
		{"amd64", "amd64", "", "amd64"},
		{"arm64 v8", "arm64", "v8", "arm64"},
		{"arm v7", "arm", "v7", "arm"},
		{"arm v6", "arm", "v6", "arm"},
		{"arm v8 stays 32-bit", "arm", "v8", "arm"},
		{"386", "386", "", "386"},
		{"riscv64", "riscv64", "", "riscv64"},
		{"ppc64le", "ppc64le", "", "ppc64le"},
		{"s390x", "s390x", "", "s390x"},
		{"x86_64 alias", "x86_64", "", "amd64"},
		{"aarch64 alias", "aarch64", "", "arm64"},
		{"armhf alias", "armhf", "", "arm"},
		{"i386 alias", "i386", "", "386"},
		{"upper case", "AMD64", "", "amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := GOARCHOfPlatform(tt.arch, tt.variant); got != tt.want {
				t.Errorf("GOARCHOfPlatform(%q, %q) = %q, want %q", tt.arch, tt.variant, got, tt.want)
			}
		})
	}
}

func TestBinaryFormatString(t *testing.T) {
	t.Parallel()
	want := map[BinaryFormat]string{
		BinaryUnknown: "unknown", BinaryELF: "ELF", BinaryPE: "PE", BinaryMachO: "Mach-O", BinaryScript: "script",
		BinaryFormat(99): "BinaryFormat(99)",
	}
	for f, w := range want {
		if got := f.String(); got != w {
			t.Errorf("BinaryFormat(%d).String() = %q, want %q", int(f), got, w)
		}
	}
}

const (
	elf32, elf64 = 1, 2 // EI_CLASS
	lsb, msb     = 1, 2 // EI_DATA
)

// elfHeader is the first 20 bytes of an ELF file, up to e_machine, for the
// machines and byte orders no test binary is compiled for.
func elfHeader(class, data byte, machine uint16) []byte {
	h := []byte{0x7f, 'E', 'L', 'F', class, data, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0}
	if data == msb {
		binary.BigEndian.PutUint16(h[18:], machine)
	} else {
		binary.LittleEndian.PutUint16(h[18:], machine)
	}
	return h
}

// fatArch is one architecture of fatHeader.
type fatArch struct {
	cpu macho.Cpu
	sub uint32
}

// fatHeader is a universal header with one fat_arch per architecture, for
// subtypes no test binary has.
func fatHeader(archs ...fatArch) []byte {
	h := binary.BigEndian.AppendUint32(nil, macho.MagicFat)
	h = binary.BigEndian.AppendUint32(h, uint32(len(archs)))
	for i, a := range archs {
		h = binary.BigEndian.AppendUint32(h, uint32(a.cpu))
		h = binary.BigEndian.AppendUint32(h, a.sub)
		h = binary.BigEndian.AppendUint32(h, uint32(i+1)<<14) // offset
		h = binary.BigEndian.AppendUint32(h, 1<<14)           // size
		h = binary.BigEndian.AppendUint32(h, 14)              // align
	}
	return h
}
