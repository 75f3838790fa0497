package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
)

// RejectedWebhook is an authenticated webhook whose body could not become an event. It is kept
// as evidence of what the vendor sent and why it was refused; it is not part of the log.
type RejectedWebhook struct {
	ID         uuid.UUID
	Source     string
	Vendor     string
	ReceivedAt time.Time
	Reason     string
	Raw        []byte
	RawSHA256  string
}

// NewRejectedWebhook records a refused body with its digest.
func NewRejectedWebhook(source, vendor string, raw []byte, reason string, receivedAt time.Time) RejectedWebhook {
	sum := sha256.Sum256(raw)
	return RejectedWebhook{
		ID:         uuid.Must(uuid.NewV7()),
		Source:     source,
		Vendor:     vendor,
		ReceivedAt: receivedAt.UTC(),
		Reason:     reason,
		Raw:        raw,
		RawSHA256:  hex.EncodeToString(sum[:]),
	}
}
