package plugin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// maxRedirects is the most redirects a fetch follows (docs/abi.md section 6).
const maxRedirects = 5

// httpCapability serves http fetch for one plugin: its allowlist, its own transport (no proxy) and
// a dialer that checks every address it connects to.
type httpCapability struct {
	allow        []allowEntry
	allowPrivate bool
	maxBytes     int64
	transport    *http.Transport
	client       *http.Client
}

// allowEntry is one allowlist entry: a host name (or a "*." suffix) and an optional port.
type allowEntry struct {
	host     string
	wildcard bool // "*.example.com": any subdomain
	any      bool // "*": any host name (addresses are still checked)
	port     string
}

// deniedError is a request the capability refuses: the guest gets status 2, code denied.
type httpDeniedError struct{ reason string }

func (e *httpDeniedError) Error() string { return e.reason }

func newHTTPCapability(g HTTPGrant, maxBytes int64) *httpCapability {
	hc := &httpCapability{allowPrivate: g.AllowPrivate, maxBytes: maxBytes}
	for _, a := range g.Allow {
		hc.allow = append(hc.allow, parseAllow(a))
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: hc.control}
	hc.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	hc.client = &http.Client{Transport: hc.transport, CheckRedirect: hc.checkRedirect}
	return hc
}

func parseAllow(a string) allowEntry {
	a = strings.ToLower(strings.TrimSpace(a))
	e := allowEntry{host: a}
	if h, p, err := net.SplitHostPort(a); err == nil {
		e.host, e.port = h, p
	}
	e.host = strings.Trim(e.host, "[]")
	if rest, ok := strings.CutPrefix(e.host, "*."); ok {
		e.host, e.wildcard = rest, true
	}
	if e.host == "*" {
		e.host, e.any = "", true
	}
	return e
}

func (e allowEntry) matches(host, port string) bool {
	if e.port != "" && e.port != port {
		return false
	}
	if e.any {
		return true
	}
	if e.wildcard {
		return strings.HasSuffix(host, "."+e.host)
	}
	return host == e.host
}

// check refuses a URL whose scheme is not http(s) or whose host is not on the allowlist.
func (hc *httpCapability) check(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &httpDeniedError{fmt.Sprintf("scheme %q is not http or https", u.Scheme)}
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, e := range hc.allow {
		if e.matches(host, port) {
			return nil
		}
	}
	return &httpDeniedError{fmt.Sprintf("host %s is not on the plugin's http allowlist", u.Host)}
}

// checkRedirect re-applies the allowlist to every redirect and caps their number.
func (hc *httpCapability) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if err := hc.check(req.URL); err != nil {
		return &httpDeniedError{"redirect to " + req.URL.Redacted() + ": " + err.Error()}
	}
	return nil
}

// control runs at connect time, for every address a name resolved to: it refuses addresses that are
// not public unless the grant allows private ones.
func (hc *httpCapability) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return &httpDeniedError{"unparsable address " + address}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return &httpDeniedError{"unparsable address " + address}
	}
	if !hc.allowPrivate && !isPublic(ip) {
		return &httpDeniedError{fmt.Sprintf("address %s is not public (grant allow_private to reach it)", ip)}
	}
	return nil
}

// nonPublic are IPv4 ranges that are neither private nor loopback by netip's methods but are not
// reachable public hosts either.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// isPublic reports whether ip is a public unicast address.
func isPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

func (hc *httpCapability) close() { hc.transport.CloseIdleConnections() }

// fetchRequest and fetchResponse are http fetch's input and response.
type fetchRequest struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	TimeoutMS int64             `json:"timeout_ms"`
	MaxBytes  int64             `json:"max_bytes"`
}

type fetchResponse struct {
	Status     int               `json:"status"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 *string           `json:"body_base64,omitempty"`
	Truncated  bool              `json:"truncated"`
}

func httpFetch(in *instance, input []byte) (uint32, []byte) {
	hc := in.core.http
	var r fetchRequest
	if err := json.Unmarshal(input, &r); err != nil {
		return errorResponse(hcFailed, "bad_message", "http fetch: input is not the request JSON: "+err.Error())
	}
	u, err := url.Parse(r.URL)
	if err != nil || r.URL == "" {
		return errorResponse(hcFailed, "bad_message", fmt.Sprintf("http fetch: bad url %q", r.URL))
	}
	if err := hc.check(u); err != nil {
		return in.deny("http", 1, err.Error())
	}
	ctx, cancel := in.cc.detached()
	defer cancel()
	if r.TimeoutMS > 0 {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeout(ctx, time.Duration(r.TimeoutMS)*time.Millisecond)
		defer cancelT()
	}
	resp, err := hc.do(ctx, r, u)
	var denied *httpDeniedError
	switch {
	case errors.As(err, &denied):
		return in.deny("http", 1, denied.reason)
	case err != nil:
		return errorResponse(hcFailed, "failed", "http fetch: "+err.Error())
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return errorResponse(hcFailed, "failed", "http fetch: "+err.Error())
	}
	return hcOK, b
}

// trimRune drops an incomplete UTF-8 sequence that truncation left at the end of b.
func trimRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

func (hc *httpCapability) do(ctx context.Context, r fetchRequest, u *url.URL) (*fetchResponse, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	res, err := hc.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	limit := hc.maxBytes
	if r.MaxBytes > 0 && r.MaxBytes < limit {
		limit = r.MaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	out := &fetchResponse{Status: res.StatusCode, URL: res.Request.URL.String(), Headers: map[string]string{}}
	if int64(len(data)) > limit {
		data, out.Truncated = trimRune(data[:limit]), true
	}
	for k, vs := range res.Header {
		out.Headers[k] = strings.Join(vs, ", ")
	}
	s := string(data)
	if utf8.ValidString(s) {
		out.Body = &s
	} else {
		b64 := base64.StdEncoding.EncodeToString(data)
		out.BodyBase64 = &b64
	}
	return out, nil
}
