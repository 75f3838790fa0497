package audit

// SetVerifyPage makes Verify read pages of n positions, until the returned func restores it.
func SetVerifyPage(n int) (restore func()) {
	was := verifyPage
	verifyPage = n
	return func() { verifyPage = was }
}
