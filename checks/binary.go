package checks

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// BinaryHeaderSize is how many leading bytes of a file IdentifyBinary looks
// at; a caller reads no more than this of each binary it identifies.
const BinaryHeaderSize = 4096

// BinaryFormat is the kind of executable a file is.
type BinaryFormat int

// Binary formats. BinaryUnknown is anything else: text, data, or a file
// whose signature lies beyond the bytes given.
const (
	BinaryUnknown BinaryFormat = iota
	BinaryELF
	BinaryPE
	BinaryMachO
	BinaryScript
)

// String returns the format's usual name: "unknown", "ELF", "PE", "Mach-O"
// or "script".
func (f BinaryFormat) String() string {
	switch f {
	case BinaryUnknown:
		return "unknown"
	case BinaryELF:
		return "ELF"
	case BinaryPE:
		return "PE"
	case BinaryMachO:
		return "Mach-O"
	case BinaryScript:
		return "script"
	}
	return fmt.Sprintf("BinaryFormat(%d)", int(f))
}

// BinaryInfo is what the header of a file says about it.
type BinaryInfo struct {
	// Format is set only when the format's own signature was seen: an
	// MS-DOS "MZ" stub whose PE signature cannot be read is BinaryUnknown.
	Format BinaryFormat
	// Archs are the GOARCH names (amd64, arm64, 386, arm, riscv64,
	// ppc64le, s390x, ...) the binary is built for: one, or one per
	// architecture of a universal Mach-O. It is empty when the CPU has no
	// GOARCH name (32-bit RISC-V, big-endian AArch64, ...) or could not be
	// read. arm carries no variant (v6, v7).
	Archs []string
	// Universal reports a universal ("fat") Mach-O.
	Universal bool
	// Interpreter is, for a script, the program of its "#!" line: the
	// interpreter's path ("/bin/sh"), followed for env by the program env
	// runs ("/usr/bin/env node"). Arguments are left out.
	Interpreter string
	// Truncated reports that the bytes given ended inside a header the
	// identification needed, so Format or Archs may be missing: either the
	// file is cut short or the header lies beyond BinaryHeaderSize.
	Truncated bool
	// Detail describes the file for a person: "ELF 64-bit x86-64",
	// "PE32+ x86-64 (console)", "Mach-O universal (x86-64, arm64)",
	// "script (/bin/sh)", "text file", "data", "empty".
	Detail string
}

// Matches reports whether the binary is built for goarch, a GOARCH name
// (GOARCHOfPlatform gives one for an OCI platform). For arm the variant
// does not count: a GOARM=6 binary matches "arm" as a GOARM=7 one does.
func (b BinaryInfo) Matches(goarch string) bool {
	return goarch != "" && slices.Contains(b.Archs, goarch)
}

// GOARCHOfPlatform returns the GOARCH name of an OCI platform's
// architecture. OCI architectures are GOARCH names already; the aliases
// some image builders write instead (x86_64, aarch64, armhf, i386, ...) are
// mapped as containerd normalises them. The variant (v7, v8) does not
// change the GOARCH: arm/v8 is 32-bit arm, as in containerd.
func GOARCHOfPlatform(arch, variant string) string {
	_ = variant // accepted so a whole platform can be passed; see above
	switch a := strings.ToLower(arch); a {
	case "x86_64", "x86-64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "i386", "i486", "i586", "i686", "x86", "386":
		return "386"
	case "armhf", "armel", "armv6l", "armv7l", "arm":
		return "arm"
	case "ppc64el", "ppc64le":
		return "ppc64le"
	case "loongarch64", "loong64":
		return "loong64"
	default:
		return a
	}
}

// IdentifyBinary identifies an executable from its first bytes: the first
// BinaryHeaderSize bytes of the file, or the whole file when it is shorter
// (more are ignored, so the answer does not depend on how much a caller
// read). It parses the fixed headers of ELF, PE and Mach-O (thin and
// universal) and the "#!" line of scripts itself, never reading past
// header. It never panics; anything it cannot identify is BinaryUnknown,
// described as "text file", "data" or "empty".
func IdentifyBinary(header []byte) BinaryInfo {
	h := header[:min(len(header), BinaryHeaderSize)]
	switch {
	case len(h) == 0:
		return BinaryInfo{Detail: "empty"}
	case len(h) >= 4 && string(h[:4]) == elf.ELFMAG:
		return identifyELF(h)
	case len(h) >= 2 && string(h[:2]) == "MZ":
		return identifyPE(h)
	case len(h) >= 4 && (binary.BigEndian.Uint32(h) == macho.MagicFat || binary.BigEndian.Uint32(h) == machoMagicFat64):
		return identifyFat(h)
	case len(h) >= 4 && isMachOMagic(h):
		return identifyMachO(h)
	case len(h) >= 2 && string(h[:2]) == "#!":
		return identifyScript(h)
	case isText(h):
		return BinaryInfo{Detail: "text file"}
	}
	return BinaryInfo{Detail: "data"}
}

// ELF.

// elfArch is a machine, class and byte order a GOARCH is built as.
type elfArch struct {
	machine      elf.Machine
	bits         int
	littleEndian bool
}

// elfGOARCH is the GOARCH of each machine, class and byte order Go builds
// for; other combinations (x32, aarch64_be, 32-bit RISC-V...) have none.
var elfGOARCH = map[elfArch]string{
	{elf.EM_X86_64, 64, true}:    "amd64",
	{elf.EM_AARCH64, 64, true}:   "arm64",
	{elf.EM_386, 32, true}:       "386",
	{elf.EM_ARM, 32, true}:       "arm",
	{elf.EM_RISCV, 64, true}:     "riscv64",
	{elf.EM_PPC64, 64, true}:     "ppc64le",
	{elf.EM_PPC64, 64, false}:    "ppc64",
	{elf.EM_S390, 64, false}:     "s390x",
	{elf.EM_MIPS, 32, false}:     "mips",
	{elf.EM_MIPS, 32, true}:      "mipsle",
	{elf.EM_MIPS, 64, false}:     "mips64",
	{elf.EM_MIPS, 64, true}:      "mips64le",
	{elf.EM_LOONGARCH, 64, true}: "loong64",
}

var elfMachineName = map[elf.Machine]string{
	elf.EM_X86_64:    "x86-64",
	elf.EM_AARCH64:   "AArch64",
	elf.EM_386:       "Intel 80386",
	elf.EM_ARM:       "ARM",
	elf.EM_RISCV:     "RISC-V",
	elf.EM_PPC64:     "PowerPC64",
	elf.EM_PPC:       "PowerPC",
	elf.EM_S390:      "IBM S/390",
	elf.EM_MIPS:      "MIPS",
	elf.EM_LOONGARCH: "LoongArch",
	elf.EM_SPARCV9:   "SPARC V9",
	elf.EM_IA_64:     "IA-64",
}

// elfBigEndianFirst are the machines whose default byte order is big-endian;
// Detail names the byte order only when it is not the machine's default.
var elfBigEndianFirst = map[elf.Machine]bool{
	elf.EM_PPC64: true, elf.EM_PPC: true, elf.EM_S390: true, elf.EM_MIPS: true, elf.EM_SPARCV9: true,
}

func identifyELF(h []byte) BinaryInfo {
	info := BinaryInfo{Format: BinaryELF}
	// e_ident (16 bytes), e_type (2), e_machine (2): the same in
	// Header32 and Header64.
	const machineEnd = elf.EI_NIDENT + 4
	if len(h) < machineEnd {
		info.Truncated = true
		info.Detail = "ELF, header truncated"
		return info
	}
	var bits int
	switch elf.Class(h[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
		bits = 32
	case elf.ELFCLASS64:
		bits = 64
	default:
		info.Detail = fmt.Sprintf("ELF, invalid class %d", h[elf.EI_CLASS])
		return info
	}
	var order binary.ByteOrder
	switch elf.Data(h[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		order = binary.BigEndian
	default:
		info.Detail = fmt.Sprintf("ELF %d-bit, invalid byte order %d", bits, h[elf.EI_DATA])
		return info
	}
	machine := elf.Machine(order.Uint16(h[elf.EI_NIDENT+2:]))
	little := order == binary.LittleEndian
	if goarch := elfGOARCH[elfArch{machine, bits, little}]; goarch != "" {
		info.Archs = []string{goarch}
	}
	name, ok := elfMachineName[machine]
	if !ok {
		name = fmt.Sprintf("machine %d", uint16(machine))
		if s := machine.String(); strings.HasPrefix(s, "EM_") {
			name = strings.TrimPrefix(s, "EM_")
		}
	}
	switch {
	case little && elfBigEndianFirst[machine]:
		name += " little-endian"
	case !little && !elfBigEndianFirst[machine]:
		name += " big-endian"
	}
	info.Detail = fmt.Sprintf("ELF %d-bit %s", bits, name)
	return info
}

// PE.

var peMachines = map[uint16]struct{ name, goarch string }{
	pe.IMAGE_FILE_MACHINE_AMD64:       {"x86-64", "amd64"},
	pe.IMAGE_FILE_MACHINE_ARM64:       {"ARM64", "arm64"},
	pe.IMAGE_FILE_MACHINE_I386:        {"Intel 386", "386"},
	pe.IMAGE_FILE_MACHINE_ARMNT:       {"ARM Thumb-2", "arm"},
	pe.IMAGE_FILE_MACHINE_RISCV64:     {"RISC-V 64-bit", "riscv64"},
	pe.IMAGE_FILE_MACHINE_LOONGARCH64: {"LoongArch64", "loong64"},
	pe.IMAGE_FILE_MACHINE_ARM:         {"ARM", ""},
	pe.IMAGE_FILE_MACHINE_THUMB:       {"Thumb", ""},
	pe.IMAGE_FILE_MACHINE_IA64:        {"IA-64", ""},
	pe.IMAGE_FILE_MACHINE_EBC:         {"EFI byte code", ""},
}

var peSubsystems = map[uint16]string{
	pe.IMAGE_SUBSYSTEM_NATIVE:                   "native",
	pe.IMAGE_SUBSYSTEM_WINDOWS_GUI:              "GUI",
	pe.IMAGE_SUBSYSTEM_WINDOWS_CUI:              "console",
	pe.IMAGE_SUBSYSTEM_POSIX_CUI:                "POSIX console",
	pe.IMAGE_SUBSYSTEM_WINDOWS_CE_GUI:           "Windows CE GUI",
	pe.IMAGE_SUBSYSTEM_EFI_APPLICATION:          "EFI application",
	pe.IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER:  "EFI boot service driver",
	pe.IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER:       "EFI runtime driver",
	pe.IMAGE_SUBSYSTEM_EFI_ROM:                  "EFI ROM",
	pe.IMAGE_SUBSYSTEM_XBOX:                     "Xbox",
	pe.IMAGE_SUBSYSTEM_WINDOWS_BOOT_APPLICATION: "boot application",
}

const (
	peLfanewOffset     = 0x3c // e_lfanew in the MS-DOS header
	peFileHeaderSize   = 20   // binary.Size(pe.FileHeader{})
	peSubsystemOffset  = 68   // in both the PE32 and PE32+ optional header
	peOptionalMagic32  = 0x10b
	peOptionalMagic64  = 0x20b
	peSignature        = "PE\x00\x00"
	peSignatureSize    = len(peSignature)
	peOptionalMinBytes = 2 // Magic
)

func identifyPE(h []byte) BinaryInfo {
	var info BinaryInfo
	if len(h) < peLfanewOffset+4 {
		info.Truncated = true
		info.Detail = "MS-DOS executable, header truncated"
		return info
	}
	// Offsets are uint64 so that a hostile e_lfanew cannot overflow.
	lfanew := uint64(binary.LittleEndian.Uint32(h[peLfanewOffset:]))
	n := uint64(len(h))
	if lfanew+uint64(peSignatureSize) > n {
		info.Truncated = true
		info.Detail = fmt.Sprintf("MS-DOS executable, PE header at %#x beyond the %d bytes given", lfanew, n)
		return info
	}
	if string(h[lfanew:lfanew+uint64(peSignatureSize)]) != peSignature {
		info.Detail = "MS-DOS executable"
		return info
	}
	info.Format = BinaryPE
	var fh pe.FileHeader
	fhOff := lfanew + uint64(peSignatureSize)
	if _, err := binary.Decode(h[fhOff:], binary.LittleEndian, &fh); err != nil {
		info.Truncated = true
		info.Detail = "PE, file header truncated"
		return info
	}
	m, ok := peMachines[fh.Machine]
	if !ok {
		m.name = fmt.Sprintf("machine %#x", fh.Machine)
	}
	if m.goarch != "" {
		info.Archs = []string{m.goarch}
	}

	kind := "PE"
	var subsystem string
	optOff := fhOff + peFileHeaderSize
	optSize := uint64(fh.SizeOfOptionalHeader)
	if optSize >= peOptionalMinBytes {
		if optOff+peOptionalMinBytes > n {
			info.Truncated = true
		} else {
			switch binary.LittleEndian.Uint16(h[optOff:]) {
			case peOptionalMagic32:
				kind = "PE32"
			case peOptionalMagic64:
				kind = "PE32+"
			}
		}
	}
	if optSize >= peSubsystemOffset+2 {
		if off := optOff + peSubsystemOffset; off+2 > n {
			info.Truncated = true
		} else if v := binary.LittleEndian.Uint16(h[off:]); v != pe.IMAGE_SUBSYSTEM_UNKNOWN {
			subsystem = peSubsystems[v]
			if subsystem == "" {
				subsystem = fmt.Sprintf("subsystem %d", v)
			}
		}
	}
	info.Detail = kind + " " + m.name
	if subsystem != "" {
		info.Detail += " (" + subsystem + ")"
	}
	if fh.Characteristics&pe.IMAGE_FILE_DLL != 0 {
		info.Detail += " (DLL)"
	}
	if info.Truncated {
		info.Detail += ", header truncated"
	}
	return info
}

// Mach-O.

const (
	// machoMagicFat64 is FAT_MAGIC_64: a universal header whose fat_arch
	// entries have 64-bit offsets and sizes. debug/macho has no name for it.
	machoMagicFat64 = 0xcafebabf
	// machoMaxFatArchs bounds nfat_arch. A universal header and a Java
	// class file both start with 0xcafebabe; where a universal header has
	// its (small) architecture count a class file has its minor and major
	// version, and the major version is 45 or more. lipo writes a handful
	// of architectures; the file(1) magic uses the same bound.
	machoMaxFatArchs = 20
	// machoCPUArm64_32 is CPU_TYPE_ARM64_32 (watchOS), which debug/macho
	// does not name.
	machoCPUArm64_32 = macho.CpuArm | 0x02000000
	// machoSubtypeMask masks the capability bits out of a cpusubtype.
	machoSubtypeMask = 0x00ffffff
)

func isMachOMagic(h []byte) bool {
	le, be := binary.LittleEndian.Uint32(h), binary.BigEndian.Uint32(h)
	return le == macho.Magic32 || le == macho.Magic64 || be == macho.Magic32 || be == macho.Magic64
}

// machoCPU names a Mach-O cputype/cpusubtype as Apple's tools do and
// gives its GOARCH, "" when there is none.
func machoCPU(cpu macho.Cpu, sub uint32) (name, goarch string) {
	sub &= machoSubtypeMask
	switch cpu {
	case macho.CpuAmd64:
		if sub == 8 { // CPU_SUBTYPE_X86_64_H
			return "x86-64h", "amd64"
		}
		return "x86-64", "amd64"
	case macho.CpuArm64:
		if sub == 2 { // CPU_SUBTYPE_ARM64E
			return "arm64e", "arm64"
		}
		return "arm64", "arm64"
	case macho.Cpu386:
		return "i386", "386"
	case macho.CpuArm:
		switch sub {
		case 6:
			return "armv6", "arm"
		case 9:
			return "armv7", "arm"
		case 11:
			return "armv7s", "arm"
		case 12:
			return "armv7k", "arm"
		}
		return "arm", "arm"
	case macho.CpuPpc64:
		return "ppc64", "ppc64"
	case macho.CpuPpc:
		return "ppc", ""
	case machoCPUArm64_32:
		return "arm64_32", ""
	}
	return fmt.Sprintf("cpu %#x", uint32(cpu)), ""
}

func identifyMachO(h []byte) BinaryInfo {
	info := BinaryInfo{Format: BinaryMachO}
	var order binary.ByteOrder = binary.LittleEndian
	if m := binary.BigEndian.Uint32(h); m == macho.Magic32 || m == macho.Magic64 {
		order = binary.BigEndian
	}
	bits := 32
	if order.Uint32(h) == macho.Magic64 {
		bits = 64
	}
	// magic, cputype, cpusubtype: the same in FileHeader of both sizes.
	if len(h) < 12 {
		info.Truncated = true
		info.Detail = "Mach-O, header truncated"
		return info
	}
	name, goarch := machoCPU(macho.Cpu(order.Uint32(h[4:])), order.Uint32(h[8:]))
	if goarch != "" {
		info.Archs = []string{goarch}
	}
	info.Detail = fmt.Sprintf("Mach-O %d-bit %s", bits, name)
	return info
}

// identifyFat reads a universal header: the big-endian fat_header and its
// fat_arch (or fat_arch_64) entries, straight from h. The thin binaries
// they point to lie beyond BinaryHeaderSize and are not looked at.
func identifyFat(h []byte) BinaryInfo {
	magic := binary.BigEndian.Uint32(h)
	if len(h) < 8 {
		return BinaryInfo{Truncated: true, Detail: "Mach-O universal or Java class file, header truncated"}
	}
	count := binary.BigEndian.Uint32(h[4:])
	if count >= machoMaxFatArchs {
		if major, minor := count&0xffff, count>>16; magic == macho.MagicFat && major >= 45 {
			return BinaryInfo{Detail: fmt.Sprintf("Java class file (version %d.%d)", major, minor)}
		}
		return BinaryInfo{Detail: "data"}
	}
	info := BinaryInfo{Format: BinaryMachO, Universal: true}
	entrySize := 20 // cputype, cpusubtype, offset, size, align
	if magic == machoMagicFat64 {
		entrySize = 32 // cputype, cpusubtype, offset64, size64, align, reserved
	}
	var names []string
	for i := range int(count) {
		off := 8 + i*entrySize
		if off+8 > len(h) {
			info.Truncated = true
			break
		}
		name, goarch := machoCPU(macho.Cpu(binary.BigEndian.Uint32(h[off:])), binary.BigEndian.Uint32(h[off+4:]))
		names = append(names, name)
		if goarch != "" && !slices.Contains(info.Archs, goarch) {
			info.Archs = append(info.Archs, goarch)
		}
	}
	switch {
	case len(names) > 0:
		info.Detail = "Mach-O universal (" + strings.Join(names, ", ") + ")"
	case count == 0:
		info.Detail = "Mach-O universal, no architectures"
	default:
		info.Detail = "Mach-O universal"
	}
	if info.Truncated {
		info.Detail += ", header truncated"
	}
	return info
}

// Scripts and text.

// identifyScript reads the "#!" line as Linux and macOS do: the
// interpreter is its first word; spaces and tabs separate words.
func identifyScript(h []byte) BinaryInfo {
	info := BinaryInfo{Format: BinaryScript}
	line, _, found := strings.Cut(string(h[2:]), "\n")
	if !found && len(h) == BinaryHeaderSize {
		info.Truncated = true
	}
	crlf := strings.HasSuffix(line, "\r")
	line = strings.ToValidUTF8(strings.TrimSuffix(line, "\r"), "\uFFFD")
	words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		info.Detail = "script without interpreter"
		return info
	}
	info.Interpreter = words[0]
	if path.Base(words[0]) == "env" {
		if prog := envProgram(words[1:]); prog != "" {
			info.Interpreter += " " + prog
		}
	}
	info.Detail = "script (" + info.Interpreter + ")"
	if crlf {
		// Linux then looks for an interpreter whose name ends in "\r".
		info.Detail += ", CRLF line terminator"
	}
	if info.Truncated {
		info.Detail += ", line truncated"
	}
	return info
}

// envProgram returns the program an env(1) command line runs: the first
// word that is neither an option nor a NAME=value assignment.
func envProgram(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-u" || a == "-C" || a == "--unset" || a == "--chdir":
			i++ // takes the next word as its value
		case strings.HasPrefix(a, "-"), strings.Contains(a, "="):
		default:
			return a
		}
	}
	return ""
}

// isText reports whether h looks like text: valid UTF-8 (an incomplete rune
// at the very end is allowed, the file having been cut there) without
// control characters other than the usual whitespace, backspace and escape.
func isText(h []byte) bool {
	for len(h) > 0 {
		r, size := utf8.DecodeRune(h)
		if r == utf8.RuneError && size == 1 {
			return !utf8.FullRune(h)
		}
		if r < 0x20 && !strings.ContainsRune("\t\n\r\f\v\b\x1b", r) || r == 0x7f {
			return false
		}
		h = h[size:]
	}
	return true
}
