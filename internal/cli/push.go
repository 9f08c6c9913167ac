package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// pushOptions are the settings of --push (issue 13): where a check that
// passes copies the image it checked, and the credentials for it.
type pushOptions struct {
	targets []name.Reference
	// username and password are the credentials for the first target's
	// registry (--push-username, --push-password-stdin; the Action's
	// push-username and push-password). Without them, the Docker config
	// has them.
	username      string
	passwordStdin bool
	password      string // never printed
}

// parsePush reads the targets of the --push values (each may name several,
// comma- or newline-separated, as the Action's input push does) and checks
// that the push flags go together (with each other, and with the
// registry's --password-stdin).
func (o *options) parsePush(values []string) error {
	p := &o.push
	for _, v := range values {
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
			ref, err := parsePushTarget(s)
			if err != nil {
				return err
			}
			p.targets = append(p.targets, ref)
		}
	}
	switch {
	case len(p.targets) == 0 && (p.username != "" || p.passwordStdin):
		return &usageError{"--push-username and --push-password-stdin need --push"}
	case len(p.targets) == 0:
		return nil
	case o.lint:
		return &usageError{"--push needs an image check: lint builds no image"}
	case p.passwordStdin && o.passwordStdin:
		return &usageError{"--password-stdin and --push-password-stdin cannot both read standard input: give one registry's credentials in the Docker config ($DOCKER_CONFIG) instead"}
	case p.passwordStdin && p.username == "":
		return &usageError{"--push-password-stdin needs --push-username"}
	case p.username != "" && !p.passwordStdin && p.password == "":
		return &usageError{"--push-username needs --push-password-stdin (passwords are never taken as flags)"}
	}
	return nil
}

// parsePushTarget reads one --push REF, which must name its tag (or
// digest): a release is never pushed to latest by default.
func parsePushTarget(s string) (name.Reference, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("--push %q: %v", s, err)}
	}
	if tag, ok := ref.(name.Tag); ok && !strings.HasSuffix(s, ":"+tag.TagStr()) {
		return nil, &usageError{fmt.Sprintf("--push %q names no tag: name it (%s:1.2.0, or :latest to move latest)", s, s)}
	}
	return ref, nil
}

// readPassword reads --push-password-stdin's password, before the check.
func (p *pushOptions) readPassword(stdin io.Reader) error {
	if !p.passwordStdin {
		return nil
	}
	pw, err := readPassword(stdin, "--push-password-stdin")
	p.password = pw
	return err
}

// defaults fills in what the targets say when nothing else does: the
// release history is the first target's repository (unless --repository
// names one), and the release is the first target's tag that is a
// version (unless --release or the source's name gives one).
func (p *pushOptions) defaults(o *options, rep *report.Report) {
	if len(p.targets) == 0 {
		return
	}
	if o.repository == "" {
		rep.Repository = p.targets[0].Context().Name()
	}
	if rep.Release != "" {
		return
	}
	for _, t := range p.targets {
		if tag, ok := t.(name.Tag); ok && isReleaseTag(tag.TagStr()) {
			rep.Release = tag.TagStr()
			return
		}
	}
}

// isReleaseTag reports whether a tag names a release (a semver version,
// a leading v allowed): such a tag is never moved to another image.
// Others (latest, 1.2, edge) are.
func isReleaseTag(tag string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	return err == nil
}

// checkRelease refuses a target whose tag is another release than the one
// checked: the version rules judged that release, not this one.
func (p *pushOptions) checkRelease(release string) error {
	for _, t := range p.targets {
		if tag, ok := t.(name.Tag); ok && isReleaseTag(tag.TagStr()) && tag.TagStr() != release {
			if release == "" {
				return fmt.Errorf("refusing to push to %s: no release version was checked (pass --release %s)", t, tag.TagStr())
			}
			return fmt.Errorf("refusing to push to %s: the release checked is %s, not %s (--release, or the tag in the source's name)", t, release, tag.TagStr())
		}
	}
	return nil
}

// keychain finds the targets' credentials: the explicit ones for the
// first target's registry, the Docker config for every registry else.
// The registry's own credentials (--username) are never used.
func (p *pushOptions) keychain(getenv func(string) string) authn.Keychain {
	docker := newConfigKeychain(getenv)
	if p.username == "" {
		return docker
	}
	return &registryKeychain{registry: p.targets[0].Context().RegistryStr(),
		auth: &authn.Basic{Username: p.username, Password: p.password}, others: docker}
}

// historyOptions are the options the release history is read with: the
// push credentials when it lives on the first target's registry (by
// default it is the first target's repository), whether or not the image
// was read from another registry.
func (p *pushOptions) historyOptions(iopts image.Options, repo string) image.Options {
	if p.username == "" {
		return iopts
	}
	r, err := name.NewRepository(repo)
	registry := p.targets[0].Context().RegistryStr()
	if err != nil || r.RegistryStr() != registry {
		return iopts
	}
	auth := &authn.Basic{Username: p.username, Password: p.password}
	// Auth serves an image from a local source; Image.Releases drops it
	// for a registry other than the image's, and asks the keychain.
	iopts.Auth = auth
	iopts.Keychain = &registryKeychain{registry: registry, auth: auth, others: iopts.Keychain}
	return iopts
}

// registryKeychain answers with auth for one registry and asks others for
// every other.
type registryKeychain struct {
	registry string
	auth     authn.Authenticator
	others   authn.Keychain
}

// Resolve implements authn.Keychain.
func (k *registryKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return k.others.Resolve(r)
}

// pushChecked pushes the image checked to the --push targets when the
// check passed, and records what happened in rep.Push; a failed push makes
// the run's result error (exit 2). parent is the run's context: the push
// has a --timeout of its own.
func pushChecked(parent context.Context, o *options, getenv func(string) string, img *image.Image, rep *report.Report) error {
	p := &o.push
	if len(p.targets) == 0 || rep.Push != nil {
		return nil
	}
	if rep.Result != report.ResultPass {
		rep.Push = notPushed(p.targets, report.PushSkipped, "nothing pushed: the check failed")
		return nil
	}
	fail := func(push *report.Push, err error) error {
		push.Result, push.Message = report.PushFailed, "the push stopped: "+firstLine(err)
		rep.Push, rep.Result = push, report.ResultError
		rep.Errors = append(rep.Errors, errorLines(err)...)
		return err
	}
	if err := p.checkRelease(rep.Release); err != nil {
		return fail(notPushed(p.targets, "", ""), err)
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	popts := image.PushOptions{Keychain: p.keychain(getenv), Insecure: o.insecure, Protected: isReleaseTag}
	if r, err := name.NewRepository(rep.Repository); err == nil {
		popts.MountFrom = []name.Repository{r}
	}
	pushed, err := img.Push(ctx, p.targets, popts)
	push := pushReport(p.targets, pushed)
	if err != nil {
		return fail(push, timeoutHint(ctx, o, err))
	}
	push.Result = report.PushPushed
	if !slices.ContainsFunc(pushed, func(p image.Pushed) bool { return !p.Unchanged }) {
		push.Message = "every target already was the image checked: nothing written"
	}
	rep.Push = push
	return nil
}

// notPushed is a push that sent nothing to any target.
func notPushed(targets []name.Reference, result, msg string) *report.Push {
	push := &report.Push{Result: result, Message: msg}
	for _, t := range targets {
		push.Targets = append(push.Targets, report.PushTarget{Ref: t.Name(), Status: report.TargetNotPushed})
	}
	return push
}

// pushReport turns what Push did into the report's terms; targets Push
// did not get to are not pushed.
func pushReport(targets []name.Reference, pushed []image.Pushed) *report.Push {
	push := notPushed(targets, "", "")
	byName := map[string]image.Pushed{}
	for _, p := range pushed {
		byName[p.Ref.Name()] = p
	}
	for i, t := range push.Targets {
		p, ok := byName[targets[i].Name()]
		if !ok {
			continue
		}
		t.Ref = p.Ref.Name()
		t.BlobsUploaded, t.BlobsMounted, t.BlobsPresent, t.Manifests = p.Uploaded, p.Mounted, p.Present, p.Manifests
		t.BytesSent, t.Requests = p.BytesSent, p.Requests
		if p.Digest.Hex != "" {
			t.Digest = p.Digest.String()
			switch {
			case p.Unchanged:
				t.Status = report.TargetUnchanged
			case p.Previous.Hex != "":
				t.Status, t.Previous = report.TargetMoved, p.Previous.String()
			default:
				t.Status = report.TargetPushed
			}
		}
		push.Targets[i] = t
	}
	return push
}

// firstLine is the first line of an error's message.
func firstLine(err error) string {
	if lines := errorLines(err); len(lines) > 0 {
		return lines[0]
	}
	return ""
}

// sayPush tells, on stderr (and as notices in the Action), what the push
// did: each target's digest, or that nothing was pushed and why. A run
// with --push whose check could not run says that nothing was pushed.
func sayPush(o *options, rep *report.Report, inAction bool, stdout, stderr io.Writer) {
	if o == nil || len(o.push.targets) == 0 {
		return
	}
	if rep != nil && rep.Push == nil {
		rep.Push = notPushed(o.push.targets, report.PushSkipped, "nothing pushed: the check could not run to the end")
	}
	say := func(level workflow.Level, msg string) {
		fmt.Fprintf(stderr, "desktop-plugin-check: push: %s\n", escape.Terminal(msg))
		if inAction {
			workflow.New(stdout).Annotate(workflow.Annotation{Level: level, Title: "push", Message: msg})
		}
	}
	if rep == nil {
		say(workflow.Notice, "nothing pushed: the check could not run")
		return
	}
	if rep.Push.Result == report.PushSkipped {
		say(workflow.Notice, rep.Push.Message)
		return
	}
	for _, t := range rep.Push.Targets {
		cost := fmt.Sprintf("%d blob(s) uploaded, %d mounted, %d already there; %s sent in %d request(s)",
			t.BlobsUploaded, t.BlobsMounted, t.BlobsPresent, report.HumanBytes(t.BytesSent), t.Requests)
		switch t.Status {
		case report.TargetPushed:
			say(workflow.Notice, fmt.Sprintf("pushed %s@%s (%s)", t.Ref, t.Digest, cost))
		case report.TargetMoved:
			say(workflow.Notice, fmt.Sprintf("pushed %s@%s, moved from %s (%s)", t.Ref, t.Digest, t.Previous, cost))
		case report.TargetUnchanged:
			say(workflow.Notice, fmt.Sprintf("%s already is %s: nothing pushed", t.Ref, t.Digest))
		default:
			say(workflow.Warning, fmt.Sprintf("%s: not pushed, its tag not written (the push stopped on the error below)", t.Ref))
		}
	}
}
