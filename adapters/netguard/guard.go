package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Hint is how an operator lets sinks reach private addresses.
const Hint = "set allow_private_sink_urls: true to allow private sink URLs"

// Error is an address a sink must not reach.
type Error struct {
	Host     string     // as written in the URL; "" when a connection was refused
	Addr     netip.Addr // the address it is, or resolved to
	Resolved bool       // Host is a name that resolved to Addr
	Reason   string     // what Addr is: "a loopback address", ...
}

func (e *Error) Error() string {
	switch {
	case e.Resolved:
		return fmt.Sprintf("%s resolves to %s, %s; %s", e.Host, e.Addr, e.Reason, Hint)
	case e.Host != "" && e.Host != e.Addr.String():
		return fmt.Sprintf("%s is %s, %s; %s", e.Host, e.Addr, e.Reason, Hint)
	}
	return fmt.Sprintf("%s is %s; %s", e.Addr, e.Reason, Hint)
}

// Resolver looks a host name up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// lookupTimeout bounds the look-up of a name when a URL is stored: one that does not answer
// in time is not refused for it (the connection is checked anyway).
const lookupTimeout = 3 * time.Second

// Guard refuses the addresses Classify names. The zero Guard is on; AllowPrivate turns it off.
type Guard struct {
	AllowPrivate bool
	Resolver     Resolver // nil: net.DefaultResolver

	classify func(netip.Addr) string // nil: Classify; tests narrow it
}

// CheckAddr returns an *Error when a must not be reached.
func (g Guard) CheckAddr(a netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	classify := g.classify
	if classify == nil {
		classify = Classify
	}
	if why := classify(a); why != "" {
		return &Error{Addr: a.WithZone(""), Reason: why}
	}
	return nil
}

// CheckHost checks a URL's host (without brackets or port) before it is stored: an IP address
// in any spelling (see ParseLiteral), or a name, refused if any address it resolves to is. A
// name that does not resolve is not refused: the connection is checked when it is made.
func (g Guard) CheckHost(ctx context.Context, host string) error {
	if g.AllowPrivate {
		return nil
	}
	if a, ok := ParseLiteral(host); ok {
		if err := g.CheckAddr(a); err != nil {
			err.(*Error).Host = host
			return err
		}
		return nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // not refused for not resolving: see above
	}
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			e := err.(*Error)
			e.Host, e.Resolved = host, true
			return e
		}
	}
	return nil
}

// Control is a net.Dialer's Control: it refuses to connect to a forbidden address. It sees the
// address after DNS, so a name that resolves elsewhere later is caught here.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address guard: cannot read the address %q: %w", address, err)
	}
	if err := g.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("address guard: %w", err)
	}
	return nil
}

// Dialer returns a copy of d that dials through Control (after d's own control function, if
// any). It sets ControlContext, which the dialer prefers to Control.
func (g Guard) Dialer(d *net.Dialer) *net.Dialer {
	out := *d
	if g.AllowPrivate {
		return &out
	}
	own, ownCtx := d.Control, d.ControlContext
	out.Control = nil
	out.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		var err error
		switch {
		case ownCtx != nil:
			err = ownCtx(ctx, network, address, c)
		case own != nil:
			err = own(network, address, c)
		}
		if err != nil {
			return err
		}
		return g.Control(network, address, c)
	}
	return &out
}

// IsRefused reports whether err is, or wraps, an address the guard refused.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
