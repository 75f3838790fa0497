package eventstoretest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a loopback TCP proxy in front of a database server. Stopping it is an outage as
// the ledger sees one (open connections cut, new ones refused) without touching the shared
// server that other tests use at the same time; starting it again ends the outage.
type Proxy struct {
	t      testing.TB
	addr   string
	target string

	mu     sync.Mutex
	ln     net.Listener // nil while stopped
	conns  map[net.Conn]struct{}
	flows  chan struct{} // closed while bytes flow; open while frozen
	frozen bool
	wg     sync.WaitGroup
}

// NewProxy starts a proxy to target (host:port) on a free loopback port; it is closed when the
// test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{t: t, target: target, conns: map[net.Conn]struct{}{}, flows: make(chan struct{})}
	close(p.flows)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: listen: %v", err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

// PostgresProxy puts a proxy in front of the PostgreSQL of databaseURL and returns it with the
// same URL pointing through it.
func PostgresProxy(t testing.TB, databaseURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("proxy: parse database URL: %v", err)
	}
	p := NewProxy(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's host:port; it stays the same across Stop and Start.
func (p *Proxy) Addr() string { return p.addr }

// Freeze stops every byte, both ways, on open and new connections, while keeping them open:
// the database as a network that drops packets, or a stopped server, shows it. Nothing the
// ledger sends gets an answer, not even a request to cancel a query.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.frozen {
		p.frozen, p.flows = true, make(chan struct{})
	}
}

// Thaw lets bytes flow again.
func (p *Proxy) Thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.flows)
	}
}

// Stop cuts every open connection and refuses new ones until Start.
func (p *Proxy) Stop() {
	p.Thaw() // frozen copies would never see their connections close
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Start accepts connections again, on the same address.
func (p *Proxy) Start() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return // stopped
			}
			p.wg.Go(func() { p.pipe(client) })
		}
	})
}

// pipe copies both ways between a client and a new connection to the target, until either
// side closes or the proxy stops.
func (p *Proxy) pipe(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}
	done := make(chan struct{}, 2)
	copyAll := func(dst, src net.Conn) {
		p.copy(dst, src)
		done <- struct{}{}
	}
	go copyAll(server, client)
	go copyAll(client, server)
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
	_ = client.Close()
	_ = server.Close()
	<-done
}

// copy forwards bytes from src to dst until either fails, holding them while the proxy is frozen.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			flows := p.flows
			p.mu.Unlock()
			<-flows
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// track registers a connection pair, or closes it when the proxy stopped meanwhile.
func (p *Proxy) track(client, server net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		_, _ = client.Close(), server.Close()
		return false
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	return true
}
