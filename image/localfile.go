package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"
)

// openRegular opens a host file for reading if it is a regular file. A
// named pipe, device or socket is refused: reading one blocks, or never
// ends, whatever the run's deadline. The file is opened without blocking
// (O_NONBLOCK, where the system has it) and checked once open, so a file
// swapped for a pipe after a check is caught too.
func openRegular(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	if err := checkRegular(f, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkRegular fails unless the open file f (named name) is a regular file.
func checkRegular(f *os.File, name string) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &notRegularError{name: name, kind: describeMode(st.Mode())}
	}
	return nil
}

// notRegularError reports a path that is not the regular file it should be.
type notRegularError struct {
	name, kind string
}

func (e *notRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.name, e.kind)
}

// describeMode names the kind of file a mode describes, with an article.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// rootFS is an OCI layout directory opened with os.OpenRoot: nothing
// outside it is read, whatever symlinks it holds, and only regular files
// are opened.
type rootFS struct {
	root *os.Root
}

func openRootFS(dir string) (*rootFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &rootFS{root: root}, nil
}

// Open implements fs.FS for the regular files of the directory.
func (r *rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		// os.Root says "path escapes from parent" (and has no error
		// value for it): say what that means here.
		if strings.Contains(err.Error(), "escapes") {
			return nil, fmt.Errorf("%s leads out of the layout (through a symlink): only files inside it are read", name)
		}
		return nil, err
	}
	if err := checkRegular(f, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (r *rootFS) Close() error { return r.root.Close() }

// jsonProblem says why a document does not decode as the JSON it should be, without quoting any of it: the bytes may be those of a file that is
// not what it claims to be (a binary, a host file behind a symlink).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("is not valid JSON (syntax error at byte %d)", se.Offset)
	case errors.As(err, &te) && te.Field == "":
		return "is not a JSON " + jsonKind(te.Type)
	case errors.As(err, &te):
		kind, _, _ := strings.Cut(te.Value, " ") // "number 12": no content
		return fmt.Sprintf("has a JSON %s at %s, where a JSON %s belongs", kind, te.Field, jsonKind(te.Type))
	case errors.Is(err, io.EOF):
		return "is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "is truncated JSON"
	}
	return "holds an invalid value"
}

// jsonKind names the JSON kind that decodes into t.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}
