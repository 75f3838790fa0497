package netguard

import (
	"net/netip"
	"strconv"
	"strings"
)

// ParseLiteral reads a URL's host as an IP address when it is one, in any spelling a resolver
// may accept: IPv6 (with a zone or not), and IPv4 as inet_aton reads it, which getaddrinfo
// does before any DNS: one to four parts, each decimal, octal (a leading 0) or hex (0x), the
// last filling the bytes left (2130706433, 0177.0.0.1, 0x7f.1 and 127.1 are all 127.0.0.1).
// A trailing dot is ignored.
func ParseLiteral(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	return parseInetAton(strings.TrimSuffix(host, "."))
}

func parseInetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var value uint64
	for i, part := range parts {
		n, ok := parsePart(part)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 { // a leading part is one byte
			if n > 0xff {
				return netip.Addr{}, false
			}
			value = value<<8 | n
			continue
		}
		rest := uint(8 * (4 - i)) // bits the last part fills
		if n >= 1<<rest {
			return netip.Addr{}, false
		}
		value = value<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(value >> 24), byte(value >> 16), byte(value >> 8), byte(value)}), true
}

// parsePart is one part of an inet_aton address: decimal, 0-prefixed octal or 0x-prefixed hex
// ("0x" alone is 0, as inet_aton has it).
func parsePart(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	for _, c := range p { // ParseUint would take a sign or underscores
		if !strings.ContainsRune("0123456789abcdefABCDEF"[:digits(base)], c) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// digits is how many characters of "0123456789abcdefABCDEF" are digits in base.
func digits(base int) int {
	if base == 16 {
		return 22
	}
	return base
}
