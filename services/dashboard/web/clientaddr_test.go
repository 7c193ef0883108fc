package web

import (
	"net/http"
	"net/url"
	"testing"
)

// TestClientAddr: X-Forwarded-For counts only behind a trusted proxy,
// and then only up to the first hop that is not one.
func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	trusting := &Server{opts: Options{TrustedProxies: proxies}}
	plain := &Server{}
	cases := []struct {
		name   string
		srv    *Server
		remote string
		xff    []string
		want   string
	}{
		{"no proxy configured: the header is ignored", plain, "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"untrusted peer: the header is ignored", trusting, "198.51.100.4:5000", []string{"203.0.113.9"}, "198.51.100.4"},
		{"one trusted proxy", trusting, "127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"a chain of trusted proxies", trusting, "10.1.2.3:5000", []string{"203.0.113.9, 10.9.9.9", "10.0.0.7"}, "203.0.113.9"},
		{"a forged left part stops at the first untrusted hop", trusting, "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"garbage ends the walk at the proxy", trusting, "127.0.0.1:5000", []string{"203.0.113.9, not-an-ip"}, "127.0.0.1"},
		{"trusted proxy without a header", trusting, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"IPv6 client", trusting, "127.0.0.1:5000", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tc := range cases {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.srv.clientAddr(r); got != tc.want {
			t.Errorf("%s: clientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/8, proxy.internal"); err == nil {
		t.Error("ParseProxies accepted a host name")
	}
}

// TestThrottleBehindAProxy: behind a trusted proxy, wrong tokens throttle
// the client the proxy names, not everyone behind the proxy; without the
// proxy trusted, a forged X-Forwarded-For does not escape the throttle.
func TestThrottleBehindAProxy(t *testing.T) {
	opts := DefaultOptions()
	opts.OperatorToken = testToken
	opts.TrustedProxyList = "127.0.0.1"
	e := start(t, opts)
	c := e.client()
	for range loginBurst {
		e.post(c, "/login", url.Values{"name": {"eve"}, "token": {"guess"}}, "X-Forwarded-For", "198.51.100.1")
	}
	if code, _, _ := e.post(c, "/login", url.Values{"name": {"eve"}, "token": {testToken}}, "X-Forwarded-For", "198.51.100.1"); code != http.StatusTooManyRequests {
		t.Errorf("the guessing client's login = %d, want 429", code)
	}
	if code, _, _ := e.post(e.client(), "/login", url.Values{"name": {"ada"}, "token": {testToken}}, "X-Forwarded-For", "198.51.100.2"); code != http.StatusSeeOther {
		t.Errorf("another client behind the same proxy = %d, want 303", code)
	}

	direct := DefaultOptions()
	direct.OperatorToken = testToken
	e2 := start(t, direct)
	for i := range loginBurst {
		e2.post(c, "/login", url.Values{"name": {"eve"}, "token": {"guess"}}, "X-Forwarded-For", "198.51.100."+string(rune('1'+i)))
	}
	if code, _, _ := e2.post(c, "/login", url.Values{"name": {"eve"}, "token": {testToken}}, "X-Forwarded-For", "198.51.100.9"); code != http.StatusTooManyRequests {
		t.Errorf("a forged X-Forwarded-For escaped the throttle: %d, want 429", code)
	}
}
