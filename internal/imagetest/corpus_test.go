package imagetest

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

const corpusDir = "../../../shared/corpus"

// flatten returns the regular files of img's merged filesystem.
func flatten(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = b
		}
	}
}

// variant returns idx's image for linux/arch.
func variant(t *testing.T, idx v1.ImageIndex, arch string) v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no linux/%s image in the index", arch)
	return nil
}

func TestCorpusIndex(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(corpusDir, "docker__extensions-sdk__plugin-era__tailscale")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the corpus folder is not there (%v)", err)
	}
	idx := CorpusIndex(t, dir)
	for _, tc := range []struct {
		arch    string
		machine elf.Machine
		macho   macho.Cpu
		pe      uint16
	}{
		{"amd64", elf.EM_X86_64, macho.CpuAmd64, pe.IMAGE_FILE_MACHINE_AMD64},
		{"arm64", elf.EM_AARCH64, macho.CpuArm64, pe.IMAGE_FILE_MACHINE_ARM64},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			t.Parallel()
			img := variant(t, idx, tc.arch)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got := cf.Config.Labels["org.opencontainers.image.authors"]; got != "Tailscale Inc." {
				t.Errorf("authors label = %q, want the Dockerfile's", got)
			}
			wantCmd := []string{"/bin/sh", "-c", "/app/tailscaled --state=tailscaled.state --tun=userspace-networking"}
			if diff := cmp.Diff(wantCmd, cf.Config.Cmd); diff != "" {
				t.Errorf("Cmd mismatch (-want +got):\n%s", diff)
			}
			files := flatten(t, img)
			meta, _ := os.ReadFile(filepath.Join(dir, "metadata.json"))
			if !bytes.Equal(files["metadata.json"], meta) {
				t.Errorf("/metadata.json is not the folder's")
			}
			for _, p := range []string{"bin/sh", "app/tailscaled"} {
				f, err := elf.NewFile(bytes.NewReader(files[p]))
				if err != nil || f.Machine != tc.machine {
					t.Errorf("/%s: not an ELF for %s (%v)", p, tc.arch, err)
				}
			}
			if f, err := macho.NewFile(bytes.NewReader(files["darwin/hostname"])); err != nil || f.Cpu != tc.macho {
				t.Errorf("/darwin/hostname: not a Mach-O for %s (%v)", tc.arch, err)
			}
			if !bytes.HasPrefix(files["windows/hostname.cmd"], []byte("@echo off")) {
				t.Errorf("/windows/hostname.cmd = %q, want a script", files["windows/hostname.cmd"])
			}
			for _, p := range []string{"tailscale.svg", "ui/index.html"} {
				if len(files[p]) == 0 {
					t.Errorf("/%s missing", p)
				}
			}
		})
	}
}

func TestCorpusIndexWindowsBinary(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(corpusDir, "docker__extensions-sdk__plugin-era__telepresence")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the corpus folder is not there (%v)", err)
	}
	files := flatten(t, variant(t, CorpusIndex(t, dir), "arm64"))
	f, err := pe.NewFile(bytes.NewReader(files["windows/kubectl.exe"]))
	if err != nil || f.Machine != pe.IMAGE_FILE_MACHINE_ARM64 {
		t.Errorf("/windows/kubectl.exe: not a PE for arm64 (%v)", err)
	}
	if _, ok := files["windows"]; ok {
		t.Errorf("/windows is a file; it is the directory of kubectl.exe")
	}
}
