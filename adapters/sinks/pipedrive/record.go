package pipedrive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/leadledger/leadledger/adapters/sinks/crm"
)

// wanted is what a record asks of Pipedrive, read from its Fields (see the package doc).
type wanted struct {
	key                       string
	name, email, phone, title string
	custom                    map[string]string // custom field key → value
}

// wantedOf reads a record's Fields. Blank values are left out: the ledger never blanks a
// CRM field.
func wantedOf(r crm.Record) wanted {
	w := wanted{key: r.Key, custom: map[string]string{}}
	for name, v := range r.Fields {
		if strings.TrimSpace(v) == "" {
			continue
		}
		switch name {
		case "name":
			w.name = v
		case "email":
			w.email = strings.TrimSpace(v)
		case "phone":
			w.phone = v
		case "title":
			w.title = v
		default:
			w.custom[name] = v
		}
	}
	return w
}

// personName is the name a new person gets: Pipedrive requires one.
func (w wanted) personName() string {
	return firstOf(w.name, w.email, w.key)
}

// leadTitle is the title the record's lead should have. It depends on the record alone, not
// on what Pipedrive holds, so it changes only when the record does.
func (w wanted) leadTitle() string {
	return firstOf(w.title, w.name, w.email, w.key)
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// leadOrigin is the origin_id of the lead created for a record key: it lets a later lookup
// tell that lead from the person's other leads. The key is hashed so that the value stays
// short (Pipedrive documents no limit for origin_id) and carries no email.
func leadOrigin(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "leadledger:" + hex.EncodeToString(sum[:12])
}

// fingerprint identifies a record's full content (key, fields, remembered ids): a retry whose
// record has the same fingerprint asks exactly what the interrupted call did.
func fingerprint(r crm.Record) string {
	// encoding/json writes map keys sorted, so equal records give equal bytes.
	data, _ := json.Marshal(struct {
		K string
		F map[string]string
		X map[string]string
	}{r.Key, r.Fields, r.ExternalIDs})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
