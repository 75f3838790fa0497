package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeResolver answers every name with the same addresses, or an error.
type fakeResolver struct {
	addrs []string
	err   error
}

func (f fakeResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range f.addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, f.err
}

func TestCheckHost(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		host     string
		resolver Resolver
		want     string // the error; "" allowed
	}{
		{"169.254.169.254", nil, "169.254.169.254 is a link-local address; " + Hint},
		{"2130706433", nil, "2130706433 is 127.0.0.1, a loopback address; " + Hint},
		{"0177.0.0.1", nil, "0177.0.0.1 is 127.0.0.1, a loopback address; " + Hint},
		{"0x7f.1", nil, "0x7f.1 is 127.0.0.1, a loopback address; " + Hint},
		{"::ffff:127.0.0.1", nil, "::ffff:127.0.0.1 is a loopback address (IPv4-mapped 127.0.0.1); " + Hint},
		{"fd00:ec2::254", nil, "fd00:ec2::254 is a cloud metadata address; " + Hint},
		{"fe80::1%eth0", nil, "fe80::1%eth0 is fe80::1, a link-local address; " + Hint},
		{"93.184.216.34", nil, ""},
		{"hooks.example.com", fakeResolver{addrs: []string{"93.184.216.34"}}, ""},
		{"hooks.example.com", fakeResolver{addrs: []string{"93.184.216.34", "10.0.0.7"}},
			"hooks.example.com resolves to 10.0.0.7, a private address; " + Hint},
		{"hooks.example.com", fakeResolver{addrs: []string{"2606:4700::1", "::1"}},
			"hooks.example.com resolves to ::1, a loopback address; " + Hint},
		{"nowhere.invalid", fakeResolver{err: errors.New("no such host")}, ""}, // checked when dialled
		{"localhost", nil, "localhost resolves to"},                            // the system's resolver
	}
	for _, c := range cases {
		err := Guard{Resolver: c.resolver}.CheckHost(ctx, c.host)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckHost(%q) = %v, want allowed", c.host, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("CheckHost(%q) = %v, want %q", c.host, err, c.want)
		case c.want != "" && !IsRefused(err):
			t.Errorf("CheckHost(%q) = %T, want an *Error", c.host, err)
		}
		if err := (Guard{AllowPrivate: true, Resolver: c.resolver}).CheckHost(ctx, c.host); err != nil {
			t.Errorf("CheckHost(%q) with AllowPrivate = %v, want allowed", c.host, err)
		}
	}
}

// A connection is checked on the address dialled, after DNS: localhost is refused although no
// URL spelled an address; with AllowPrivate it connects.
func TestDialerRefusesForbiddenAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx := context.Background()
	for _, addr := range []string{srv.Listener.Addr().String(), net.JoinHostPort("localhost", port)} {
		_, err := Guard{}.Dialer(&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil || !IsRefused(err) || !strings.Contains(err.Error(), "a loopback address; "+Hint) {
			t.Errorf("dial %s: %v, want refused as loopback", addr, err)
		}
		conn, err := Guard{AllowPrivate: true}.Dialer(&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Errorf("dial %s with AllowPrivate: %v", addr, err)
			continue
		}
		_ = conn.Close()
	}
}

// The dialer's own control function still runs, before the guard's.
func TestDialerKeepsItsControl(t *testing.T) {
	own := errors.New("own control")
	d := &net.Dialer{ControlContext: func(context.Context, string, string, syscall.RawConn) error { return own }}
	_, err := Guard{AllowPrivate: false}.Dialer(d).DialContext(context.Background(), "tcp", "93.184.216.34:9")
	if !errors.Is(err, own) {
		t.Errorf("dial: %v, want the dialer's own control error", err)
	}
}

// A client that follows redirects cannot be sent to a forbidden address by one: the redirect's
// connection is refused like any other. Here only 127.0.0.2 is forbidden, so the first hop, on
// 127.0.0.1, is allowed.
func TestRedirectToForbiddenAddressFails(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	reached := make(chan struct{}, 1)
	target := &httptest.Server{Listener: inner, Config: &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		reached <- struct{}{}
	})}}
	target.Start()
	defer target.Close()
	outer := httptest.NewServer(http.RedirectHandler(target.URL+"/admin", http.StatusFound))
	defer outer.Close()

	g := Guard{classify: func(a netip.Addr) string {
		if a == netip.MustParseAddr("127.0.0.2") {
			return "a forbidden test address"
		}
		return ""
	}}
	transport := &http.Transport{DialContext: g.Dialer(&net.Dialer{Timeout: time.Second}).DialContext}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Get(outer.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the redirect was followed to %s", target.URL)
	}
	if !IsRefused(err) || !strings.Contains(err.Error(), "127.0.0.2 is a forbidden test address") {
		t.Errorf("redirect: %v, want the guard's refusal", err)
	}
	select {
	case <-reached:
		t.Error("the forbidden server was reached")
	default:
	}
}
