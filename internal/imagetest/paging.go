package imagetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// PagedRegistry starts go-containerregistry's in-process registry behind a
// handler that pages tag lists the way the distribution registry does: at
// most pageSize tags per answer (fewer when the client asks for fewer),
// with a Link header to the next page. It returns the host.
func PagedRegistry(t testing.TB, pageSize int) string {
	t.Helper()
	srv := httptest.NewServer(Paged(RegistryHandler(), pageSize))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Paged wraps a registry handler to page tag lists the way the
// distribution registry does (see PagedRegistry).
func Paged(inner http.Handler, pageSize int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/tags/list") {
			inner.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		n := pageSize
		if s := q.Get("n"); s != "" {
			var asked int
			if _, err := fmt.Sscanf(s, "%d", &asked); err == nil && asked > 0 && asked < n {
				n = asked
			}
		}
		q.Set("n", fmt.Sprint(n))
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = q.Encode()
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r2)
		if rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		var page struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(page.Tags) == n {
			next := fmt.Sprintf("%s?n=%d&last=%s", r.URL.Path, n, page.Tags[len(page.Tags)-1])
			w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(rec.Body.Bytes())
	})
}
