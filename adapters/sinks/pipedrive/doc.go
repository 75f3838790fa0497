// Package pipedrive writes ledger records into Pipedrive as a person and one Pipedrive lead per
// record, through Pipedrive's public REST API (persons API v2, leads API v1), authenticated
// with an API token in the x-api-token header.
//
// # Fields
//
// A record's Fields use these names:
//
//   - name, email, phone: the person's name, an email and a phone. A person needs a name, so
//     a new person without one is named after the email, else the record key.
//   - title: the Pipedrive lead's title; by default the name, else the email, else the key.
//   - any other name: a person custom field, by the 40-character key Pipedrive gives custom
//     fields, written into the person's custom_fields as text. API v2 no longer turns strings
//     into numbers, so map only text-like fields (text, large text, autocomplete, phone); a
//     numeric or option field is refused by Pipedrive and the record fails with its message.
//
// Empty values are left out, and nothing is ever removed: a person's other emails and phones
// are kept, a new one is added beside them.
//
// # Writing a record
//
// Pipedrive has no upsert, so each record costs a few sequential requests:
//
//  1. The person. With a remembered person_id (Record.ExternalIDs), it is read
//     (GET /api/v2/persons/{id}); otherwise, with an email, it is looked up by exact email
//     (GET /api/v2/persons/search?fields=email&exact_match=true; among several matches the
//     lowest id, the oldest, is taken). A person found is updated (PATCH) only where it
//     differs from the record. Without one, it is created (POST /api/v2/persons).
//  2. The lead. With a remembered lead_id, it is read (GET /v1/leads/{id}); otherwise the
//     person's leads are listed (GET /v1/leads?person_id=) and the one this package created for
//     the record key is taken, recognised by its origin_id (see below). Its title is updated
//     (PATCH /v1/leads/{id}) when it differs; without one, the lead is created (POST /v1/leads).
//
// A remembered id that is gone (404, or a person marked deleted) falls back to the lookups.
// The Outcome's ExternalID is the person id; ExternalIDs holds person_id and lead_id; Created
// is true when the person was created for the record.
//
// # Retries never duplicate
//
// Every lead this package creates carries origin_id "leadledger:" and a hash of the record key
// (Pipedrive's field for "which API integration created this lead"). So the lead lookup finds
// the lead an earlier, interrupted attempt created, and the person lookup finds the person:
// repeating a record, with or without its ExternalIDs, creates neither a second person nor a
// second lead. The lead lookup is skipped for a person created in the same attempt, which can
// have no lead yet.
//
// A call-level error (429, 401, 5xx, network) returns no outcomes, and the delivery loop
// retries the whole batch (see package crm). Records already written are not written again:
// the Client remembers, for a while, what an interrupted call achieved (every finished
// record's outcome, and the ids of the one cut short), and a retry of the same record costs
// no request at all for a finished one, and resumes the other where it stopped. This also
// covers what the lookups cannot: a record without an email (no search possible), and a
// person created a moment ago that Pipedrive's search index may not show yet; for the latter
// the Client also remembers, by email, the persons it created lately, so two records sharing
// an email (key lead_id) make one person even when the search lags. Across a process restart
// only the lookups remain: an email-less record whose person was created just before the
// restart, its id never stored, may get a second person, as may a record whose person the
// search does not show yet.
//
// # Errors and limits
//
// A 400 or 422 (an invalid field, say) fails that record alone, in Outcome.Err with
// Pipedrive's own message; the others go on. A 429 is a *crm.Throttled: Daily when the reply
// says the day's token budget is spent (the x-daily-ratelimit-token-remaining header at 0, or
// an error text naming the daily limit), otherwise a burst limit of Pipedrive's 2-second rolling
// window; Pipedrive sends no Retry-After, so RetryAfter is 0 unless one comes. A 401 wraps
// crm.ErrUnauthorized. Anything else is a plain error. No error text carries the token or a
// query string (where an email would be), and the package never logs.
//
// Pipedrive has no batch write, hence MaxBatch: see its comment.
package pipedrive
