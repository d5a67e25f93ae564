package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentfleet/fleet/sdk"
	"go.uber.org/goleak"
)

const article = `<!DOCTYPE html>
<html><head><title>  The   Title </title><style>body{color:red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Hello&nbsp;World</h1>
<p>First <b>bold</b> and <i>italic</i>,
   across    lines.</p>
<div>Fish &amp; chips<br>second line</div>
<ul><li>one</li><li>two</li></ul>
<noscript>enable JS</noscript>
<p>Last.</p>
<script>document.write("x")</script>
</body></html>`

// realFetch is the stand-in host's Fetch: a real HTTP request with net/http, as the Fleet host makes
// it (first header value only, body cut at MaxBytes, default 1 MiB).
func realFetch(ctx context.Context, req sdk.HTTPRequest) (*sdk.HTTPResponse, error) {
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL, strings.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := int64(req.MaxBytes)
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	headers := map[string]string{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	out := &sdk.HTTPResponse{Status: resp.StatusCode, URL: resp.Request.URL.String(), Headers: headers, Body: body}
	if int64(len(body)) > limit {
		out.Body, out.Truncated = body[:limit], true
	}
	return out, nil
}

func newServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	serve := func(path, contentType string, status int, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Accept"), "text/html") {
				http.Error(w, "no Accept header", http.StatusNotAcceptable)
				return
			}
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			} else {
				w.Header()["Content-Type"] = nil // no sniffing
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		})
	}
	serve("/article", "text/html; charset=utf-8", 200, article)
	serve("/plain", "text/plain", 200, "  just text\n")
	serve("/data", "application/json", 200, `{"a": [1, 2]}`)
	serve("/vendor", "application/vnd.api+json", 200, `{"b":1}`)
	serve("/untyped", "", 200, "untyped words")
	serve("/image", "image/png", 200, "\x89PNG\r\n\x1a\n\x00\x00")
	serve("/missing", "text/html", 404, "<html><body><h1>Not Found</h1><p>No such page.</p></body></html>")
	serve("/long", "text/plain", 200, strings.Repeat("é", 10000))
	serve("/deep", "text/html", 200, "<title>Deep</title><script>x</script>"+strings.Repeat("<div>", 10000)+"deep"+strings.Repeat("</div>", 10000)+"<p>end</p>")
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/plain", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		srv.Close()
	})
	return srv
}

func call(args fetchArgs) (page, error) {
	b, _ := json.Marshal(args)
	out, err := sdk.Invoke(context.Background(), "http_fetch", b)
	if err != nil {
		return page{}, err
	}
	var p page
	if err := json.Unmarshal(out, &p); err != nil {
		return page{}, fmt.Errorf("result %s: %w", out, err)
	}
	return p, nil
}

func TestFetch(t *testing.T) {
	srv := newServer(t)
	defer sdk.SetLocalHost(sdk.LocalHost{Fetch: realFetch})()
	tests := []struct {
		path     string
		maxChars int
		want     page
	}{
		{"/article", 0, page{Status: 200, ContentType: "text/html; charset=utf-8", Title: "The Title",
			Text: "Hello World\nFirst bold and italic, across lines.\nFish & chips\nsecond line\none\ntwo\nLast."}},
		{"/plain", 0, page{Status: 200, ContentType: "text/plain", Text: "just text"}},
		{"/redirect", 0, page{Status: 200, ContentType: "text/plain", Text: "just text"}},
		{"/data", 0, page{Status: 200, ContentType: "application/json", Text: `{"a": [1, 2]}`}},
		{"/vendor", 0, page{Status: 200, ContentType: "application/vnd.api+json", Text: `{"b":1}`}},
		{"/untyped", 0, page{Status: 200, Text: "untyped words"}},
		{"/article", 11, page{Status: 200, ContentType: "text/html; charset=utf-8", Title: "The Title", Text: "Hello World", Truncated: true}},
		{"/long", 0, page{Status: 200, ContentType: "text/plain", Text: strings.Repeat("é", defaultMaxChars), Truncated: true}},
		{"/long", 3, page{Status: 200, ContentType: "text/plain", Text: "ééé", Truncated: true}},
		{"/deep", 0, page{Status: 200, ContentType: "text/html", Title: "Deep", Text: "deep\nend"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.path, "/", tt.maxChars), func(t *testing.T) {
			got, err := call(fetchArgs{URL: srv.URL + tt.path, MaxChars: tt.maxChars})
			tt.want.URL = srv.URL + strings.Replace(tt.path, "/redirect", "/plain", 1)
			if err != nil || got != tt.want {
				t.Errorf("http_fetch(%s) = %+v, %v\nwant %+v", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	srv := newServer(t)
	defer sdk.SetLocalHost(sdk.LocalHost{Fetch: realFetch})()
	tests := []struct {
		url, code, msg string
	}{
		{srv.URL + "/missing", "http_error", srv.URL + "/missing answered HTTP 404: Not Found\nNo such page."},
		{srv.URL + "/image", "unsupported_content", srv.URL + "/image answered image/png (10 bytes), which is not text"},
		{"ftp://example.com/x", "bad_url", `"ftp://example.com/x" is not an http or https URL`},
		{"example.com", "bad_url", `"example.com" is not an http or https URL`},
		{"http://" + strings.Repeat("a", 5000), "bad_url", "URL longer than 4096 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := call(fetchArgs{URL: tt.url})
			var te *sdk.ToolError
			if !errors.As(err, &te) || te.Code != tt.code || te.Message != tt.msg {
				t.Errorf("err = %#v\nwant code %s, message %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestFetchDenied(t *testing.T) {
	defer sdk.SetLocalHost(sdk.LocalHost{})() // no Fetch: the http capability is denied
	_, err := call(fetchArgs{URL: "https://example.com/"})
	var te *sdk.ToolError
	if !errors.Is(err, sdk.ErrDenied) || !errors.As(err, &te) || te.Code != "denied" {
		t.Errorf("err = %#v, want a denied tool error", err)
	}
}

func TestExtractHTML(t *testing.T) {
	tests := []struct {
		name, html, title, text string
	}{
		{"empty", "", "", ""},
		{"text only", "hello   world", "", "hello world"},
		{"inline elements keep spaces", "<p>a<b>b</b> <i>c</i>d</p>", "", "ab cd"},
		{"blocks break lines", "<div>a</div><div>b</div><p></p><p>c</p>", "", "a\nb\nc"},
		{"br", "a<br>b<br/><br>c", "", "a\nb\nc"},
		{"skipped elements", "<script>x</script><style>y</style><nav>z</nav><template>t</template><svg><text>s</text></svg>ok", "", "ok"},
		{"entities", "<p>&lt;tag&gt; &amp; &quot;q&quot; &#233;</p>", "", `<tag> & "q" é`},
		{"title in body is not text", "<title>T</title><p>x</p>", "T", "x"},
		{"unclosed tags", "<p>a<p>b<div>c", "", "a\nb\nc"},
		{"deeper than html.Parse goes", "<head><title> A  b </title><style>s</style></head>" + strings.Repeat("<span>", 600) + "x <b>y</b>" +
			strings.Repeat("</span>", 600) + "<p>z</p>", "A b", "x y\nz"},
		{"table", "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "", "1\n2\n3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, text := extractHTML(tt.html)
			if title != tt.title || text != tt.text {
				t.Errorf("extractHTML(%.100q) = %q, %q; want %q, %q", tt.html, title, text, tt.title, tt.text)
			}
		})
	}
}

// FuzzExtractHTML checks that any markup gives valid UTF-8 text without blank lines or doubled spaces.
func FuzzExtractHTML(f *testing.F) {
	for _, s := range []string{article, "<p>a<b>b</b></p>", "<<>>", "<div><div>x", "&#0;&#xD800;", "<title>a\nb</title>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, text := extractHTML(strings.ToValidUTF8(s, ""))
		if strings.Contains(text, "\n\n") || strings.Contains(text, "  ") || strings.TrimSpace(text) != text {
			t.Fatalf("extractHTML(%q) = %q", s, text)
		}
	})
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
