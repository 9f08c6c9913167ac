package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTarArchive indexes arbitrary bytes as an archive (oci-archive:,
// docker-archive:) and looks members up: no panic, no endless symlink
// chase, and a member found is a regular member's content, in the file.
func FuzzTarArchive(f *testing.F) {
	seed := func(members ...*tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range members {
			if h.Typeflag == tar.TypeReg {
				h.Size = 2
			}
			tw.WriteHeader(h)
			if h.Typeflag == tar.TypeReg {
				tw.Write([]byte("{}"))
			}
		}
		tw.Close()
		return buf.Bytes()
	}
	f.Add(seed(&tar.Header{Name: "index.json", Typeflag: tar.TypeReg}))
	f.Add(seed(&tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: "a"},
		&tar.Header{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "index.json"}))
	f.Add(seed(&tar.Header{Name: "x", Typeflag: tar.TypeReg},
		&tar.Header{Name: "blobs/sha256/y", Typeflag: tar.TypeLink, Linkname: "x"},
		&tar.Header{Name: "manifest.json", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"},
		&tar.Header{Name: "d", Typeflag: tar.TypeDir},
		&tar.Header{Name: "p", Typeflag: tar.TypeFifo}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "archive.tar")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ta, err := openTarArchive(context.Background(), file)
		if err != nil {
			return
		}
		defer ta.Close()
		for _, name := range []string{"index.json", "manifest.json", "a", "x", "blobs/sha256/y", "d", "p", "../x", "/x"} {
			fl, err := ta.Open(name)
			if err != nil {
				var nr *notRegularError
				if !errors.Is(err, fs.ErrNotExist) && !errors.As(err, &nr) && err.Error() == "" {
					t.Errorf("Open(%q): empty error", name)
				}
				continue
			}
			n, err := io.Copy(io.Discard, fl.(io.Reader))
			if err != nil || n > int64(len(data)) {
				t.Errorf("reading member %q: %d bytes, %v; the archive has %d", name, n, err, len(data))
			}
		}
	})
}
