package httpapi

import "testing"

func TestSecretComparison(t *testing.T) {
	secrets := []string{"old-secret", "new-secret"}
	for given, want := range map[string]bool{"old-secret": true, "new-secret": true, "new-secre": false, "": false, "new-secret ": false} {
		if got := anySecret(given, secrets); got != want {
			t.Errorf("anySecret(%q) = %v, want %v", given, got, want)
		}
	}
}
