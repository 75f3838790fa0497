// Package netguard keeps sinks and CRM clients from reaching the ledger's own network: loopback,
// private, link-local, shared (CGNAT), multicast, unspecified and cloud metadata addresses, in
// IPv4 and IPv6. A URL is checked when it is stored (Guard.CheckHost), and every connection
// again when it is made, on the address actually dialled (Guard.Control), so neither DNS
// rebinding nor a redirect gets through. It is the allow_private_sink_urls setting.
package netguard

import (
	"fmt"
	"net/netip"
)

// forbidden are the ranges a sink must not reach, most specific first, each with what it is.
var forbidden = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (this network) address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"}, // 169.254.169.254: cloud metadata
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"}, // and 255.255.255.255, broadcast

	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"},
	{netip.MustParsePrefix("fc00::/7"), "a private (unique local) address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// IPv6 prefixes that carry an IPv4 address, which is what they reach in the end.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // the address in its last 32 bits
	sixTo4 = netip.MustParsePrefix("2002::/16")    // the address in bits 16 to 48
)

// Classify says why a sink must not reach a, or "" when it may. An IPv6 address that carries
// an IPv4 one (IPv4-mapped, NAT64, 6to4) is judged by the IPv4 address it carries.
func Classify(a netip.Addr) string {
	a = a.WithZone("")
	if a.Is4In6() {
		if why := Classify(a.Unmap()); why != "" {
			return fmt.Sprintf("%s (IPv4-mapped %s)", why, a.Unmap())
		}
		return ""
	}
	for _, f := range forbidden {
		if f.prefix.Contains(a) {
			return f.what
		}
	}
	if v4, ok := embedded(a); ok {
		if why := Classify(v4); why != "" {
			return fmt.Sprintf("%s (%s inside)", why, v4)
		}
	}
	return ""
}

// embedded is the IPv4 address a NAT64 or 6to4 address leads to.
func embedded(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixTo4.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}
