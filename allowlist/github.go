package allowlist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// defaultAPIURL is GitHub.com's REST API.
const defaultAPIURL = "https://api.github.com/"

// Rate limits: a request refused for the rate limit is sent again once the
// limit resets, at most maxAttempts times in all, and only when the wait is
// at most maxRateLimitWait and ends before the context's deadline.
const (
	maxAttempts      = 4
	maxRateLimitWait = 10 * time.Minute
	// resetMargin is added to the primary limit's reset time, which GitHub
	// gives in whole seconds.
	resetMargin = time.Second
	// defaultSecondaryWait is the wait for a secondary rate limit that gives
	// no Retry-After (GitHub asks for at least a minute).
	defaultSecondaryWait = time.Minute
)

// newClient returns a go-github client for the API at apiURL ("" for
// GitHub.com), authenticated with token when it is not empty.
func newClient(apiURL, token string, hc *http.Client) (*github.Client, error) {
	gh := github.NewClient(hc)
	if apiURL == "" {
		apiURL = defaultAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an http(s) URL", apiURL)
	}
	if u.Scheme == "http" && token != "" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("GitHub API URL %q: refusing to send the allow-list token over plain http", apiURL)
	}
	if !strings.EqualFold(u.Host, "api.github.com") {
		// GitHub Enterprise Server: GITHUB_API_URL is https://HOST/api/v3,
		// and WithEnterpriseURLs adds /api/v3/ when it is missing.
		if gh, err = gh.WithEnterpriseURLs(apiURL, apiURL); err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
		}
	}
	if token != "" {
		gh = gh.WithAuthToken(token)
	}
	return gh, nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// retry calls f, and calls it again while GitHub refuses it for a rate limit
// and the limit resets soon enough (see maxAttempts). It returns f's last
// error.
func retry(ctx context.Context, f func() (*github.Response, error)) error {
	for attempt := 1; ; attempt++ {
		_, err := f()
		wait, limited := rateLimitWait(err)
		if !limited || attempt == maxAttempts || wait > maxRateLimitWait {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// rateLimitWait reports whether err is a rate-limit refusal and how long to
// wait before trying again.
func rateLimitWait(err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		if rl.Rate.Reset.IsZero() {
			return defaultSecondaryWait, true
		}
		return max(time.Until(rl.Rate.Reset.Time), 0) + resetMargin, true
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		if ab.RetryAfter == nil {
			return defaultSecondaryWait, true
		}
		return max(*ab.RetryAfter, 0), true
	}
	return 0, false
}

// isStatus reports whether err is GitHub's answer with the status code.
func isStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

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
		ghMsg := er.Message
		if ghMsg == "" {
			ghMsg = http.StatusText(er.Response.StatusCode)
		}
		status := fmt.Sprintf("%d %s", er.Response.StatusCode, ghMsg)
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
