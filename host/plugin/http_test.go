package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fetchResult is the fixture's fetch answer: the http capability's response.
type fetchResult struct {
	Status     int
	URL        string
	Headers    map[string]string
	Body       *string
	BodyBase64 *string `json:"body_base64"`
	Truncated  bool
}

func fetch(t *testing.T, p *Plugin, req map[string]any) (fetchResult, error) {
	t.Helper()
	args, _ := json.Marshal(req)
	out, err := p.Call(context.Background(), "fetch", args)
	var r fetchResult
	if err == nil {
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			t.Fatalf("fetch answer %s: %v", out, jerr)
		}
	}
	return r, err
}

func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return s, u.Host
}

// httpFixture is TestHTTPCapability's world: a target server, a server no grant allows, a
// redirecting server, and the good fixture loaded twice, with allow_private and without.
type httpFixture struct {
	// target answers "hello" at /, 4 non-UTF-8 bytes at /binary, 1,000 é at /big and echoes the
	// method, the X-Test header and the body at /echo with status 418.
	target     *httptest.Server
	targetHost string
	// other answers "other"; no grant allows it.
	other *httptest.Server
	// redirHost redirects /to-other to other, /to-target to target, /to-localhost to target by the
	// name localhost, and anything else (/loop) to itself.
	redirHost string
	// private may reach target and the redirector (allow_private, by address and port); public
	// allows 127.0.0.1 and localhost but not private addresses.
	private, public *Plugin
}

// targetHandler is the target server of TestHTTPCapability.
func targetHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/binary":
		w.Write([]byte{0xff, 0xfe, 0x00, 0x01})
	case "/big":
		w.Write([]byte(strings.Repeat("é", 1000)))
	case "/echo":
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "%s %s", r.Header.Get("X-Test"), b)
	default:
		w.Write([]byte("hello"))
	}
}

// redirectHandler redirects to other and target as httpFixture.redirHost describes.
func redirectHandler(other, target *httptest.Server, targetHost string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/to-target":
			http.Redirect(w, r, target.URL+"/", http.StatusFound)
		case "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+strings.Split(targetHost, ":")[1]+"/", http.StatusFound)
		default: // /loop
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}
}

// newHTTPFixture starts the servers and loads the plugins of an httpFixture on a host whose
// fetches are capped at 1 KiB; it returns the host's log too.
func newHTTPFixture(t *testing.T) (*httpFixture, *logBuffer) {
	t.Helper()
	h, logs := newTestHost(t, Config{HTTPMaxBytes: 1 << 10})
	good := fixture(t, "good")
	f := &httpFixture{}
	f.target, f.targetHost = newServer(t, targetHandler)
	f.other, _ = newServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("other")) })
	_, f.redirHost = newServer(t, redirectHandler(f.other, f.target, f.targetHost))
	grant := func(allowPrivate bool, allow ...string) Manifest {
		return Manifest{Capabilities: Capabilities{HTTP: &HTTPGrant{Allow: allow, AllowPrivate: allowPrivate}}}
	}
	f.private = load(t, h, good, grant(true, "127.0.0.1:"+strings.Split(f.targetHost, ":")[1], "127.0.0.1:"+strings.Split(f.redirHost, ":")[1]))
	f.public = load(t, h, good, grant(false, "127.0.0.1", "localhost"))
	return f, logs
}

// TestHTTPCapability fetches through the http capability: allowed fetches with their method,
// headers and body, binary bodies in base64, the body cap, the denials (allowlist, private
// addresses, redirects) and that they are logged, allowed redirects and a redirect loop.
func TestHTTPCapability(t *testing.T) {
	f, logs := newHTTPFixture(t)
	t.Run("allowed", f.allowed)
	t.Run("method, headers, body", f.methodHeadersBody)
	t.Run("binary body is base64", f.binaryBody)
	t.Run("body capped", f.bodyCapped)
	f.denied(t)
	if !strings.Contains(logs.String(), "capability denied") {
		t.Fatal("denials are not logged")
	}
	t.Run("allowed redirect", f.allowedRedirect)
	t.Run("redirect loop", f.redirectLoop)
}

func (f *httpFixture) allowed(t *testing.T) {
	r, err := fetch(t, f.private, map[string]any{"url": f.target.URL + "/"})
	if err != nil || r.Status != 200 || r.Body == nil || *r.Body != "hello" || r.URL != f.target.URL+"/" {
		t.Fatalf("fetch = %+v, %v", r, err)
	}
}

func (f *httpFixture) methodHeadersBody(t *testing.T) {
	r, err := fetch(t, f.private, map[string]any{"url": f.target.URL + "/echo", "method": "POST", "headers": map[string]string{"X-Test": "yes"}, "body": "payload"})
	if err != nil || r.Status != http.StatusTeapot || *r.Body != "yes payload" || r.Headers["X-Method"] != "POST" {
		t.Fatalf("fetch = %+v, %v", r, err)
	}
}

func (f *httpFixture) binaryBody(t *testing.T) {
	r, err := fetch(t, f.private, map[string]any{"url": f.target.URL + "/binary"})
	if err != nil || r.Body != nil || r.BodyBase64 == nil || *r.BodyBase64 != "//4AAQ==" {
		t.Fatalf("fetch = %+v, %v", r, err)
	}
}

func (f *httpFixture) bodyCapped(t *testing.T) {
	r, err := fetch(t, f.private, map[string]any{"url": f.target.URL + "/big", "max_bytes": 101})
	if err != nil || !r.Truncated || r.Body == nil || *r.Body != strings.Repeat("é", 50) {
		t.Fatalf("fetch with max_bytes 101 = truncated %v, %v; want 50 whole runes", r.Truncated, err)
	}
	r, err = fetch(t, f.private, map[string]any{"url": f.target.URL + "/big", "max_bytes": 1 << 20})
	if err != nil || !r.Truncated || len(*r.Body) != 1<<10 {
		t.Fatalf("max_bytes above the host's ceiling of 1 KiB: truncated %v, %v", r.Truncated, err)
	}
}

// denied runs a subtest of t for each fetch the capability must deny.
func (f *httpFixture) denied(t *testing.T) {
	denied := []struct {
		name   string
		p      *Plugin
		url    string
		reason string
	}{
		{"host not on the allowlist", f.private, f.other.URL + "/", "is not on the plugin's http allowlist"},
		{"loopback address without allow_private", f.public, f.target.URL + "/", "address 127.0.0.1 is not public"},
		{"name resolving to loopback", f.public, "http://localhost:" + strings.Split(f.targetHost, ":")[1] + "/", "is not public"},
		{"redirect to a host not allowed", f.private, "http://" + f.redirHost + "/to-other", "redirect to " + f.other.URL + "/"},
	}
	for _, tt := range denied {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fetch(t, tt.p, map[string]any{"url": tt.url})
			if !errors.Is(err, ErrCapabilityDenied) || !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "host status 2") {
				t.Fatalf("fetch %s = %v, want a denial mentioning %q", tt.url, err, tt.reason)
			}
		})
	}
}

func (f *httpFixture) allowedRedirect(t *testing.T) {
	r, err := fetch(t, f.private, map[string]any{"url": "http://" + f.redirHost + "/to-target"})
	if err != nil || r.URL != f.target.URL+"/" || *r.Body != "hello" {
		t.Fatalf("fetch = %+v, %v", r, err)
	}
}

func (f *httpFixture) redirectLoop(t *testing.T) {
	_, err := fetch(t, f.private, map[string]any{"url": "http://" + f.redirHost + "/loop"})
	if !errors.Is(err, ErrPlugin) || errors.Is(err, ErrCapabilityDenied) || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("redirect loop = %v", err)
	}
}

// TestHTTPTimeout: a fetch ends with the call's deadline even when the server never answers.
func TestHTTPTimeout(t *testing.T) {
	h, _ := newTestHost(t, Config{})
	release := make(chan struct{})
	defer close(release)
	_, host := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	p := load(t, h, fixture(t, "good"), Manifest{Timeout: 300 * time.Millisecond,
		Capabilities: Capabilities{HTTP: &HTTPGrant{Allow: []string{"127.0.0.1"}, AllowPrivate: true}}})
	start := time.Now()
	_, err := fetch(t, p, map[string]any{"url": "http://" + host + "/"})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("fetch from a silent server = %v, want the call's timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a 300ms call timeout ended a blocked fetch after %v", d)
	}
	_, err = fetch(t, p, map[string]any{"url": "http://" + host + "/", "timeout_ms": 50})
	if !errors.Is(err, ErrPlugin) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("fetch with timeout_ms = %v", err)
	}
}

func TestAllowlist(t *testing.T) {
	hc := newHTTPCapability(HTTPGrant{Allow: []string{"Example.com", "*.example.org", "api.test:8443", "[::1]:8080"}}, 1)
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com/x", true},
		{"http://EXAMPLE.com:9000/", true},
		{"https://www.example.com/", false},
		{"https://a.example.org/", true},
		{"https://a.b.example.org/", true},
		{"https://example.org/", false},
		{"https://evilexample.org/", false},
		{"https://api.test:8443/", true},
		{"https://api.test/", false},
		{"http://[::1]:8080/", true},
		{"http://[::1]:8081/", false},
		{"ftp://example.com/", false},
		{"https://example.com.evil.net/", false},
		{"https://user@evil.net/", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := hc.check(u); (err == nil) != tt.ok {
			t.Errorf("check(%s) = %v, want allowed %v", tt.url, err, tt.ok)
		}
	}
	// "*" allows any host name (the first-party http plugin's manifest); "*:443" any on a port.
	for _, tc := range []struct {
		allow, url string
		ok         bool
	}{
		{"*", "https://example.com/", true},
		{"*", "http://a.b.example.net:8080/", true},
		{"*", "ftp://example.com/", false},
		{"*:443", "https://example.com/", true}, // https without a port is 443
		{"*:443", "http://example.com/", false},
		{"*:443", "https://example.com:443/", true},
		{"*:443", "https://example.com:8443/", false},
	} {
		u, _ := url.Parse(tc.url)
		hc := newHTTPCapability(HTTPGrant{Allow: []string{tc.allow}}, 1)
		if err := hc.check(u); (err == nil) != tc.ok {
			t.Errorf("allow %q: check(%s) = %v, want allowed %v", tc.allow, tc.url, err, tc.ok)
		}
	}
}

func TestIsPublic(t *testing.T) {
	tests := map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "224.0.0.1": false,
		"ff02::1": false, "100.64.0.1": false, "::ffff:127.0.0.1": false, "fc00::1": false, "255.255.255.255": false,
	}
	for addr, want := range tests {
		if got := isPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("isPublic(%s) = %v, want %v", addr, got, want)
		}
	}
}
