package webui

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/leadledger/leadledger/domain"
)

// field is one name and value, as a page lists them.
type field struct {
	Name  string
	Value string
}

// leadFields are the lead view's own fields, in the API's names.
func leadFields(l domain.Lead) []field {
	yesNo := map[bool]string{true: "yes", false: "no"}
	return []field{
		{"id", l.ID.String()}, {"source", l.Source}, {"vendor", l.Vendor}, {"external_id", l.ExternalID},
		{"first_name", l.FirstName}, {"last_name", l.LastName}, {"name", l.Name}, {"email", l.Email},
		{"phone", l.Phone}, {"company", l.Company}, {"status", l.Status}, {"score", string(l.Score)},
		{"spam", yesNo[l.Spam]}, {"duplicate", yesNo[l.Duplicate]},
		{"created_at", formatTime(l.CreatedAt)}, {"updated_at", formatTime(l.UpdatedAt)},
		{"event_count", strconv.Itoa(l.EventCount)}, {"last_position", strconv.FormatInt(l.LastPosition, 10)},
	}
}

func sortedFields(m map[string]string) []field {
	var out []field
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, field{k, m[k]})
	}
	return out
}

func customFields(l domain.Lead) []field {
	var out []field
	for _, k := range slices.Sorted(maps.Keys(l.CustomFields)) {
		var s string
		value := string(l.CustomFields[k])
		if json.Unmarshal(l.CustomFields[k], &s) == nil {
			value = s // a string as its text; anything else as the JSON the vendor sent
		}
		out = append(out, field{k, value})
	}
	return out
}

// dataFields lists the normalised fields an event carried, by their names in the API
// (attribution.source, custom_fields.Budget, ...). The fields the parser did not map (extra)
// are left out: they are in the raw body beside them, byte for byte.
func dataFields(d domain.LeadData) []field {
	d.Extra = nil
	b, err := json.Marshal(d)
	if err != nil {
		return []field{{Name: "data", Value: "(cannot be shown: " + err.Error() + ")"}}
	}
	var fields []field
	flatten("", json.RawMessage(b), 0, &fields)
	return fields
}

// flatten lists a JSON value's leaves by dotted path, two objects deep; deeper values and
// arrays are shown as compact JSON.
func flatten(prefix string, raw json.RawMessage, depth int, out *[]field) {
	var obj map[string]json.RawMessage
	if depth < 2 && json.Unmarshal(raw, &obj) == nil && obj != nil {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, obj[k], depth+1, out)
		}
		return
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		*out = append(*out, field{Name: prefix, Value: s})
		return
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		compact.Reset()
		compact.Write(raw)
	}
	*out = append(*out, field{Name: prefix, Value: compact.String()})
}
