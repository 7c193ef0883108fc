package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is who sent r: the host of its remote address, or, when
// that is a trusted proxy, the nearest address in X-Forwarded-For (read
// from the right, as each proxy appends the address it saw) that is not
// a trusted proxy. A malformed entry ends the walk at the last proxy, so
// a forged header can at most name the proxy itself.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		a, err := netip.ParseAddr(hop)
		if err != nil {
			return host
		}
		if !s.trusted(hop) {
			return a.Unmap().String()
		}
		host = hop
	}
	return host
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	if len(s.opts.TrustedProxies) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
