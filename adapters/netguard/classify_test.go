package netguard

import (
	"net/netip"
	"strings"
	"testing"
)

// Every forbidden range, at its edges, in its IPv6 disguises; and public addresses allowed.
func TestClassify(t *testing.T) {
	cases := []struct {
		addr string
		want string // a part of the reason; "" allowed
	}{
		{"0.0.0.0", "unspecified"},
		{"0.255.255.255", "unspecified"},
		{"10.0.0.0", "private"},
		{"10.255.255.255", "private"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"100.100.100.200", "CGNAT"}, // Alibaba's metadata service
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.0.1", "link-local"},
		{"169.254.169.254", "link-local"}, // AWS, GCP and Azure metadata
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.0.0.8", "IETF"},
		{"192.168.0.1", "private"},
		{"192.168.255.255", "private"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},

		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::7f00:1", "IPv4-compatible"},
		{"::ffff:127.0.0.1", "loopback address (IPv4-mapped 127.0.0.1)"},
		{"::ffff:7f00:1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:10.1.2.3", "private"},
		{"64:ff9b::7f00:1", "loopback address (127.0.0.1 inside)"},
		{"64:ff9b::a9fe:a9fe", "link-local address (169.254.169.254 inside)"},
		{"64:ff9b:1::1", "NAT64"},
		{"2002:7f00:1::1", "loopback address (127.0.0.1 inside)"},
		{"2002:c0a8:101::1", "private address (192.168.1.1 inside)"},
		{"fd00:ec2::254", "cloud metadata"},
		{"fc00::1", "unique local"},
		{"fdff:ffff::1", "unique local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},

		{"1.1.1.1", ""},
		{"8.8.8.8", ""},
		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"126.255.255.255", ""},
		{"128.0.0.0", ""},
		{"169.253.255.255", ""},
		{"169.255.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"93.184.216.34", ""},
		{"::ffff:93.184.216.34", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
	}
	for _, c := range cases {
		got := Classify(netip.MustParseAddr(c.addr))
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("Classify(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// Hosts spelled as inet_aton reads them are the addresses a resolver would dial.
func TestParseLiteral(t *testing.T) {
	cases := []struct {
		host string
		want string // "" not a literal
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0x7f.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254"},
		{"0251.0376.0251.0376", "169.254.169.254"},
		{"2852039166", "169.254.169.254"},
		{"169.254.43518", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"10.0x10000", "10.1.0.0"},
		{"::1", "::1"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"fe80::1%eth0", "fe80::1%eth0"},

		{"4294967296", ""},    // more than 32 bits
		{"256.0.0.1", ""},     // a leading part over a byte
		{"1.2.3.256", ""},     // the last part over its byte
		{"1.2.65536", ""},     // over its 16 bits
		{"1.2.3.4.5", ""},     // five parts
		{"08.0.0.1", ""},      // not octal
		{"0x1g", ""},          // not hex
		{"1..2", ""},          // an empty part
		{"+1.2.3.4", ""},      // a sign
		{"1_0.0.0.1", ""},     // an underscore
		{"example.com", ""},   // a name
		{"deadbeef.cafe", ""}, // a name of hex letters
		{"localhost", ""},
		{"", ""},
	}
	for _, c := range cases {
		got, ok := ParseLiteral(c.host)
		if c.want == "" {
			if ok {
				t.Errorf("ParseLiteral(%q) = %s, want no address", c.host, got)
			}
			continue
		}
		if !ok || got.String() != c.want {
			t.Errorf("ParseLiteral(%q) = %s, %v; want %s", c.host, got, ok, c.want)
		}
	}
}
