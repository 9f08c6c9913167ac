// Package source reads a plugin's repository sources the way the tools
// that build and install it do: the Dockerfile as BuildKit parses and
// expands it (buildkit's own parser, instruction reader and shell lexer),
// so that the lint can tell what the image would carry, and where in the
// repository's files each finding belongs.
package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// DockerfileOptions say how the Dockerfile is built, as the flags of
// `docker buildx build` do.
type DockerfileOptions struct {
	// BuildArgs are the --build-arg values. They override ARG defaults
	// and the automatic platform ARGs; a name no ARG declares is unused,
	// as in BuildKit.
	BuildArgs map[string]string
	// Target is the stage built (--target), by name. The default is the
	// last stage.
	Target string
	// Platform is the target platform (--platform), "os/arch[/variant]",
	// which sets TARGETPLATFORM, TARGETOS, TARGETARCH and TARGETVARIANT.
	// The default is linux/amd64.
	Platform string
	// BuildPlatform is the builder's platform, which sets BUILDPLATFORM,
	// BUILDOS, BUILDARCH and BUILDVARIANT. The default is Platform, as in
	// BuildKit when a target platform is given and no build platform.
	BuildPlatform string
}

// Dockerfile is what a build of the Dockerfile would make of it.
type Dockerfile struct {
	// EscapeToken is the escape character: \ or, by directive, `.
	EscapeToken rune
	// Args are the global ARGs, declared before the first FROM, with
	// their values after build args.
	Args []Arg
	// Stages are the build stages in file order.
	Stages []*Stage
	// Target is the index in Stages of the stage built.
	Target int
	// Labels are the labels the target stage's image gets from the
	// Dockerfile, by key, including those of the stages it is built FROM.
	// Labels of an external base image are not known.
	Labels map[string]*Label
	// StrayLabels are labels set only in stages whose labels do not reach
	// the image (neither the target nor a stage it is built FROM), and
	// that the image does not get from elsewhere, in file order.
	StrayLabels []StrayLabel
	// Copies are the COPY and ADD instructions whose files are in the
	// image: those of the target stage and the stages it is built FROM,
	// in build order.
	Copies []Copy
	// Runs are the RUN instructions whose results are in the image, as
	// Copies.
	Runs []Run
	// Warnings are what the parser warns about (empty continuation lines).
	Warnings []Warning

	lines []string // the Dockerfile's lines, for ValuePosition
}

// Final returns the target stage: the one whose image is the build's
// result.
func (d *Dockerfile) Final() *Stage { return d.Stages[d.Target] }

// Arg is one name an ARG instruction declares.
type Arg struct {
	Name string
	// Value is the value after build args and expansion; HasValue is
	// false for an ARG with no default, no build arg and, in a stage, no
	// global ARG of the same name.
	Value    string
	HasValue bool
	Line     int
}

// Stage is one FROM and the instructions up to the next.
type Stage struct {
	// Index is the stage's place in Dockerfile.Stages.
	Index int
	// Name is the AS name, lower case as BuildKit keeps it; "" for none.
	Name string
	// Base is the FROM image or stage name, expanded; RawBase as written.
	Base, RawBase string
	// BaseStage is the index of the stage Base names, or -1 when Base is
	// an image.
	BaseStage int
	// Platform is the FROM --platform value, expanded; "" for none.
	Platform string
	// Line and EndLine are the FROM instruction's lines.
	Line, EndLine int
	// Args are the ARGs the stage declares.
	Args []Arg
	// Labels are the LABEL keys the stage itself sets, in order.
	Labels []*Label
	// Env is the image config's environment at the end of the stage
	// (inherited from a base stage, then ENV). An image base's own
	// environment is not known; PATH is BuildKit's default when unset.
	Env []string
	// WorkDir is the working directory at the end of the stage; "/" when
	// no WORKDIR set it (an image base's own is not known).
	WorkDir string
	// Shell is the SHELL in effect at the end of the stage; nil for the
	// default (/bin/sh -c).
	Shell []string
	// Entrypoint and Cmd are what the stage's image config gets, with a
	// shell form wrapped in the shell; EntrypointLine and CmdLine the
	// lines of the instructions that set them (0 when inherited or unset).
	Entrypoint, Cmd         []string
	EntrypointLine, CmdLine int
	// Copies and Runs are the stage's own COPY/ADD and RUN instructions.
	Copies []Copy
	Runs   []Run
}

// Label is one label key set by a LABEL instruction.
type Label struct {
	// Key and Value are expanded; RawKey and RawValue as written (quotes
	// kept; for the legacy form `LABEL key value`, the rest of the line).
	Key, Value       string
	RawKey, RawValue string
	// Stage is the index of the stage whose LABEL set the value.
	Stage int
	// Line is the line of the key (1-based); Column the key's first
	// character (1-based, in characters), 0 when not found on the line.
	Line, Column int
	// Instruction is the first line of the LABEL instruction.
	Instruction int
	// Unset are the variables the key or value referred to that had no
	// value there: an ARG with no default and no build arg, a global ARG
	// the stage did not redeclare, or a name nothing declared. Such a
	// reference expands to "" (or to its ${NAME:-default}).
	Unset []string
	// Blank are those of Unset that a reference expands to nothing: $NAME,
	// ${NAME}, or a ${NAME...} form other than ${NAME:-default} and
	// ${NAME-default}.
	Blank []string
	// Lines are, in Dockerfile.Labels, every line where the target stage
	// sets the key, in order (more than one: set twice); empty when the
	// value is inherited from a base stage.
	Lines []int
}

// StrayLabel is a label set in a stage whose labels do not reach the image.
type StrayLabel struct {
	Key   string
	Stage int
	Line  int
}

// Copy is a COPY or ADD instruction.
type Copy struct {
	// Add is true for ADD.
	Add bool
	// Sources are the source paths, expanded; Inline the here-documents
	// used as sources (<<EOF).
	Sources []string
	Inline  []Heredoc
	// Dest is the destination, expanded; relative to Dir, the working
	// directory there.
	Dest, Dir string
	// From is the --from value ("" for the build context); FromStage the
	// index of the stage it names, or -1 for the build context or an image.
	From      string
	FromStage int
	// Stage is the index of the stage the instruction is in.
	Stage         int
	Line, EndLine int
}

// DestPath returns the destination as an absolute path in the image,
// keeping a trailing slash (which makes it a directory).
func (c Copy) DestPath() string {
	p := c.Dest
	if !path.IsAbs(p) {
		p = path.Join(c.Dir, p)
		if strings.HasSuffix(c.Dest, "/") || c.Dest == "." {
			p = strings.TrimSuffix(p, "/") + "/"
		}
	}
	return p
}

// Run is a RUN instruction.
type Run struct {
	// Shell is true for the shell form; Args are the command as written
	// (one string for the shell form).
	Shell bool
	Args  []string
	// Heredocs are the here-documents the command reads.
	Heredocs []Heredoc
	// MountsFrom are the stages or images its --mount from= options name,
	// as written.
	MountsFrom []string
	Stage      int
	Line       int
	EndLine    int
}

// Heredoc is one here-document: its name (the word after <<) and body.
type Heredoc struct {
	Name, Body string
}

// Warning is a parser warning.
type Warning struct {
	Line    int
	Message string
}

// Error is a Dockerfile that cannot be built, at a line (0 when the
// error is about the whole file).
type Error struct {
	Line int
	Err  error
}

// Error says what is wrong, and on which line.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// maxDockerfileSize bounds what ParseDockerfile reads.
const maxDockerfileSize = 4 << 20

// ParseDockerfile reads a Dockerfile and works out, as a BuildKit build
// with opts would, its stages, the target stage's labels, files and
// commands. An error (an *Error, with the line where BuildKit would
// stop) is a Dockerfile that BuildKit refuses.
func ParseDockerfile(r io.Reader, opts DockerfileOptions) (*Dockerfile, error) {
	dt, err := io.ReadAll(io.LimitReader(r, maxDockerfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading Dockerfile: %w", err)
	}
	if len(dt) > maxDockerfileSize {
		return nil, &Error{Err: fmt.Errorf("reading Dockerfile: larger than %d bytes", maxDockerfileSize)}
	}
	if len(dt) == 0 {
		return nil, &Error{Err: errors.New("parsing Dockerfile: the Dockerfile is empty")}
	}
	if err := checkText(dt); err != nil {
		return nil, err
	}
	res, err := parseBuildKit(dt)
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := parseInstructions(res.AST)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, &Error{Err: errors.New("parsing Dockerfile: no stage to build (no FROM)")}
	}
	b := newBuild(dt, res.EscapeToken, opts)
	df, err := b.run(stages, metaArgs)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		df.Warnings = append(df.Warnings, Warning{Line: line, Message: w.Short})
	}
	return df, nil
}

// checkText refuses a Dockerfile with a NUL byte or invalid UTF-8 outside
// comments: buildkit's shell lexer (text/scanner) writes such errors to
// the process's stderr and goes on, which a library must not do, and the
// image config, JSON, could not carry such a label anyway.
func checkText(dt []byte) error {
	for i, l := range bytes.Split(dt, []byte("\n")) {
		if t := bytes.TrimLeft(l, " \t"); len(t) > 0 && t[0] == '#' {
			continue
		}
		if err := checkWord(string(l)); err != nil {
			return &Error{Line: i + 1, Err: fmt.Errorf("reading Dockerfile: %w", err)}
		}
	}
	return nil
}

// checkWord says whether the shell lexer can read s without writing to
// stderr.
func checkWord(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("a NUL byte")
	}
	if !utf8.ValidString(s) {
		return errors.New("not UTF-8 text")
	}
	return nil
}

// parseBuildKit runs buildkit's parser. It has not been seen to panic, but
// the Dockerfile is untrusted: a panic would be turned into an error.
func parseBuildKit(dt []byte) (res *parser.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, &Error{Err: fmt.Errorf("parsing Dockerfile: parser failed: %v", p)}
		}
	}()
	res, err = parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, locate("parsing Dockerfile", err)
	}
	return res, nil
}

// parseInstructions turns the parser's nodes into stages and the global
// ARGs, as instructions.Parse does, keeping the line of each error. A
// panic of buildkit's instruction reader would be turned into an error.
func parseInstructions(ast *parser.Node) (stages []instructions.Stage, metaArgs []instructions.ArgCommand, err error) {
	defer func() {
		if p := recover(); p != nil {
			stages, metaArgs, err = nil, nil, &Error{Err: fmt.Errorf("parsing Dockerfile: instruction reader failed: %v", p)}
		}
	}()
	for _, n := range ast.Children {
		cmd, err := instructions.ParseInstructionWithLinter(n, nil)
		if err != nil {
			return nil, nil, &Error{Line: n.StartLine, Err: fmt.Errorf("parsing %s: %w", instructionName(n), err)}
		}
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			if len(stages) == 0 {
				metaArgs = append(metaArgs, *c)
				continue
			}
			stages[len(stages)-1].AddCommand(c)
		case *instructions.Stage:
			stages = append(stages, *c)
		case instructions.Command:
			if len(stages) == 0 {
				return nil, nil, &Error{Line: n.StartLine, Err: fmt.Errorf("parsing %s: no FROM before it", instructionName(n))}
			}
			stages[len(stages)-1].AddCommand(c)
		default:
			return nil, nil, &Error{Line: n.StartLine, Err: fmt.Errorf("parsing %s: %T is not an instruction", instructionName(n), cmd)}
		}
	}
	return stages, metaArgs, nil
}

// instructionName names a node's instruction for an error: "LABEL", or
// "Dockerfile" when the word is no instruction.
func instructionName(n *parser.Node) string {
	if _, ok := command.Commands[strings.ToLower(n.Value)]; ok {
		return strings.ToUpper(n.Value)
	}
	return "Dockerfile"
}

// locate wraps a buildkit error as an *Error at the line it names.
func locate(doing string, err error) error {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, rs := range le.Locations {
			if len(rs) > 0 && rs[0].Start.Line > 0 {
				line = rs[0].Start.Line
				break
			}
		}
	}
	return &Error{Line: line, Err: fmt.Errorf("%s: %w", doing, err)}
}
