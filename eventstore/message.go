package eventstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/leadledger/leadledger/domain"
)

// Metadata keys of a stored message. The payload is the vendor's body exactly as received; the
// metadata carries everything the ledger knows about it. Stored: never rename.
const (
	MetaEventType     = "event_type"
	MetaLeadID        = "lead_id"
	MetaStreamVersion = "stream_version"
	MetaPosition      = "position"
	MetaSource        = "source"
	MetaVendor        = "vendor"
	MetaReceivedAt    = "received_at"
	MetaOccurredAt    = "occurred_at"
	MetaRawSHA256     = "raw_sha256"
	MetaData          = "data"
	MetaHash          = "hash"
	// MetaErased is "true" on a message read from the log whose lead's personal data was
	// erased (its payload and data are empty). It is set when read, never stored.
	MetaErased = "erased"
)

// toMessage encodes an event as a watermill message, its raw body and data sealed under key
// (see lead_keys.go).
func toMessage(e domain.Event, key *leadKey) (*message.Message, error) {
	dataJSON, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("encode data of event %s: %w", e.ID, err)
	}
	payload, data := sealEvent(&e, key, dataJSON)
	msg := message.NewMessage(e.ID.String(), payload)
	msg.Metadata = message.Metadata{
		MetaEventType:     string(e.Type),
		MetaLeadID:        e.LeadID.String(),
		MetaStreamVersion: strconv.FormatInt(e.Version, 10),
		MetaPosition:      strconv.FormatInt(e.Position, 10),
		MetaSource:        e.Source,
		MetaVendor:        e.Vendor,
		MetaReceivedAt:    e.ReceivedAt.UTC().Format(time.RFC3339Nano),
		MetaOccurredAt:    e.OccurredAt,
		MetaRawSHA256:     e.RawSHA256,
		MetaData:          data,
		MetaHash:          e.Hash,
	}
	return msg, nil
}

// DecodeMessage turns a message of the log, as a subscriber receives it, back into an event.
func DecodeMessage(msg *message.Message) (domain.Event, error) {
	id, err := uuid.Parse(msg.UUID)
	if err != nil {
		return domain.Event{}, fmt.Errorf("event id %q: %w", msg.UUID, err)
	}
	md := msg.Metadata
	leadID, err := uuid.Parse(md.Get(MetaLeadID))
	if err != nil {
		return domain.Event{}, fmt.Errorf("lead id of event %s: %w", id, err)
	}
	version, err := strconv.ParseInt(md.Get(MetaStreamVersion), 10, 64)
	if err != nil {
		return domain.Event{}, fmt.Errorf("stream version of event %s: %w", id, err)
	}
	position, err := strconv.ParseInt(md.Get(MetaPosition), 10, 64)
	if err != nil {
		return domain.Event{}, fmt.Errorf("position of event %s: %w", id, err)
	}
	receivedAt, err := time.Parse(time.RFC3339Nano, md.Get(MetaReceivedAt))
	if err != nil {
		return domain.Event{}, fmt.Errorf("received_at of event %s: %w", id, err)
	}
	var data domain.LeadData
	if err := decodeData([]byte(md.Get(MetaData)), &data); err != nil {
		return domain.Event{}, fmt.Errorf("data of event %s: %w", id, err)
	}
	return domain.Event{
		ID:         id,
		Type:       domain.EventType(md.Get(MetaEventType)),
		LeadID:     leadID,
		Source:     md.Get(MetaSource),
		Vendor:     md.Get(MetaVendor),
		ReceivedAt: receivedAt,
		OccurredAt: md.Get(MetaOccurredAt),
		Data:       data,
		Raw:        msg.Payload,
		RawSHA256:  md.Get(MetaRawSHA256),
		Version:    version,
		Position:   position,
		Erased:     md.Get(MetaErased) == "true",
	}, nil
}

// openMessage replaces a stored message's sealed payload and data by their plain forms, or
// empties them and marks the message erased. key is its lead's stored key, nil if none.
func openMessage(msg *message.Message, key []byte) error {
	id, err := uuid.Parse(msg.UUID)
	if err != nil {
		return fmt.Errorf("event id %q: %w", msg.UUID, err)
	}
	e := domain.Event{ID: id, Type: domain.EventType(msg.Metadata.Get(MetaEventType))}
	raw, data, erased, err := openStored(&e, key, msg.Payload, []byte(msg.Metadata.Get(MetaData)))
	if err != nil {
		return err
	}
	msg.Payload = raw
	msg.Metadata.Set(MetaData, string(data))
	if erased {
		msg.Metadata.Set(MetaErased, "true")
	}
	return nil
}

// extraColumns are the columns beside watermill's own that make the log queryable by lead,
// type and time, and that carry the unique constraints.
const extraColumns = `stream_id, stream_version, event_type, source, vendor, received_at, occurred_at, raw_sha256, hash`

// insertArgs returns the values of one message for watermill's columns then extraColumns.
func insertArgs(msg *message.Message) ([]any, error) {
	md := msg.Metadata
	version, err := strconv.ParseInt(md.Get(MetaStreamVersion), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("message %s: stream version: %w", msg.UUID, err)
	}
	metadata, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("message %s: metadata: %w", msg.UUID, err)
	}
	return []any{
		msg.UUID, []byte(msg.Payload), string(metadata),
		md.Get(MetaLeadID), version, md.Get(MetaEventType), md.Get(MetaSource), md.Get(MetaVendor),
		md.Get(MetaReceivedAt), md.Get(MetaOccurredAt), md.Get(MetaRawSHA256), md.Get(MetaHash),
	}, nil
}

// argsPerMessage is len(insertArgs(msg)).
const argsPerMessage = 12

// decodeData reads an event's data. Every read of an event decodes it (the lead view, sinks,
// the API), so it takes go-json's decoder, a quarter of the standard library's cost (a
// WhatConverts lead: 3.0 µs against 11.3). The data was written by encoding/json, which both
// read alike (FuzzDecodeData).
func decodeData(b []byte, d *domain.LeadData) error { return gojson.Unmarshal(b, d) }
