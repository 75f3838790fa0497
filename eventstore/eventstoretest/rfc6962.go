package eventstoretest

import "crypto/sha256"

// MerkleRoot is the Merkle Tree Hash of RFC 6962 §2.1, written from the RFC and apart from
// the ledger's own tree code, so tests check it against an independent reading:
// MTH({}) = SHA-256(), MTH({d0}) = SHA-256(0x00 || d0), and for n > 1, with k the largest
// power of two smaller than n, MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
func MerkleRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		sum := sha256.Sum256(nil)
		return sum[:]
	case 1:
		sum := sha256.Sum256(append([]byte{0x00}, leaves[0]...))
		return sum[:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	node := append([]byte{0x01}, MerkleRoot(leaves[:k])...)
	sum := sha256.Sum256(append(node, MerkleRoot(leaves[k:])...))
	return sum[:]
}

func nodeHash(left, right []byte) []byte {
	sum := sha256.Sum256(append(append([]byte{0x01}, left...), right...))
	return sum[:]
}

// LeafHash is RFC 6962's hash of a leaf: SHA-256(0x00 || data).
func LeafHash(data []byte) []byte {
	sum := sha256.Sum256(append([]byte{0x00}, data...))
	return sum[:]
}

// VerifyInclusion checks an audit path as RFC 9162 §2.1.3.2 (RFC 6962's algorithm, spelt out)
// says: it reports whether path proves the leaf with hash leafHash at index is in the tree of
// size whose head is root.
func VerifyInclusion(index, size uint64, leafHash []byte, path [][]byte, root []byte) bool {
	if index >= size {
		return false
	}
	fn, sn, r := index, size-1, leafHash
	for _, p := range path {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn, sn = fn>>1, sn>>1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn, sn = fn>>1, sn>>1
	}
	return sn == 0 && string(r) == string(root)
}

// VerifyConsistency checks a consistency proof as RFC 9162 §2.1.4.2 says: it reports whether
// path proves the tree of size first with head firstRoot is a prefix of the tree of size second
// with head secondRoot.
func VerifyConsistency(first, second uint64, path [][]byte, firstRoot, secondRoot []byte) bool {
	switch {
	case first > second:
		return false
	case first == second:
		return len(path) == 0 && string(firstRoot) == string(secondRoot)
	case first == 0:
		return len(path) == 0
	case len(path) == 0:
		return false
	}
	if first&(first-1) == 0 { // a power of two: the first tree is a node of the second
		path = append([][]byte{firstRoot}, path...)
	}
	fn, sn := first-1, second-1
	for fn&1 == 1 {
		fn, sn = fn>>1, sn>>1
	}
	fr, sr := path[0], path[0]
	for _, c := range path[1:] {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			fr, sr = nodeHash(c, fr), nodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn, sn = fn>>1, sn>>1
			}
		} else {
			sr = nodeHash(sr, c)
		}
		fn, sn = fn>>1, sn>>1
	}
	return string(fr) == string(firstRoot) && string(sr) == string(secondRoot) && sn == 0
}
