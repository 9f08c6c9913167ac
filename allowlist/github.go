package allowlist

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/docker/desktop-plugin-check/internal/githubapi"
	"github.com/google/go-github/v60/github"
)

// apiError is a GitHub API error explained for the user; it wraps
// go-github's error.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// explain turns a GitHub API error into a message that says what went wrong
// and what to do: doing says what was being done ("creating the issue in
// o/r"), perm the token permission it needs ("issues: write"). It never
// includes the token.
func (s *submitter) explain(err error, doing, perm string) error {
	if err == nil {
		return nil
	}
	var (
		rl *github.RateLimitError
		ab *github.AbuseRateLimitError
		er *github.ErrorResponse
	)
	var msg string
	switch {
	case errors.As(err, &rl):
		until := ""
		if !rl.Rate.Reset.IsZero() {
			until = " until " + rl.Rate.Reset.UTC().Format(time.RFC3339)
		}
		msg = fmt.Sprintf("%s: GitHub's rate limit for the allow-list token is used up%s, longer than this run can wait", doing, until)
	case errors.As(err, &ab):
		msg = fmt.Sprintf("%s: GitHub's secondary rate limit refused the request, for longer than this run can wait", doing)
	case errors.As(err, &er) && er.Response != nil:
		_, status, _ := githubapi.Answer(er)
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			msg = fmt.Sprintf("%s: GitHub refused the allow-list token (%s): it is invalid or has expired; set allowlist-token to a valid token", doing, status)
		case http.StatusForbidden:
			msg = fmt.Sprintf("%s: the allow-list token lacks permission (%s): it needs %s on %s", doing, status, perm, s.repo)
		case http.StatusNotFound:
			if s.cfg.Token == "" {
				msg = fmt.Sprintf("%s: %s not found, or it is private and no allow-list token was given (%s)", doing, s.repo, status)
			} else {
				msg = fmt.Sprintf("%s: %s not found, or the allow-list token cannot see it (%s): the token needs access to %s with %s", doing, s.repo, status, s.repo, perm)
			}
		case http.StatusGone:
			msg = fmt.Sprintf("%s: %s (%s): issues may be disabled there; set allowlist-mode to %s", doing, s.repo, status, ModePullRequest)
		case http.StatusUnprocessableEntity:
			var details []string
			for _, e := range er.Errors {
				if e.Message != "" {
					details = append(details, e.Message)
				}
			}
			if len(details) > 0 {
				status += ": " + strings.Join(details, "; ")
			}
			msg = fmt.Sprintf("%s: GitHub rejected the request (%s)", doing, status)
		default:
			msg = fmt.Sprintf("%s: %s", doing, status)
		}
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
	return &apiError{msg: msg, err: err}
}
