package server

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// auth requires the bearer token on /v1/* when one is configured. Browsers cannot set headers on
// a WebSocket or an EventSource, so those two GET endpoints also take ?token=.
func (s *Server) auth(c *fiber.Ctx) error {
	if s.cfg.Token == "" || c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok && queryTokenAllowed(c) {
		tok = c.Query("token")
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.Token)) != 1 {
		return newError(http.StatusUnauthorized, codeUnauthorized, "missing or wrong bearer token")
	}
	return c.Next()
}

func queryTokenAllowed(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodGet {
		return false
	}
	p := c.Path()
	return p == "/v1/chat" || (strings.HasPrefix(p, "/v1/runs/") && strings.HasSuffix(p, "/events"))
}

// allowedOrigin reports whether a cross-origin request from origin may use the API (CORS).
func (s *Server) allowedOrigin(origin string) bool {
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin is the server's own (as the request reached it) or allowed:
// no Origin header (not a browser) is allowed too.
func (s *Server) originOK(origin, host string) bool {
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	return s.allowedOrigin(origin)
}

// clientKey identifies the client a run limit applies to: its remote IP. (One bearer token is
// shared by every client, so it identifies no one.)
func clientKey(c *fiber.Ctx) string { return c.IP() }
