// Command http is the first-party Fleet plugin "http": it fetches a web page through the host's http
// capability and returns its readable text ("http_fetch"). HTML is reduced to text with
// golang.org/x/net/html (scripts, styles, navigation and the like dropped, whitespace collapsed);
// plain text and JSON are passed through. The host enforces the manifest's allowlist on every
// request and redirect. Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o http.wasm .
package main

import (
	"context"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/agentfleet/fleet/sdk"
)

// Limits on the text returned.
const (
	defaultMaxChars = 8000
	maxMaxChars     = 200_000
	maxURLLen       = 4096
	errorSnippet    = 200 // characters of an error page shown in the tool error
)

type fetchArgs struct {
	URL      string `json:"url" desc:"The http or https URL to fetch."`
	MaxChars int    `json:"max_chars,omitempty" desc:"At most this many characters of text are returned; default 8000, at most 200000."`
}

type page struct {
	URL         string `json:"url"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Title       string `json:"title"`
	Text        string `json:"text"`
	Truncated   bool   `json:"truncated"`
}

// textKind tells, by media type, whether a body is shown as text and whether it is HTML.
func textKind(mediaType string) (isText, isHTML bool) {
	switch {
	case mediaType == "text/html" || mediaType == "application/xhtml+xml":
		return true, true
	case strings.HasPrefix(mediaType, "text/"), mediaType == "application/json", strings.HasSuffix(mediaType, "+json"),
		mediaType == "application/xml", strings.HasSuffix(mediaType, "+xml"), mediaType == "application/javascript":
		return true, false
	}
	return false, false
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func checkURL(raw string) error {
	if len(raw) > maxURLLen {
		return sdk.Errorf("bad_url", "URL longer than %d characters", maxURLLen)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sdk.Errorf("bad_url", "%.200q is not an http or https URL", raw)
	}
	return nil
}

func fetch(ctx context.Context, a fetchArgs) (page, error) {
	if err := checkURL(a.URL); err != nil {
		return page{}, err
	}
	maxChars := a.MaxChars
	if maxChars <= 0 {
		maxChars = defaultMaxChars
	}
	maxChars = min(maxChars, maxMaxChars)
	resp, err := sdk.Fetch(ctx, sdk.HTTPRequest{URL: strings.TrimSpace(a.URL), Headers: map[string]string{
		"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.9,*/*;q=0.5",
	}})
	if err != nil {
		return page{}, err
	}
	contentType := header(resp.Headers, "Content-Type")
	mediaType, _, _ := mime.ParseMediaType(contentType)
	isText, isHTML := textKind(mediaType)
	if mediaType == "" && utf8.Valid(resp.Body) {
		isText = true // no type given: show it if it reads as text
	}
	if !isText {
		return page{}, sdk.Errorf("unsupported_content", "%s answered %s (%d bytes), which is not text", resp.URL, orUnknown(contentType), len(resp.Body))
	}
	p := page{URL: resp.URL, Status: resp.Status, ContentType: contentType, Truncated: resp.Truncated}
	body := strings.ToValidUTF8(string(resp.Body), "\uFFFD")
	if isHTML {
		p.Title, p.Text = extractHTML(body)
	} else {
		p.Text = strings.TrimSpace(body)
	}
	if resp.Status >= 400 {
		snippet, _ := truncate(p.Text, errorSnippet)
		return page{}, sdk.Errorf("http_error", "%s answered HTTP %d: %s", resp.URL, resp.Status, snippet)
	}
	var cut bool
	p.Text, cut = truncate(p.Text, maxChars)
	p.Truncated = p.Truncated || cut
	return p, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "no content type"
	}
	return s
}

// truncate cuts s to at most n characters (runes), reporting whether it cut.
func truncate(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false // at most n bytes: at most n runes
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], true
		}
		i++
	}
	return s, false
}

func init() {
	sdk.Register(sdk.Plugin{
		Name:         "http",
		Version:      "1.0.0",
		Description:  "Fetches web pages and returns their readable text.",
		Capabilities: []sdk.Capability{sdk.CapHTTP},
		Tools: []sdk.Tool{
			sdk.NewTool("http_fetch", "Fetch a web page (http or https) and return its title and readable text.", fetch),
		},
	})
}

func main() {}
