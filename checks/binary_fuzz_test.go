package checks

import (
	"debug/macho"
	"slices"
	"testing"
)

// knownGOARCH are the architectures of `go tool dist list`.
var knownGOARCH = []string{
	"386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le",
	"ppc64", "ppc64le", "riscv64", "s390x", "wasm",
}

func FuzzIdentifyBinary(f *testing.F) {
	// Hand-made headers of every format, whole and cut short, so that the
	// seeds need no compiler (the fuzzing workers run them on start).
	seeds := [][]byte{
		nil,
		[]byte("#!/bin/sh\n"),
		[]byte("#!/usr/bin/env -u X node\r\n"),
		[]byte("plain text\n"),
		elfHeader(elf64, lsb, 62),
		elfHeader(elf32, msb, 8),
		elfHeader(elf64, msb, 22)[:17],
		[]byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00"),
		[]byte("\xfe\xed\xfa\xce\x00\x00\x00\x12"),
		fatHeader(fatArch{macho.CpuAmd64, 3}, fatArch{macho.CpuArm64, 0}),
		fatHeader(fatArch{macho.CpuAmd64, 3}, fatArch{macho.CpuArm64, 0})[:30],
		[]byte("\xca\xfe\xba\xbf\x00\x00\x00\x01\x01\x00\x00\x0c\x00\x00\x00\x00"),
		[]byte("\xca\xfe\xba\xbe\x00\x00\x00\x41"),
		peHeader(0x8664, 0x20b, 3),
		peHeader(0x14c, 0x10b, 2)[:0x80],
		[]byte("MZ"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := IdentifyBinary(data)
		for _, a := range got.Archs {
			if !slices.Contains(knownGOARCH, a) {
				t.Errorf("IdentifyBinary() Archs = %q, %q is not a GOARCH", got.Archs, a)
			}
		}
		if len(got.Archs) > 0 && got.Format != BinaryELF && got.Format != BinaryPE && got.Format != BinaryMachO {
			t.Errorf("IdentifyBinary() = %+v: architectures for a %v", got, got.Format)
		}
		if got.Universal && got.Format != BinaryMachO {
			t.Errorf("IdentifyBinary() = %+v: universal but not Mach-O", got)
		}
		if got.Interpreter != "" && got.Format != BinaryScript {
			t.Errorf("IdentifyBinary() = %+v: interpreter but not a script", got)
		}
		if got.Detail == "" {
			t.Errorf("IdentifyBinary() = %+v: no detail", got)
		}
	})
}

// peHeader is an MS-DOS stub whose e_lfanew points at 0x80, a PE signature
// and file header for machine, and an optional header with magic and
// subsystem.
func peHeader(machine, magic, subsystem uint16) []byte {
	h := make([]byte, 0x80+4+20+96)
	copy(h, "MZ")
	h[0x3c] = 0x80
	copy(h[0x80:], "PE\x00\x00")
	fh := h[0x84:]
	fh[0], fh[1] = byte(machine), byte(machine>>8)
	fh[16] = 96 // SizeOfOptionalHeader
	opt := h[0x84+20:]
	opt[0], opt[1] = byte(magic), byte(magic>>8)
	opt[68], opt[69] = byte(subsystem), byte(subsystem>>8)
	return h
}
