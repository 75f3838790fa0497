package projections

// SetRebuildSizes makes rebuilds fold chunk events at a time and keep at most keptLeads leads,
// until the function it returns is called.
func SetRebuildSizes(chunk, keptLeads int) (restore func()) {
	was := rebuildSizes
	rebuildSizes.chunk, rebuildSizes.keptLeads = chunk, keptLeads
	return func() { rebuildSizes = was }
}
