// Package githubapi sets up the go-github client that the Action's
// pull-request status and the allow-list request share: the API's base URL
// (GitHub.com, or GitHub Enterprise Server through GITHUB_API_URL), the
// token, and retries on GitHub's rate limits within a context's deadline.
// It is a leaf: it reads no environment and prints nothing.
package githubapi

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

// DefaultAPIURL is GitHub.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// Rate limits: a request refused for the rate limit is sent again once the
// limit resets, at most MaxAttempts times in all, and only when the wait is
// at most MaxRateLimitWait and ends before the context's deadline.
const (
	// MaxAttempts is how many times Retry sends a request in all.
	MaxAttempts = 4
	// MaxRateLimitWait is the longest wait for a rate limit to reset.
	MaxRateLimitWait = 10 * time.Minute
	// ResetMargin is added to the primary limit's reset time, which GitHub
	// gives in whole seconds.
	ResetMargin = time.Second
	// DefaultSecondaryWait is the wait for a secondary rate limit that
	// gives no Retry-After (GitHub asks for at least a minute).
	DefaultSecondaryWait = time.Minute
)

// Config says how to reach GitHub's API.
type Config struct {
	// APIURL is the REST API's base URL: "" for GitHub.com, or GitHub
	// Enterprise Server's https://HOST/api/v3 (GITHUB_API_URL).
	APIURL string
	// Token authenticates every request; "" for none.
	Token string
	// TokenName names the token in errors ("the allow-list token"). The
	// default is "the token".
	TokenName string
	// HTTPClient sends the requests. The default is http.DefaultClient.
	HTTPClient *http.Client
}

// NewClient returns a go-github client for the API that c names. It
// refuses to send a token over plain http, except to a loopback address.
func NewClient(c Config) (*github.Client, error) {
	gh := github.NewClient(c.HTTPClient)
	apiURL := c.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an http(s) URL", apiURL)
	}
	if u.Scheme == "http" && c.Token != "" && !IsLoopback(u.Hostname()) {
		name := c.TokenName
		if name == "" {
			name = "the token"
		}
		return nil, fmt.Errorf("GitHub API URL %q: refusing to send %s over plain http", apiURL, name)
	}
	if !strings.EqualFold(u.Host, "api.github.com") {
		// GitHub Enterprise Server: GITHUB_API_URL is https://HOST/api/v3,
		// and WithEnterpriseURLs adds /api/v3/ when it is missing.
		if gh, err = gh.WithEnterpriseURLs(apiURL, apiURL); err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", apiURL, err)
		}
	}
	if c.Token != "" {
		gh = gh.WithAuthToken(c.Token)
	}
	return gh, nil
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Retry calls f, and calls it again while GitHub refuses it for a rate
// limit and the limit resets soon enough (see MaxAttempts). It returns f's
// last error.
func Retry(ctx context.Context, f func() (*github.Response, error)) error {
	for attempt := 1; ; attempt++ {
		_, err := f()
		wait, limited := RateLimitWait(err)
		if !limited || attempt == MaxAttempts || wait > MaxRateLimitWait {
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

// RateLimitWait reports whether err is a rate-limit refusal and how long to
// wait before trying again.
func RateLimitWait(err error) (time.Duration, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		if rl.Rate.Reset.IsZero() {
			return DefaultSecondaryWait, true
		}
		return max(time.Until(rl.Rate.Reset.Time), 0) + ResetMargin, true
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		if ab.RetryAfter == nil {
			return DefaultSecondaryWait, true
		}
		return max(*ab.RetryAfter, 0), true
	}
	return 0, false
}

// IsStatus reports whether err is GitHub's error answer with the status
// code (a rate-limit refusal is not: see RateLimitWait).
func IsStatus(err error, code int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// Answer returns GitHub's answer in err: its status code and its text, as
// "403 Resource not accessible by integration" (the status's name when
// GitHub gave no message); ok is false when err is not an answer from
// GitHub (a network error, say). Rate-limit refusals are answers too.
func Answer(err error) (code int, text string, ok bool) {
	var er *github.ErrorResponse
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	var resp *http.Response
	var msg string
	switch {
	case errors.As(err, &rl):
		resp, msg = rl.Response, rl.Message
	case errors.As(err, &ab):
		resp, msg = ab.Response, ab.Message
	case errors.As(err, &er):
		resp, msg = er.Response, er.Message
	}
	if resp == nil {
		return 0, "", false
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return resp.StatusCode, fmt.Sprintf("%d %s", resp.StatusCode, msg), true
}
