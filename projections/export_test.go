package projections

import "time"

// SetRebuildSizes makes rebuilds fold chunk events at a time and keep at most keptLeads leads,
// until the function it returns is called.
func SetRebuildSizes(chunk, keptLeads int) (restore func()) {
	was := rebuildSizes
	rebuildSizes.chunk, rebuildSizes.keptLeads = chunk, keptLeads
	return func() { rebuildSizes = was }
}

// SetLeaseTTL makes the lead view's lease last ttl, until the function it returns is called.
func SetLeaseTTL(ttl time.Duration) (restore func()) {
	was := leaseTTL
	leaseTTL = ttl
	return func() { leaseTTL = was }
}
